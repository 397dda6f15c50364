"""Sign-in and account forms."""

from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.access import ROLE_TITLES, ROLES
from crm.core.i18n import LANGUAGES

ROLE_CHOICES = [SelectChoice(r, ROLE_TITLES[r]) for r in ROLES]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me"))


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class InviteAcceptForm(FlaskForm):
    password = PasswordField(_l("Choose a password"), validators=[DataRequired(), Length(max=200)])


class UserCreateForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="manager")


class UserUpdateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Active"))


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("What the token is for, e.g. “ERP exchange”."),
    )


def _zone_choices() -> list[tuple[str, str]]:
    # Russia's zones first (most users), then every other zone the system knows.
    russian = [
        "Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg",
        "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk",
        "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka",
    ]  # fmt: skip
    rest = sorted(z for z in available_timezones() if "/" in z and z not in russian)
    return [SelectChoice(z, z) for z in russian + rest]


class SettingsForm(FlaskForm):
    """The user's own settings: display name, interface language, time zone."""

    name = StringField(_l("Display name"), validators=[Length(max=200)])
    locale = SelectField(_l("Language"), choices=[SelectChoice(k, v) for k, v in LANGUAGES.items()])
    timezone = SelectField(_l("Time zone"), choices=_zone_choices())
