"""Forms of the page editor and of share links. They check presence and size only: the rules live in
``app.services.pages`` and ``app.services.share_links``, shared with the API."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.models.pages import THEMES

THEME_LABELS = {"horizon": _l("Horizon: bright, with a coloured banner"),
                "atelier": _l("Atelier: warm, two columns"),
                "classique": _l("Classique: sober, like a printed letter")}


class PageForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("This field is required.")), Length(max=120)])
    headline = StringField(_l("Headline"), validators=[Optional(), Length(max=160)])
    theme = RadioField(_l("Theme"), choices=[SelectChoice(t, THEME_LABELS[t]) for t in THEMES], default=THEMES[0])
    show_photo = BooleanField(_l("Show my photo"), default=True)
    public_profile = BooleanField(_l("Public profile: let search engines index this page"))


class ShareLinkForm(FlaskForm):
    label = StringField(_l("Label (who is it for?)"), validators=[Optional(), Length(max=120)])
    expires_on = DateField(_l("Expires on (optional)"), validators=[Optional()])
    password = PasswordField(_l("Password (optional)"), validators=[Optional(), Length(max=200)])


class UnlockForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("This field is required.")),
                                                         Length(max=200)])


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST (delete, revoke, verify)."""
