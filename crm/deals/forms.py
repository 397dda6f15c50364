"""The deal form (create and edit). It carries the input, the version and the CSRF token; the
rules live in services.py. Contact persons and participants come as numbered rows
(`contacts-0-contact_person_id`, `participants-0-user_id`…), read by `rows_from`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from crm.forms import VersionedForm

MAX_ROWS = 30  # contact or participant rows a form may send
EMPTY_ROWS = 2  # empty rows offered under the filled ones


class DealForm(VersionedForm, FlaskForm):
    partner_id = SelectField(_l("Partner"), choices=[], validate_choice=False)
    kind_id = SelectField(
        _l("Kind of deal"),
        choices=[],
        validate_choice=False,
        description=_l("The kind cannot be changed once the deal is saved."),
    )
    stage_id = SelectField(
        _l("Stage"),
        choices=[],
        validate_choice=False,
        description=_l(
            "A deal of a process kind starts at its first stage; for other kinds choose where "
            "it starts."
        ),
    )
    title = StringField(_l("Title"))
    amount = StringField(_l("Expected amount"), default="")
    expected_close = StringField(_l("Expected close"))
    manager_id = SelectField(_l("Responsible manager"), choices=[], validate_choice=False)
    source = StringField(_l("Source"), description=_l("Where the deal came from."))
    description = TextAreaField(_l("Description"))


def rows_from(form_data, prefix: str, keys: tuple[str, ...]) -> list[dict]:
    """The filled rows `prefix-N-key` of a posted form, in order."""
    rows = []
    for n in range(MAX_ROWS):
        row = {key: (form_data.get(f"{prefix}-{n}-{key}") or "").strip() for key in keys}
        if any(row.values()):
            rows.append(row)
    return rows


def contacts_from(form_data) -> list[dict]:
    return rows_from(form_data, "contacts", ("contact_person_id", "role_id"))


def participants_from(form_data) -> list[dict]:
    return rows_from(form_data, "participants", ("user_id", "role_id"))
