"""The forms of the group and suppression pages (the suppression list's query string is
crm.messaging.filters'). The partner card's Mailings tab posts small forms read in its
views."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from crm.forms import VersionedForm
from crm.messaging.consent_labels import GROUP_KIND_TITLES
from crm.messaging.labels import CHANNEL_TITLES


class GroupForm(VersionedForm, FlaskForm):
    name = StringField(_lp("mailing group", "Name"))
    kind = RadioField(
        _l("Kind"),
        choices=[SelectChoice(k, t) for k, t in GROUP_KIND_TITLES.items()],
        default="advertising",
        validate_choice=False,
    )
    description = TextAreaField(_l("Description"))
    is_active = BooleanField(_l("Active: offered for new mailings and notifications"), default=True)


class SuppressionAddForm(FlaskForm):
    channel = SelectField(
        _l("Channel"),
        choices=[SelectChoice(k, t) for k, t in CHANNEL_TITLES.items()],
        default="email",
        validate_choice=False,
    )
    addresses = TextAreaField(
        _l("Addresses"),
        description=_l("One or many: one per line, or separated by commas or semicolons."),
    )
    note = StringField(_l("Note"))
