"""Writes of interactions: validation, create/edit, quick actions (complete, defer, reschedule),
chains, participants, attachments. Times arrive and are stored as naive UTC; views convert
from the user's zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from crm.auth.models import User
from crm.core import audit, versioning
from crm.core.errors import DomainError, FieldErrors, PermissionDenied
from crm.core.params import INT_MAX, BadValue, OutOfRange, parse_int
from crm.core.policy import may, require
from crm.core.text import checked_email, digits, fold
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.interactions import subjects
from crm.interactions.models import (
    DIRECTED_KINDS,
    DIRECTIONS,
    KINDS,
    MAX_DURATION,
    MAX_REMIND,
    OPEN_STATUSES,
    STATUSES,
    Interaction,
    Participant,
)
from crm.partners.models import ContactPerson, Partner

AUDITED = (
    "kind",
    "status",
    "title",
    "responsible_id",
    "partner_id",
    "contact_person_id",
    "contact_text",
    "subject_type",
    "subject_id",
    "subject_text",
    "starts_at",
    "duration_minutes",
    "follow_up_at",
    "remind_minutes",
    "direction",
    "address",
    "outcome",
    "description",
    "parent_id",
)


def _snapshot(i: Interaction) -> dict:
    return {name: getattr(i, name) for name in AUDITED}


def sync_due(i: Interaction) -> None:
    """When the item needs its owner: the start of an open item or the follow-up date."""
    moments = []
    if i.status in OPEN_STATUSES and i.starts_at is not None:
        moments.append(i.starts_at)
    if i.follow_up_at is not None and i.status != "cancelled":
        moments.append(i.follow_up_at)
    i.due_at = min(moments) if moments else None


def sync_derived(i: Interaction) -> None:
    """Columns kept for queries: end time, due time, search text."""
    i.ends_at = i.starts_at + timedelta(minutes=i.duration_minutes or 0)
    sync_due(i)
    for p in i.participants:
        p.starts_at, p.ends_at = i.starts_at, i.ends_at
    parts = [i.title, i.contact_text, i.subject_text, i.address, i.outcome, i.description]
    # By id, not the relationship: before a flush it may not reflect a changed partner_id.
    for model, key in ((Partner, i.partner_id), (ContactPerson, i.contact_person_id)):
        linked = db.session.get(model, key) if key else None
        if linked is not None:
            parts.append(linked.name)
    i.search_text = fold(" ".join(p for p in parts if p))[:4000]


# --- validation -----------------------------------------------------------------------------


def _text(data: dict, key: str, limit: int) -> str:
    return (data.get(key) or "").strip()[:limit]


def _int_or_none(value, field: str, errors: FieldErrors) -> int | None:
    if value in (None, ""):
        return None
    try:
        return parse_int(value, minimum=-INT_MAX)
    except OutOfRange:
        errors.add(field, _("The number is too large."))
    except BadValue:
        errors.add(field, _("Must be a whole number."))
    return None


def clean_interaction(
    actor, data: dict, *, interaction: Interaction | None = None, assigning: bool = False
) -> dict:
    """Check `data` (Python values, UTC datetimes) and return the values to store.
    `assigning`: the caller has already allowed `actor` to make someone else responsible
    (a batch planned from a report, see `create_for_owner`)."""
    errors = FieldErrors()
    current = _snapshot(interaction) if interaction is not None else {}

    def get(key, default=None):
        return data[key] if key in data else current.get(key, default)

    v: dict = {}
    v["kind"] = get("kind") or ""
    if v["kind"] not in KINDS:
        errors.add("kind", _("Choose the kind of interaction."))
    v["status"] = get("status") or "planned"
    if v["status"] not in STATUSES:
        errors.add("status", _("Choose a status."))
    v["title"] = (get("title") or "").strip()[:255]
    v["contact_text"] = (get("contact_text") or "").strip()[:255]
    v["subject_text"] = (get("subject_text") or "").strip()[:255]
    v["outcome"] = (get("outcome") or "").strip()[:255]
    v["description"] = (get("description") or "").strip()[:100_000]
    v["address"] = (get("address") or "").strip()[:255]

    starts_at = get("starts_at")
    if not isinstance(starts_at, datetime):
        errors.add("starts_at", _("Enter the date and time."))
    v["starts_at"] = starts_at.replace(second=0, microsecond=0) if starts_at else None

    duration = _int_or_none(get("duration_minutes", 0), "duration_minutes", errors) or 0
    if not 0 <= duration <= MAX_DURATION:
        errors.add("duration_minutes", _("Between 0 and %(max)s minutes.", max=MAX_DURATION))
    v["duration_minutes"] = duration

    follow_up = get("follow_up_at")
    if follow_up is not None and not isinstance(follow_up, datetime):
        errors.add("follow_up_at", _("Enter a date and time."))
        follow_up = None
    v["follow_up_at"] = follow_up.replace(second=0, microsecond=0) if follow_up else None

    remind = _int_or_none(get("remind_minutes"), "remind_minutes", errors)
    if remind is not None and not 0 <= remind <= MAX_REMIND:
        errors.add(
            "remind_minutes",
            _("Between 0 and %(max)s minutes, or empty for none.", max=MAX_REMIND),
        )
    v["remind_minutes"] = remind

    # Responsible: managers plan for themselves (colleagues join as participants); admins
    # may hand an interaction to anyone active.
    responsible_id = _int_or_none(get("responsible_id"), "responsible_id", errors)
    if responsible_id is None:
        responsible_id = interaction.responsible_id if interaction else actor.id
    owner = interaction.responsible_id if interaction else actor.id
    if responsible_id != owner and not (assigning or may(actor, "records.assign")):
        errors.add("responsible_id", _("Only an admin can make someone else responsible."))
    user = db.session.get(User, responsible_id)
    if user is None or not user.active or not may(user, "records.own"):
        errors.add("responsible_id", _("Choose an active manager."))
    v["responsible_id"] = responsible_id

    _clean_contact(actor, get, v, errors, current)
    _clean_direction(get, v, errors)
    _clean_subject(actor, get, v, errors, current)
    _clean_parent(actor, get, v, errors, interaction)

    if v["kind"] == "email" and not v["title"]:
        errors.add("title", _("An e-mail needs a subject line."))
    if v["kind"] == "sms" and not v["description"]:
        errors.add("description", _("Write the text of the SMS."))
    if v["kind"] in DIRECTED_KINDS and not (v["partner_id"] or v["contact_text"] or v["address"]):
        errors.add("partner_id", _("Who was it with? Choose a partner or type a contact."))
    if v["kind"] in ("meeting", "planned") and not (v["title"] or v["partner_id"]):
        errors.add("title", _("Give a topic or choose a partner."))
    errors.raise_if_any()
    return v


def _clean_contact(actor, get, v: dict, errors: FieldErrors, current: dict) -> None:
    partner_id = _int_or_none(get("partner_id"), "partner_id", errors)
    person_id = _int_or_none(get("contact_person_id"), "contact_person_id", errors)
    person = db.session.get(ContactPerson, person_id) if person_id else None
    if person_id and person is None:
        errors.add("contact_person_id", _("This contact person does not exist."))
    if person is not None and partner_id is None:
        partner_id = person.partner_id
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner_id and partner is None:
        errors.add("partner_id", _("This partner does not exist."))
    elif partner is not None:
        unchanged = partner_id == current.get("partner_id")
        if partner.merged_into_id and not unchanged:
            errors.add("partner_id", _("This partner was merged; choose the one it went into."))
        elif not unchanged and not may(actor, "partner.view", partner):
            errors.add("partner_id", _("You cannot see this partner."))
    if person is not None and partner is not None and person.partner_id != partner.id:
        errors.add("contact_person_id", _("This person is not a contact of the chosen partner."))
    v["partner_id"], v["contact_person_id"] = partner_id, person_id


def _clean_direction(get, v: dict, errors: FieldErrors) -> None:
    direction = get("direction") or ""
    if v["kind"] in DIRECTED_KINDS:
        if direction not in DIRECTIONS:
            errors.add("direction", _("Incoming or outgoing?"))
    else:
        direction = ""
    v["direction"] = direction
    address = v["address"]
    if address and v["kind"] == "email":
        try:
            v["address"] = checked_email(address)
        except ValueError as exc:
            errors.add("address", str(exc))
    elif address and v["kind"] in ("call", "sms") and len(digits(address)) < 3:
        errors.add("address", _("A phone number has digits."))


def _clean_subject(actor, get, v: dict, errors: FieldErrors, current: dict) -> None:
    key = get("subject_type") or ""
    object_id = _int_or_none(get("subject_id"), "subject_id", errors)
    if not key:
        object_id = None
    elif (key, object_id) != (current.get("subject_type"), current.get("subject_id")):
        kind = subjects.subject_type(key)
        if kind is None:
            errors.add("subject_id", _("Unknown kind of subject."))
        elif object_id is None or not kind.describe([object_id]):
            errors.add(
                "subject_id", _("This %(kind)s does not exist.", kind=str(kind.title).lower())
            )
        elif not kind.can_view(actor, object_id):
            errors.add(
                "subject_id", _("You cannot see this %(kind)s.", kind=str(kind.title).lower())
            )
    v["subject_type"], v["subject_id"] = key, object_id


def _clean_parent(actor, get, v: dict, errors: FieldErrors, interaction) -> None:
    parent_id = _int_or_none(get("parent_id"), "parent_id", errors)
    if parent_id is None:
        v["parent_id"] = None
        return
    parent = db.session.get(Interaction, parent_id)
    if parent is None or not may(actor, "interaction.view", parent):
        errors.add("parent_id", _("The interaction this answers does not exist."))
    elif interaction is not None and (
        parent.id == interaction.id
        or parent.chain_id == interaction.chain_id
        and _descends_from(parent, interaction)
    ):
        errors.add("parent_id", _("An interaction cannot follow itself."))
    v["parent_id"] = parent_id


def _descends_from(node: Interaction, ancestor: Interaction) -> bool:
    seen = set()
    while node is not None and node.id not in seen:
        if node.id == ancestor.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


# --- create / update ------------------------------------------------------------------------


def _apply(i: Interaction, v: dict) -> None:
    for key, value in v.items():
        setattr(i, key, value)
    if i.status == "completed" and i.completed_at is None:
        i.completed_at = utcnow()
    elif i.status != "completed":
        i.completed_at = None


def _attach_to_chain(i: Interaction, parent: Interaction | None) -> None:
    i.chain_id = (parent.chain_id or parent.id) if parent is not None else i.id


def _participant_order(row: tuple) -> tuple:
    # A row has a user, a person or only a name: a missing id sorts as 0, since comparing
    # None with an id raises TypeError (a colleague and a guest on one meeting did).
    user_id, person_id, name, note = row
    return (user_id or 0, person_id or 0, name, note)


def set_participants(actor, i: Interaction, rows: list[dict]) -> None:
    """Replace the participants with `rows` of {user_id | contact_person_id | name, note}."""
    errors = FieldErrors()
    keep: list[Participant] = []
    seen = set()
    for n, row in enumerate(rows):
        user_id = _int_or_none(row.get("user_id"), "participants", errors)
        person_id = _int_or_none(row.get("contact_person_id"), "participants", errors)
        name = (row.get("name") or "").strip()[:255]
        note = (row.get("note") or "").strip()[:500]
        if not (user_id or person_id or name):
            continue
        key = (user_id, person_id, fold(name))
        if key in seen:
            continue
        seen.add(key)
        if user_id and (db.session.get(User, user_id) is None):
            errors.add("participants", _("Participant %(num)s: no such user.", num=n + 1))
            continue
        person = db.session.get(ContactPerson, person_id) if person_id else None
        if person_id and person is None:
            errors.add("participants", _("Participant %(num)s: no such contact person.", num=n + 1))
            continue
        if person is not None and not may(actor, "partner.view", person.partner):
            errors.add(
                "participants", _("Participant %(num)s: you cannot see this contact.", num=n + 1)
            )
            continue
        keep.append(
            Participant(
                user_id=user_id,
                contact_person_id=person_id,
                name=name,
                note=note,
                starts_at=i.starts_at,
                ends_at=i.ends_at,
            )
        )
    errors.raise_if_any()
    before = sorted(
        ((p.user_id, p.contact_person_id, p.name, p.note) for p in i.participants),
        key=_participant_order,
    )
    after = sorted(
        ((p.user_id, p.contact_person_id, p.name, p.note) for p in keep), key=_participant_order
    )
    if before != after:
        i.participants = keep
        if i.id is not None:
            audit.record(
                actor,
                "update",
                i,
                changes={"participants": [[list(r) for r in before], [list(r) for r in after]]},
            )


def create_interaction(actor, data: dict, participants: list[dict] | None = None) -> Interaction:
    """Create an interaction (a reply or follow-up when `parent_id` is given)."""
    if not may(actor, "interaction.create"):
        raise PermissionDenied(_("Only managers and admins record interactions."))
    values = clean_interaction(actor, data)
    i = Interaction()
    _apply(i, values)
    sync_derived(i)
    db.session.add(i)
    if participants:
        set_participants(actor, i, participants)
    db.session.flush()
    parent = db.session.get(Interaction, i.parent_id) if i.parent_id else None
    _attach_to_chain(i, parent)
    sync_derived(i)
    if (
        parent is not None
        and parent.follow_up_at is not None
        and may(actor, "interaction.edit", parent)
    ):
        # The reply is the follow-up the parent waited for.
        _change(actor, parent, {"follow_up_at": None}, summary="answered by a follow-up")
    audit.record(actor, "create", i, summary=f"{i.kind_title}: {i.display_title}"[:500])
    db.session.flush()
    return i


def create_for_owner(actor, data: dict) -> Interaction:
    """Create an interaction for its responsible user on behalf of a workflow that has already
    checked `actor`'s right to plan it (analytics' batch of calls from the transition report,
    which marketers may plan for the clients' managers): neither `interaction.create` nor
    `records.assign` is asked of `actor`; the responsible user must still be an active owner,
    the partner one `actor` may see, and every other rule of `clean_interaction` holds."""
    # A new thread: a batch answers no earlier interaction.
    values = clean_interaction(actor, {**data, "parent_id": None}, assigning=True)
    i = Interaction()
    _apply(i, values)
    sync_derived(i)
    db.session.add(i)
    db.session.flush()
    _attach_to_chain(i, None)
    audit.record(actor, "create", i, summary=f"{i.kind_title}: {i.display_title}"[:500])
    db.session.flush()
    return i


def ensure_can_edit(actor, i: Interaction) -> None:
    require(
        actor,
        "interaction.edit",
        i,
        _("Only the responsible user or an admin can change this."),
    )


def _change(actor, i: Interaction, values: dict, summary: str = "") -> Interaction:
    before = _snapshot(i)
    _apply(i, values)
    sync_derived(i)
    audit.record(actor, "update", i, changes=audit.diff(before, _snapshot(i)), summary=summary)
    db.session.flush()
    return i


def update_interaction(
    actor, i: Interaction, data: dict, participants=None, version: int | None = None
) -> Interaction:
    """Edit an interaction's fields (and its participants when given). `version`: the one
    the form was opened at — a later change refuses the save (StaleRecord)."""
    ensure_can_edit(actor, i)
    with versioning.saving(i, version):
        values = clean_interaction(actor, data, interaction=i)
        old_parent = i.parent_id
        _change(actor, i, values)
        if participants is not None:
            set_participants(actor, i, participants)
    if i.parent_id != old_parent:
        _rechain(i)
    db.session.flush()
    return i


def _rechain(i: Interaction) -> None:
    """Move `i` and its replies into the chain of its (new) parent."""
    parent = db.session.get(Interaction, i.parent_id) if i.parent_id else None
    old_chain = i.chain_id
    new_chain = (parent.chain_id or parent.id) if parent else i.id
    if new_chain == old_chain:
        return
    members, frontier = [i.id], [i.id]
    while frontier:
        frontier = list(
            db.session.execute(
                select(Interaction.id).where(Interaction.parent_id.in_(frontier))
            ).scalars()
        )
        members += frontier
    db.session.execute(
        update(Interaction).where(Interaction.id.in_(members)).values(chain_id=new_chain)
    )
    db.session.expire_all()


# --- quick actions -----------------------------------------------------------------------


def complete(actor, i: Interaction, outcome: str = "") -> Interaction:
    """Mark done; a follow-up date stays (it is cleared by replying or marking processed)."""
    ensure_can_edit(actor, i)
    values = {"status": "completed"}
    if outcome.strip():
        values["outcome"] = outcome.strip()[:255]
    return _change(actor, i, values, summary="completed")


def defer(actor, i: Interaction, until: datetime) -> Interaction:
    """Put off to `until` (UTC): deferred, and due again then."""
    ensure_can_edit(actor, i)
    if not isinstance(until, datetime):
        raise DomainError(_("Choose the date to defer to."), {"until": [_("Choose a date.")]})
    until = until.replace(second=0, microsecond=0)
    if i.is_open or i.follow_up_at is None:
        values = {"status": "deferred", "starts_at": until}
    else:  # a finished item waiting for an answer: only the follow-up moves
        values = {"follow_up_at": until}
    return _change(actor, i, values, summary="deferred")


def reschedule(actor, i: Interaction, starts_at: datetime, version: int | None = None):
    """Move to a new start time keeping its duration (drag in the calendar). `version`: the
    one the calendar was drawn with — the new time was chosen against that picture, so a
    change since (another move, a new duration) refuses the move (StaleRecord)."""
    ensure_can_edit(actor, i)
    if not isinstance(starts_at, datetime):
        raise DomainError(_("Choose the new date and time."), {"starts_at": [_("Choose a time.")]})
    with versioning.saving(i, version):
        _change(
            actor,
            i,
            {"starts_at": starts_at.replace(second=0, microsecond=0)},
            summary="rescheduled",
        )
    return i


def cancel(actor, i: Interaction) -> Interaction:
    ensure_can_edit(actor, i)
    return _change(actor, i, {"status": "cancelled"}, summary="cancelled")


def mark_processed(actor, i: Interaction) -> Interaction:
    """Nothing more to do about it: clear the follow-up date (and close it if still open)."""
    ensure_can_edit(actor, i)
    values: dict = {"follow_up_at": None}
    if i.is_open:
        values["status"] = "completed"
    return _change(actor, i, values, summary="marked processed")


def log_and_plan(actor, logged: dict, next_step: dict | None, participants=None):
    """The phone form: record what happened (completed) and plan the next step as its
    follow-up, in one go; returns (logged, next or None)."""
    done = create_interaction(actor, {**logged, "status": "completed"}, participants)
    nxt = None
    if next_step:
        # The number just dialled suits a call or SMS next, not an e-mail (nor a meeting).
        phones = ("call", "sms")
        same_channel = (
            done.kind in phones
            and next_step.get("kind") in phones
            or done.kind == next_step.get("kind") == "email"
        )
        nxt = create_interaction(
            actor,
            {
                "partner_id": done.partner_id,
                "contact_person_id": done.contact_person_id,
                "contact_text": done.contact_text,
                "address": done.address if same_channel else "",
                "subject_type": done.subject_type,
                "subject_id": done.subject_id,
                "subject_text": done.subject_text,
                **next_step,
                "parent_id": done.id,
                "status": "planned",
            },
        )
    return done, nxt


def link_chain(actor, i: Interaction, subject_type: str, subject_id: int) -> int:
    """Make every interaction of `i`'s chain about one subject — the hook a domain calls when
    it creates its object from a chain (a deal from a thread of calls); returns rows changed."""
    if subjects.subject_type(subject_type) is None:
        raise DomainError(_("Unknown kind of subject."))
    chain = i.chain_id or i.id
    members = list(
        db.session.execute(select(Interaction).where(Interaction.chain_id == chain)).scalars()
    )
    for member in members:
        before = _snapshot(member)
        member.subject_type, member.subject_id = subject_type, subject_id
        audit.record(
            actor,
            "update",
            member,
            changes=audit.diff(before, _snapshot(member)),
            summary=f"linked to {subject_type} {subject_id}",
        )
    db.session.flush()
    return len(members)


def delete_interaction(actor, i: Interaction) -> None:
    """Delete (admins, or the responsible user): replies stay and start their own threads."""
    ensure_can_edit(actor, i)
    children = list(
        db.session.execute(select(Interaction).where(Interaction.parent_id == i.id)).scalars()
    )
    for child in children:
        child.parent_id = None
        db.session.flush()
        _rechain(child)
    audit.record(
        actor,
        "delete",
        i,
        changes=audit.diff(_snapshot(i), {}),
        summary=f"deleted {i.kind_title}: {i.display_title}"[:500],
    )
    db.session.delete(i)
    db.session.flush()
