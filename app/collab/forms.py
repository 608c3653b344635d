"""Forms of the collaboration pages: presence and size only; the rules live in ``app.services.collab``."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.models import EXPERIENCE_KINDS
from app.services.collab import BODY_MAX, NOTE_MAX

REQUIRED = _l("This field is required.")


class TextForm(FlaskForm):
    """A comment, a reply (``parent_id``) or a message."""

    body = TextAreaField(_l("Your text"), validators=[DataRequired(REQUIRED), Length(max=BODY_MAX)])
    parent_id = HiddenField()


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional, shown to the person who proposed it)"),
                           validators=[Optional(), Length(max=1000)])


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST (accept)."""


class ExperienceProposalForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k, k) for k in EXPERIENCE_KINDS])
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    organisation = StringField(_l("Organisation"), validators=[Optional(), Length(max=200)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    start_date = DateField(_l("Start date"), validators=[DataRequired(REQUIRED)])
    end_date = DateField(_l("End date"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    note = TextAreaField(_l("Note to the owner (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class SkillProposalForm(FlaskForm):
    name = StringField(_l("Skill"), validators=[DataRequired(REQUIRED), Length(max=200)])
    level = IntegerField(_l("Level (1 to 4)"), validators=[DataRequired(REQUIRED)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    note = TextAreaField(_l("Note to the owner (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])


class DocumentProposalForm(FlaskForm):
    file = FileField(_l("Document"), validators=[DataRequired(REQUIRED)])
    note = TextAreaField(_l("Note to the owner (optional)"), validators=[Optional(), Length(max=NOTE_MAX)])
