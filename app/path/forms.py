"""Forms of the path pages: presence and size only; the rules live in ``app.services.path`` and
``app.services.trainings`` (the same for the pages and the API)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

STATUS_CHOICES = [SelectChoice("exploring", _l("Exploring")), SelectChoice("active", _l("Working on it")),
                  SelectChoice("achieved", _l("Achieved")), SelectChoice("dropped", _l("Dropped"))]


class HypothesisForm(FlaskForm):
    occupation = RadioField(_l("Target occupation"), choices=[], validate_choice=False, validators=[Optional()])
    title = StringField(_l("Title (optional: the occupation's name)"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Or describe the path in your own words"),
                                validators=[Optional(), Length(max=5000)])


class HypothesisEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("This field is required.")), Length(max=200)])
    status = SelectField(_l("Status"), choices=STATUS_CHOICES)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Your notes"), validators=[Optional(), Length(max=20000)])


class GoalForm(FlaskForm):
    kind = HiddenField(default="goal")
    title = StringField(_l("Goal"), validators=[DataRequired(_l("This field is required.")), Length(max=200)])
    body = TextAreaField(_l("Details (optional)"), validators=[Optional(), Length(max=20000)])
    due_on = DateField(_l("Due date (optional)"), validators=[Optional()])


class NoteForm(FlaskForm):
    kind = HiddenField(default="note")
    happened_on = DateField(_l("Appointment date"), validators=[Optional()])
    body = TextAreaField(_l("Note"), validators=[DataRequired(_l("This field is required.")), Length(max=20000)])


class CommentForm(FlaskForm):
    kind = HiddenField(default="comment")
    parent_id = HiddenField()
    body = TextAreaField(_l("Comment"), validators=[DataRequired(_l("This field is required.")), Length(max=20000)])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """A CSRF token alone, for the buttons that post (accept, decline, delete)."""


class TrainingImportForm(FlaskForm):
    file = FileField(_l("Catalogue (CSV)"), validators=[FileRequired(_l("Choose a file."))])
    publisher = SelectField(_l("Published by"), choices=[], validate_choice=False)
