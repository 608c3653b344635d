"""Forms of the auth pages. They check presence and size only: the rules (password strength, address
syntax, duplicates) live in ``app.services.accounts``, shared with the API and the CLI."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.services.accounts import PASSWORD_MAX

REQUIRED = _l("This field is required.")


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons that POST (sign out, resend, confirm)."""


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[Optional(), Length(max=120)],
                               render_kw={"autocomplete": "name"})
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(REQUIRED), EqualTo("password", _l("The two passwords are different."))],
        render_kw={"autocomplete": "new-password"})


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)],
                       render_kw={"autocomplete": "email"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(REQUIRED), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), EqualTo("password", _l("The two passwords are different."))],
        render_kw={"autocomplete": "new-password"})
