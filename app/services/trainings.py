"""The training catalogue: import from CSV, list, delete (issue 12).

Who publishes: the platform's admins (``organisation`` empty: the platform's catalogue) and the admins of
an approved organisation (``policy`` action ``publish_trainings``), and the command line
(``sillage trainings import FILE [--org ID]``). Everyone signed in reads the catalogue: trainings are
public offers, and the gap analysis (``app.services.path.trainings_for``) proposes them.

The CSV (documented in the README): a header row naming the columns ``title`` (required), ``provider``,
``place``, ``start_date``, ``end_date`` (``YYYY-MM-DD`` or ``DD/MM/YYYY``), ``skills`` (concept URIs or
exact skill labels, in French or English, separated by ``;`` or ``|``) and ``link``; comma or semicolon
separated (French spreadsheets write semicolons); UTF-8, with or without a byte-order mark.

An import is all or nothing: every row is checked first, and any bad row (a date that is not one, an end
before the start, an unknown skill, a missing title, a link that is not a web address) refuses the whole
file with the first errors, each naming its line; nothing is written. A training is identified by its
publisher, title, provider, place and dates (``Training.fingerprint``): importing the same catalogue
again updates those rows (link, skills) instead of duplicating them.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app import policy
from app.models import Organisation, User
from app.models.path import Training, TrainingSkill
from app.services import audit, frameworks
from app.services.errors import NotFound, ServiceError, ValidationFailed
from app.services.validation import CONTROL_CHARS, MAX_DATE, MIN_DATE, URL

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_ERRORS = 20  # listed in the refusal: enough to fix a file, not a wall of text
MAX_SKILLS = 50  # per training
COLUMNS = ("title", "provider", "place", "start_date", "end_date", "skills", "link")
LENGTHS = {"title": 200, "provider": 200, "place": 200, "link": 500}
FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SKILL_SEPARATORS = re.compile(r"[;|]")
SKILL_KINDS = ("skill", "competence")


class CatalogueRefused(ValidationFailed):
    """The file is refused as a whole; ``errors`` lists the first problems, each naming its line."""

    code = "invalid_catalogue"

    def __init__(self, errors: list[str]):
        shown = errors[:MAX_ERRORS]
        super().__init__(str(_l("The catalogue was not imported: %(errors)s", errors=" ".join(shown))),
                         fields={"file": " ".join(shown)})
        self.errors = shown


@dataclass
class ImportReport:
    import_id: uuid.UUID
    created: int
    updated: int


def may_publish(user, organisation: Organisation | None) -> bool:
    """Platform admins (and the command line) publish the platform's catalogue; an approved
    organisation's admins publish theirs."""
    if organisation is None:
        return policy.reviews_requests(user)
    return policy.can(user, "publish_trainings", organisation)


def _date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    match = FRENCH_DATE.match(text)
    try:
        if match:
            value = date(int(match[3]), int(match[2]), int(match[1]))
        elif ISO_DATE.match(text):
            value = date.fromisoformat(text)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(str(_l("“%(text)s” is not a date (YYYY-MM-DD or DD/MM/YYYY)", text=text[:40]))) from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise ValueError(str(_l("%(date)s is out of range", date=text[:40])))
    return value


class _SkillResolver:
    """Concept URIs for the skills cell: a URI must name a known concept; a label must match one
    skill's preferred label exactly (accents and case aside), in French or English. Cached per import."""

    def __init__(self, session: Session):
        self.session, self.cache = session, {}

    def __call__(self, text: str) -> str:
        if text not in self.cache:
            self.cache[text] = self._resolve(text)
        if self.cache[text] is None:
            raise ValueError(str(_l("unknown skill “%(skill)s”", skill=text[:80])))
        return self.cache[text]

    def _resolve(self, text: str) -> str | None:
        if text.startswith(("http://", "https://", "urn:")):
            try:
                return frameworks.get(self.session, text).uri
            except ServiceError:
                return None
        folded = frameworks.fold_for_search(text)
        for concept in frameworks.search(self.session, text, limit=50):
            if concept.kind in SKILL_KINDS and folded in (frameworks.fold_for_search(frameworks.label(concept, "fr")),
                                                          frameworks.fold_for_search(frameworks.label(concept, "en"))):
                return concept.uri
        return None


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise CatalogueRefused([str(_l("The file is larger than %(mib)d MiB.", mib=MAX_BYTES // 1024 // 1024))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueRefused([str(_l("The file is not UTF-8 text (byte %(at)d): save it as CSV UTF-8.",
                                       at=exc.start))]) from None
    if "\x00" in text:
        raise CatalogueRefused([str(_l("The file is not UTF-8 text: save it as CSV UTF-8."))])
    return text


def parse(session: Session, data: bytes) -> list[dict]:
    """The rows of a catalogue file, each checked and with its skills resolved; ``CatalogueRefused``
    with every problem found (up to ``MAX_ERRORS``) if any row is wrong."""
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [name for name in ("title",) if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or not header:
        raise CatalogueRefused([str(_l("Line 1: the header must name the columns %(columns)s "
                                       "(title required); found: %(found)s.",
                                       columns=", ".join(COLUMNS), found=", ".join(header)[:200] or "—"))])
    reader.fieldnames = header
    resolve, rows, errors = _SkillResolver(session), [], []
    try:
        for record in reader:
            line = reader.line_num
            if len(rows) >= MAX_ROWS:
                errors.append(str(_l("More than %(n)d trainings: split the file.", n=MAX_ROWS)))
                break
            if None in record:  # more cells than columns
                errors.append(str(_l("Line %(line)d: more cells than columns.", line=line)))
                continue
            values = {name: (record.get(name) or "").strip() for name in COLUMNS}
            if not any(values.values()):
                continue  # a blank line
            problems = []
            for name, length in LENGTHS.items():
                if len(values[name]) > length:
                    problems.append(str(_l("%(column)s longer than %(n)d characters", column=name, n=length)))
            if any(CONTROL_CHARS.search(value) for value in values.values()):
                problems.append(str(_l("characters that are not allowed")))
            if not values["title"]:
                problems.append(str(_l("no title")))
            if values["link"] and not URL.match(values["link"]):
                problems.append(str(_l("the link is not a web address")))
            dates = {}
            for name in ("start_date", "end_date"):
                try:
                    dates[name] = _date(values[name])
                except ValueError as exc:
                    problems.append(str(exc))
            if dates.get("start_date") and dates.get("end_date") and dates["end_date"] < dates["start_date"]:
                problems.append(str(_l("the end date is before the start date")))
            names = [part.strip() for part in SKILL_SEPARATORS.split(values["skills"]) if part.strip()]
            if len(names) > MAX_SKILLS:
                problems.append(str(_l("more than %(n)d skills", n=MAX_SKILLS)))
                names = []
            uris = []
            for name in names:
                try:
                    uris.append(resolve(name))
                except ValueError as exc:
                    problems.append(str(exc))
            if problems:
                errors.append(str(_l("Line %(line)d: %(problems)s.", line=line, problems="; ".join(problems))))
                if len(errors) >= MAX_ERRORS:
                    break
                continue
            rows.append(values | dates | {"skill_uris": list(dict.fromkeys(uris))})
    except csv.Error as exc:
        errors.append(str(_l("Line %(line)d: %(error)s.", line=reader.line_num, error=str(exc)[:120])))
    if errors:
        raise CatalogueRefused(errors)
    if not rows:
        raise CatalogueRefused([str(_l("The file holds no training."))])
    return rows


def fingerprint(organisation_id, row: dict) -> str:
    """What identifies one session of a training for its publisher (accents and case aside)."""
    parts = [str(organisation_id or "platform")] + [frameworks.fold_for_search(row.get(name) or "")
                                                    for name in ("title", "provider", "place")]
    parts += [row[name].isoformat() if row.get(name) else "" for name in ("start_date", "end_date")]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def import_catalogue(session: Session, actor, data: bytes, *, filename: str = "",
                     organisation: Organisation | None = None) -> ImportReport:
    """Import a CSV catalogue for ``organisation`` (None: the platform's), all or nothing."""
    if not may_publish(actor, organisation):
        raise NotFound(str(_l("Not found.")))
    rows = parse(session, data)
    import_id = uuid.uuid4()
    organisation_id = organisation.id if organisation is not None else None
    prints = {fingerprint(organisation_id, row): row for row in rows}  # a row repeated in the file counts once
    existing = {}
    keys = list(prints)
    for start in range(0, len(keys), 500):
        query = select(Training).where(Training.fingerprint.in_(keys[start:start + 500]),
                                       Training.organisation_id.is_(None) if organisation_id is None
                                       else Training.organisation_id == organisation_id)
        existing.update({training.fingerprint: training for training in session.scalars(query)})
    created = updated = 0
    actor_id = actor.id if isinstance(actor, User) else None
    for key, row in prints.items():
        training = existing.get(key)
        if training is None:
            training = Training(fingerprint=key, organisation_id=organisation_id, title=row["title"],
                                provider=row["provider"], place=row["place"], start_date=row["start_date"],
                                end_date=row["end_date"])
            session.add(training)
            created += 1
        else:
            session.execute(delete(TrainingSkill).where(TrainingSkill.training_id == training.id))
            updated += 1
        training.link, training.skill_uris = row["link"], row["skill_uris"]
        training.import_id, training.source, training.imported_by_id = import_id, filename[:255], actor_id
        training.skills = [TrainingSkill(concept_uri=uri) for uri in row["skill_uris"]]
    session.flush()
    audit.record(session, actor=actor, action="training.import", target_type="training_import",
                 target_id=import_id, organisation_id=organisation_id,
                 details={"file": filename[:255], "created": created, "updated": updated})
    return ImportReport(import_id=import_id, created=created, updated=updated)


def catalogue(session: Session, *, q: str | None = None, skill: str | None = None, organisation_id=None,
              limit: int = 50, offset: int = 0) -> list[Training]:
    """Trainings, soonest first: those matching ``q`` (title, provider, place) and covering ``skill``."""
    query = select(Training)
    if q:
        pattern = f"%{q.strip()[:100]}%"
        query = query.where(or_(Training.title.ilike(pattern), Training.provider.ilike(pattern),
                                Training.place.ilike(pattern)))
    if skill:
        query = query.where(Training.id.in_(select(TrainingSkill.training_id)
                                            .where(TrainingSkill.concept_uri == skill)))
    if organisation_id is not None:
        query = query.where(Training.organisation_id == organisation_id)
    order = (Training.start_date.is_(None), Training.start_date, Training.title, Training.id)
    return list(session.scalars(query.order_by(*order).limit(limit).offset(offset)))


def get(session: Session, training_id) -> Training:
    key = policy.parse_id(training_id)
    training = session.get(Training, key) if key is not None else None
    if training is None:
        raise NotFound(str(_l("This training does not exist.")))
    return training


def delete_training(session: Session, actor, training: Training) -> None:
    """Its publisher withdraws a training from the catalogue."""
    organisation = session.get(Organisation, training.organisation_id) if training.organisation_id else None
    if not may_publish(actor, organisation):
        raise NotFound(str(_l("This training does not exist.")))
    audit.record(session, actor=actor, action="training.delete", target_type="training", target_id=training.id,
                 organisation_id=training.organisation_id)
    session.delete(training)
    session.flush()
