"""Interaction forms. They carry the input and the CSRF token; the rules live in services.py.
Date-times are typed in the user's zone (`datetime-local`) and converted by the view."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from crm.forms import VersionedForm
from crm.interactions.models import DIRECTIONS, KINDS, STATUSES

REMINDERS = [
    SelectChoice(*c)
    for c in (
        ("", "No reminder"),
        ("0", "At the start"),
        ("5", "5 minutes before"),
        ("15", "15 minutes before"),
        ("30", "30 minutes before"),
        ("60", "1 hour before"),
        ("1440", "1 day before"),
    )
]
OUTCOMES = [
    "Reached, agreed next step",
    "Reached, not interested",
    "No answer",
    "Busy",
    "Left a voicemail",
    "Wrong number",
    "Asked to call back",
]


def _choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    head = [SelectChoice("", blank)] if blank is not None else []
    return head + [SelectChoice(k, v) for k, v in mapping.items()]


class InteractionForm(VersionedForm, FlaskForm):
    kind = SelectField("Kind", choices=_choices(KINDS), validate_choice=False)
    status = SelectField("Status", choices=_choices(STATUSES), validate_choice=False)
    title = StringField("Topic", description="An e-mail's subject line.")
    responsible_id = SelectField("Responsible", choices=[], validate_choice=False)
    partner_id = SelectField("Partner", choices=[], validate_choice=False)
    contact_person_id = SelectField("Contact person", choices=[], validate_choice=False)
    contact_text = StringField("Other contact", description="A name or number not in the CRM.")
    direction = SelectField("Direction", choices=_choices(DIRECTIONS, "—"), validate_choice=False)
    address = StringField("Phone number / e-mail address")
    starts_at = StringField("Date and time")
    duration_minutes = IntegerField("Duration, minutes", validators=[Optional()], default=0)
    follow_up_at = StringField("Needs reply / follow-up by")
    remind_minutes = SelectField("Reminder", choices=REMINDERS, default="15", validate_choice=False)
    outcome = StringField("Outcome")
    subject_type = SelectField("Subject", choices=[], validate_choice=False)
    subject_id = StringField("Subject number")
    subject_text = StringField("Subject (free text)")
    description = TextAreaField("Description / text")
    parent_id = HiddenField()


class MoveForm(VersionedForm, FlaskForm):
    """A calendar move: the version the item was drawn with (its time comes apart)."""


class QuickForm(FlaskForm):
    """The CSRF token (and optional fields) of the list's one-click actions."""

    outcome = StringField("Outcome")
    until = StringField("Defer to")


class LogForm(FlaskForm):
    """The phone form: what happened, and the next step."""

    kind = SelectField(
        "What",
        choices=[SelectChoice("call", "Phone call"), SelectChoice("meeting", "Meeting")],
        validate_choice=False,
    )
    direction = SelectField(
        "Direction", choices=_choices(DIRECTIONS), default="outgoing", validate_choice=False
    )
    partner_id = SelectField("Partner", choices=[], validate_choice=False)
    contact_person_id = SelectField("Contact person", choices=[], validate_choice=False)
    contact_text = StringField("Other contact")
    address = StringField("Number")
    starts_at = StringField("When")
    duration_minutes = IntegerField("Minutes", validators=[Optional()], default=5)
    outcome = StringField("Outcome")
    description = TextAreaField("Notes")
    next_kind = SelectField(
        "Next step",
        choices=[SelectChoice("", "No next step")] + [SelectChoice(k, v) for k, v in KINDS.items()],
        default="call",
        validate_choice=False,
    )
    next_at = StringField("Next step at")
    next_title = StringField("Next step: what to do")
