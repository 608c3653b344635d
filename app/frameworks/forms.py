"""Forms of the framework pages: the admin's import (CSRF-protected upload) and the browser's search
(a GET form: it changes nothing, so it carries no CSRF token and its results can be bookmarked)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.fields import SelectChoice

from app.models.frameworks import CONCEPT_KINDS, SKILL_TYPES

KIND_LABELS = {
    "skill": _l("Skill"), "competence": _l("Competence"), "occupation": _l("Occupation"),
    "qualification": _l("Qualification"), "training": _l("Training"), "domain": _l("Domain"),
    "level": _l("Level"), "group": _l("Group of concepts"),
}
SKILL_TYPE_LABELS = {"skill_competence": _l("Skill or competence"), "knowledge": _l("Knowledge")}
RELATION_LABELS = {
    "essential": _l("Essential skill"), "optional": _l("Optional skill"), "part_of": _l("Part of"),
    "related": _l("Related"), "precedes": _l("Precedes"), "exact_match": _l("Same as"),
    "replaced_by": _l("Replaced by"), "skill_level": _l("Skill level"), "broader": _l("Broader concept"),
}
REVERSE_RELATION_LABELS = {
    "essential": _l("Essential for"), "optional": _l("Useful for"), "part_of": _l("Made of"),
    "related": _l("Related"), "precedes": _l("Follows"), "exact_match": _l("Same as"),
    "replaced_by": _l("Replaces"), "skill_level": _l("Level of"), "broader": _l("Narrower concept"),
}
FORMAT_LABELS = {"": _l("Guess from the file"), "esco": _l("ESCO CSV (ZIP)"), "case": _l("CASE JSON"),
                 "csv": _l("Simple CSV (see the documentation)")}


class ImportForm(FlaskForm):
    file = FileField(_l("File"), description=_l("An ESCO CSV download (ZIP), a CASE 1.0 JSON package, or "
                                                "a simple CSV (a .csv file, or a ZIP of concepts.csv and "
                                                "relations.csv)."))
    format = SelectField(_l("Format"), choices=[SelectChoice(value, label) for value, label in FORMAT_LABELS.items()],
                         default="")
    name = StringField(_l("Name"), description=_l("Optional: the file's own title, else its file name."))
    slug = StringField(_l("Short name"), description=_l("Optional. Importing again under the same short name "
                                                        "updates that framework: concepts are matched by URI, "
                                                        "and those the new version dropped are retired."))
    version = StringField(_l("Version"), description=_l("Optional, for example v1.2.0."))


def skill_type_choices() -> list[tuple[str, str]]:
    return [("", _l("All types"))] + [(value, SKILL_TYPE_LABELS[value]) for value in SKILL_TYPES]


def kind_choices() -> list[tuple[str, str]]:
    return [("", _l("All kinds"))] + [(kind, KIND_LABELS[kind]) for kind in CONCEPT_KINDS]
