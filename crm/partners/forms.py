"""Partner and contact forms. They carry the input and the CSRF token; the rules live in
validation.py so the import and the API apply the same ones."""

from flask_babel import lazy_gettext as _l
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
from crm.partners.labels import (
    CHANNEL_TITLES,
    CONTACT_KIND_TITLES,
    FIELD_TITLES,
    KIND_TITLES,
    PERSON_NAME,
    ROLE_TITLES,
)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # unknown roles are reported by the service, not dropped
        pass


class PartnerForm(VersionedForm, FlaskForm):
    name = StringField(FIELD_TITLES["name"])
    code = StringField(_l("Code"), description=_l("Leave empty to number it automatically."))
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k, title) for k, title in KIND_TITLES.items()],
        validate_choice=False,
    )
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(r, title) for r, title in ROLE_TITLES.items()],
        default=["client"],
    )
    inn = StringField(_l("Tax id (INN)"))
    city = StringField(_l("City"))
    responsible_id = SelectField(_l("Responsible"), choices=[], validate_choice=False)
    tags = StringField(_l("Tags"), description=_l("Separate tags with commas."))
    email = EmailField(_l("Main e-mail"))
    phone = StringField(_l("Main phone"))
    notes = TextAreaField(_l("Notes"))
    preferred_channel = SelectField(
        _l("Preferred channel"),
        choices=[SelectChoice("", "—")]
        + [SelectChoice(c, title) for c, title in CHANNEL_TITLES.items()],
        validate_choice=False,
    )
    best_time_to_call = StringField(_l("Best time to call"))
    do_not_email = BooleanField(_l("Do not e-mail"))
    do_not_call = BooleanField(_l("Do not call"))
    do_not_sms = BooleanField(_l("Do not send SMS"))
    do_not_mail = BooleanField(_l("Do not send post"))
    confirm_duplicates = BooleanField(_l("This is a different partner: save anyway"))


class ContactDetailForm(FlaskForm):
    kind = SelectField(
        _l("Kind of contact detail"),
        choices=[SelectChoice(k, title) for k, title in CONTACT_KIND_TITLES.items()],
        validate_choice=False,
    )
    value = StringField(_l("Value"))
    label = StringField(_l("Label"), description=_l("work, home, Telegram…"))
    is_main = BooleanField(_l("Main"))


class ContactPersonForm(VersionedForm, FlaskForm):
    name = StringField(PERSON_NAME)
    position = StringField(_l("Position"))
    # Text, not DateField: an empty birthday is fine, and the service says what is wrong.
    birthday = StringField(_l("Birthday"), render_kw={"type": "date"})
    email = EmailField(_l("E-mail"))
    phone = StringField(_l("Phone"))
    notes = TextAreaField(_l("Notes"))


class MergeForm(FlaskForm):
    other = HiddenField()


class FieldForm(VersionedForm, FlaskForm):
    value = StringField()
