"""Segment conditions over deals (crm.core.conditions), registered by deals, which owns them:
"has an open deal" (of some kinds, at some stages) and "lost a deal" within the last N days or
a period (of some kinds). Both read the deal's status and dates, as of the rule's date."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select

from crm.core.conditions import WINDOW, ConditionError, ConditionType, Param, window
from crm.deals.models import Deal, DealKind, DealStage
from crm.extensions import db
from crm.partners.models import Partner


def _missing(model, ids) -> int | None:
    """The first of `ids` no row of `model` has (a mistyped id would silently match nothing)."""
    found = set(db.session.execute(select(model.id).where(model.id.in_(ids))).scalars())
    return next((i for i in ids if i not in found), None)


def _kinds(values) -> list:
    if values["kinds"] is None:
        return []
    if (missing := _missing(DealKind, values["kinds"])) is not None:
        raise ConditionError(_("No deal kind has the id %(id)s.", id=missing), "kinds")
    return [Deal.kind_id.in_(values["kinds"])]


def _open(values):
    """Open on the rule's date: created by then and not closed by then (open now, or closed
    later). The stage is the deal's current one (the stage history is not read)."""
    day = values["as_of"]
    conditions = [
        Deal.partner_id == Partner.id,
        Deal.created_on <= day,
        or_(Deal.status == "open", and_(Deal.closed_on.is_not(None), Deal.closed_on > day)),
        *_kinds(values),
    ]
    if values["stages"] is not None:
        if (missing := _missing(DealStage, values["stages"])) is not None:
            raise ConditionError(_("No deal stage has the id %(id)s.", id=missing), "stages")
        conditions.append(Deal.stage_id.in_(values["stages"]))
    return exists().where(*conditions)


def _lost(values):
    start, end = window(values)
    return exists().where(
        Deal.partner_id == Partner.id,
        Deal.status == "lost",
        Deal.closed_on >= start,
        Deal.closed_on <= end,
        *_kinds(values),
    )


def _kinds_options() -> list[tuple[int, str]]:
    return [
        tuple(r)
        for r in db.session.execute(select(DealKind.id, DealKind.name).order_by(DealKind.name))
    ]


def _stage_options() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(DealStage.id, DealKind.name, DealStage.name)
        .join(DealKind, DealKind.id == DealStage.kind_id)
        .order_by(DealKind.name, DealStage.position)
    )
    return [(sid, f"{kind}: {stage}") for sid, kind, stage in rows]


CONDITIONS = (
    ConditionType(
        "deals.open",
        _l("Has an open deal"),
        (
            Param(
                "kinds", "ids", required=False, title=_l("Kinds of deal"), options=_kinds_options
            ),
            Param("stages", "ids", required=False, title=_l("Stages"), options=_stage_options),
        ),
        _open,
        order=50,
    ),
    ConditionType(
        "deals.lost",
        _l("Lost a deal"),
        (
            *WINDOW,
            Param(
                "kinds", "ids", required=False, title=_l("Kinds of deal"), options=_kinds_options
            ),
        ),
        _lost,
        order=51,
    ),
)
