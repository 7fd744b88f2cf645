"""Sign-in, language and password forms; Flask-WTF adds the CSRF token."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length
from wtforms.widgets import HiddenInput


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    language = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))])


class TimezoneForm(FlaskForm):
    """The user's own time zone; "" is the business zone (CRM_TIMEZONE). Choices are filled per request."""

    timezone = SelectField(_l("Time zone"), choices=[], validate_choice=True)


class EndSessionForm(FlaskForm):
    """One of the user's other sessions to sign out, by its row id (only theirs are ever ended: sessions.py)."""

    session = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
class CodeForm(FlaskForm):
    """The second step of sign-in: a code from the authenticator app, or one recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class TwoFactorSetUpForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=32)])


class TwoFactorOffForm(FlaskForm):
    """Turning it off asks for the password, or a current code: a session left open is not enough."""

    password = PasswordField(_l("Your password, or a code from the app"), validators=[DataRequired(), Length(max=128)])


class RecoveryCodesForm(TwoFactorOffForm):
    """New recovery codes ask for the same proof as turning off: whoever holds them can sign in."""
