"""Forms of the CV pages: presence and size only; the rules live in ``app.services.cvs``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.services.cvs import MAX_TARGET

REQUIRED = _l("This field is required.")
LANGUAGES = [SelectChoice("fr", _l("French")), SelectChoice("en", _l("English"))]
CONSENTS = [
    SelectChoice("", _l("None")),
    SelectChoice("gdpr", _l("Standard GDPR consent")),
    SelectChoice("gdpr_short", _l("Short GDPR mention")),
    SelectChoice("custom", _l("My own wording")),
]


class NewCvForm(FlaskForm):
    name = StringField(
        _l("Name of this CV (for you, e.g. the company and the job)"),
        validators=[DataRequired(REQUIRED), Length(max=120)],
    )
    template = SelectField(_l("Design"))
    language = SelectField(_l("Language of the CV"), choices=LANGUAGES)
    target_text = TextAreaField(
        _l("Text of the job offer (paste it: your items are ranked against it)"),
        validators=[Optional(), Length(max=MAX_TARGET)],
    )
    # The target occupation: its name as shown and typed, and the chosen concept's URI (set by the
    # picker, app/static/concept_picker.js); without the script the server looks the name up.
    occupation = StringField(
        _l("Target occupation (from the reference frameworks)"),
        validators=[Optional(), Length(max=300)],
        description=_l("Your items that stand for its essential and optional skills come first."),
    )
    target_occupation = HiddenField(validators=[Optional(), Length(max=500)])


class CvForm(NewCvForm):
    summary = TextAreaField(_l("Summary for this CV"), validators=[Optional(), Length(max=5000)])
    cover_letter = TextAreaField(_l("Cover letter (optional)"), validators=[Optional(), Length(max=20000)])
    show_photo = BooleanField(_l("Show my photo"))
    consent = SelectField(
        _l("Data-protection consent line (EU applications)"), choices=CONSENTS, validate_choice=False
    )
    consent_text = StringField(_l("My own consent wording"), validators=[Optional(), Length(max=600)])


class EmptyForm(FlaskForm):
    pass
