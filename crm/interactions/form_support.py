"""Building the interaction forms and reading them back: the choices they offer (only what the
user may see), prefilled values, local date-times, participant rows, errors next to fields."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from crm.core.errors import DomainError
from crm.core.params import OutOfRange, id_or_none
from crm.core.policy import may, visible
from crm.core.text import CONTROL_CHARS
from crm.core.timeutil import parse_local, to_zone, user_zone, utcnow
from crm.core.versioning import StaleRecord
from crm.extensions import db
from crm.forms import apply_errors
from crm.interactions import queries, subjects
from crm.interactions.forms import InteractionForm, LogForm
from crm.interactions.labels import input_value
from crm.interactions.models import KINDS, Interaction
from crm.partners.models import Partner

PARTNER_CHOICES = 50  # partners offered in a form's select before the user searches


def zone() -> str:
    return user_zone(current_user)


def local_input(value: datetime | None) -> str:
    """A UTC datetime as the value of a `datetime-local` input in the user's zone."""
    local = to_zone(value, zone())
    return input_value(local) if local else ""


def partner_choices(selected: Partner | None, blank: str | None = None) -> list[SelectChoice]:
    blank = _("— no partner —") if blank is None else blank
    stmt = select(Partner).where(Partner.merged_into_id.is_(None))
    stmt = visible(current_user, Partner, stmt)
    q = CONTROL_CHARS.sub(" ", request.args.get("partner_q") or "").strip()[:100]
    if q:
        from crm.core.text import fold

        stmt = stmt.where(Partner.search_text.contains(fold(q), autoescape=True))
    partners = list(
        db.session.execute(stmt.order_by(Partner.name_norm).limit(PARTNER_CHOICES)).scalars()
    )
    if selected is not None and selected not in partners:
        partners.insert(0, selected)
    return [SelectChoice("", blank)] + [
        SelectChoice(str(p.id), f"{p.name} ({p.code})") for p in partners
    ]


def person_choices(partner: Partner | None) -> list[SelectChoice]:
    persons = partner.contact_persons if partner is not None else []
    return [SelectChoice("", "—")] + [
        SelectChoice(str(p.id), p.name + (f", {p.position}" if p.position else "")) for p in persons
    ]


def subject_choices() -> list[SelectChoice]:
    return [SelectChoice("", _("Free text"))] + [
        SelectChoice(t.key, t.title) for t in subjects.subject_types()
    ]


def fill_choices(form, partner: Partner | None) -> None:
    form.partner_id.choices = partner_choices(partner)
    form.contact_person_id.choices = person_choices(partner)
    if hasattr(form, "responsible_id"):
        form.responsible_id.choices = [
            SelectChoice(str(u.id), u.display_name) for u in queries.assignable_users()
        ]
        form.subject_type.choices = subject_choices()


def chosen_partner(form) -> Partner | None:
    partner_id = id_or_none(form.partner_id.data or request.args.get("partner_id"))
    partner = db.session.get(Partner, partner_id) if partner_id else None
    if partner is not None and not may(current_user, "partner.view", partner):
        return None
    return partner


def datetimes(form, names: tuple[str, ...]) -> dict:
    """Parse the form's local date-times; a bad one becomes a field error."""
    values = {}
    for name in names:
        try:
            values[name] = parse_local(getattr(form, name).data, zone())
        except OutOfRange as exc:  # core's message (crm.core.params) names the bounds
            getattr(form, name).errors = [f"{exc}."]
            values[name] = False
        except ValueError:
            getattr(form, name).errors = [_("Enter a date and time (YYYY-MM-DD HH:MM).")]
            values[name] = False
    return values


def participants_from(form_data) -> list[dict]:
    rows = []
    for n in range(20):
        prefix = f"participants-{n}-"
        row = {
            key: form_data.get(prefix + key, "")
            for key in ("user_id", "contact_person_id", "name", "note")
        }
        if any(row.values()):
            rows.append(row)
    return rows


def form_data(form: InteractionForm) -> dict | None:
    data = {
        name: getattr(form, name).data
        for name in (
            "kind",
            "status",
            "title",
            "responsible_id",
            "partner_id",
            "contact_person_id",
            "contact_text",
            "direction",
            "address",
            "duration_minutes",
            "outcome",
            "subject_type",
            "subject_id",
            "subject_text",
            "description",
            "parent_id",
        )
    }
    data["remind_minutes"] = form.remind_minutes.data or None
    if form.duration_minutes.errors:
        return None
    times = datetimes(form, ("starts_at", "follow_up_at"))
    if False in times.values():
        return None
    data.update(times)
    return data


def new_form() -> InteractionForm:
    """A blank form, prefilled from the query string (kind, partner, reply to…)."""
    form = InteractionForm()
    if request.method == "POST":
        return form
    args = request.args
    kind = args.get("kind") if args.get("kind") in KINDS else "call"
    form.kind.data = kind
    form.status.data = "planned" if kind in ("meeting", "planned") else "completed"
    form.responsible_id.data = str(current_user.id)
    form.partner_id.data = args.get("partner_id", "")
    now = to_zone(utcnow(), zone())
    start = now.replace(second=0, microsecond=0)
    if kind in ("meeting", "planned"):
        start = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        form.duration_minutes.data = 60
    form.starts_at.data = input_value(start)
    form.direction.data = "outgoing"
    # "New interaction about this deal": a registered subject the user may see (its domain
    # decides); anything else is ignored and the form starts without a subject.
    subject = subjects.subject_type(args.get("subject_type") or "")
    subject_id = id_or_none(args.get("subject_id"))
    if subject is not None and subject_id and subject.can_view(current_user, subject_id):
        form.subject_type.data, form.subject_id.data = subject.key, str(subject_id)
    parent_id = id_or_none(args.get("parent_id"))
    parent = db.session.get(Interaction, parent_id) if parent_id else None
    if parent is not None and may(current_user, "interaction.view", parent):
        form.parent_id.data = str(parent.id)
        form.partner_id.data = str(parent.partner_id or "")
        form.contact_person_id.data = str(parent.contact_person_id or "")
        form.contact_text.data = parent.contact_text
        form.address.data = parent.address
        form.subject_type.data, form.subject_text.data = parent.subject_type, parent.subject_text
        form.subject_id.data = str(parent.subject_id or "")
        title = parent.title
        if args.get("reply") and title and not title.lower().startswith("re:"):
            title = f"Re: {title}"
        form.title.data = title
        if args.get("reply"):
            form.kind.data = parent.kind
            form.direction.data = "incoming" if parent.direction == "outgoing" else "outgoing"
    return form


def place_errors(form, exc: DomainError) -> dict:
    """Field errors next to their fields; returns those of the non-WTForms parts
    (participants, attachments) for the template."""
    if isinstance(exc, StaleRecord):
        apply_errors(form, exc)
        return {}
    extra = {k: v for k, v in exc.field_errors.items() if not hasattr(form, k)}
    placed = {k: v for k, v in exc.field_errors.items() if hasattr(form, k)}
    apply_errors(form, DomainError(exc.message, placed))
    return extra


def participant_rows(interaction) -> list[dict]:
    if request.method == "POST":
        rows = participants_from(request.form)
    elif interaction is not None:
        rows = [
            {
                "user_id": str(p.user_id or ""),
                "contact_person_id": str(p.contact_person_id or ""),
                "name": p.name,
                "note": p.note,
            }
            for p in interaction.participants
        ]
    else:
        rows = []
    return rows + [{"user_id": "", "contact_person_id": "", "name": "", "note": ""}] * 2


def log_errors(form: LogForm, exc: DomainError) -> None:
    """Errors of the next step's fields appear on the next-step inputs."""
    mapped = {"starts_at": "starts_at", "title": "next_title"}
    for name, messages in exc.field_errors.items():
        field = getattr(form, mapped.get(name, name), None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors.extend(messages)
    if not exc.field_errors:
        form.form_errors.append(exc.message)
