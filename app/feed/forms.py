"""Forms of S'informer. They check presence and size only: the rules (dates, concepts, keywords) live in
``app.services.feed``, shared with the API."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

KIND_LABELS = {"event": _l("An event (a date, a place: a forum, an open day, a workshop)"),
               "offer": _l("An offer (a job, a work-study place, an internship)")}


class EventForm(FlaskForm):
    organisation_id = SelectField(_l("Published by"), choices=[], validate_choice=False)
    kind = RadioField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()], default="event")
    title = StringField(_l("Title"), validators=[DataRequired(_l("This field is required.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    starts_at = StringField(_l("Starts"), validators=[Optional(), Length(max=40)],
                            render_kw={"type": "datetime-local"})
    ends_at = StringField(_l("Ends (or closing date of an offer)"), validators=[Optional(), Length(max=40)],
                          render_kw={"type": "datetime-local"})
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    link = StringField(_l("Link"), validators=[Optional(), Length(max=500)], render_kw={"type": "url"})
    occupation_uris = TextAreaField(_l("Occupations concerned"), validators=[Optional(), Length(max=20_000)])
    skill_uris = TextAreaField(_l("Skills concerned"), validators=[Optional(), Length(max=20_000)])


class PreferencesForm(FlaskForm):
    keywords = TextAreaField(_l("My interest keywords"), validators=[Optional(), Length(max=2_000)])
    digest = BooleanField(_l("Send me a weekly e-mail with the new events of my feed"))


class EmptyForm(FlaskForm):
    """Only the CSRF token, for buttons that POST (withdraw, new address, revoke, unsubscribe)."""
