"""Writes of deals: validation, create and edit, contact persons and participants with their
roles, deals made from an interaction chain, linked sales documents, delete. Stage moves and the
result (won, lost, reopened) are in `crm.deals.stages`."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from crm.auth.models import User
from crm.core import audit, versioning
from crm.core.errors import DomainError, FieldErrors, PermissionDenied
from crm.core.params import BadValue, OutOfRange, check_date, parse_date, parse_money
from crm.core.policy import may, require
from crm.core.timeutil import site_today, utcnow
from crm.deals.models import (
    Deal,
    DealContact,
    DealDocument,
    DealKind,
    DealParticipant,
    DealRole,
    DealStage,
)
from crm.deals.stages import enter_stage
from crm.extensions import db
from crm.partners.models import ContactPerson, Partner

# The fields a deal's edit form changes (and the audit records); the stage and the result
# change through crm.deals.stages only.
EDITED = (
    "title",
    "partner_id",
    "amount",
    "expected_close",
    "manager_id",
    "source",
    "description",
)
AUDITED = (*EDITED, "deal_no", "kind_id", "stage_id", "status", "closed_on", "created_on")
NUMBER_PREFIX = "CRM-"


def snapshot(deal: Deal) -> dict:
    return {name: getattr(deal, name) for name in AUDITED}


def _date_or_none(raw, field: str, errors: FieldErrors) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return check_date(raw) if isinstance(raw, date) else parse_date(raw)
    except (BadValue, OutOfRange) as exc:
        errors.add(field, f"{exc}.")
    return None


def _id_or_none(raw) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    return int(text) if text.isdigit() and len(text) < 10 else -1


def clean_deal(actor, data: dict, *, deal: Deal | None = None) -> dict:
    """Check `data` (form or API values) and return what to store; every problem at once."""
    errors = FieldErrors()
    current = snapshot(deal) if deal is not None else {}

    def get(key, default=None):
        return data[key] if key in data else current.get(key, default)

    v: dict = {
        "title": (get("title") or "").strip()[:255],
        "source": (get("source") or "").strip()[:255],
        "description": (get("description") or "").strip()[:100_000],
    }

    partner_id = _id_or_none(get("partner_id"))
    partner = db.session.get(Partner, partner_id) if partner_id and partner_id > 0 else None
    if (
        partner is None
        or partner.merged_into_id is not None
        or (deal is None or partner.id != deal.partner_id)
        and not may(actor, "partner.view", partner)
    ):
        errors.add("partner_id", _("Choose a partner."))
    v["partner_id"] = partner.id if partner is not None else None

    if deal is None:
        kind_id = _id_or_none(get("kind_id"))
        kind = db.session.get(DealKind, kind_id) if kind_id and kind_id > 0 else None
        if kind is None or not kind.is_active:
            errors.add("kind_id", _("Choose the kind of deal."))
        v["kind_id"] = kind.id if kind is not None else None
        stage_id = _id_or_none(get("stage_id"))
        if kind is not None:
            v["stage_id"] = _first_stage(kind, stage_id, errors)
        v["created_on"] = _date_or_none(get("created_on"), "created_on", errors) or site_today()

    raw_amount = get("amount")
    try:
        v["amount"] = parse_money(raw_amount if raw_amount not in (None, "") else 0)
        if v["amount"] < 0:
            errors.add("amount", _("The amount cannot be negative."))
    except (BadValue, OutOfRange) as exc:
        errors.add("amount", f"{exc}.")

    v["expected_close"] = _date_or_none(get("expected_close"), "expected_close", errors)
    status = deal.status if deal is not None else "open"
    if status == "open" and v["expected_close"] is None and "expected_close" not in errors.fields:
        errors.add("expected_close", _("When do you expect to close the deal?"))

    manager_id = _id_or_none(get("manager_id"))
    owner = deal.manager_id if deal is not None else actor.id
    if manager_id is None:
        manager_id = owner
    if manager_id != owner and not may(actor, "records.assign"):
        errors.add("manager_id", _("Only an admin can make someone else responsible."))
    manager = db.session.get(User, manager_id) if manager_id and manager_id > 0 else None
    if (
        manager is None
        or (manager.id != (deal.manager_id if deal else None))
        and (not manager.active or not may(manager, "records.own"))
    ):
        errors.add("manager_id", _("Choose an active manager."))
    v["manager_id"] = manager.id if manager is not None else None
    errors.raise_if_any()
    return v


def _first_stage(kind: DealKind, stage_id: int | None, errors: FieldErrors) -> int | None:
    """The stage a new deal starts at: the first of its kind's process, or (non-process kinds)
    the one chosen."""
    if not kind.stages:
        return None
    if stage_id is None:
        return kind.stages[0].id
    stage = next((s for s in kind.stages if s.id == stage_id), None)
    if stage is None:
        errors.add("stage_id", _("Choose a stage of this kind of deal."))
        return None
    if kind.is_process and stage.position != kind.stages[0].position:
        errors.add(
            "stage_id",
            _(
                "A deal of this kind starts at the first stage, «%(stage)s».",
                stage=kind.stages[0].name,
            ),
        )
    return stage.id


def next_deal_no() -> str:
    """A number for a deal made in the CRM: CRM-000001, CRM-000002… after the highest so far
    (imported deals keep the accounting system's numbers)."""
    last = db.session.execute(
        select(Deal.deal_no)
        .where(Deal.deal_no.like(NUMBER_PREFIX + "%"))
        .order_by(Deal.deal_no.desc())
        .limit(1)
    ).scalar()
    number = (
        int(last[len(NUMBER_PREFIX) :]) + 1 if last and last[len(NUMBER_PREFIX) :].isdigit() else 1
    )
    return f"{NUMBER_PREFIX}{number:06d}"


def create_deal(
    actor,
    data: dict,
    *,
    contacts: list[dict] | None = None,
    participants=None,
    deal_no: str | None = None,
) -> Deal:
    """Open a deal at the first stage of its kind (or the chosen one of a non-process kind);
    `deal_no`: the number the accounting system gave it (the caller checked it is free),
    else the CRM numbers it."""
    if not may(actor, "deal.create"):
        raise PermissionDenied(_("Only managers and admins open deals."))
    values = clean_deal(actor, data)
    deal = Deal(status="open", deal_no=(deal_no or "").strip()[:64] or next_deal_no(), **values)
    deal.stage_entered_at = utcnow()
    db.session.add(deal)
    db.session.flush()
    deal.reached_position = 0
    stage = db.session.get(DealStage, deal.stage_id) if deal.stage_id else None
    enter_stage(actor, deal, stage, at=deal.stage_entered_at)
    if contacts is not None:
        set_contacts(actor, deal, contacts, audited=False)
    if participants is not None:
        set_participants(actor, deal, participants, audited=False)
    audit.record(actor, "create", deal, summary=f"deal {deal.label}"[:500])
    db.session.flush()
    return deal


def ensure_can_edit(actor, deal: Deal) -> None:
    require(
        actor,
        "deal.edit",
        deal,
        _("Only the responsible manager or an admin can change this deal."),
    )


def update_deal(
    actor, deal: Deal, data: dict, *, contacts=None, participants=None, version: int | None = None
) -> Deal:
    """Edit a deal's fields (and its contacts and participants when given). `version`: the one
    the form was opened at — a later change refuses the save (StaleRecord)."""
    ensure_can_edit(actor, deal)
    with versioning.saving(deal, version):
        values = clean_deal(actor, data, deal=deal)
        before = snapshot(deal)
        for name in EDITED:
            setattr(deal, name, values[name])
        changes = audit.diff(before, snapshot(deal))
        if contacts is not None:
            changes.update(set_contacts(actor, deal, contacts, audited=False))
        if participants is not None:
            changes.update(set_participants(actor, deal, participants, audited=False))
        audit.record(actor, "update", deal, changes=changes)
    return deal


def _role(raw, field: str, errors: FieldErrors) -> int | None:
    role_id = _id_or_none(raw)
    if role_id is None:
        return None
    role = db.session.get(DealRole, role_id) if role_id > 0 else None
    if role is None:
        errors.add(field, _("Choose a role."))
        return None
    return role.id


def _replace_members(
    actor, deal: Deal, name: str, key: str, model, wanted: dict, audited: bool
) -> dict:
    """Make the deal's `name` collection (contacts, participants) hold exactly `wanted`
    ({member id in column `key`: role id}), keeping rows that stay; returns the audit diff."""
    rows = getattr(deal, name)

    def listed() -> list[str]:
        return sorted(f"{getattr(r, key)}:{r.role_id or ''}" for r in rows)

    before = listed()
    keep = {getattr(r, key): r for r in rows}
    for member_id, row in keep.items():
        if member_id not in wanted:
            rows.remove(row)
    for member_id, role_id in wanted.items():
        if member_id in keep:
            keep[member_id].role_id = role_id
        else:
            rows.append(model(**{key: member_id, "role_id": role_id}))
    db.session.flush()
    changes = audit.diff({name: before}, {name: listed()})
    if audited:
        audit.record(actor, "update", deal, changes=changes)
    return changes


def set_contacts(actor, deal: Deal, rows: list[dict], *, audited: bool = True) -> dict:
    """Replace the deal's contact persons: rows of {contact_person_id, role_id}; each must be
    a contact person of the deal's partner. Returns the audit diff."""
    errors = FieldErrors()
    wanted: dict[int, int | None] = {}
    for n, row in enumerate(rows):
        person_id = _id_or_none(row.get("contact_person_id"))
        if person_id is None:
            continue
        person = db.session.get(ContactPerson, person_id) if person_id > 0 else None
        if person is None or person.partner_id != deal.partner_id:
            errors.add(f"contacts-{n}", _("Choose a contact person of the deal's partner."))
            continue
        wanted[person.id] = _role(row.get("role_id"), f"contacts-{n}", errors)
    errors.raise_if_any()
    return _replace_members(
        actor, deal, "contacts", "contact_person_id", DealContact, wanted, audited
    )


def set_participants(actor, deal: Deal, rows: list[dict], *, audited: bool = True) -> dict:
    """Replace the users working on the deal besides its manager: rows of {user_id, role_id}."""
    errors = FieldErrors()
    wanted: dict[int, int | None] = {}
    current = {p.user_id for p in deal.participants}
    for n, row in enumerate(rows):
        user_id = _id_or_none(row.get("user_id"))
        if user_id is None or user_id == deal.manager_id:
            continue
        user = db.session.get(User, user_id) if user_id > 0 else None
        if user is None or (
            user.id not in current and (not user.active or not may(user, "records.own"))
        ):
            errors.add(f"participants-{n}", _("Choose an active manager."))
            continue
        wanted[user.id] = _role(row.get("role_id"), f"participants-{n}", errors)
    errors.raise_if_any()
    return _replace_members(
        actor, deal, "participants", "user_id", DealParticipant, wanted, audited
    )


def create_from_chain(actor, interaction, data: dict, **kw) -> Deal:
    """Open a deal from an interaction chain: the chain's partner by default, and every
    interaction of the chain becomes about the new deal."""
    from crm.interactions.services import link_chain

    require(actor, "interaction.view", interaction)
    if not data.get("partner_id") and interaction.partner_id:
        data = {**data, "partner_id": interaction.partner_id}
    deal = create_deal(actor, data, **kw)
    link_chain(actor, interaction, "deal", deal.id)
    return deal


def link_document(actor, deal: Deal, doc_no: str) -> DealDocument:
    """Record that a sales document (by its number) realised the deal."""
    from crm.sales.models import SalesDocument

    ensure_can_edit(actor, deal)
    doc_no = (doc_no or "").strip()
    doc = db.session.execute(
        select(SalesDocument).where(SalesDocument.doc_no == doc_no)
    ).scalar_one_or_none()
    if doc is None:
        raise DomainError(
            _("No sales document has the number %(no)s.", no=doc_no or "—"),
            {"doc_no": [_("Unknown document number.")]},
        )
    if doc.partner_id != deal.partner_id:
        raise DomainError(
            _("Document %(no)s belongs to another partner.", no=doc_no),
            {"doc_no": [_("The document belongs to another partner.")]},
        )
    found = next((d for d in deal.documents if d.document_id == doc.id), None)
    if found is not None:
        return found
    link = DealDocument(document_id=doc.id)
    deal.documents.append(link)
    db.session.flush()
    audit.record(actor, "update", deal, changes={"documents": [None, doc_no]})
    return link


def unlink_document(actor, deal: Deal, document_id: int) -> None:
    ensure_can_edit(actor, deal)
    found = next((d for d in deal.documents if d.document_id == document_id), None)
    if found is None:
        return
    deal.documents.remove(found)
    db.session.flush()
    audit.record(actor, "update", deal, changes={"documents": [document_id, None]})


def delete_deal(actor, deal: Deal) -> None:
    """Delete (admins): the interactions about it keep their text and lose the link."""
    from crm.interactions.models import Interaction

    require(actor, "deal.delete", deal, _("Only an admin can delete a deal."))
    db.session.execute(
        Interaction.__table__.update()
        .where(Interaction.subject_type == "deal", Interaction.subject_id == deal.id)
        .values(
            subject_type="",
            subject_id=None,
            subject_text=deal.label[:255],
            **versioning.bump_values(Interaction.__table__),
        )
    )
    audit.record(
        actor,
        "delete",
        deal,
        changes=audit.diff(snapshot(deal), {}),
        summary=f"deleted deal {deal.label}"[:500],
    )
    db.session.delete(deal)
    db.session.flush()


def stage_of(kind: DealKind, stage_id: int | None) -> DealStage | None:
    return next((s for s in kind.stages if s.id == stage_id), None)
