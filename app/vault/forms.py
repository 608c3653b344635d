"""The vault's forms: their fields and CSRF token only (the service decides what is valid)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import SelectField, StringField, TextAreaField

from app.portfolio.forms import Required

TAGS_HINT = _l("Separate tags with commas, for example: certificate, internship, 2025.")


class UploadForm(FlaskForm):
    files = MultipleFileField(_l("Files"), [Required()],
                              description=_l("You can choose several files at once."))
    tags = StringField(_l("Tags for these files"), description=TAGS_HINT)


class DocumentForm(FlaskForm):
    name = StringField(_l("Name"), [Required()])
    description = TextAreaField(_l("Description"),
                                description=_l("Optional: what this document is and what it proves."))
    tags = StringField(_l("Tags"), description=TAGS_HINT)


class AttachForm(FlaskForm):
    """Attach a document already in the vault (``document_id``) to an experience, diploma or skill."""
    document_id = SelectField(_l("A document from your vault"), [Required()], choices=[],
                              validate_choice=False)


class AttachUploadForm(FlaskForm):
    """Upload a new document into the vault and attach it at once."""
    file = FileField(_l("A new file"), [Required()],
                             description=_l("It is added to your vault and attached here."))


def parse_tags(raw: str | None) -> list[str]:
    """"certificate, internship,  2025" → ["certificate", "internship", "2025"] (order kept, no repeats;
    the service decides which tags are acceptable)."""
    seen: dict[str, None] = {}
    for part in (raw or "").split(","):
        tag = " ".join(part.split())
        if tag and tag.casefold() not in {t.casefold() for t in seen}:
            seen[tag] = None
    return list(seen)
