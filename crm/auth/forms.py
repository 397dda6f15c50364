"""Sign-in and account forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from crm.access import ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Remember me")


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])


class InviteAcceptForm(FlaskForm):
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=200)])


class UserCreateForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="manager")


class UserUpdateForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active")


class ApiTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(), Length(max=100)],
        description="What the token is for, e.g. “ERP exchange”.",
    )
