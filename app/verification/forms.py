"""The public verification form: paste a credential (or a badge URL), or upload a baked image or JSON file."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class VerifyForm(FlaskForm):
    credential = TextAreaField(_l("Credential"), validators=[Optional()],
                               render_kw={"rows": 12, "spellcheck": "false"})
    file = FileField(_l("Or a file"),
                     render_kw={"accept": ".json,.jsonld,.png,.svg,application/json,image/png,image/svg+xml"})

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        has_text = bool((self.credential.data or "").strip())
        has_file = bool(self.file.data and getattr(self.file.data, "filename", ""))
        if not has_text and not has_file:
            self.credential.errors.append(_l("Paste a credential or choose a file."))
            return False
        if has_text and has_file:
            self.file.errors.append(_l("Choose either a pasted credential or a file, not both."))
            return False
        return True


class RecipientCheckForm(FlaskForm):
    """The server-side fallback of "check an e-mail address" (the page compares in the browser when it
    can). Carries the hash and salt back from the page: nothing about the credential is kept."""

    email = StringField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    identity_hash = HiddenField(validators=[DataRequired(), Length(max=300)])
    salt = HiddenField(validators=[Optional(), Length(max=500)])
