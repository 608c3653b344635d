"""Forms of the credential pages. They check presence and size only: the rules live in
``app.services.awarding``, shared with the API and the CLI."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.services.awarding import NARRATIVE_MAX, REASON_MAX

REQUIRED = _l("This field is required.")


class AwardForm(FlaskForm):
    recipient = EmailField(_l("Recipient's e-mail address"), validators=[DataRequired(REQUIRED), Length(max=254)])
    narrative = TextAreaField(_l("Narrative (optional)"), validators=[Optional(), Length(max=NARRATIVE_MAX)])
    evidence = TextAreaField(_l("Evidence links (optional, one per line)"), validators=[Optional(), Length(max=25_000)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=REASON_MAX)])


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST (verify, unsuspend, hide, claim)."""


class EndorseForm(FlaskForm):
    comment = TextAreaField(_l("What you endorse, and why"), validators=[DataRequired(REQUIRED), Length(max=5000)])
