"""Writes and reads of the kinds of deals the admins keep: name, process or not (a process
moves its deals through the stages strictly in order), active or not. A kind's stages are in
crm/deals/classifiers/stages.py."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from crm.core import audit
from crm.core.errors import FieldErrors
from crm.core.text import fold
from crm.deals.classifiers.names import (
    clean_name,
    ensure_admin,
    same_name,
    taken_meanwhile,
    unique,
)
from crm.deals.classifiers.stages import MAX_STAGES
from crm.deals.models import Deal, DealKind, DealStage, DealStageEntry
from crm.extensions import db


def _kind_snapshot(kind: DealKind) -> dict:
    return {"name": kind.name, "is_process": kind.is_process, "is_active": kind.is_active}


def create_kind(actor, name, *, is_process: bool = True, stages=()) -> DealKind:
    """A new deal kind with `stages` (names, in order; probabilities 0 until set)."""
    ensure_admin(actor)
    errors = FieldErrors()
    name = clean_name(name, errors)
    if name and (other := same_name(DealKind, name)):
        errors.add("name", _("A kind of deal named «%(name)s» already exists.", name=other))
    stage_names: list[str] = []
    for raw in stages:
        if raw is None or not str(raw).strip():
            continue
        stage_errors = FieldErrors()
        stage = clean_name(raw, stage_errors, "stages")
        for message in stage_errors.fields.get("stages", []):
            errors.add("stages", message)
        if not stage:
            continue
        if any(fold(s) == fold(stage) for s in stage_names):
            errors.add("stages", _("The stage «%(name)s» is named twice.", name=stage))
            continue
        stage_names.append(stage)
    if len(stage_names) > MAX_STAGES:
        errors.add("stages", _("A kind of deal has at most %(n)s stages.", n=MAX_STAGES))
    errors.raise_if_any()
    kind = DealKind(name=name, is_process=bool(is_process), is_active=True)
    kind.stages = [
        DealStage(position=i, name=s, probability=Decimal(0)) for i, s in enumerate(stage_names, 1)
    ]
    with unique("name", taken_meanwhile()):
        db.session.add(kind)
    audit.record(
        actor,
        "create",
        kind,
        changes={**audit.diff({}, _kind_snapshot(kind)), "stages": [None, stage_names]},
        summary=f"deal kind {kind.name}"[:500],
    )
    return kind


def update_kind(actor, kind: DealKind, *, name, is_process: bool) -> DealKind:
    """Rename a kind and make it a process (stages strictly in order) or not. Turning a kind
    into a process is allowed even when open deals got where they are out of order: the rule
    applies to their next moves (see `out_of_order_open_deals`)."""
    ensure_admin(actor)
    errors = FieldErrors()
    name = clean_name(name, errors)
    if name and (other := same_name(DealKind, name, exclude_id=kind.id)):
        errors.add("name", _("A kind of deal named «%(name)s» already exists.", name=other))
    errors.raise_if_any()
    before = _kind_snapshot(kind)
    with unique("name", taken_meanwhile()):
        kind.name, kind.is_process = name, bool(is_process)
    audit.record(actor, "update", kind, changes=audit.diff(before, _kind_snapshot(kind)))
    return kind


def set_kind_active(actor, kind: DealKind, active: bool) -> DealKind:
    """Deactivate a kind (no new deals of it; its deals stay as they are) or activate it."""
    ensure_admin(actor)
    before = _kind_snapshot(kind)
    kind.is_active = bool(active)
    db.session.flush()
    audit.record(actor, "update", kind, changes=audit.diff(before, _kind_snapshot(kind)))
    return kind


def out_of_order_open_deals(kind: DealKind) -> int:
    """How many open deals of `kind` got to their stage in a way a process would not allow:
    starting past the first stage, skipping a stage or going back (staying in or re-entering
    the same stage is allowed). Counted in SQL over each deal's previous stay (LAG): a kind
    can have thousands of open deals."""
    stays = (
        select(
            DealStageEntry.deal_id.label("deal_id"),
            DealStage.position.label("position"),
            func.lag(DealStage.position)
            .over(
                partition_by=DealStageEntry.deal_id,
                order_by=(DealStageEntry.entered_at, DealStageEntry.id),
            )
            .label("previous"),
        )
        .join(DealStage, DealStage.id == DealStageEntry.stage_id)
        .join(Deal, Deal.id == DealStageEntry.deal_id)
        .where(Deal.kind_id == kind.id, Deal.status == "open")
        .subquery()
    )
    first = min((s.position for s in kind.stages), default=1)
    step = stays.c.position - stays.c.previous
    return db.session.execute(
        select(func.count(func.distinct(stays.c.deal_id))).where(
            or_(
                (stays.c.previous.is_(None)) & (stays.c.position != first),
                stays.c.previous.is_not(None) & step.not_in([0, 1]),
            )
        )
    ).scalar_one()


def kinds_overview() -> list[tuple[DealKind, int, int]]:
    """Every kind (active first, by name) with its number of stages and of open deals."""
    stage_counts = dict(
        db.session.execute(
            select(DealStage.kind_id, func.count()).group_by(DealStage.kind_id)
        ).all()
    )
    open_counts = dict(
        db.session.execute(
            select(Deal.kind_id, func.count()).where(Deal.status == "open").group_by(Deal.kind_id)
        ).all()
    )
    kinds = db.session.execute(select(DealKind)).scalars().all()
    kinds = sorted(kinds, key=lambda k: (not k.is_active, fold(k.name)))
    return [(k, stage_counts.get(k.id, 0), open_counts.get(k.id, 0)) for k in kinds]
