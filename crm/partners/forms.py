"""Partner and contact forms. They carry the input and the CSRF token; the rules live in
validation.py so the import and the API apply the same ones."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from crm.forms import VersionedForm
from crm.partners.models import CHANNELS, CONTACT_KINDS, PARTNER_KINDS, PARTNER_ROLES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # unknown roles are reported by the service, not dropped
        pass


class PartnerForm(VersionedForm, FlaskForm):
    name = StringField("Name")
    code = StringField("Code", description="Leave empty to number it automatically.")
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k, k.capitalize()) for k in PARTNER_KINDS],
        validate_choice=False,
    )
    roles = MultiCheckboxField(
        "Roles",
        choices=[SelectChoice(r, r.capitalize()) for r in PARTNER_ROLES],
        default=["client"],
    )
    inn = StringField("Tax id (INN)")
    city = StringField("City")
    responsible_id = SelectField("Responsible manager", choices=[], validate_choice=False)
    tags = StringField("Tags", description="Separate tags with commas.")
    email = EmailField("Main e-mail")
    phone = StringField("Main phone")
    notes = TextAreaField("Notes")
    preferred_channel = SelectField(
        "Preferred channel",
        choices=[SelectChoice("", "—")] + [SelectChoice(c, c.capitalize()) for c in CHANNELS],
        validate_choice=False,
    )
    best_time_to_call = StringField("Best time to call")
    do_not_email = BooleanField("Do not e-mail")
    do_not_call = BooleanField("Do not call")
    do_not_sms = BooleanField("Do not send SMS")
    do_not_mail = BooleanField("Do not send post")
    confirm_duplicates = BooleanField("This is a different partner: save anyway")


class ContactDetailForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k, k.capitalize()) for k in CONTACT_KINDS],
        validate_choice=False,
    )
    value = StringField("Value")
    label = StringField("Label", description="work, home, Telegram…")
    is_main = BooleanField("Main")


class ContactPersonForm(VersionedForm, FlaskForm):
    name = StringField("Name")
    position = StringField("Position")
    # Text, not DateField: an empty birthday is fine, and the service says what is wrong.
    birthday = StringField("Birthday", render_kw={"type": "date"})
    email = EmailField("E-mail")
    phone = StringField("Phone")
    notes = TextAreaField("Notes")


class MergeForm(FlaskForm):
    other = HiddenField()


class FieldForm(VersionedForm, FlaskForm):
    value = StringField()
