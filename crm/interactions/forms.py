"""Interaction forms. They carry the input and the CSRF token; the rules live in services.py.
Date-times are typed in the user's zone (`datetime-local`) and converted by the view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from crm.forms import VersionedForm
from crm.interactions.models import DIRECTIONS, KINDS, STATUSES

REMINDERS = [
    SelectChoice(*c)
    for c in (
        ("", _l("No reminder")),
        ("0", _l("At the start")),
        ("5", _l("5 minutes before")),
        ("15", _l("15 minutes before")),
        ("30", _l("30 minutes before")),
        ("60", _l("1 hour before")),
        ("1440", _l("1 day before")),
    )
]
# Suggestions for the outcome field (a datalist): the text chosen is stored as typed.
OUTCOMES = [
    _l("Reached, agreed next step"),
    _l("Reached, not interested"),
    _l("No answer"),
    _l("Busy"),
    _l("Left a voicemail"),
    _l("Wrong number"),
    _l("Asked to call back"),
]


def _choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(k, v) for k, v in mapping.items()]


class InteractionForm(VersionedForm, FlaskForm):
    kind = SelectField(_l("Kind"), choices=_choices(KINDS), validate_choice=False)
    status = SelectField(_l("Status"), choices=_choices(STATUSES), validate_choice=False)
    title = StringField(_l("Topic"), description=_l("An e-mail's subject line."))
    responsible_id = SelectField(_l("Responsible"), choices=[], validate_choice=False)
    partner_id = SelectField(_l("Partner"), choices=[], validate_choice=False)
    contact_person_id = SelectField(_l("Contact person"), choices=[], validate_choice=False)
    contact_text = StringField(
        _l("Other contact"), description=_l("A name or number not in the CRM.")
    )
    direction = SelectField(
        _l("Direction"), choices=_choices(DIRECTIONS, "—"), validate_choice=False
    )
    address = StringField(_l("Phone number / e-mail address"))
    starts_at = StringField(_l("Date and time"))
    duration_minutes = IntegerField(_l("Duration, minutes"), validators=[Optional()], default=0)
    follow_up_at = StringField(_l("Needs reply / follow-up by"))
    remind_minutes = SelectField(
        _l("Reminder"), choices=REMINDERS, default="15", validate_choice=False
    )
    outcome = StringField(_l("Outcome"))
    subject_type = SelectField(_l("Subject"), choices=[], validate_choice=False)
    subject_id = StringField(_l("Subject number"))
    subject_text = StringField(_l("Subject (free text)"))
    description = TextAreaField(_l("Description / text"))
    parent_id = HiddenField()


class MoveForm(VersionedForm, FlaskForm):
    """A calendar move: the version the item was drawn with (its time comes apart)."""


class QuickForm(FlaskForm):
    """The CSRF token (and optional fields) of the list's one-click actions."""

    outcome = StringField(_l("Outcome"))
    until = StringField(_l("Defer to"))


class LogForm(FlaskForm):
    """The phone form: what happened, and the next step."""

    kind = SelectField(
        _l("What"),
        choices=[SelectChoice("call", KINDS["call"]), SelectChoice("meeting", KINDS["meeting"])],
        validate_choice=False,
    )
    direction = SelectField(
        _l("Direction"), choices=_choices(DIRECTIONS), default="outgoing", validate_choice=False
    )
    partner_id = SelectField(_l("Partner"), choices=[], validate_choice=False)
    contact_person_id = SelectField(_l("Contact person"), choices=[], validate_choice=False)
    contact_text = StringField(_l("Other contact"))
    address = StringField(_l("Number"))
    starts_at = StringField(_l("When"))
    duration_minutes = IntegerField(_l("Minutes"), validators=[Optional()], default=5)
    outcome = StringField(_l("Outcome"))
    description = TextAreaField(_l("Notes"))
    next_kind = SelectField(
        _l("Next step"),
        choices=[SelectChoice("", _l("No next step"))]
        + [SelectChoice(k, v) for k, v in KINDS.items()],
        default="call",
        validate_choice=False,
    )
    next_at = StringField(_l("Next step at"))
    next_title = StringField(_l("Next step: what to do"))
