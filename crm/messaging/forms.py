"""The mailing form (create and edit a draft) and its recipient pickers — one per registered
partner scope (crm.core.partner_scope: the segment picker), read like a list filter's. The
query strings of the mailing lists are crm.messaging.filters'."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from crm.core.filters import OWN_NARROWING, ListFilter
from crm.forms import VersionedForm
from crm.messaging.labels import CHANNEL_TITLES


class MailingForm(VersionedForm, FlaskForm):
    name = StringField(lazy_pgettext("mailing field", "Name"))
    channel = RadioField(
        _l("Channel"),
        choices=[SelectChoice(k, v) for k, v in CHANNEL_TITLES.items()],
        default="email",
        validate_choice=False,
    )
    # Choices (templates by channel, the active groups) are filled in by the view.
    template_id = SelectField(_l("Template"), choices=[], validate_choice=False)
    group_id = SelectField(_l("Mailing group"), choices=[], validate_choice=False)
    tracking = BooleanField(
        _l("Track opens and clicks"),
        description=_l("E-mail only: an open pixel and redirecting links."),
    )
    when = RadioField(
        _l("When to send"),
        choices=[
            SelectChoice("now", _l("When I start it")),
            SelectChoice("at", _l("At a date and time")),
        ],
        default="now",
        validate_choice=False,
    )
    send_at = StringField(_l("Date and time"))
    codes = TextAreaField(
        _l("Add partners by code"),
        description=_l("Partner codes, one per line or separated by commas."),
    )
    remove_all = BooleanField(_l("Remove every partner added by hand"))


class ScopePicker(ListFilter):
    """The recipient lists a mailing may take (each registered partner scope the user gets:
    the segment picker), read from the form or from the mailing's stored scope. A value its
    scope refuses (an unknown segment) is left out with the scope's message in `problems`."""

    partner_column = OWN_NARROWING  # the scopes' values are read, no list is narrowed

    def chosen(self) -> list[tuple[str, str]]:
        """(scope key, value) of each picker with a value."""
        return list(self.scope_params().items())
