"""Reference frameworks: import (one transaction, update by URI, retire the missing), search, resolution.

Readers (``app.services.framework_readers``) turn ESCO CSV, CASE JSON or the simple CSV into a
``Parsed`` framework; ``apply`` checks it as a whole (duplicate URIs, unknown targets, cycles) and
writes it with bulk statements, flushing only: the route, CLI command or job commits once, so that a
refused file leaves nothing behind.

Search is the database's full-text index (see app/models/frameworks.py and the migration): words are
folded by ``fold_for_search`` on both sides, every word of the query must match the start of a word of
the concept's labels (prefix matching, for an autocomplete), and the order is computed from columns
that SQLite and PostgreSQL compare alike, so that both engines give the same answer.
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models.frameworks import (CONCEPT_KINDS, RELATIONS, SKILL_TYPES, Concept, ConceptLink, ConceptRelation,
                                   Framework, FrameworkImportLock)
from app.models.user import User
from app.services.errors import NotFound, ServiceError

LANGUAGES = ("fr", "en")
# Relations whose graph must stay a tree or at least acyclic (a block that is part of itself).
ACYCLIC_RELATIONS = ("part_of", "broader")
MAX_REPORTED_ERRORS = 20
SAMPLE_URI = "https://w3id.org/sillage/frameworks/sample"  # the bundled sample's namespace
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "frameworks"
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_COMBINING = re.compile("[" + "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.combining(chr(c)))
                        + "]+")
# Latin letters that Unicode does not decompose: spelt out, so that neither engine's tokenizer has to know
# them (PostgreSQL's parser splits on what its locale does not call a letter; FTS5 keeps them).
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "oe", "Æ": "ae", "ĳ": "ij", "Ĳ": "ij", "ł": "l", "Ł": "l",
                            "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
                            "ħ": "h", "Ħ": "h", "ı": "i"})


def _t(message: str, **values) -> str:
    """``message`` translated into the current locale (the request's, else the default), then filled in.

    Import problems are rendered when they are found (the page, CLI or job that runs the import is in
    the reader's locale); the English text is the msgid, so tests and logs can still match it."""
    return str(_l(message, **values))


class ImportRunning(ServiceError):
    """Another import of the same framework holds its lock: the second one is refused, not queued."""

    status = 409
    code = "import_running"


class FrameworkImportError(ServiceError):
    """A framework file refused as a whole; ``errors`` lists the first problems, each naming its place."""

    status = 422
    code = "invalid_framework"

    def __init__(self, errors: list[str], total: int | None = None):
        self.errors = errors[:MAX_REPORTED_ERRORS]
        self.total = total if total is not None else len(errors)
        more = self.total - len(self.errors)
        message = "; ".join(self.errors) + (_t("; … and %(count)s more", count=more) if more > 0 else "")
        super().__init__(_t("Nothing was imported: %(problems)s", problems=message))


@dataclass
class ConceptData:
    uri: str
    kind: str
    labels: dict[str, str] = field(default_factory=dict)
    alt_labels: dict[str, list[str]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    parent_uri: str = ""
    notation: str = ""
    skill_type: str = ""


@dataclass
class Parsed:
    """A framework as a reader understood it, before any check against the database."""

    name: str
    slug: str
    version: str = ""
    source: str = ""
    format: str = "csv"
    concepts: dict[str, ConceptData] = field(default_factory=dict)
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (source uri, target uri, relation)
    # (source uri, relation, target URI outside the file): kept as a link, resolved when shown
    external: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)
    name_given: bool = False  # the importer named it: the file's own title does not override it
    slug_given: bool = False

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(message)

    def broader(self, child: str, parent: str) -> None:
        """Record "``child`` is narrower than ``parent``": the first parent in the file becomes the
        tree's, later ones ``broader`` relations; a parent outside the file becomes a link."""
        concept = self.concepts.get(child)
        if concept is None or not parent or parent == concept.parent_uri:
            return
        if parent not in self.concepts:
            self.external.append((child, "broader", parent))
        elif not concept.parent_uri:
            concept.parent_uri = parent
        else:
            self.relations.append((child, parent, "broader"))


@dataclass
class ImportReport:
    framework: Framework
    added: int
    updated: int
    retired: int
    relations: int
    warnings: list[str]
    links: int = 0

    def as_dict(self) -> dict:
        return {"framework": str(self.framework.id), "slug": self.framework.slug, "added": self.added,
                "updated": self.updated, "retired": self.retired, "relations": self.relations,
                "links": self.links, "warnings": self.warnings}


def fold_for_search(text_: str) -> str:
    """Lower case, no accents, ligatures spelt out, every run of non-letters one space.

    The same function folds the indexed labels and the query, so "Éco-conduite", "eco conduite" and
    "ÉCO CONDUITE" are the same words, and neither engine's tokenizer has punctuation left to treat its
    own way (PostgreSQL's parser keeps "aide-soignant" whole as well as split; FTS5 only splits).
    """
    text_ = (text_ or "").translate(_LIGATURES)
    if not text_.isascii():  # same result as cv_ranking.fold, without its per-character loop
        text_ = _COMBINING.sub("", unicodedata.normalize("NFKD", text_.casefold()))
    return _NON_WORD.sub(" ", text_.lower()).strip()


def slugify(value: str) -> str:
    return fold_for_search(value).replace(" ", "-")[:80] or "framework"


def label(concept: Concept, lang: str | None = "fr") -> str:
    """The preferred label in ``lang``, else in the other language, else the URI (never empty)."""
    order = (lang, *[other for other in LANGUAGES if other != lang]) if lang in LANGUAGES else LANGUAGES
    for language in order:
        value = getattr(concept, f"label_{language}")
        if value:
            return value
    return concept.uri


def description(concept: Concept, lang: str | None = "fr") -> str:
    order = (lang, *[other for other in LANGUAGES if other != lang]) if lang in LANGUAGES else LANGUAGES
    return next((getattr(concept, f"description_{x}") for x in order if getattr(concept, f"description_{x}")), "")


# --------------------------------------------------------------------------------------------- reading

def frameworks(session: Session, *, include_retired: bool = False) -> list[Framework]:
    query = select(Framework).order_by(Framework.name, Framework.slug)
    if not include_retired:
        query = query.where(Framework.retired_at.is_(None))
    return list(session.scalars(query))


def get_framework(session: Session, id_or_slug: str) -> Framework:
    try:
        found = session.get(Framework, uuid.UUID(str(id_or_slug)))
    except ValueError:
        found = session.scalar(select(Framework).where(Framework.slug == str(id_or_slug)))
    if found is None:
        raise NotFound(str(_l("No such framework.")), code="unknown_framework")
    return found


def get(session: Session, id_or_uri: str) -> Concept:
    """A concept by its id or its URI, retired ones included (portfolios keep pointing at them).

    A URI present in several frameworks resolves to the live concept of a live framework first, then
    the most recently imported.
    """
    value = str(id_or_uri or "").strip()
    concept = None
    try:
        concept = session.get(Concept, uuid.UUID(value))
    except ValueError:
        if value:
            concept = session.scalars(
                select(Concept).join(Framework, Concept.framework_id == Framework.id)
                .where(Concept.uri == value)
                .order_by(Framework.retired_at.is_not(None), Concept.retired_at.is_not(None),
                          Framework.imported_at.desc())
                .limit(1)).first()
    if concept is None:
        raise NotFound(str(_l("No such concept in the reference frameworks.")), code="unknown_concept")
    return concept


def find(session: Session, id_or_uri: str) -> Concept | None:
    """``get`` that answers None instead of raising: for pages that show a URI that may not resolve."""
    try:
        return get(session, id_or_uri)
    except NotFound:
        return None


_RELATION_ORDER = {name: index for index, name in enumerate(RELATIONS)}


def related(session: Session, concept: Concept, relation: str | None = None, *,
            reverse: bool = False) -> list[tuple[Concept, str]]:
    """The concepts ``concept`` points to (an occupation's skills), or with ``reverse`` those pointing
    to it (the occupations needing a skill); essential before optional, then by French label."""
    near, far = (ConceptRelation.target_id, ConceptRelation.source_id) if reverse else \
        (ConceptRelation.source_id, ConceptRelation.target_id)
    query = (select(Concept, ConceptRelation.relation).join(ConceptRelation, far == Concept.id)
             .where(near == concept.id))
    if relation:
        query = query.where(ConceptRelation.relation == relation)
    rows = [(row[0], row[1]) for row in session.execute(query)]
    rows.sort(key=lambda pair: (_RELATION_ORDER.get(pair[1], 99), fold_for_search(label(pair[0], "fr")),
                                pair[0].uri))
    return rows


def children(session: Session, concept: Concept) -> list[Concept]:
    """The narrower concepts: those whose tree parent it is, and those that name it as a further
    ``broader`` concept (a skill filed under two ESCO skill groups is listed under both)."""
    also = select(ConceptRelation.source_id).where(ConceptRelation.target_id == concept.id,
                                                   ConceptRelation.relation == "broader")
    rows = list(session.scalars(select(Concept).where((Concept.parent_id == concept.id) | Concept.id.in_(also))))
    rows.sort(key=lambda c: (c.notation, fold_for_search(label(c, "fr")), c.uri))
    return rows


def broader(session: Session, concept: Concept) -> list[Concept]:
    """The broader concepts besides the tree's parent (ESCO's polyhierarchy)."""
    return [target for target, _relation in related(session, concept, "broader")]


def links(session: Session, concept: Concept) -> list[tuple[str, str, Concept | None]]:
    """The concept's relations to URIs outside its file, as (relation, URI, the concept when a framework
    imported since holds it, else None): the page links to it, or to the URI itself."""
    rows = session.execute(select(ConceptLink.relation, ConceptLink.target_uri)
                           .where(ConceptLink.source_id == concept.id)
                           .order_by(ConceptLink.relation, ConceptLink.target_uri)).all()
    return [(relation, uri, find(session, uri)) for relation, uri in rows]


def ancestors(session: Session, concept: Concept) -> list[Concept]:
    """From the root down to the parent; bounded, in case a database was edited by hand into a loop."""
    chain, seen, current = [], {concept.id}, concept.parent
    while current is not None and current.id not in seen and len(chain) < 50:
        chain.append(current)
        seen.add(current.id)
        current = current.parent
    return chain[::-1]


def roots(session: Session, framework: Framework, limit: int = 200) -> list[Concept]:
    rows = list(session.scalars(select(Concept).where(Concept.framework_id == framework.id,
                                                      Concept.parent_id.is_(None),
                                                      Concept.retired_at.is_(None))
                                .order_by(Concept.notation, Concept.search_fr).limit(limit)))
    return rows


def search(session: Session, q: str, *, kind: str | Sequence[str] | None = None,
           framework: str | Framework | None = None, skill_type: str | None = None,
           lang: str | None = None, limit: int = 20, include_retired: bool = False) -> list[Concept]:
    """Concepts whose labels (either language, or ``lang``'s only) hold every word of ``q`` as a prefix;
    ``kind`` is one kind or several (the skill form's picker asks for skills and competences);
    ``skill_type`` keeps ESCO's knowledge or skills/competences only.

    Order: labels starting with the query first, then shorter labels, then alphabetical (folded), then
    URI: only columns that compare byte-wise alike on SQLite and PostgreSQL (``COLLATE "C"`` there).
    """
    words = fold_for_search(q).split()[:12]
    if not words:
        return []
    limit = max(1, min(int(limit), 200))
    engine = session.get_bind().dialect.name
    lang = lang if lang in LANGUAGES else None
    params = {"prefix": " ".join(words) + "%"}
    if engine == "sqlite":
        match = " AND ".join(f'"{word}"*' for word in words)
        params["match"] = f"search_{lang} : ({match})" if lang else match
    elif engine == "postgresql":
        params["tsquery"] = " & ".join(f"{word}:*" for word in words)
    else:
        params.update({f"word{n}": f"% {word}%" for n, word in enumerate(words)})
    kinds = [kind] if isinstance(kind, str) else list(kind or ())
    if kinds:
        params["kinds"] = kinds
    skill_type = skill_type if skill_type in SKILL_TYPES else None
    if skill_type:
        params["skill_type"] = skill_type
    if framework is not None:
        params["framework_id"] = framework.id if isinstance(framework, Framework) else \
            get_framework(session, framework).id
    shape = (engine, lang, bool(kinds), framework is not None, include_retired, limit,
             len(words) if engine not in ("sqlite", "postgresql") else 0, bool(skill_type))
    ids = list(session.scalars(_search_statement(*shape), params))
    if not ids:
        return []
    rows = {concept.id: concept for concept in session.scalars(_BY_IDS, {"ids": ids})}
    return [rows[concept_id] for concept_id in ids]


_BY_IDS = select(Concept).where(Concept.id.in_(bindparam("ids", expanding=True)))


@lru_cache(maxsize=256)
def _search_statement(engine: str, lang: str | None, kind: bool, framework: bool, include_retired: bool,
                      limit: int, word_count: int, skill_type: bool = False):
    """The search's SELECT of ids for one shape of query, built once (building it cost more than
    running it); the words, kind and framework come as parameters.

    Ids first, then the rows (``_BY_IDS``): sorting a thousand matches with every column,
    descriptions included, costs far more than sorting their ids."""
    if engine == "sqlite":
        condition = text("concepts.seq IN (SELECT rowid FROM concepts_fts WHERE concepts_fts MATCH :match)")
    elif engine == "postgresql":
        condition = text("to_tsvector('simple', concepts.search_fr || ' ' || concepts.search_en) "
                         "@@ to_tsquery('simple', :tsquery)")
        if lang:
            condition = condition & text(f"to_tsvector('simple', concepts.search_{lang}) "
                                         "@@ to_tsquery('simple', :tsquery)")
    else:  # another engine: a slow but equivalent scan
        haystack = literal(" ") + (getattr(Concept, f"search_{lang}") if lang else
                                   Concept.search_fr + literal(" ") + Concept.search_en)
        condition = and_(*[haystack.like(bindparam(f"word{n}")) for n in range(word_count)])
    query = select(Concept.id).join(Framework, Concept.framework_id == Framework.id).where(condition)
    if kind:
        query = query.where(Concept.kind.in_(bindparam("kinds", expanding=True)))
    if framework:
        query = query.where(Concept.framework_id == bindparam("framework_id"))
    if skill_type:
        query = query.where(Concept.skill_type == bindparam("skill_type"))
    if not include_retired:
        query = query.where(Concept.retired_at.is_(None), Framework.retired_at.is_(None))
    order_column = getattr(Concept, f"search_{lang or 'fr'}")
    starts = case((order_column.like(bindparam("prefix")), 0), else_=1)
    sort_text, sort_uri = order_column, Concept.uri
    if engine == "postgresql":
        sort_text, sort_uri = order_column.collate("C"), Concept.uri.collate("C")
    return query.order_by(starts, func.length(order_column), sort_text, sort_uri).limit(limit)


# --------------------------------------------------------------------------------------------- writing

def _check(parsed: Parsed) -> None:
    """Whole-file checks that a reader cannot make row by row: unknown targets, cycles."""
    for data in parsed.concepts.values():
        if data.kind not in CONCEPT_KINDS:
            parsed.error(_t("%(uri)s: unknown kind “%(kind)s” (expected one of %(kinds)s)", uri=data.uri, kind=data.kind, kinds=", ".join(CONCEPT_KINDS)))
        if not any(data.labels.get(language) for language in LANGUAGES):
            parsed.error(_t("%(uri)s: no label in French or English", uri=data.uri))
        if data.parent_uri and data.parent_uri not in parsed.concepts:
            parsed.error(_t("%(uri)s: unknown parent %(parent)s", uri=data.uri, parent=data.parent_uri))
        if data.skill_type and data.skill_type not in SKILL_TYPES:
            parsed.error(_t("%(uri)s: unknown skill type “%(type)s”", uri=data.uri, type=data.skill_type))
    for source, relation, target in parsed.external:
        if source not in parsed.concepts:
            parsed.error(_t("relation %(source)s → %(target)s: unknown concept %(uri)s", source=source, target=target, uri=source))
        if relation not in RELATIONS or not target or len(target) > 500:
            parsed.error(_t("relation %(source)s → %(target)s: unknown relation “%(relation)s”", source=source, target=target[:500], relation=relation))
    for source, target, relation in parsed.relations:
        if relation not in RELATIONS:
            parsed.error(_t("relation %(source)s → %(target)s: unknown relation “%(relation)s”", source=source, target=target, relation=relation))
        for end in (source, target):
            if end not in parsed.concepts:
                parsed.error(_t("relation %(source)s → %(target)s: unknown concept %(uri)s", source=source, target=target, uri=end))
    edges: dict[str, list[str]] = {}
    for data in parsed.concepts.values():
        if data.parent_uri in parsed.concepts:
            edges.setdefault(data.uri, []).append(data.parent_uri)
    for source, target, relation in parsed.relations:
        if relation in ACYCLIC_RELATIONS:
            edges.setdefault(source, []).append(target)
    for cycle in _cycles(edges):
        parsed.error(_t("cycle in the tree: %(cycle)s", cycle=" → ".join(cycle)))


def _cycles(edges: dict[str, list[str]], limit: int = 5) -> list[list[str]]:
    """Up to ``limit`` cycles of a directed graph, iteratively (a 100,000-node chain must not recurse)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    found: list[list[str]] = []
    for start in edges:
        if start in state:
            continue
        path, stack = [start], [iter(edges.get(start, ()))]
        state[start] = 1
        while stack and len(found) < limit:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(step) == 1:
                found.append(path[path.index(step):] + [step])
            elif step not in state:
                state[step] = 1
                path.append(step)
                stack.append(iter(edges.get(step, ())))
        if len(found) >= limit:
            break
    return found


def _depths(parsed: Parsed) -> dict[str, int]:
    """Depth of each concept in the (acyclic, checked) tree: parents are inserted before children."""
    depth: dict[str, int] = {}
    for uri in parsed.concepts:
        chain, current = [], uri
        while current and current not in depth:
            chain.append(current)
            current = parsed.concepts[current].parent_uri
        base = depth[current] if current else -1
        for node in reversed(chain):
            base += 1
            depth[node] = base
    return depth


def _row(data: ConceptData) -> dict:
    alt = {language: [a for a in dict.fromkeys(data.alt_labels.get(language, [])) if a] for language in LANGUAGES}
    row = {"kind": data.kind, "notation": data.notation[:60], "skill_type": data.skill_type}
    for language in LANGUAGES:
        row[f"label_{language}"] = (data.labels.get(language) or "")[:500]
        row[f"alt_labels_{language}"] = alt[language]
        row[f"description_{language}"] = data.descriptions.get(language) or ""
        row[f"search_{language}"] = fold_for_search(" ".join([row[f"label_{language}"], *alt[language],
                                                              data.notation]))
    return row


_COMPARED = ("kind", "notation", "skill_type", "label_fr", "label_en", "alt_labels_fr", "alt_labels_en", "description_fr",
             "description_en")


def apply(session: Session, parsed: Parsed, *, actor=None) -> ImportReport:
    """Write a parsed framework: new version of an existing slug updates by URI, retires the missing.

    Raises ``FrameworkImportError`` (nothing written) when the reader or the checks found problems.
    Retired concepts keep their row, id and URI; one that reappears in a later version comes back.
    """
    _check(parsed)
    if parsed.error_count:
        raise FrameworkImportError(parsed.errors, parsed.error_count)
    if not parsed.concepts:
        raise FrameworkImportError([str(_l("The file holds no concept."))])
    now = utcnow()
    framework = session.scalar(select(Framework).where(Framework.slug == parsed.slug))
    if framework is None:
        framework = Framework(id=uuid.uuid4(), slug=parsed.slug, name=parsed.name[:200], format=parsed.format)
        session.add(framework)
    framework.name, framework.version = parsed.name[:200], parsed.version[:60]
    framework.source, framework.format, framework.imported_at = parsed.source, parsed.format, now
    session.flush()

    existing = {row.uri: row for row in session.execute(
        select(Concept.id, Concept.uri, Concept.parent_id, Concept.retired_at,
               *[getattr(Concept, name) for name in _COMPARED]).where(Concept.framework_id == framework.id))}
    ids = {uri: row.id for uri, row in existing.items()}
    for uri in parsed.concepts:
        ids.setdefault(uri, uuid.uuid4())
    next_seq = _first_free_seq(session)
    depth = _depths(parsed)
    inserts, updates = [], []
    for uri in sorted(parsed.concepts, key=lambda u: depth[u]):
        data = parsed.concepts[uri]
        row = _row(data)
        row["parent_id"] = ids[data.parent_uri] if data.parent_uri else None
        old = existing.get(uri)
        if old is None:
            inserts.append({**row, "id": ids[uri], "seq": next_seq, "framework_id": framework.id, "uri": uri,
                            "retired_at": None, "updated_at": now})
            next_seq += 1
        elif (old.retired_at is not None or old.parent_id != row["parent_id"]
              or any(getattr(old, name) != row[name] for name in _COMPARED)):
            updates.append({**row, "id": old.id, "retired_at": None, "updated_at": now})
    for chunk in _chunks(inserts, 2000):
        session.execute(insert(Concept), chunk)
    for chunk in _chunks(updates, 2000):
        session.execute(update(Concept), chunk)
    missing = [row.id for uri, row in existing.items() if uri not in parsed.concepts and row.retired_at is None]
    for chunk in _chunks(missing, 500):
        session.execute(update(Concept).where(Concept.id.in_(chunk)).values(retired_at=now, updated_at=now)
                        .execution_options(synchronize_session=False))

    # Relations are the new version's, whole: those of retired concepts go with the version that had them.
    session.execute(delete(ConceptRelation).where(ConceptRelation.source_id.in_(
        select(Concept.id).where(Concept.framework_id == framework.id))).execution_options(synchronize_session=False))
    relations = list({(ids[s], ids[t], r) for s, t, r in parsed.relations})
    _insert_relations(session, relations)
    session.execute(delete(ConceptLink).where(ConceptLink.source_id.in_(
        select(Concept.id).where(Concept.framework_id == framework.id))).execution_options(synchronize_session=False))
    links = sorted({(ids[s], r, t) for s, r, t in parsed.external}, key=lambda link: (link[0].hex, link[1], link[2]))
    for chunk in _chunks([{"source_id": s, "relation": r, "target_uri": t} for s, r, t in links], 5000):
        session.execute(insert(ConceptLink), chunk)

    retired_total = session.scalar(select(func.count()).select_from(Concept).where(
        Concept.framework_id == framework.id, Concept.retired_at.is_not(None)))
    framework.concept_count = len(parsed.concepts)
    framework.relation_count = len(relations)
    framework.retired_count = retired_total
    from app.services import audit
    audit.record(session, actor=actor, action="framework.import", target_type="framework",
                 target_id=framework.id, details={"slug": framework.slug, "version": framework.version,
                                                  "added": len(inserts), "updated": len(updates),
                                                  "retired": len(missing)})
    session.flush()
    session.expire_all()
    return ImportReport(framework, added=len(inserts), updated=len(updates), retired=len(missing),
                        relations=len(relations), warnings=parsed.warnings[:MAX_REPORTED_ERRORS],
                        links=len(links))


def _insert_relations(session: Session, relations: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Bulk INSERT through the driver's executemany: 100,000 relation rows are most of a big import,
    and the ORM's per-row bookkeeping cost more than the database's own work. The ids are given as each
    engine stores SQLAlchemy's ``Uuid``: 32 hex digits on SQLite, native ``uuid`` on PostgreSQL."""
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        for chunk in _chunks([{"source_id": s, "target_id": t, "relation": r} for s, t, r in relations], 5000):
            session.execute(insert(ConceptRelation), chunk)
        return
    convert = (lambda value: value.hex) if dialect.name == "sqlite" else (lambda value: value)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO concept_relations (source_id, target_id, relation) "
                 f"VALUES ({marker}, {marker}, {marker})")
    for chunk in _chunks(relations, 10000):
        connection.exec_driver_sql(statement, [(convert(s), convert(t), r) for s, t, r in chunk])


def _chunks(rows: list, size: int):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def retire_framework(session: Session, framework: Framework, *, retired: bool = True, actor=None) -> None:
    """Hide a framework from search and pickers (or bring it back); its concepts still resolve. In the
    audit log (``actor`` None: the command line)."""
    from app.services import audit

    framework.retired_at = utcnow() if retired else None
    session.flush()
    audit.record(session, actor=actor, action="framework.retire" if retired else "framework.restore",
                 target_type="framework", target_id=framework.id, details={"slug": framework.slug})


def import_path(session: Session, path: str | Path, *, format: str | None = None, name: str | None = None,
                slug: str | None = None, version: str | None = None) -> ImportReport:
    """Read a file, folder or ZIP (ESCO, CASE or the simple CSV; the format guessed when not given)."""
    from app.services import framework_readers

    parsed = framework_readers.read(Path(path), format=format, name=name, slug=slug, version=version)
    return apply(session, parsed)


def load_bundled(session: Session, *, force: bool = False) -> list[Framework]:
    """Import the frameworks shipped in app/data/frameworks (socle commun, mastery scale, sample).

    Idempotent: one already present at the same version is left alone (unless ``force``), so
    ``sillage demo`` can call it on every run.
    """
    from app.services import framework_readers

    loaded = []
    for folder in sorted(p for p in BUNDLED.iterdir() if p.is_dir()):
        parsed = framework_readers.read(folder, format="csv")
        present = session.scalar(select(Framework).where(Framework.slug == parsed.slug))
        if present is not None and present.version == parsed.version and not force:
            loaded.append(present)
            continue
        loaded.append(apply(session, parsed).framework)
    return loaded


def concept_dict(concept: Concept, lang: str | None = None) -> dict:
    """The API's and the picker's shape of one concept."""
    return {
        "id": str(concept.id), "uri": concept.uri, "kind": concept.kind,
        "label": label(concept, lang or "fr"),
        "labels": {language: getattr(concept, f"label_{language}") for language in LANGUAGES},
        "alt_labels": {language: list(getattr(concept, f"alt_labels_{language}") or []) for language in LANGUAGES},
        "descriptions": {language: getattr(concept, f"description_{language}") for language in LANGUAGES},
        "notation": concept.notation, "skill_type": concept.skill_type,
        "framework": {"id": str(concept.framework.id), "slug": concept.framework.slug,
                      "name": concept.framework.name, "version": concept.framework.version},
        "retired": concept.retired_at is not None,
    }


def framework_dict(framework: Framework) -> dict:
    return {"id": str(framework.id), "slug": framework.slug, "name": framework.name,
            "version": framework.version, "format": framework.format, "source": framework.source,
            "imported_at": framework.imported_at.isoformat() if isinstance(framework.imported_at, datetime) else None,
            "concept_count": framework.concept_count, "relation_count": framework.relation_count,
            "retired_count": framework.retired_count, "retired": framework.retired_at is not None}


# ------------------------------------------------------------------------------- imports from the web

IMPORT_KIND = "framework_import"
UPLOAD_PREFIX = "framework-imports"
MAX_UPLOAD_BYTES = 300 * 1024 * 1024  # a full ESCO ZIP in French and English is well under it
SYNC_IMPORT_BYTES = 2 * 1024 * 1024  # smaller files are imported in the request, larger ones in a job
UPLOAD_SUFFIXES = (".zip", ".csv", ".json")


def _suffix(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise FrameworkImportError([str(_l("Send a ZIP (ESCO or simple CSV), a CSV or a CASE JSON file."))])
    return suffix


def store_upload(chunks, filename: str) -> tuple[str, int]:
    """Keep an uploaded file in storage (streamed) for the import that reads it; (key, size)."""
    from app import storage

    key = f"{UPLOAD_PREFIX}/{uuid.uuid4()}{_suffix(filename)}"
    size = storage.put_stream(key, chunks)
    return key, size


def read_stored(key: str, *, format: str | None = None, name: str | None = None, slug: str | None = None,
                version: str | None = None) -> Parsed:
    """Read a stored upload (no database): copied to a temporary file (ZIP members need seeking)."""
    import shutil
    import tempfile

    from app import storage
    from app.services import framework_readers

    with tempfile.TemporaryDirectory(prefix="sillage-framework-") as folder:
        path = Path(folder) / f"upload{Path(key).suffix}"
        with storage.open(key) as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        return framework_readers.read(path, format=format or None, name=name or None, slug=slug or None,
                                      version=version or None)


def import_stored(session: Session, key: str, **options) -> ImportReport:
    """Import a stored upload (read it, then ``apply``); the caller holds ``import_lock`` and commits."""
    return apply(session, read_stored(key, **options))


def queue_import(session: Session, actor, key: str, options: dict):
    """The background import of a large upload: a one-item batch (app/services/batches.py), so that
    its state survives a restart and the admin page can follow it. The caller commits, then enqueues
    ``batches.run_batch_job``."""
    from app.services import batches

    return batches.create_batch(session, IMPORT_KIND, [{"key": key, **options}], key,
                                owner=getattr(actor, "id", None), params={"file": options.get("filename", "")})


def _owner(session: Session, batch):
    """Who queued a background import (the audit log's actor), or None once the account is gone."""
    return session.get(User, batch.owner_id) if batch.owner_id else None


def _options(item) -> tuple[str, dict]:
    options = dict(item.payload)
    options.pop("filename", None)
    return options.pop("key"), options


def _run_import(session: Session, batch, item) -> dict:
    """The item handler: used only when the pipeline's ``write`` failed, while the pipeline (below)
    still holds the framework's lock."""
    from app import storage
    from app.services import batches

    key, options = _options(item)
    try:
        report = apply(session, read_stored(key, **options), actor=_owner(session, batch))
    except FrameworkImportError as exc:
        raise batches.ItemFailed(exc.code, exc.message) from None
    finally:
        storage.delete_after_commit(session, key)
    return report.as_dict()


class _ImportPipeline:
    """The background import as a pipelined batch (app/services/batches.py): the file is read and the
    framework's lock taken in ``ahead``, outside the write transaction (on SQLite, a second connection
    cannot write while the item's transaction holds the database); ``write`` applies it; ``close``,
    after the commit, releases the lock."""

    def __init__(self, session: Session, batch):
        self.held: list[_Lock] = []

    def ahead(self, session: Session, batch, items):
        key, options = _options(items[0])
        try:
            parsed = read_stored(key, **options)
            self.held.append(_Lock.acquire(session.get_bind(), parsed.slug))
        except ServiceError as exc:
            return None, exc
        return parsed, None

    def write(self, session: Session, batch, items, prepared) -> list:
        from app import storage
        from app.services import batches

        parsed, problem = prepared
        storage.delete_after_commit(session, _options(items[0])[0])
        try:
            if problem is not None:
                raise problem
            return [apply(session, parsed, actor=_owner(session, batch)).as_dict()]
        except ServiceError as exc:
            return [batches.ItemFailed(exc.code, exc.message)]

    def close(self) -> None:
        for lock in self.held:
            lock.release()


def _register_handler() -> None:
    from app.services import batches

    batches.handler(IMPORT_KIND, pipeline=_ImportPipeline, depth=1)(_run_import)


# ----------------------------------------------------------------------------- search keys

SEQ_LOCK_KEY = 0x5EA5C4  # pg_advisory_xact_lock's key for the allocation of ``Concept.seq`` (any constant)


def _first_free_seq(session: Session) -> int:
    """The first ``Concept.seq`` free for this import's new concepts, which take it and the ones after.

    Imports of *different* frameworks hold different import locks and run at the same time. On
    PostgreSQL (READ COMMITTED) both would read the same ``max(seq)`` (neither sees the other's
    uncommitted rows) and the second's insert fail on the unique key once the first commits: a
    transaction-scoped advisory lock makes the allocation wait for the other import's commit, and the
    ``max`` read after it sees that import's keys. It is released with the transaction (commit or
    rollback), so a failed import frees it. SQLite needs nothing: the import wrote the framework's row
    before this point, and SQLite's single writer already holds every other import back."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQ_LOCK_KEY})
    return (session.scalar(select(func.max(Concept.seq))) or 0) + 1


# ----------------------------------------------------------------------------- one import at a time

LOCK_SECONDS = 3600  # a holder older than this is taken for crashed (an ESCO import takes about a minute)


class _Lock:
    """A ``framework_import_locks`` row, written and deleted in transactions of its own (its own
    connection), so that other importers see it while the import's own transaction is still open."""

    def __init__(self, engine, slug: str, owner: str):
        self.engine, self.slug, self.owner = engine, slug, owner

    @classmethod
    def acquire(cls, engine, slug: str) -> "_Lock":
        import os
        import secrets
        import socket

        from flask import current_app
        from sqlalchemy.exc import IntegrityError, OperationalError

        owner = f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(6)}"
        ttl = current_app.config.get("FRAMEWORK_IMPORT_LOCK_SECONDS", LOCK_SECONDS)
        table = FrameworkImportLock.__table__
        for _attempt in range(3):
            with engine.connect() as connection:
                held = connection.execute(select(table).where(table.c.slug == slug)).first()
                connection.rollback()  # no read transaction held across the write (SQLite's single writer)
                if held is None:
                    try:
                        connection.execute(insert(table).values(slug=slug, owner=owner, started_at=utcnow()))
                        connection.commit()
                        return cls(engine, slug, owner)
                    except IntegrityError:  # taken between the read and the write: read it again
                        connection.rollback()
                        continue
                    except OperationalError as exc:
                        # SQLite: another import took the lock and is writing (the busy timeout ran
                        # out waiting for the single writer); read again, its row is there now.
                        connection.rollback()
                        if "locked" not in str(exc.orig):
                            raise
                        continue
                if not _stale(held.owner, held.started_at, ttl):
                    raise ImportRunning(_t("An import of this framework (%(slug)s) is already running, started "
                                           "at %(time)s UTC; try again when it has finished.", slug=slug,
                                           time=_aware(held.started_at).strftime("%Y-%m-%d %H:%M")))
                # A crashed holder: take over its row, only if it is still that holder's.
                connection.execute(delete(table).where(table.c.slug == slug, table.c.owner == held.owner))
                connection.commit()
        raise ImportRunning(_t("An import of this framework (%(slug)s) is already running; try again when it "
                               "has finished.", slug=slug))

    def release(self) -> None:
        table = FrameworkImportLock.__table__
        with self.engine.connect() as connection:
            connection.execute(delete(table).where(table.c.slug == self.slug, table.c.owner == self.owner))
            connection.commit()


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _stale(owner: str, started_at: datetime, ttl: float) -> bool:
    """A holder is gone when it ran on this host and its process no longer exists, or after ``ttl``."""
    import os
    import socket
    from datetime import timedelta

    host, pid = "", None
    try:
        host, pid_text, _token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        pass
    if pid is not None and host == socket.gethostname()[:120]:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return utcnow() - _aware(started_at) > timedelta(seconds=ttl)


@contextmanager
def import_lock(session: Session, slug: str):
    """Hold the framework's import lock around ``apply`` and the caller's commit; raise
    ``ImportRunning`` when another import of it runs. Released however the block ends."""
    lock = _Lock.acquire(session.get_bind(), slug)
    try:
        yield
    finally:
        lock.release()


_register_handler()
