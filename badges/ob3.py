"""Open Badges 3.0 documents: build an unsigned ``OpenBadgeCredential``.

The builder takes small frozen dataclasses (or plain dicts with the same field names) and returns
the JSON document, ready for ``certs`` to sign. It is strict on purpose: everything refused here is
something that would make a signature fail at another verifier (see ``badges.values``), and it is
refused with the field's name so the issuing form can say what is wrong.

Shape (1EdTech Open Badges 3.0, VC Data Model 2.0)::

    @context      ["https://www.w3.org/ns/credentials/v2", ".../ob/v3p0/context-3.0.3.json",
                   ".../ob/v3p0/extensions.json"]
    type          ["VerifiableCredential", "OpenBadgeCredential"]
    id            urn:uuid:... or https://...
    issuer        Profile {id, type ["Profile"], name, url, email, image}
    validFrom     2024-01-31T12:00:00Z   (validUntil optional)
    credentialSubject  {type ["AchievementSubject"], id (holder DID) and/or
                        identifier [IdentityObject, salted sha256 of the e-mail],
                        achievement {...}, result [...]}
    credentialStatus   BitstringStatusListEntry (given by the status list service)
    evidence      [{type ["Evidence"], ...}]
    credentialSchema  [{id ".../schema/json/ob_v3p0_achievementcredential_schema.json",
                        type "1EdTechJsonSchemaValidator2019"}]

``credentialSchema`` is emitted as in the specification's "Sample OpenBadgeCredential file contents"
(section "Open Badges Document Formats"): it asks every verifier to hold the credential to the official
schema (OB 3.0 section 9.1), which Sillage's credentials meet strictly (tests/badges). Its type
``1EdTechJsonSchemaValidator2019`` is defined only by the extensions context, hence that third context,
as in the specification's examples.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from . import values
from .errors import InvalidValue
from .identity import hash_matches, identity_hash, new_salt

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CONTEXTS = (VC_CONTEXT, OB3_CONTEXT, OB3_EXTENSIONS_CONTEXT)
CREDENTIAL_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
    "type": "1EdTechJsonSchemaValidator2019",
}
CREDENTIAL_TYPES = ("VerifiableCredential", "OpenBadgeCredential")

ACHIEVEMENT_TYPES = frozenset((
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
    "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion", "Certification",
    "CommunityService", "Competency", "Course", "CoCurricular", "Degree", "Diploma",
    "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment", "JourneymanCertificate",
    "LearningProgram", "License", "Membership", "ProfessionalDoctorate",
    "QualityAssuranceCredential", "MasterCertificate", "MasterDegree", "MicroCredential",
    "ResearchDoctorate", "SecondarySchoolDiploma",
))
RESULT_TYPES = frozenset((
    "GradePointAverage", "LetterGrade", "Percent", "PerformanceLevel", "PredictedScore",
    "RawScore", "Result", "RubricCriterion", "RubricCriterionLevel", "RubricScore",
    "ScaledScore", "Status",
))
RESULT_STATUSES = frozenset(("Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Withdrew"))
URL_SCHEMES = ("https", "http")
IMAGE_SCHEMES = ("https", "http", "data")


@dataclass(frozen=True)
class Image:
    id: str
    caption: str | None = None


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    url: str | None = None
    email: str | None = None
    image: Image | str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Alignment:
    target_name: str
    target_url: str
    target_framework: str | None = None
    target_code: str | None = None
    target_description: str | None = None
    target_type: str | None = None


@dataclass(frozen=True)
class ResultDescription:
    id: str
    name: str
    result_type: str
    allowed_values: tuple[str, ...] = ()
    required_value: str | None = None
    value_min: str | None = None
    value_max: str | None = None


@dataclass(frozen=True)
class Achievement:
    id: str
    name: str
    description: str
    criteria_narrative: str | None = None
    criteria_id: str | None = None
    image: Image | str | None = None
    achievement_type: str | None = None
    alignments: tuple[Alignment, ...] = ()
    result_descriptions: tuple[ResultDescription, ...] = ()
    tags: tuple[str, ...] = ()
    human_code: str | None = None


@dataclass(frozen=True)
class Result:
    result_description: str | None = None
    value: str | None = None
    status: str | None = None
    achieved_level: str | None = None


@dataclass(frozen=True)
class Evidence:
    id: str | None = None
    narrative: str | None = None
    name: str | None = None
    description: str | None = None
    genre: str | None = None
    audience: str | None = None


T = TypeVar("T")


def _coerce(cls: type[T], value: Any, field: str) -> T:
    """Accept the dataclass itself or a mapping with its field names (a string for an Image)."""
    if isinstance(value, cls):
        return value
    if cls is Image and isinstance(value, str):
        return Image(id=value)  # type: ignore[return-value]
    if isinstance(value, Mapping):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(value) - known)
        if unknown:
            raise InvalidValue(field, "unknown keys: " + ", ".join(map(str, unknown)))
        try:
            return cls(**value)
        except TypeError as exc:
            raise InvalidValue(field, f"missing values ({exc})") from None
    raise InvalidValue(field, f"must be a {cls.__name__} or a mapping")


def _many(cls: type[T], items: Iterable[Any] | None, field: str) -> list[T]:
    if items is None:
        return []
    if isinstance(items, (str, bytes, Mapping)):
        raise InvalidValue(field, "must be a list")
    return [_coerce(cls, item, f"{field}[{i}]") for i, item in enumerate(items)]


def _enum_ext(field: str, value: str | None, allowed: frozenset[str]) -> str | None:
    """An extensible enumeration: a listed value or ``ext:Name``."""
    checked = values.text(field, value, required=False, max_length=200)
    if checked is None:
        return None
    if checked in allowed:
        return checked
    name = checked[4:]
    if checked.startswith("ext:") and name and all(c.isalnum() or c in ".-_" for c in name):
        return checked
    raise InvalidValue(field, "is not a known value (use one of the specification's values or ext:Name)")


def _image(field: str, image: Image | str | Mapping | None) -> dict | None:
    if image is None:
        return None
    img = _coerce(Image, image, field)
    out = {"id": values.iri(f"{field}.id", img.id, schemes=IMAGE_SCHEMES), "type": "Image"}
    caption = values.text(f"{field}.caption", img.caption, required=False)
    if caption:
        out["caption"] = caption
    return out


def _put(target: dict, key: str, value: Any) -> None:
    """Set ``key`` only for a present value: the serialization rules omit nulls and empty arrays."""
    if value is None or value == [] or value == "":
        return
    target[key] = value


def profile_document(profile: Profile | Mapping, field: str = "issuer") -> dict:
    """The issuer ``Profile`` object (also usable on its own, e.g. for an issuer page)."""
    p = _coerce(Profile, profile, field)
    doc: dict[str, Any] = {
        "id": values.iri(f"{field}.id", p.id, schemes=("did",) + URL_SCHEMES),
        "type": ["Profile"],
        "name": values.text(f"{field}.name", p.name, max_length=500),
    }
    _put(doc, "url", values.iri(f"{field}.url", p.url, required=False, schemes=URL_SCHEMES))
    if p.email:
        _put(doc, "email", values.email(f"{field}.email", p.email))
    _put(doc, "description", values.text(f"{field}.description", p.description, required=False))
    _put(doc, "image", _image(f"{field}.image", p.image))
    return doc


def _alignment(field: str, alignment: Alignment) -> dict:
    doc: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": values.text(f"{field}.target_name", alignment.target_name, max_length=500),
        "targetUrl": values.iri(f"{field}.target_url", alignment.target_url, schemes=URL_SCHEMES),
    }
    _put(doc, "targetFramework", values.text(f"{field}.target_framework", alignment.target_framework,
                                             required=False, max_length=500))
    _put(doc, "targetCode", values.text(f"{field}.target_code", alignment.target_code, required=False,
                                        max_length=200))
    _put(doc, "targetDescription", values.text(f"{field}.target_description", alignment.target_description,
                                               required=False))
    _put(doc, "targetType", values.text(f"{field}.target_type", alignment.target_type, required=False,
                                        max_length=200))
    return doc


def _result_description(field: str, rd: ResultDescription) -> dict:
    doc: dict[str, Any] = {
        "id": values.iri(f"{field}.id", rd.id),
        "type": ["ResultDescription"],
        "name": values.text(f"{field}.name", rd.name, max_length=500),
        "resultType": _enum_ext(f"{field}.result_type", rd.result_type, RESULT_TYPES),
    }
    if doc["resultType"] is None:
        raise InvalidValue(f"{field}.result_type", "is required")
    allowed = [values.text(f"{field}.allowed_values[{i}]", v, max_length=200)
               for i, v in enumerate(rd.allowed_values or ())]
    _put(doc, "allowedValue", allowed)
    _put(doc, "requiredValue", values.text(f"{field}.required_value", rd.required_value, required=False))
    _put(doc, "valueMin", values.text(f"{field}.value_min", rd.value_min, required=False))
    _put(doc, "valueMax", values.text(f"{field}.value_max", rd.value_max, required=False))
    return doc


def achievement_document(achievement: Achievement | Mapping, field: str = "achievement") -> dict:
    """The ``Achievement`` object (id, type, name, description, criteria, image, ...)."""
    a = _coerce(Achievement, achievement, field)
    narrative = values.text(f"{field}.criteria_narrative", a.criteria_narrative, required=False)
    criteria_id = values.iri(f"{field}.criteria_id", a.criteria_id, required=False, schemes=URL_SCHEMES)
    if not narrative and not criteria_id:
        raise InvalidValue(f"{field}.criteria_narrative", "criteria need a narrative or a URL")
    criteria: dict[str, Any] = {}
    _put(criteria, "id", criteria_id)
    _put(criteria, "narrative", narrative)
    doc: dict[str, Any] = {
        "id": values.iri(f"{field}.id", a.id),
        "type": ["Achievement"],
        "name": values.text(f"{field}.name", a.name, max_length=500),
        "description": values.text(f"{field}.description", a.description),
        "criteria": criteria,
    }
    _put(doc, "image", _image(f"{field}.image", a.image))
    _put(doc, "achievementType",
         _enum_ext(f"{field}.achievement_type", a.achievement_type, ACHIEVEMENT_TYPES))
    _put(doc, "alignment", [_alignment(f"{field}.alignments[{i}]", al)
                            for i, al in enumerate(_many(Alignment, a.alignments, f"{field}.alignments"))])
    descriptions = _many(ResultDescription, a.result_descriptions, f"{field}.result_descriptions")
    _put(doc, "resultDescription", [_result_description(f"{field}.result_descriptions[{i}]", rd)
                                    for i, rd in enumerate(descriptions)])
    _put(doc, "tag", [values.text(f"{field}.tags[{i}]", t, max_length=200)
                      for i, t in enumerate(a.tags or ())])
    _put(doc, "humanCode", values.text(f"{field}.human_code", a.human_code, required=False, max_length=200))
    return doc


def _result(field: str, result: Result, described: set[str]) -> dict:
    doc: dict[str, Any] = {"type": ["Result"]}
    rd = values.iri(f"{field}.result_description", result.result_description, required=False)
    if rd is not None and rd not in described:
        raise InvalidValue(f"{field}.result_description",
                           "does not name a result description of the achievement")
    _put(doc, "resultDescription", rd)
    _put(doc, "value", values.text(f"{field}.value", result.value, required=False, max_length=500))
    status = values.text(f"{field}.status", result.status, required=False, max_length=50)
    if status is not None and status not in RESULT_STATUSES:
        raise InvalidValue(f"{field}.status", "must be one of " + ", ".join(sorted(RESULT_STATUSES)))
    _put(doc, "status", status)
    _put(doc, "achievedLevel", values.iri(f"{field}.achieved_level", result.achieved_level, required=False))
    return doc


def _evidence(field: str, evidence: Evidence, evidence_type: str | list[str] | None = None) -> dict:
    """An ``Evidence`` object; OB 2.0 (``badges.ob2``) writes the same one with a bare ``"Evidence"`` type."""
    doc: dict[str, Any] = {}
    _put(doc, "id", values.iri(f"{field}.id", evidence.id, required=False))
    doc["type"] = evidence_type if evidence_type is not None else ["Evidence"]
    _put(doc, "narrative", values.text(f"{field}.narrative", evidence.narrative, required=False))
    _put(doc, "name", values.text(f"{field}.name", evidence.name, required=False, max_length=500))
    _put(doc, "description", values.text(f"{field}.description", evidence.description, required=False))
    _put(doc, "genre", values.text(f"{field}.genre", evidence.genre, required=False, max_length=200))
    _put(doc, "audience", values.text(f"{field}.audience", evidence.audience, required=False, max_length=200))
    if len(doc) == 1:
        raise InvalidValue(field, "evidence needs at least a URL, a narrative, a name or a description")
    return doc


def _status(field: str, status: Mapping | None) -> dict | None:
    """A ``BitstringStatusListEntry`` given by the status list service, checked not rebuilt."""
    if status is None:
        return None
    if not isinstance(status, Mapping):
        raise InvalidValue(field, "must be a mapping")
    values.check_tree(field, status)
    if status.get("type") != "BitstringStatusListEntry":
        raise InvalidValue(f"{field}.type", "must be BitstringStatusListEntry")
    values.iri(f"{field}.id", status.get("id"))
    values.iri(f"{field}.statusListCredential", status.get("statusListCredential"))
    for key in ("statusPurpose", "statusListIndex"):
        values.text(f"{field}.{key}", status.get(key), max_length=100)
    return dict(status)


def new_credential_id() -> str:
    """A fresh ``urn:uuid:`` credential id (random UUID4: ids are never sequential)."""
    return f"urn:uuid:{uuid.uuid4()}"


def identity_object(email: str, salt: str | None = None) -> dict:
    """An OB 3.0 ``IdentityObject`` for an e-mail address, hashed with a (fresh) salt."""
    address = values.email("email", email)
    salt = values.text("salt", salt, required=False, max_length=200) or new_salt()
    return {
        "type": "IdentityObject",
        "identityHash": identity_hash(address, salt),
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def build_credential(
    *,
    issuer: Profile | Mapping,
    achievement: Achievement | Mapping,
    valid_from: datetime,
    credential_id: str | None = None,
    holder_id: str | None = None,
    email: str | None = None,
    salt: str | None = None,
    name: str | None = None,
    description: str | None = None,
    valid_until: datetime | None = None,
    credential_status: Mapping | None = None,
    evidence: Iterable[Evidence | Mapping] = (),
    results: Iterable[Result | Mapping] = (),
    image: Image | str | Mapping | None = None,
    awarded_date: datetime | None = None,
) -> dict:
    """Build an unsigned OB 3.0 ``OpenBadgeCredential`` (a plain dict, JSON-ready).

    The recipient is ``holder_id`` (a DID), ``email`` (stored only as a salted hash, with a
    random salt per credential unless ``salt`` is given), or both. Raises ``InvalidValue``.
    """
    credential_id = values.iri("credential_id", credential_id or new_credential_id(),
                               schemes=("urn:uuid",) + URL_SCHEMES)
    achievement_doc = achievement_document(achievement)
    subject: dict[str, Any] = {}
    _put(subject, "id", values.iri("holder_id", holder_id, required=False, schemes=("did",)))
    subject["type"] = ["AchievementSubject"]
    if email:
        subject["identifier"] = [identity_object(email, salt)]
    if "id" not in subject and "identifier" not in subject:
        raise InvalidValue("recipient", "a holder DID or an e-mail address is required")
    subject["achievement"] = achievement_doc
    described = {rd["id"] for rd in achievement_doc.get("resultDescription", [])}
    _put(subject, "result", [_result(f"results[{i}]", r, described)
                             for i, r in enumerate(_many(Result, results, "results"))])

    valid_from_text = values.timestamp("valid_from", valid_from)
    valid_until_text = values.timestamp("valid_until", valid_until, required=False)
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidValue("valid_until", "must be after valid_from")

    doc: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPES),
        "name": values.text("name", name or achievement_doc["name"], max_length=500),
    }
    _put(doc, "description", values.text("description", description, required=False))
    _put(doc, "image", _image("image", image))
    doc["issuer"] = profile_document(issuer)
    doc["validFrom"] = valid_from_text
    _put(doc, "validUntil", valid_until_text)
    _put(doc, "awardedDate", values.timestamp("awarded_date", awarded_date, required=False))
    doc["credentialSubject"] = subject
    _put(doc, "credentialStatus", _status("credential_status", credential_status))
    _put(doc, "evidence", [_evidence(f"evidence[{i}]", e)
                           for i, e in enumerate(_many(Evidence, evidence, "evidence"))])
    doc["credentialSchema"] = [dict(CREDENTIAL_SCHEMA)]
    return doc


def _subjects(credential: Mapping) -> list[Mapping]:
    subject = credential.get("credentialSubject") if isinstance(credential, Mapping) else None
    if isinstance(subject, Mapping):
        return [subject]
    if isinstance(subject, list):
        return [s for s in subject if isinstance(s, Mapping)]
    return []


def matches_identity(credential: Mapping, email: str) -> bool:
    """True when an e-mail ``IdentityObject`` of the credential's subject designates ``email``.

    Works on any OB 3.0 credential (ours or another issuer's): hashed (``sha256$``/``md5$``,
    with or without salt) or plain identifiers.
    """
    if not isinstance(email, str) or not email.strip():
        return False
    for subject in _subjects(credential):
        identifiers = subject.get("identifier")
        if isinstance(identifiers, Mapping):
            identifiers = [identifiers]
        if not isinstance(identifiers, list):
            continue
        for ident in identifiers:
            if not isinstance(ident, Mapping) or ident.get("identityType") != "emailAddress":
                continue
            stored = ident.get("identityHash")
            if not isinstance(stored, str):
                continue
            if ident.get("hashed") is True:
                salt = ident.get("salt")
                if hash_matches(stored, email, salt if isinstance(salt, str) else None):
                    return True
            elif stored.strip().lower() == email.strip().lower():
                return True
    return False


__all__ = [
    "Achievement", "Alignment", "CONTEXTS", "CREDENTIAL_TYPES", "Evidence", "Image", "Profile",
    "Result", "ResultDescription", "achievement_document", "build_credential", "identity_hash",
    "identity_object", "matches_identity", "new_credential_id", "profile_document",
]
