"""Contextual CVs: variants, their ranked selection, and their renderings (HTML, DOCX, PDF, PNG preview,
JSON Resume). Services flush, never commit; they take the session and the acting user.

A variant stores choices, not copies (``app.models.cvs``): every rendering reads the portfolio as it is,
so a saved variant regenerated after the portfolio changed shows the changes, and ``regenerate`` also
ranks the items again against the target (new relevant items come in).

The verified-claim CV: a line that a signed attestation (a referee confirmed the experience or skill), an
issued credential, or a received credential the owner linked to that experience, diploma or skill
(``app.services.received.link``) proves carries who vouched and when, the public verification link and a QR code to
it; the HTML served to a recruiter shows each proof's live status (valid, expired, revoked, suspended,
cannot be checked), read from the credential's state at rendering time.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

import cv_templates
from app import policy
from app.database import utcnow
from app.models import Credential, Diploma, Experience, Portfolio, Skill, User
from app.models.attestations import AttestationRequest
from app.models.backpack import ExternalCredential
from app.models.cvs import CONSENT_CHOICES, CV_LANGUAGES, CvVariant
from app.models.portfolio import experience_skills
from app.models.received import CredentialLink
from app.services import cv_ranking, frameworks
from app.services.errors import NotFound, ServiceError, ValidationFailed
from app.services.photos import read_photo
from app.services.validation import Field, clean
from cv_templates import pdf as pdf_renderer
from cv_templates.docx import render_docx as docx_renderer
from cv_templates.labels import CONSENT, labels, long_date, period
from cv_templates.model import CvDocument, Entry, Proof, Section

KINDS = {"experience": Experience, "diploma": Diploma, "skill": Skill, "credential": Credential,
         "external": ExternalCredential}  # external: a badge earned elsewhere (app.services.backpack)
SECTION_ORDER = (
    ("experience", "experience"),
    ("diploma", "education"),
    ("credential", "credentials"),
    ("external", "credentials"),
    ("skill", "skills"),
)
PRESELECT = {"experience": 8, "diploma": 5, "skill": 12, "credential": 6, "external": 6}  # the best of each kind
MAX_SELECTION = 600
MAX_TARGET = 200_000  # characters: a pasted offer of 100 KB and more
MAX_DESCRIPTION = 2_500  # characters of one item shown on a CV: a CV is a summary, not the portfolio
MAX_VARIANTS = 200
# Per address, on the renderings that cost real CPU (a 10-page PDF takes about two seconds of it here):
# far above a person's use, low enough that nobody occupies a worker with them.
RENDER_LIMIT = "60/minute"


def render_limit() -> str:
    """``CV_RENDER_LIMIT`` in the configuration (tests lower it), else ``RENDER_LIMIT``."""
    from flask import current_app  # noqa: PLC0415

    return current_app.config.get("CV_RENDER_LIMIT", RENDER_LIMIT)


def _rules(partial: bool) -> dict[str, Field]:
    return {
        "name": Field(required=not partial, max_length=120),
        "template": Field("choice", choices=tuple(cv_templates.designs())),
        "language": Field("choice", choices=CV_LANGUAGES),
        "target_text": Field(max_length=MAX_TARGET),
        "target_occupation": Field(max_length=300),
        "summary": Field(max_length=5_000),
        "cover_letter": Field(max_length=20_000),
        "consent": Field("choice", choices=CONSENT_CHOICES),
        "consent_text": Field(max_length=600),
    }


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _portfolio(user: User) -> Portfolio:
    if user.portfolio is None:
        raise NotFound(str(_l("This account has no portfolio.")))
    return user.portfolio


def list_for(session: Session, user: User) -> list[CvVariant]:
    return list(
        session.scalars(
            select(CvVariant)
            .where(CvVariant.portfolio_id == _portfolio(user).id)
            .order_by(CvVariant.updated_at.desc(), CvVariant.id)
        )
    )


def get_owned(session: Session, user: User, cv_id) -> CvVariant:
    """The user's own variant; anyone else's answers exactly as a missing one."""
    key = policy.parse_id(cv_id)
    cv = session.get(CvVariant, key) if key is not None else None
    if cv is None or user is None or user.portfolio is None or cv.portfolio_id != user.portfolio.id:
        raise NotFound(str(_l("No such CV.")))
    return cv


# --- the items and their relevance ------------------------------------------------------------------


def _attach_skills(
    session: Session, portfolio_id, experiences: list[Experience], skills: list[Skill]
) -> None:
    """Fill each experience's ``skills`` from one query of the link table's id pairs, with the Skill
    objects already loaded (``selectinload`` would read every link as a whole Skill row again: about
    half the time of loading 480 experiences). Skill id order within an experience, as the link
    table's primary key gives it to ``selectinload`` on SQLite; a collection already loaded is kept."""
    pending = [experience for experience in experiences if "skills" not in vars(experience)]  # not loaded
    if not pending:
        return
    links = session.execute(
        select(experience_skills.c.experience_id, experience_skills.c.skill_id)
        .join(Experience, Experience.id == experience_skills.c.experience_id)
        .where(Experience.portfolio_id == portfolio_id)
        .order_by(experience_skills.c.experience_id, experience_skills.c.skill_id)
    ).all()
    by_id = {skill.id: skill for skill in skills}
    strangers = {skill_id for _, skill_id in links} - by_id.keys()  # linked from another portfolio
    if strangers:
        found = session.scalars(select(Skill).where(Skill.id.in_(strangers)))
        by_id.update((skill.id, skill) for skill in found)
    linked: dict = {}
    for experience_id, skill_id in links:
        linked.setdefault(experience_id, []).append(by_id[skill_id])
    for experience in pending:
        set_committed_value(experience, "skills", linked.get(experience.id, []))


def _items(session: Session, portfolio_id) -> dict[tuple[str, str], object]:
    """Every item a CV may show, keyed (type, id), in the portfolio's natural order per kind, each
    experience with its skills loaded (``_attach_skills``)."""
    found: dict[tuple[str, str], object] = {}
    experiences = session.scalars(
        select(Experience)
        .where(Experience.portfolio_id == portfolio_id)
        .order_by(Experience.start_date.desc(), Experience.id)
    ).all()
    diplomas = session.scalars(
        select(Diploma)
        .where(Diploma.portfolio_id == portfolio_id)
        .order_by(Diploma.awarded_on.desc().nulls_last(), Diploma.id)
    )
    skills = session.scalars(
        select(Skill)
        .where(Skill.portfolio_id == portfolio_id)
        .order_by(Skill.level.desc(), Skill.sort_name, Skill.id)
    ).all()
    _attach_skills(session, portfolio_id, experiences, skills)
    credentials = session.scalars(
        select(Credential)
        .where(Credential.portfolio_id == portfolio_id, Credential.hidden.is_(False))
        .options(selectinload(Credential.achievement), selectinload(Credential.organisation))
        .order_by(Credential.issued_at.desc(), Credential.id)
    )
    externals = session.scalars(
        select(ExternalCredential)
        .where(ExternalCredential.portfolio_id == portfolio_id, ExternalCredential.hidden.is_(False))
        .order_by(ExternalCredential.issued_at.desc().nulls_last(), ExternalCredential.id)
    )
    for kind, rows in (
        ("experience", experiences),
        ("diploma", diplomas),
        ("skill", skills),
        ("credential", credentials),
        ("external", externals),
    ):
        for row in rows:
            found[(kind, str(row.id))] = row
    return found


def _title(kind: str, item) -> str:
    if kind == "credential":
        return item.achievement.name
    if kind == "external":
        return item.achievement_name
    return item.name if kind == "skill" else item.title


def _text_of(kind: str, item) -> str:
    """What the ranking reads of an item: its title counts twice (a title match means more)."""
    title = _title(kind, item)
    if kind == "experience":
        return " ".join([title, title, item.organisation, item.description, *(s.name for s in item.skills)])
    if kind == "diploma":
        return " ".join([title, title, item.awarding_body, item.level])
    if kind == "skill":
        return " ".join([title, title, item.description, item.framework])
    if kind == "external":
        return " ".join([title, title, item.achievement_description or "", item.issuer_name])
    achievement = item.achievement
    return " ".join(
        [
            title,
            title,
            achievement.description or "",
            achievement.criteria_narrative or "",
            " ".join(achievement.tags or []),
            item.organisation.name,
        ]
    )


@dataclass
class RankedItem:
    kind: str
    item: object
    score: float
    matched: list[str]
    selected: bool = False
    # Why a target occupation ranks it first: ("essential" | "optional", the skill's label), best first.
    skills: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.item.id)

    @property
    def title(self) -> str:
        return _title(self.kind, self.item)

    @property
    def relevant(self) -> bool:
        return self.score > 0 or bool(self.skills)


@dataclass
class OccupationTarget:
    """A target occupation read from its framework: its words (labels and its skills' labels, in the
    CV's language) and its skills by URI with their relation and label."""

    concept: object
    text: str
    skills: dict[str, tuple[str, str]]


OCCUPATION_RELATIONS = ("essential", "optional")


def occupation_target(session: Session, cv: CvVariant) -> OccupationTarget | None:
    """The variant's occupation, or None without one (or when its framework lost it since: the CV then
    ranks on its text alone rather than failing)."""
    if not cv.target_occupation:
        return None
    concept = frameworks.find(session, cv.target_occupation)
    if concept is None:
        return None
    language = cv.language if cv.language in CV_LANGUAGES else "fr"
    words = [frameworks.label(concept, language), *(getattr(concept, f"alt_labels_{language}") or [])]
    skills: dict[str, tuple[str, str]] = {}
    for skill, relation in frameworks.related(session, concept):
        if relation in OCCUPATION_RELATIONS and skill.uri not in skills:
            skills[skill.uri] = (relation, frameworks.label(skill, language))
            words.append(skills[skill.uri][1])
    return OccupationTarget(concept, "\n".join(words), skills)


def _item_concepts(kind: str, item) -> set[str]:
    """The framework concepts an item stands for: a skill's own, an experience's linked skills', a
    credential's achievement alignments (their target URL is the concept URI)."""
    if kind == "skill":
        return {item.concept_uri} if item.concept_uri else set()
    if kind == "experience":
        return {skill.concept_uri for skill in item.skills if skill.concept_uri}
    if kind == "credential":
        return {a.get("target_url") for a in item.achievement.alignments or () if isinstance(a, dict)} - {None}
    return set()


def ranking(session: Session, cv: CvVariant, *, target: str | None = None) -> list[RankedItem]:
    """Every item of the CV's portfolio, most relevant to its target first, with the matched words.

    With a target occupation, its labels and its skills' labels join the target's words, and the items
    standing for one of its skills (``_item_concepts``) come first: essential skills before optional
    ones, then by how many they cover; BM25 orders the rest and breaks ties."""
    items = _items(session, cv.portfolio_id)
    occupation = occupation_target(session, cv)
    text = cv.target_text if target is None else target
    if occupation is not None:
        text = f"{text}\n{occupation.text}" if text else occupation.text
    ranked = cv_ranking.rank(
        text,
        {key: _text_of(key[0], item) for key, item in items.items()},
        language=cv.language,
    )
    chosen = {(ref["type"], ref["id"]) for ref in cv.selection or ()}
    result = []
    for r in ranked:
        item = items[r.key]
        skills = []
        if occupation is not None:
            skills = sorted(
                (occupation.skills[uri] for uri in _item_concepts(r.key[0], item) if uri in occupation.skills),
                key=lambda pair: (OCCUPATION_RELATIONS.index(pair[0]), pair[1]),
            )
        result.append(RankedItem(r.key[0], item, r.score, r.matched, r.key in chosen, skills))
    if occupation is not None:  # stable: BM25's order within each group
        result.sort(key=lambda r: (-sum(2 if rel == "essential" else 1 for rel, _ in r.skills)))
    return result


def _preselect(ranked: list[RankedItem]) -> list[dict]:
    """The best of each kind: those that matched the target; without a target (or no match), the most
    recent experiences and diplomas, the strongest skills and the credentials, up to ``PRESELECT``."""
    any_match = any(r.relevant for r in ranked)
    taken: dict[str, int] = {}
    selection = []
    for r in ranked:
        if any_match and not r.relevant:
            continue
        if taken.get(r.kind, 0) < PRESELECT[r.kind]:
            taken[r.kind] = taken.get(r.kind, 0) + 1
            selection.append({"type": r.kind, "id": r.id})
    order = [kind for kind, _ in SECTION_ORDER]
    return sorted(selection, key=lambda ref: order.index(ref["type"]))  # stable: relevance within a kind


# --- create, change, regenerate ---------------------------------------------------------------------


def _occupation(session: Session, values: dict) -> None:
    """``target_occupation`` (a concept id or URI) names an occupation of a reference framework: it is
    stored as the concept's URI (stable across the framework's versions); "" removes it."""
    if "target_occupation" not in values:
        return
    reference = (values.get("target_occupation") or "").strip()
    if not reference:
        values["target_occupation"] = None
        return
    concept = frameworks.find(session, reference)
    if concept is None or concept.kind != "occupation" or len(concept.uri) > 300:
        raise ValidationFailed(
            str(_l("No such occupation in the reference frameworks: choose one from the list.")),
            code="unknown_occupation",
            fields={"target_occupation": str(_l("No such occupation in the reference frameworks."))},
        )
    values["target_occupation"] = concept.uri


def _selection(session: Session, portfolio_id, value) -> list[dict]:
    """A list of ``{"type", "id"}`` naming the portfolio's own items, duplicates removed, order kept."""
    if not isinstance(value, list) or len(value) > MAX_SELECTION:
        raise _invalid("selection", _l("Must be a list of at most %(n)d items.", n=MAX_SELECTION))
    items = _items(session, portfolio_id)
    cleaned, seen = [], set()
    for ref in value:
        if not isinstance(ref, dict) or set(ref) - {"type", "id"} or ref.get("type") not in KINDS:
            raise _invalid(
                "selection",
                _l('Each item is {"type": experience, diploma, skill or credential, ' '"id": …}.'),
            )
        key = policy.parse_id(ref.get("id"))
        if key is None or (ref["type"], str(key)) not in items:
            raise _invalid("selection", _l("Unknown id."))
        if (ref["type"], str(key)) not in seen:
            seen.add((ref["type"], str(key)))
            cleaned.append({"type": ref["type"], "id": str(key)})
    return cleaned


def _photo_flag(value) -> bool:
    if not isinstance(value, bool):
        raise _invalid("show_photo", _l("Must be true or false."))
    return value


def create(session: Session, user: User, data: dict) -> CvVariant:
    """A new variant, its items ranked against the target and the best pre-selected."""
    portfolio = _portfolio(user)
    data = dict(data)
    selection = data.pop("selection", None)
    show_photo = _photo_flag(data.pop("show_photo")) if "show_photo" in data else False
    values = clean(_rules(partial=False), data)
    _occupation(session, values)
    if not values["name"]:
        raise _invalid("name", _l("This field is required."))
    count = session.scalar(
        select(func.count()).select_from(CvVariant).where(CvVariant.portfolio_id == portfolio.id)
    )
    if count >= MAX_VARIANTS:
        raise ServiceError(
            str(_l("You have reached the number of CVs allowed; delete one first.")),
            code="too_many_cvs",
            status=409,
        )
    cv = CvVariant(
        id=uuid.uuid4(),
        portfolio_id=portfolio.id,
        name=values["name"],
        target_text=values.get("target_text", ""),
        target_occupation=values.get("target_occupation") or None,
        language=values.get("language") or _default_language(user),
        template=values.get("template") or cv_templates.DEFAULT,
        summary=values.get("summary", ""),
        cover_letter=values.get("cover_letter", ""),
        show_photo=show_photo,
        consent=values.get("consent", ""),
        consent_text=values.get("consent_text", ""),
        selection=[],
    )
    if selection is not None:
        cv.selection = _selection(session, portfolio.id, selection)
    else:
        cv.selection = _preselect(ranking(session, cv))
    if not cv.summary:
        cv.summary = portfolio.bio[:5_000] if portfolio.bio else ""
    cv.generated_at = utcnow()
    session.add(cv)
    session.flush()
    return cv


def _default_language(user: User) -> str:
    locale = (getattr(user, "locale", None) or "fr")[:2]
    return locale if locale in CV_LANGUAGES else "fr"


def update(session: Session, user: User, cv: CvVariant, data: dict) -> CvVariant:
    """Change a variant (PATCH): only the fields given; everything is checked before anything changes."""
    get_owned(session, user, cv.id)
    data = dict(data)
    changes = {}
    if "selection" in data:
        changes["selection"] = _selection(session, cv.portfolio_id, data.pop("selection"))
    if "show_photo" in data:
        changes["show_photo"] = _photo_flag(data.pop("show_photo"))
    values = clean(_rules(partial=True), data, partial=True)
    _occupation(session, values)
    if "name" in values and not values["name"]:
        raise _invalid("name", _l("This field is required."))
    for field_name in ("template", "language"):
        if field_name in values and not values[field_name]:
            values.pop(field_name)
    for name, value in {**values, **changes}.items():
        setattr(cv, name, value)
    cv.updated_at = utcnow()
    session.flush()
    return cv


def regenerate(session: Session, user: User, cv: CvVariant) -> CvVariant:
    """Rank the portfolio again against the target and pre-select anew (after the portfolio changed)."""
    get_owned(session, user, cv.id)
    cv.selection = _preselect(ranking(session, cv))
    cv.generated_at = cv.updated_at = utcnow()
    session.flush()
    return cv


def move(session: Session, user: User, cv: CvVariant, kind: str, item_id: str, offset: int) -> None:
    """Move one selected item up (-1) or down (+1) among the selected items of its kind."""
    get_owned(session, user, cv.id)
    selection = list(cv.selection or [])
    positions = [i for i, ref in enumerate(selection) if ref["type"] == kind]
    here = next((i for i in positions if selection[i]["id"] == item_id), None)
    if here is None:
        raise NotFound(str(_l("This item is not in the CV.")))
    index = positions.index(here) + offset
    if 0 <= index < len(positions):
        there = positions[index]
        selection[here], selection[there] = selection[there], selection[here]
        cv.selection = selection
        cv.updated_at = utcnow()
        session.flush()


def delete(session: Session, user: User, cv: CvVariant) -> None:
    get_owned(session, user, cv.id)
    session.delete(cv)
    session.flush()


# --- the document a renderer lays out ---------------------------------------------------------------

MARKUP = re.compile(r"(\*\*|__|`|^#+\s*|^>\s*)", re.MULTILINE)
BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


def _prose(markdown: str) -> tuple[list[str], list[str]]:
    """A description (Markdown) as plain paragraphs and bullets: a CV prints text, not markup.
    Cut at ``MAX_DESCRIPTION`` characters (on a word) so one long description cannot fill pages."""
    text = (markdown or "").strip()
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION].rsplit(" ", 1)[0] + " …"
    paragraphs, bullets, current = [], [], []
    for line in MARKUP.sub("", text).splitlines():
        if BULLET.match(line):
            bullets.append(BULLET.sub("", line).strip())
        elif line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs, bullets


def _day(moment: datetime | date | None) -> date | None:
    return moment.date() if isinstance(moment, datetime) else moment


STATES = {"active": "valid", "expired": "expired", "revoked": "revoked", "suspended": "suspended"}


def _credential_proof(credential: Credential, words: dict, language: str) -> Proof:
    from app.services.awarding import credential_url  # noqa: PLC0415  (awarding imports the mail layer)

    status = (
        STATES.get(credential.state, "unknown") if (credential.document or {}).get("proof") else "unknown"
    )
    line = words["issued_by"].format(
        name=credential.organisation.name, date=long_date(_day(credential.issued_at), language)
    )
    return Proof(line, credential_url(credential.id), status, words["status"][status])


def _external_proof(row: ExternalCredential, words: dict, language: str, verdicts: dict) -> Proof:
    """A badge earned elsewhere: its page on this site verifies it; its status is the last verdict's
    (a badge that does not verify, or was never checked, "cannot be checked", never "valid"; nor one
    issued to another person: its signature is valid, but it does not prove anything of the CV's owner)."""
    from app.services import backpack  # noqa: PLC0415  (backpack imports received, which imports awarding)

    verdict = verdicts.get(row.id)
    ok = verdict is not None and verdict.status != "not_verified" and row.recipient != "someone_else"
    status = STATES.get(backpack.state(row, verdict), "unknown") if ok else "unknown"
    line = words["issued_by"].format(name=row.issuer_name or "?", date=long_date(_day(row.issued_at), language))
    return Proof(line, backpack.page_url(row.id), status, words["status"][status])


def _attestation_proof(request: AttestationRequest, words: dict, language: str) -> Proof:
    from app.services.attestations import public_url  # noqa: PLC0415

    who = request.referee_name
    if request.referee_relationship:
        who = f"{who} ({request.referee_relationship})"
    if request.signed_by_organisation is not None:
        who = f"{who}, {request.signed_by_organisation.name}"
    line = words["confirmed_by"].format(name=who, date=long_date(_day(request.decided_at), language))
    return Proof(line, public_url(request.id), "valid", words["status"]["valid"])


def _entry(kind: str, item, words: dict, language: str, verdicts: dict | None = None) -> Entry:
    if kind == "experience":
        paragraphs, bullets = _prose(item.description)
        subtitle = ", ".join(part for part in (item.organisation, item.place) if part)
        return Entry(
            item.title, subtitle, period(item.start_date, item.end_date, language), paragraphs, bullets
        )
    if kind == "diploma":
        return Entry(
            item.title,
            item.awarding_body,
            period(None, item.awarded_on, language),
            [item.level] if item.level else [],
        )
    if kind == "skill":
        return Entry(item.name, words["levels"].get(item.level, ""), "", _prose(item.description)[0][:1])
    if kind == "external":
        return Entry(item.achievement_name, item.issuer_name, period(None, _day(item.issued_at), language),
                     _prose(item.achievement_description or "")[0][:1], [],
                     [_external_proof(item, words, language, verdicts or {})])
    achievement = item.achievement
    paragraphs, _ = _prose(achievement.description or "")
    return Entry(
        achievement.name,
        item.organisation.name,
        period(None, _day(item.issued_at), language),
        paragraphs[:1],
        [],
        [_credential_proof(item, words, language)],
    )


def selected_items(session: Session, cv: CvVariant) -> list[tuple[str, object]]:
    """The variant's selection as (kind, item), in its order; items deleted since are skipped."""
    items = _items(session, cv.portfolio_id)
    return [
        (ref["type"], items[(ref["type"], ref["id"])])
        for ref in cv.selection or ()
        if (ref.get("type"), ref.get("id")) in items
    ]


def _attestations(session: Session, portfolio_id) -> dict[tuple[str, str], list[AttestationRequest]]:
    rows = session.scalars(
        select(AttestationRequest)
        .where(AttestationRequest.portfolio_id == portfolio_id, AttestationRequest.status == "confirmed")
        .options(selectinload(AttestationRequest.signed_by_organisation))
        .order_by(AttestationRequest.decided_at)
    )
    found: dict[tuple[str, str], list[AttestationRequest]] = {}
    for row in rows:
        found.setdefault((row.item_kind, str(row.item_id)), []).append(row)
    return found


def _linked_credentials(session: Session, portfolio_id) -> dict[tuple[str, str], list[Credential]]:
    """The credentials the owner linked to their items (``app.services.received.link``), keyed by item,
    oldest link first. Only credentials still in the portfolio and not hidden by the owner: a hidden
    credential is one they chose not to show, on a CV as elsewhere."""
    rows = session.execute(
        select(CredentialLink.item_kind, CredentialLink.item_id, Credential)
        .join(Credential, Credential.id == CredentialLink.credential_id)
        .where(
            CredentialLink.portfolio_id == portfolio_id,
            Credential.portfolio_id == portfolio_id,
            Credential.hidden.is_(False),
        )
        .options(selectinload(Credential.organisation))
        .order_by(CredentialLink.created_at, CredentialLink.id)
    )
    found: dict[tuple[str, str], list[Credential]] = {}
    for kind, item_id, credential in rows:
        found.setdefault((kind, str(item_id)), []).append(credential)
    return found


def _paragraphs(text: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n\s*\n", text or "") if block.strip()]


def document(session: Session, cv: CvVariant, *, live_status: bool = False) -> CvDocument:
    """The CV as plain data (``cv_templates.model``), in the variant's language."""
    portfolio = session.get(Portfolio, cv.portfolio_id)
    language = cv.language if cv.language in CV_LANGUAGES else "fr"
    words = labels(language)
    attested = _attestations(session, cv.portfolio_id)
    linked = _linked_credentials(session, cv.portfolio_id)
    from app.services import backpack  # noqa: PLC0415

    linked_badges = backpack.linked_to(session, cv.portfolio_id)
    verdicts = backpack.verdicts(session, cv.portfolio_id)
    sections = {key: Section(key, words[key]) for _, key in SECTION_ORDER}
    for kind, item in selected_items(session, cv):
        entry = _entry(kind, item, words, language, verdicts)
        # A line is proved by the credentials the owner linked to it and by the attestations of it.
        entry.proofs += [_credential_proof(c, words, language) for c in linked.get((kind, str(item.id)), ())]
        entry.proofs += [_external_proof(b, words, language, verdicts) for b in linked_badges.get((kind, str(item.id)), ())]
        entry.proofs += [
            _attestation_proof(r, words, language) for r in attested.get((kind, str(item.id)), ())
        ]
        sections[dict(SECTION_ORDER)[kind]].entries.append(entry)
    consent = (
        CONSENT[cv.consent][language]
        if cv.consent in CONSENT
        else (cv.consent_text if cv.consent == "custom" else "")
    )
    contacts = [
        value
        for value in (portfolio.contact_email, portfolio.phone, portfolio.location, portfolio.website)
        if value
    ]
    photo = read_photo(portfolio.owner) if cv.show_photo and portfolio.photo_key else None
    return CvDocument(
        language=language,
        labels=words,
        name=portfolio.display_name or portfolio.owner.email.split("@")[0],
        headline=portfolio.headline,
        contacts=contacts,
        photo=photo,
        summary=_paragraphs(cv.summary),
        sections=[section for section in sections.values() if section.entries],
        consent=consent,
        cover_letter=_paragraphs(cv.cover_letter),
        live_status=live_status,
    )


# --- renderings ---------------------------------------------------------------------------------------


def render_html(cv: CvVariant, *, session: Session | None = None, standalone: bool = False) -> str:
    """The HTML CV with each proof's live status: what a share link (``/s/<token>``) serves.

    By default its styles are linked (``cvs.stylesheet``, needs a request or ``SERVER_NAME``) so that the
    site's Content-Security-Policy (``style-src 'self'``) holds; ``standalone`` inlines them (a download).
    """
    from flask import url_for  # noqa: PLC0415

    from app.extensions import db  # noqa: PLC0415

    design = cv_templates.get(cv.template)
    stylesheet = None if standalone else url_for("cvs.stylesheet", design=design.id)
    return cv_templates.render_html(
        document(session or db.session, cv, live_status=True), design.id, stylesheet_url=stylesheet
    )


def render_docx(session: Session, cv: CvVariant) -> bytes:
    return docx_renderer(document(session, cv), cv.template)


def pdf_unavailable() -> ServiceError:
    return ServiceError(
        str(
            _l(
                "PDF output is not available on this server (its PDF library is not "
                "installed). Download the DOCX or HTML version instead."
            )
        ),
        code="pdf_unavailable",
        status=503,
    )


def render_pdf(session: Session, cv: CvVariant) -> bytes:
    """The PDF, printed from the HTML without live statuses (a PDF is a snapshot: its links check live)."""
    if not pdf_renderer.available():
        raise pdf_unavailable()
    return pdf_renderer.render_pdf(cv_templates.render_html(document(session, cv), cv.template))


def preview_png(session: Session, cv: CvVariant) -> bytes:
    """The PDF's first page as an image: what a recruiter will see, before downloading."""
    return pdf_renderer.first_page_png(render_pdf(session, cv))


def filename(cv: CvVariant, extension: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", cv_ranking.fold(cv.name)).strip("-.") or "cv"
    return f"{stem[:80]}.{extension}"


# --- JSON Resume (https://jsonresume.org/schema, v1.0.0) ------------------------------------------------

WORK_KINDS = {"job": "work", "internship": "work", "volunteering": "volunteer", "education": "education"}


def _iso(day) -> str | None:
    day = _day(day)
    return day.isoformat() if day else None


def _resume_entry(kind: str, item) -> tuple[str, dict]:
    if kind == "experience":
        section = WORK_KINDS.get(item.kind, "projects")
        paragraphs, bullets = _prose(item.description)
        summary = "\n\n".join(paragraphs)
        dates = {
            "startDate": _iso(item.start_date),
            **({"endDate": _iso(item.end_date)} if item.end_date else {}),
        }
        if section == "education":
            return section, {"institution": item.organisation, "area": item.title, **dates}
        if section == "projects":
            return section, {"name": item.title, "description": summary, "highlights": bullets, **dates}
        key = "organization" if section == "volunteer" else "name"
        return section, {
            key: item.organisation,
            "position": item.title,
            "location": item.place,
            "summary": summary,
            "highlights": bullets,
            **dates,
        }
    if kind == "diploma":
        return "education", {
            "institution": item.awarding_body,
            "area": item.title,
            "studyType": item.level,
            **({"endDate": _iso(item.awarded_on)} if item.awarded_on else {}),
        }
    if kind == "skill":
        return "skills", {
            "name": item.name,
            "level": labels("en")["levels"].get(item.level, ""),
            "keywords": [item.framework] if item.framework else [],
        }
    if kind == "external":
        from app.services.backpack import page_url  # noqa: PLC0415

        return "certificates", {"name": item.achievement_name, "date": _iso(item.issued_at),
                                "issuer": item.issuer_name, "url": page_url(item.id)}
    from app.services.awarding import credential_url  # noqa: PLC0415

    return "certificates", {
        "name": item.achievement.name,
        "date": _iso(item.issued_at),
        "issuer": item.organisation.name,
        "url": credential_url(item.id),
    }


def _compact(value):
    """``value`` without the keys that say nothing (``None`` or ``""``), at every depth. JSON Resume v1.0.0
    types its fields as strings, its dates as ``iso8601``/``date`` strings and ``email``/``url`` with a
    format: a ``null`` date (a badge that states none) or an empty address is invalid there, while a
    missing key is fine (docs/schemas/json-resume-1.0.0.schema.json; tests/test_cvs.py validates)."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _resume(
    session: Session, portfolio: Portfolio, pairs, *, summary: str, language: str, canonical: str | None
) -> dict:
    resume: dict = {
        "$schema": "https://raw.githubusercontent.com/jsonresume/resume-schema/v1.0.0/schema.json",
        "basics": {
            "name": portfolio.display_name,
            "label": portfolio.headline,
            "email": portfolio.contact_email,
            "phone": portfolio.phone,
            "url": portfolio.website,
            "summary": summary,
            "location": {"address": portfolio.location} if portfolio.location else {},
        },
    }
    for section in ("work", "volunteer", "education", "projects", "certificates", "skills", "references"):
        resume[section] = []
    attested = _attestations(session, portfolio.id)
    for kind, item in pairs:
        section, entry = _resume_entry(kind, item)
        resume[section].append(entry)
        for r in attested.get((kind, str(item.id)), ()):
            from app.services.attestations import public_url  # noqa: PLC0415

            resume["references"].append(
                {
                    "name": f"{r.referee_name} ({r.referee_relationship})",
                    "reference": f"{r.final_statement} — {public_url(r.id)}",
                }
            )
    resume["languages"] = []
    resume["meta"] = {
        "version": "v1.0.0",
        "lastModified": utcnow().isoformat(timespec="seconds"),
        "language": language,
        **({"canonical": canonical} if canonical else {}),
    }
    return _compact(resume)


def json_resume(session: Session, cv: CvVariant) -> dict:
    """The variant as JSON Resume: its selected items, its summary."""
    portfolio = session.get(Portfolio, cv.portfolio_id)
    return _resume(
        session,
        portfolio,
        selected_items(session, cv),
        summary=cv.summary,
        language=cv.language,
        canonical=None,
    )


def profile_json_resume(session: Session, user: User) -> dict:
    """The owner's whole profile as JSON Resume: every experience, diploma, skill, visible credential."""
    portfolio = _portfolio(user)
    pairs = [(key[0], item) for key, item in _items(session, portfolio.id).items()]
    return _resume(
        session, portfolio, pairs, summary=portfolio.bio, language=_default_language(user), canonical=None
    )
