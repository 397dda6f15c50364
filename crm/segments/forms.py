"""The segment form (create and edit): name, kind, schedule, description, the version and the
CSRF token. The rule comes from the builder's own fields (crm/segments/builder.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField

from crm.forms import VersionedForm
from crm.segments.labels import KIND_TITLES, SCHEDULE_TITLES


class SegmentForm(VersionedForm, FlaskForm):
    name = StringField(_l("Name"))
    of = RadioField(
        _l("Holds"),
        choices=[("partners", _l("Partners")), ("products", _l("Products"))],
        default="partners",
        validate_choice=False,
    )
    kind = RadioField(
        _l("Kind"),
        choices=list(KIND_TITLES.items()),
        default="dynamic",
        validate_choice=False,
    )
    schedule = SelectField(
        _l("Refresh"),
        choices=list(SCHEDULE_TITLES.items()),
        default="daily",
        validate_choice=False,
        description=_l("How often a periodic segment is recomputed."),
    )
    description = TextAreaField(_l("Description"))
