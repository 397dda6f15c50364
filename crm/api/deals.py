"""Writes of deals through the JSON API. Unlike the other resources a deal is not stored by the
import: the fields are read as deals.csv reads them (the same types and messages), then the
deal is created and changed by the deals' own services (crm.deals.services) and moved, won,
lost and reopened by crm.deals.stages, so that the API obeys the same rules as the pages (a
process kind's stages go strictly in order, a loss needs a reason, only the responsible
manager edits the fields)."""

from __future__ import annotations

from sqlalchemy import select

from crm.api.queries import Resource
from crm.auth.models import User
from crm.core.errors import DomainError, PermissionDenied
from crm.deals import services as deal_services
from crm.deals import stages
from crm.deals.models import Deal, DealKind, LossReason
from crm.exchange import values
from crm.exchange.kind import RowError
from crm.extensions import db
from crm.partners.models import Partner

# The services' field names → the API's (the import's columns).
FIELD_NAMES = {
    "partner_id": "partner_code",
    "kind_id": "kind",
    "stage_id": "stage",
    "manager_id": "manager",
    "loss_reason_id": "loss_reason",
}
TEXTS = ("title", "source", "description")


class Refused(Exception):
    """The object breaks a rule: field errors (field, message) for a 422."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        super().__init__(errors)
        self.errors = errors


def _refused(exc: DomainError) -> Refused:
    found = [
        (FIELD_NAMES.get(field, field), message)
        for field, messages in exc.field_errors.items()
        for message in messages
    ]
    return Refused(found or [(None, exc.message)])


def _parse(res: Resource, obj: dict, *, new: bool) -> dict:
    """The object's values typed as deals.csv types them; the import's message per bad one."""
    cells = {c.name: obj.get(c.name) for c in res.fields}
    rec, errors = res.kind.parse(1, cells)
    if new:
        errors = [
            e for e in errors if not (e.column in res.create_defaults and e.code == "required")
        ]
        rec["status"] = rec.get("status") or "open"
    for col in res.extra_fields:
        value = obj.get(col.name)
        rec[col.name] = "" if value is None else values.text(value)
        if col.max_len and len(rec[col.name]) > col.max_len:
            errors.append(RowError(1, col.name, "too_long", f"is longer than {col.max_len}"))
    if errors:
        raise Refused([(e.column, e.message) for e in errors])
    return rec


def _names(rec: dict, deal: Deal | None) -> dict:
    """The ids the named partner, kind, stage, manager and loss reason have; an error for each
    one that does not exist (a manager sees another's partner as unknown, as in the import)."""
    errors = []
    found = {}
    partner = db.session.execute(
        select(Partner).where(Partner.code == rec["partner_code"])
    ).scalar_one_or_none()
    if partner is not None and partner.merged_into_id is not None:
        partner = db.session.get(Partner, partner.merged_into_id)
    if partner is None:
        errors.append(("partner_code", f"unknown partner {rec['partner_code']!r}"))
    found["partner"] = partner
    kind = db.session.execute(
        select(DealKind).where(DealKind.name == rec["kind"])
    ).scalar_one_or_none()
    if kind is None:
        errors.append(("kind", f"unknown deal kind {rec['kind']!r}"))
    elif deal is not None and kind.id != deal.kind_id:
        errors.append(("kind", "the kind of a deal cannot be changed"))
        kind = None  # its stages are not the deal's: no second error about the stage
    found["kind"] = kind
    found["stage"] = None
    if rec["stage"] and kind is not None:
        found["stage"] = next((s for s in kind.stages if s.name == rec["stage"]), None)
        if found["stage"] is None:
            errors.append(
                ("stage", f"{rec['stage']!r} is not a stage of deal kind {rec['kind']!r}")
            )
    found["manager"] = None
    if rec["manager"]:
        found["manager"] = db.session.execute(
            select(User).where(User.email == rec["manager"].casefold())
        ).scalar_one_or_none()
        if found["manager"] is None:
            errors.append(("manager", f"no user has the e-mail {rec['manager']!r}"))
    found["reason"] = None
    if rec["loss_reason"]:
        if rec["status"] != "lost":
            errors.append(("loss_reason", "only a lost deal has a loss reason"))
        found["reason"] = db.session.execute(
            select(LossReason).where(LossReason.name == rec["loss_reason"])
        ).scalar_one_or_none()
        if found["reason"] is None:
            errors.append(("loss_reason", f"unknown loss reason {rec['loss_reason']!r}"))
    elif rec["status"] == "lost" and (deal is None or deal.status != "lost"):
        errors.append(("loss_reason", "is required to mark a deal lost"))
    if deal is not None and rec["created_on"] != deal.created_on:
        errors.append(("created_on", "the day a deal was opened cannot be changed"))
    if errors:
        raise Refused(errors)
    return found


def _fields(rec: dict, found: dict) -> dict:
    """The values services.create_deal/update_deal take."""
    return {
        "partner_id": found["partner"].id,
        "amount": rec["amount"],
        "expected_close": rec["expected_close"],
        "manager_id": found["manager"].id if found["manager"] is not None else None,
        **{name: rec.get(name) or "" for name in TEXTS},
    }


def _close(user, deal: Deal, rec: dict, found: dict) -> None:
    if rec["status"] == "won":
        stages.win(user, deal, closed_on=rec["closed_on"], amount=rec["amount"])
    elif rec["status"] == "lost":
        stages.lose(user, deal, reason_id=found["reason"].id, closed_on=rec["closed_on"])


def _write(action):
    """Run a write of the services; their refusals become the API's."""
    try:
        return action()
    except PermissionDenied:
        raise
    except DomainError as exc:
        if hasattr(exc, "submitted_version"):  # StaleRecord: the caller answers 409
            raise
        raise _refused(exc) from exc


def create(res: Resource, user, obj: dict) -> dict:
    """Open a deal (at its kind's first stage, or the one named for a non-process kind), then
    win or lose it when the object says so; returns its key."""
    rec = _parse(res, obj, new=True)
    found = _names(rec, None)
    data = {
        **_fields(rec, found),
        "kind_id": found["kind"].id,
        "stage_id": found["stage"].id if found["stage"] is not None else None,
        "created_on": rec["created_on"],
    }
    if rec["status"] != "open" and data["expected_close"] is None:
        data["expected_close"] = rec["closed_on"]  # a deal recorded closed: it closed then

    def run():
        deal = deal_services.create_deal(user, data, deal_no=rec["deal_no"] or None)
        _close(user, deal, rec, found)
        return deal

    deal = _write(run)
    return {"deal_no": deal.deal_no}


def update(res: Resource, user, deal: Deal, obj: dict, sent) -> None:
    """Change the fields that differ through update_deal (the responsible manager or an
    admin), the stage through stages.move (process kinds: the next one only), and the status
    through win / lose / reopen (the deal's manager, participants or an admin). `sent`: the
    fields the request gave (a stored result it does not repeat goes with a new status)."""
    rec = _parse(res, obj, new=False)
    if rec["status"] != deal.status:
        if "loss_reason" not in sent and rec["status"] != "lost":
            rec["loss_reason"] = None
        if "closed_on" not in sent:
            rec["closed_on"] = None  # won or lost today, unless the request says when
    found = _names(rec, deal)
    data = _fields(rec, found)
    if data["manager_id"] is None:
        data["manager_id"] = deal.manager_id
    current = {name: getattr(deal, name) for name in data}
    current.update({name: getattr(deal, name) or "" for name in TEXTS})
    changed = {k: v for k, v in data.items() if v != current[k]}
    stage = found["stage"]
    status = rec["status"]

    def run():
        if deal.status != "open" and (status != deal.status or status == "open"):
            stages.reopen(user, deal)
        if changed:
            deal_services.update_deal(user, deal, data)
        if deal.status == "open":
            if stage is not None and stage.id != deal.stage_id:
                stages.move(user, deal, stage.id)
            _close(user, deal, rec, found)
        elif rec["closed_on"] != deal.closed_on or (
            found["reason"] is not None and found["reason"].id != deal.loss_reason_id
        ):
            raise Refused(
                [(None, "a closed deal's result changes by opening it again (status open)")]
            )

    _write(run)
