"""Forms: the fields and their CSRF token only.

The services are the authority on what is valid (the API uses the same rules): views hand the raw
strings to a service and put its ``ValidationFailed.fields`` messages back on these fields. So no
WTForms validators here. Required flags are copied from the service rules into HTML attributes; a
length limit is shown in the field's hint instead of a ``maxlength`` attribute, which would make the
browser cut a long paste without a word: a value over the limit reaches the service, which says so.
"""
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (DateField, EmailField, RadioField, SelectField, SelectMultipleField, StringField,
                     TelField, TextAreaField, URLField)
from wtforms.fields import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import Diploma, Experience, JournalEntry, Skill
from app.portfolio.labels import KIND_LABELS, LEVEL_LABELS
from app.services.portfolio import PROFILE_RULES, RULES

# The service's URL rule (app.services.validation.URL) accepts both: many framework concept URIs
# (ESCO's among them) and small associations' sites are still http.
URL_HINT = _l("A web address starting with https:// or http://.")
MARKDOWN_HINT = _l("You can use Markdown: # headings, **bold**, *italic*, lists and web links (https://…).")


class Required:
    """Marks a field required (asterisk, ``required`` attribute) without checking: the service does."""

    field_flags = {"required": True}

    def __call__(self, form, field):
        pass


class LimitHint:
    """A field's hint followed by its length limit ("At most 200 characters."), translated when shown."""

    def __init__(self, limit: int, hint=None):
        self.limit, self.hint = limit, hint

    def __str__(self) -> str:
        limit = str(_l("At most %(n)d characters.", n=self.limit))
        return f"{self.hint} {limit}" if self.hint else limit

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __bool__(self) -> bool:
        return True


def _marks(rules, name: str) -> list:
    return [Required()] if rules[name].required else []


def _text(rules, name, label, field=StringField, description=None, **kwargs):
    rule = rules[name]
    if rule.kind in ("text", "email", "url"):
        description = LimitHint(rule.max_length, description)
    return field(label, _marks(rules, name), description=description or "", **kwargs)


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier than a multi-select, keyboard included)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProfileForm(FlaskForm):
    display_name = _text(PROFILE_RULES, "display_name", _l("Name"))
    headline = _text(PROFILE_RULES, "headline", _l("Headline"),
                     description=_l("One line that says who you are or what you are looking for."))
    bio = _text(PROFILE_RULES, "bio", _l("Short biography"), TextAreaField, description=MARKDOWN_HINT)
    contact_email = _text(PROFILE_RULES, "contact_email", _l("Contact e-mail"), EmailField)
    phone = _text(PROFILE_RULES, "phone", _l("Phone"), TelField)
    location = _text(PROFILE_RULES, "location", _l("Location"))
    website = _text(PROFILE_RULES, "website", _l("Website"), URLField,
                    description=URL_HINT)


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo"), [Required()],
                      render_kw={"accept": "image/jpeg,image/png,image/webp,image/gif"},
                      description=_l("JPEG, PNG, WebP or GIF. It is resized to 512 pixels and its hidden "
                                     "data (location, camera) is removed."))


class ConfirmForm(FlaskForm):
    """No fields: a POST that only carries its CSRF token (delete, remove photo)."""


class ExperienceForm(FlaskForm):
    _rules = RULES[Experience]
    kind = SelectField(_l("Kind"), _marks(_rules, "kind"), validate_choice=False,
                       choices=[SelectChoice("", _l("Choose a kind"))]
                       + [SelectChoice(kind, label) for kind, label in KIND_LABELS.items()])
    title = _text(_rules, "title", _l("Title"))
    organisation = _text(_rules, "organisation", _l("Organisation"))
    place = _text(_rules, "place", _l("Place"))
    start_date = DateField(_l("Start date"), _marks(_rules, "start_date"))
    end_date = DateField(_l("End date"), description=_l("Leave empty if it is still going on."))
    description = _text(_rules, "description", _l("Description"), TextAreaField, description=MARKDOWN_HINT)
    skill_ids = MultiCheckboxField(_l("Skills shown"), choices=[], validate_choice=False)


class DiplomaForm(FlaskForm):
    _rules = RULES[Diploma]
    title = _text(_rules, "title", _l("Title"))
    awarding_body = _text(_rules, "awarding_body", _l("Awarding body"))
    awarded_on = DateField(_l("Awarded on"))
    level = _text(_rules, "level", _l("Level"), description=_l("For example: EQF level 4, Bachelor, B2."))
    reference = _text(_rules, "reference", _l("Reference"),
                      description=_l("Certificate or registration number, if any."))


class SkillForm(FlaskForm):
    _rules = RULES[Skill]
    name = _text(_rules, "name", _l("Skill"))
    level = RadioField(_l("Your level"), _marks(_rules, "level"), coerce=int, validate_choice=False,
                       choices=[SelectChoice(level, _l("%(n)d · %(label)s", n=level, label=label))
                                for level, label in LEVEL_LABELS.items()])
    framework = _text(_rules, "framework", _l("Framework"),
                      description=_l("Optional: the reference framework, for example ESCO or the "
                                     "socle commun."))
    concept_uri = _text(_rules, "concept_uri", _l("Concept address"), URLField,
                        description=_l("Optional: the web address of this skill in the framework, "
                                       "starting with https:// or http://."))
    description = _text(_rules, "description", _l("Description"), TextAreaField, description=MARKDOWN_HINT)
    experience_ids = MultiCheckboxField(_l("Experiences that show it"), choices=[], validate_choice=False)


class JournalEntryForm(FlaskForm):
    _rules = RULES[JournalEntry]
    title = _text(_rules, "title", _l("Title"))
    body = _text(_rules, "body", _l("Reflection"), TextAreaField, description=MARKDOWN_HINT)
