"""Achievements (badge classes): what an organisation certifies, and their OB 3.0 ``Achievement`` document.

Created and edited by the organisation's admins (or its API token); read by its members. The document is
built by ``badges.ob3.achievement_document``, whose strict checks (absolute URLs, no control characters)
are run at save time too, so that an achievement that saves is one that signs.
"""
from __future__ import annotations

import uuid

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.models import ACHIEVEMENT_KINDS, Achievement, Organisation
from app.services import artwork
from app.services.errors import NotFound, ValidationFailed
from app.services.orgs import check, one_line
from app.services.validation import CONTROL_CHARS, URL, Field, clean
from badges import ob3
from badges.errors import InvalidValue

MAX_TAGS, TAG_MAX = 20, 60
MAX_ALIGNMENTS = 20
RULES = {
    "name": Field("text", required=True, max_length=200),
    "description": Field("text", required=True, max_length=5000),
    "criteria_narrative": Field("text", max_length=10000),
    "criteria_url": Field("url", max_length=500),
    "kind": Field("choice", choices=ACHIEVEMENT_KINDS),
    "validity_months": Field("int", minimum=1, maximum=600),
}
SPECIAL = ("tags", "alignments")


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def clean_tags(value) -> list[str]:
    """A list of short labels, from a list or a comma-separated text (a form field)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise _invalid("tags", _l("Must be a list of texts."))
    tags = list(dict.fromkeys(tag.strip() for tag in value if tag.strip()))
    if len(tags) > MAX_TAGS:
        raise _invalid("tags", _l("At most %(n)d tags.", n=MAX_TAGS))
    if any(len(tag) > TAG_MAX or CONTROL_CHARS.search(tag) for tag in tags):
        raise _invalid("tags", _l("Each tag has at most %(n)d characters, without control characters.",
                                  n=TAG_MAX))
    return tags


_ALIGNMENT_KEYS = ("target_name", "target_url", "target_framework")


def parse_alignment_lines(text: str) -> list[dict]:
    """The form's text: one alignment a line, ``name | URL | framework`` (framework optional)."""
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            parts = [part.strip() for part in line.split("|")]
            rows.append(dict(zip(_ALIGNMENT_KEYS, parts + [""] * (3 - len(parts)))) if len(parts) <= 3
                        else {"target_name": line})
    return rows


def alignment_lines(alignments: list[dict]) -> str:
    return "\n".join(" | ".join(filter(None, (a.get(k, "") for k in _ALIGNMENT_KEYS))) for a in alignments)


def clean_alignments(value) -> list[dict]:
    """Free alignments ``{target_name, target_url, target_framework?}`` (frameworks come in a later issue)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = parse_alignment_lines(value)
    if not isinstance(value, list) or len(value) > MAX_ALIGNMENTS:
        raise _invalid("alignments", _l("At most %(n)d alignments, as a list.", n=MAX_ALIGNMENTS))
    cleaned = []
    for item in value:
        if not isinstance(item, dict) or set(item) - set(_ALIGNMENT_KEYS):
            raise _invalid("alignments", _l("Each alignment has a target_name, a target_url and "
                                            "optionally a target_framework."))
        row = {key: item.get(key) or "" for key in _ALIGNMENT_KEYS}
        if not all(isinstance(v, str) for v in row.values()):
            raise _invalid("alignments", _l("Must be a list of texts."))
        row = {key: v.strip() for key, v in row.items()}
        if not row["target_name"] or len(row["target_name"]) > 200 or CONTROL_CHARS.search(
                row["target_name"] + row["target_framework"]) or len(row["target_framework"]) > 200:
            raise _invalid("alignments", _l("Each alignment needs a name (at most 200 characters)."))
        if not URL.match(row["target_url"]) or len(row["target_url"]) > 500:
            raise _invalid("alignments", _l("Each alignment needs a web address starting with https:// "
                                            "or http://."))
        cleaned.append({key: v for key, v in row.items() if v})
    return cleaned


def _values(data: dict, partial: bool) -> dict:
    plain = {key: value for key, value in data.items() if key not in SPECIAL}
    values = one_line(clean(RULES, plain, partial=partial), "name")
    if "tags" in data:
        values["tags"] = clean_tags(data["tags"])
    if "alignments" in data:
        values["alignments"] = clean_alignments(data["alignments"])
    return values


def _check_document(achievement: Achievement) -> None:
    if not achievement.criteria_narrative and not achievement.criteria_url:
        message = _l("Give the criteria as a text, a web address, or both.")
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"criteria_narrative": str(message)})
    try:
        achievement_document(achievement)
    except InvalidValue as exc:  # what the credential builder refuses, refused now rather than at award
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"achievement": str(exc)}) from None


def create(session: Session, actor, org: Organisation, data: dict,
           image: tuple[bytes, str] | None = None) -> Achievement:
    """A new achievement of ``org``; ``image`` is an already prepared ``(bytes, media type)``."""
    check(actor, "manage_achievements", org)
    values = _values(data, partial=False)
    achievement = Achievement(id=uuid.uuid4(), organisation=org, organisation_id=org.id,
                              kind=values.pop("kind", "") or "Achievement",
                              tags=values.pop("tags", []), alignments=values.pop("alignments", []),
                              criteria_narrative=values.pop("criteria_narrative", ""),
                              criteria_url=values.pop("criteria_url", "") or None, **values)
    if image is not None:
        achievement.image, achievement.image_type = image
    session.add(achievement)
    _check_document(achievement)
    session.flush()
    return achievement


def update(session: Session, actor, achievement: Achievement, data: dict,
           image: tuple[bytes, str] | None = None) -> Achievement:
    """Change the fields sent. Credentials already awarded keep the achievement as it was when signed."""
    check(actor, "manage_achievements", achievement.organisation)
    for name, value in _values(data, partial=True).items():
        if name == "criteria_url":
            value = value or None
        elif name == "kind":
            value = value or "Achievement"
        setattr(achievement, name, value)
    if image is not None:
        achievement.image, achievement.image_type = image
    _check_document(achievement)
    session.flush()
    return achievement


def get(session: Session, actor, achievement_id, action: str = policy.READ) -> Achievement:
    """The achievement if the actor may ``action`` it; an achievement of another organisation is NotFound."""
    key = policy.parse_id(achievement_id)
    achievement = session.get(Achievement, key) if key is not None else None
    if achievement is None or not policy.can(actor, policy.READ, achievement):
        raise NotFound(str(_l("Not found.")))
    check(actor, policy.ACHIEVEMENT_ACTIONS[action], achievement.organisation)
    return achievement


def list_for(session: Session, actor, org: Organisation) -> list[Achievement]:
    check(actor, "read", org)
    return list(session.scalars(select(Achievement).where(Achievement.organisation_id == org.id)
                                .order_by(Achievement.name)))


def public_url(achievement: Achievement, suffix: str = "") -> str:
    return (f"{current_app.config['BASE_URL']}/issuers/{achievement.organisation_id}/achievements/"
            f"{achievement.id}{suffix}")


def image_of(achievement: Achievement) -> tuple[bytes, str]:
    """The uploaded image, or the default drawn from the name and kind."""
    if achievement.image_type and achievement.image:
        return achievement.image, achievement.image_type
    return artwork.default_image(achievement.name, achievement.kind, str(achievement.id))


def ob3_achievement(achievement: Achievement) -> ob3.Achievement:
    """The achievement as ``badges.ob3.Achievement`` (what ``build_credential(achievement=...)`` takes)."""
    alignments = tuple(ob3.Alignment(target_name=a["target_name"], target_url=a["target_url"],
                                     target_framework=a.get("target_framework"))
                       for a in achievement.alignments or ())
    return ob3.Achievement(
        id=public_url(achievement), name=achievement.name, description=achievement.description,
        criteria_narrative=achievement.criteria_narrative or None, criteria_id=achievement.criteria_url,
        image=ob3.Image(id=public_url(achievement, "/image"), caption=achievement.name),
        achievement_type=achievement.kind, alignments=alignments, tags=tuple(achievement.tags or ()))


def achievement_document(achievement: Achievement) -> dict:
    """The OB 3.0 ``Achievement`` object for a credential's ``credentialSubject.achievement``."""
    return ob3.achievement_document(ob3_achievement(achievement))

