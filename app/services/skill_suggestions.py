"""The writing aid: skills from the reference frameworks suggested for an experience, computed locally.

Nothing leaves the platform: the experience's title and description are matched here against the labels
and alternative labels (French and English) of the skill and competence concepts of the live frameworks.
Words go through ``app.services.cv_ranking``'s stemming and folding (the CV ranking's, so "géré l'équipe"
meets "gérer une équipe" and "Managed" meets "manage"), each language's labels with that language's
stemmer.

Why label coverage and not BM25 over the text: a concept's label is a short phrase, and it fits the
experience when (nearly) all of its words are there — "gérer une équipe" needs both "gérer" and
"équipe", not one of them repeated. Each label word weighs its rarity among all labels (a label made
only of "gestion" weighs little, "soudure" a lot); a label counts when all its words are present, or, for
labels of three words and more, when at least two and two thirds of the weight are; and the words must
stand near each other in the text (``WINDOW``; a word of the title goes with any). A concept scores by
its best label, a little more when the words are in the title. The owner sees which of their words
matched.

The index (label words → labels) is built once per process from one query and kept until the concepts
change (their count, highest ``seq``, latest ``updated_at``, retired count): for ESCO's size (about
18,000 concepts and their alternative labels) a suggestion then costs a few milliseconds (see
tests/benchmarks/bench_skill_suggestions.py). Dismissals are remembered per experience, by URI.
"""
from __future__ import annotations

import math
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Experience, Skill, User
from app.models.frameworks import Concept, Framework
from app.models.skill_suggestions import SkillSuggestionDismissal
from app.services import cv_ranking, frameworks
from app.services import portfolio as items
from app.services.errors import NotFound, ServiceError, ValidationFailed

SUGGESTED_KINDS = ("skill", "competence")
LANGUAGES = ("fr", "en")
LIMIT = 10
MAX_TEXT = 40_000  # characters read of a draft: a description is at most 20,000, plus its title
TITLE_BONUS = 1.25
WINDOW = 1  # other words (stop words aside) allowed among a label's words in the text
MAX_URI = 300  # Skill.concept_uri's length


@dataclass
class Suggestion:
    """One suggested concept: its label in the reader's language, the owner's words that matched it,
    and the owner's skill already pointing at it (confirming then links that skill)."""

    concept: Concept
    label: str
    score: float
    matched: list[str]
    skill: Skill | None = None

    def as_dict(self) -> dict:
        return {
            "concept_id": str(self.concept.id),
            "concept_uri": self.concept.uri,
            "label": self.label,
            "kind": self.concept.kind,
            "framework": self.concept.framework.name,
            "score": round(self.score, 4),
            "matched": self.matched,
            "skill_id": str(self.skill.id) if self.skill is not None else None,
        }


@dataclass
class _Index:
    """Labels reduced to their *shapes* (the set of their words, per language): many labels share one
    ("gérer une équipe", "gérer l'équipe"), so a text is scored once per shape, then its concepts."""

    key: tuple
    concepts: list[tuple[uuid.UUID, str, uuid.UUID]] = field(default_factory=list)  # id, uri, framework
    shapes: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # language, its words
    members: list[list[int]] = field(default_factory=list)  # shape -> concepts having a label of it
    postings: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (lang, word) -> shapes
    weight: dict[tuple[str, str], float] = field(default_factory=dict)


_lock = threading.Lock()
# One index per database URL, the least recently used dropped beyond MAX_INDEXES. A server has one
# database; the test suite opens a new SQLite file per test (about two thousand per run), and an unbounded
# dict kept every one of their indexes for the life of the process.
MAX_INDEXES = 4
_cache: dict[str, _Index] = {}  # in order of use, the most recent last


def _key(session: Session) -> tuple:
    """What changes when the concepts do: an import stamps its framework's ``imported_at`` (it is the
    only writer of concepts, and retires in the same go); new concepts raise the count and ``seq``."""
    row = session.execute(select(
        select(func.count(Framework.id)).scalar_subquery(), select(func.max(Framework.imported_at)).scalar_subquery(),
        select(func.count(Concept.id)).scalar_subquery(), select(func.max(Concept.seq)).scalar_subquery())).one()
    return (str(session.get_bind().url), *row)


def _build(session: Session, key: tuple) -> _Index:
    index = _Index(key)
    rows = session.execute(
        select(Concept.uri, Concept.id, Concept.framework_id, Concept.label_fr, Concept.label_en,
               Concept.alt_labels_fr, Concept.alt_labels_en)
        .where(Concept.kind.in_(SUGGESTED_KINDS), Concept.retired_at.is_(None))
        .order_by(Concept.seq)
    )
    shape_of: dict[tuple[str, tuple[str, ...]], int] = {}
    for uri, concept_id, framework_id, label_fr, label_en, alt_fr, alt_en in rows:
        position = len(index.concepts)
        index.concepts.append((concept_id, uri, framework_id))
        for language, labels in (("fr", [label_fr, *(alt_fr or [])]), ("en", [label_en, *(alt_en or [])])):
            seen: set[str] = set()
            for text in labels:
                if not isinstance(text, str) or not text.strip() or text.casefold() in seen:
                    continue  # the same label in other capitals (ESCO lists some) is stemmed once
                seen.add(text.casefold())
                words = tuple(sorted({term for term, _ in cv_ranking.terms(text[:300], language)}))
                if not words or len(words) > 8:  # a sentence is not a label
                    continue
                shape = shape_of.get((language, words))
                if shape is None:
                    shape = shape_of[(language, words)] = len(index.shapes)
                    index.shapes.append((language, words))
                    index.members.append([])
                    for term in words:
                        index.postings.setdefault((language, term), []).append(shape)
                if not index.members[shape] or index.members[shape][-1] != position:
                    index.members[shape].append(position)
    total = len(index.shapes) or 1
    index.weight = {key_: math.log(1 + total / len(shapes)) for key_, shapes in index.postings.items()}
    return index


def _index(session: Session) -> _Index:
    key = _key(session)
    with _lock:
        found = _cache.pop(key[0], None)
        if found is None or found.key != key:
            found = _build(session, key)
        _cache[key[0]] = found
        while len(_cache) > MAX_INDEXES:
            del _cache[next(iter(_cache))]
        return found


def forget_index() -> None:
    """Drop the cached indexes (tests that rebuild a database under the same URL)."""
    with _lock:
        _cache.clear()


def match(session: Session, title: str, description: str = "", *, limit: int = LIMIT,
          exclude: set[str] = frozenset()) -> list[tuple[uuid.UUID, float, list[str]]]:
    """(concept id, score, matched words) for the text, best first: the pure matching, without the
    owner (the benchmark calls it). ``exclude`` holds URIs left out (dismissed, already linked)."""
    index = _index(session)
    live = set(session.scalars(select(Framework.id).where(Framework.retired_at.is_(None))))
    text = f"{title or ''}\n{description or ''}"[:MAX_TEXT]
    candidates = []  # (score, shape, language, matched terms): the cheap part, for every shape hit
    texts = {}
    for language in LANGUAGES:
        words: dict[str, str] = {}
        places: dict[str, list[int]] = {}
        for place, (term, surface) in enumerate(cv_ranking.terms(text, language)):
            words.setdefault(term, surface)
            places.setdefault(term, []).append(place)
        in_title = {term for term, _ in cv_ranking.terms(title or "", language)}
        texts[language] = (words, places, in_title)
        hits: Counter = Counter()
        for term in words:
            hits.update(index.postings.get((language, term), ()))
        weight = index.weight
        for shape, count in hits.items():
            terms = index.shapes[shape][1]
            if count < len(terms) and (len(terms) < 3 or count < 2):
                continue
            have = [term for term in terms if term in words]
            got = sum(weight[(language, term)] for term in have)
            coverage = got / sum(weight[(language, term)] for term in terms)
            if coverage < 2 / 3:
                continue
            score = coverage * got * (TITLE_BONUS if all(term in in_title for term in have) else 1)
            candidates.append((score, shape, language, have))
    candidates.sort(key=lambda entry: (-entry[0], entry[1]))
    ranked, seen = [], set()
    for score, shape, language, have in candidates:  # best first: a concept's first appearance is its best
        words, places, in_title = texts[language]
        if _span([places[term] for term in have if term not in in_title]) > len(have) + WINDOW:
            continue  # checked only now: the costly part, for as few shapes as it takes
        matched = [words[term] for term in sorted(have, key=lambda t: -index.weight[(language, t)])]
        for position in index.members[shape]:
            concept_id, uri, framework_id = index.concepts[position]
            if position in seen or framework_id not in live or uri in exclude:
                continue
            seen.add(position)
            ranked.append((concept_id, score, matched))
            if len(ranked) >= limit:
                return ranked
    return ranked


def _span(positions: list[list[int]]) -> int:
    """The fewest consecutive words of the text holding each matched word once (a label's words must
    stand near each other: "mise en place de la salle … service" is not "mise en service")."""
    if len(positions) < 2:
        return 1
    events = sorted((place, which) for which, places in enumerate(positions) for place in places)
    counts: Counter = Counter()
    best, start, covered = len(events) + 1_000_000, 0, 0
    for place, which in events:
        counts[which] += 1
        covered += counts[which] == 1
        while covered == len(positions):
            first_place, first = events[start]
            best = min(best, place - first_place + 1)
            counts[first] -= 1
            covered -= counts[first] == 0
            start += 1
    return best


def _own_experience(user: User, experience: Experience | None) -> None:
    portfolio = user.portfolio if user is not None else None
    if experience is not None and (portfolio is None or experience.portfolio_id != portfolio.id):
        raise NotFound(str(_l("Not found.")))


def _language(user: User) -> str:
    locale = (getattr(user, "locale", None) or "fr")[:2]
    return locale if locale in LANGUAGES else "fr"


def dismissed(session: Session, experience: Experience) -> set[str]:
    return set(session.scalars(select(SkillSuggestionDismissal.concept_uri)
                               .where(SkillSuggestionDismissal.experience_id == experience.id)))


def suggest(session: Session, user: User, experience: Experience | None = None, *, title: str | None = None,
            description: str | None = None, limit: int = LIMIT) -> list[Suggestion]:
    """Suggestions for the owner's experience, or for a draft (``title``/``description`` given: the
    text being typed on the create or edit page). Concepts already linked to the experience through one
    of the owner's skills, and those dismissed for it, are left out."""
    _own_experience(user, experience)
    if title is None and description is None and experience is not None:
        title, description = experience.title, experience.description
    exclude: set[str] = set()
    if experience is not None:
        exclude = dismissed(session, experience) | {s.concept_uri for s in experience.skills if s.concept_uri}
    found = match(session, title or "", description or "", limit=limit, exclude=exclude)
    if not found:
        return []
    concepts = {c.id: c for c in session.scalars(select(Concept).where(Concept.id.in_([f[0] for f in found])))}
    owned = {}
    if user.portfolio is not None:
        uris = [concept.uri for concept in concepts.values()]
        owned = {s.concept_uri: s for s in session.scalars(
            select(Skill).where(Skill.portfolio_id == user.portfolio.id, Skill.concept_uri.in_(uris)))}
    language = _language(user)
    return [Suggestion(concepts[concept_id], frameworks.label(concepts[concept_id], language), score, matched,
                       owned.get(concepts[concept_id].uri))
            for concept_id, score, matched in found if concept_id in concepts]


def _find(session: Session, reference) -> Concept:
    """The concept named by id or URI, as a 422 (not a 404: the experience exists, the body is wrong)."""
    if not isinstance(reference, str) or not reference.strip():
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"concept": str(_l("This field is required."))})
    try:
        return frameworks.get(session, reference)
    except NotFound as exc:
        raise ServiceError(str(_l("This concept is not in the reference frameworks.")), code="unknown_concept",
                           status=422) from exc


def _concept(session: Session, reference) -> Concept:
    """``_find``, and only a skill or competence (what can become one of the owner's skills)."""
    concept = _find(session, reference)
    if concept.kind not in SUGGESTED_KINDS or len(concept.uri) > MAX_URI:
        raise ServiceError(str(_l("Only a skill or competence of a framework can become one of your skills.")),
                           code="not_a_skill", status=422)
    return concept


def _level(value) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"level": str(_l("Choose a level from 1 to 4."))})
    return value


def confirm(session: Session, user: User, experience: Experience, reference, level) -> Skill:
    """The owner accepts a suggestion: their skill pointing at the concept (created if they have none,
    named by the concept's label in their language) is linked to the experience, at the level they
    assess (the four-step mastery scale). A dismissal of it for this experience is withdrawn."""
    _own_experience(user, experience)
    concept, level = _concept(session, reference), _level(level)
    skill = session.scalar(select(Skill).where(Skill.portfolio_id == experience.portfolio_id,
                                               Skill.concept_uri == concept.uri).order_by(Skill.created_at))
    if skill is None:
        skill = items.create_item(session, user, Skill, {
            "name": frameworks.label(concept, _language(user))[:200], "level": level,
            "framework": concept.framework.name[:120], "experience_ids": [str(experience.id)]})
        skill.concept_uri = concept.uri  # from the framework itself: any URI scheme, not only web addresses
    else:
        linked = [str(e.id) for e in skill.experiences if e.id != experience.id] + [str(experience.id)]
        items.update_item(session, user, skill, {"level": level, "experience_ids": linked})
    for row in session.scalars(select(SkillSuggestionDismissal).where(
            SkillSuggestionDismissal.experience_id == experience.id,
            SkillSuggestionDismissal.concept_uri == concept.uri)):
        session.delete(row)
    session.flush()
    return skill


def dismiss(session: Session, user: User, experience: Experience, reference) -> Concept:
    """The owner refuses a suggestion for this experience: it is not offered for it again."""
    _own_experience(user, experience)
    concept = _find(session, reference)
    if concept.uri not in dismissed(session, experience):
        session.add(SkillSuggestionDismissal(experience_id=experience.id, concept_uri=concept.uri))
        session.flush()
    return concept
