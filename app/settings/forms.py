"""Forms of the settings pages (presence and size only; the rules live in the services)."""
from __future__ import annotations

from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from app.services.accounts import PASSWORD_MAX, timezones
from app.services.tokens import NAME_MAX

REQUIRED = _l("This field is required.")
PASSWORD_CHECKS = [DataRequired(REQUIRED), Length(max=PASSWORD_MAX)]
CURRENT = {"autocomplete": "current-password"}
NEW = {"autocomplete": "new-password"}


@cache
def timezone_names() -> tuple[str, ...]:
    """The zones the service accepts (``accounts.timezones``), sorted, UTC last."""
    return tuple(sorted(timezones() - {"UTC"})) + ("UTC",)


def _zone_choice(zone: str) -> SelectChoice:
    """"Europe/Paris" is shown as "Paris" in the "Europe" group."""
    area, _, place = zone.partition("/")
    return SelectChoice(zone, place.replace("_", " ") or zone, optgroup=area if place else None)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=PASSWORD_CHECKS, render_kw=CURRENT)
    new_password = PasswordField(_l("New password"), validators=PASSWORD_CHECKS, render_kw=NEW)
    new_password_confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(REQUIRED), EqualTo("new_password", _l("The two passwords are different."))],
        render_kw=NEW)
    revoke_tokens = BooleanField(_l("Also revoke my API tokens"), default=False)


class ChangeEmailForm(FlaskForm):
    new_email = EmailField(_l("New e-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)],
                           render_kw={"autocomplete": "email"})
    password = PasswordField(_l("Current password"), validators=PASSWORD_CHECKS, render_kw=CURRENT)


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Current password"), validators=PASSWORD_CHECKS, render_kw=CURRENT)


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), validators=[Optional()], choices=[
        SelectChoice("", _l("As my browser asks")), SelectChoice("fr", "Français"),
        SelectChoice("en", "English")])
    timezone = SelectField(_l("Time zone"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC")
        self.timezone.choices = [SelectChoice("", _l("Default (%(zone)s)", zone=default))] + [
            _zone_choice(z) for z in timezone_names()]


class CreateTokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=NAME_MAX)])
    expires_in_days = IntegerField(_l("Expires after (days)"),
                                   validators=[Optional(), NumberRange(min=1, max=3650)])
