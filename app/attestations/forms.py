"""Forms of the attestation pages: presence and size only; the rules live in ``app.services.attestations``."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.services.attestations import MESSAGE_MAX, NAME_MAX, REASON_MAX, RELATIONSHIP_MAX, STATEMENT_MAX

REQUIRED = _l("This field is required.")


class RequestForm(FlaskForm):
    # A certifier (someone holding a certifier grant) or a name and address typed in: the service decides
    # which is required, so these two are only size-checked here.
    certifier = SelectField(_l("A person who certifies for you"), validators=[Optional()], validate_choice=False)
    referee_name = StringField(_l("Referee's name"), validators=[Optional(), Length(max=NAME_MAX)])
    referee_email = EmailField(_l("Referee's e-mail address"), validators=[Optional(), Length(max=254)])
    relationship = StringField(_l("Relationship (for example: tutor, colleague, coach)"),
                               validators=[DataRequired(REQUIRED), Length(max=RELATIONSHIP_MAX)])
    message = TextAreaField(_l("Message to the referee (optional)"), validators=[Optional(), Length(max=MESSAGE_MAX)])


class ConfirmForm(FlaskForm):
    statement = TextAreaField(_l("Statement (correct it if needed)"),
                              validators=[DataRequired(REQUIRED), Length(max=STATEMENT_MAX)])
    sign_as = RadioField(_l("Sign as"), validators=[Optional()], validate_choice=False)


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional, shown to the person who asked)"),
                           validators=[Optional(), Length(max=REASON_MAX)])


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST (cancel, remind, verify)."""
