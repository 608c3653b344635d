"""Portfolio content: profile, experiences, diplomas, skills and the reflection journal.

Every function takes the session, the acting user and plain values (form strings or JSON values), asks
``policy`` before touching anything, validates through ``validation.clean`` and flushes; the caller
commits. Field names are the API's field names.
"""
from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, inspect, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import policy
from app.models import (EXPERIENCE_KINDS, SKILL_LEVELS, Diploma, Experience, JournalEntry, Portfolio, Skill,
                        User)
from app.models.portfolio import experience_skills
from app.services.errors import NotFound, ValidationFailed
from app.services.validation import Field, clean

PROFILE_RULES = {
    "display_name": Field(max_length=120),
    "headline": Field(max_length=160),
    "bio": Field(max_length=5000),
    "contact_email": Field("email", max_length=254),
    "phone": Field(max_length=40),
    "location": Field(max_length=120),
    "website": Field("url", max_length=300),
}
RULES: dict[type, dict[str, Field]] = {
    Experience: {
        "kind": Field("choice", required=True, choices=EXPERIENCE_KINDS),
        "title": Field(required=True),
        "organisation": Field(),
        "place": Field(),
        "start_date": Field("date", required=True),
        "end_date": Field("date"),
        "description": Field(max_length=20000),
        "skill_ids": Field("ids"),
    },
    Diploma: {
        "title": Field(required=True),
        "awarding_body": Field(),
        "awarded_on": Field("date"),
        "level": Field(max_length=80),
        "reference": Field(max_length=120),
    },
    Skill: {
        "name": Field(required=True),
        "level": Field("int", required=True, minimum=1, maximum=4),
        "framework": Field(max_length=120),
        "concept_uri": Field("url", max_length=300),
        "description": Field(max_length=5000),
        "experience_ids": Field("ids"),
    },
    JournalEntry: {
        "title": Field(required=True),
        "body": Field(max_length=50000),
    },
}
ITEM_MODELS = tuple(RULES)
TIMELINE_KINDS = EXPERIENCE_KINDS + ("diploma",)  # ?kind= on the timeline: an experience kind, or diplomas


def portfolio_of(actor: User) -> Portfolio:
    if actor.portfolio is None:  # every account gets one at creation; this guards old data
        raise NotFound(str(_l("This account has no portfolio.")))
    return actor.portfolio


def update_profile(session: Session, actor: User, data: dict[str, Any]) -> Portfolio:
    portfolio = portfolio_of(actor)
    for name, value in clean(PROFILE_RULES, data, partial=True).items():
        setattr(portfolio, name, value)
    session.flush()
    return portfolio


def _linked(session: Session, actor: User, model: type, ids: list[str], field: str) -> list:
    """Resolve ids of the actor's own skills or experiences; anything else is a field error."""
    def unknown() -> ValidationFailed:
        return ValidationFailed(str(_l("Some information is not valid.")),
                                fields={field: str(_l("Unknown id."))})

    keys = [policy.parse_id(i) for i in ids]
    if any(k is None for k in keys):
        raise unknown()
    keys = list(dict.fromkeys(keys))  # the same id spelt twice (upper/lower case) counts once
    if not keys:
        return []
    found = session.scalars(select(model).where(model.id.in_(keys),
                                                model.portfolio_id == portfolio_of(actor).id)).all()
    if len(found) != len(keys):
        raise unknown()
    return list(found)


def _apply(session: Session, actor: User, item, values: dict[str, Any]) -> None:
    """Check everything first, then change ``item``: a refused update leaves the object untouched
    (the session store commits at the end of the request, so a half-changed object would be saved)."""
    rules = RULES[type(item)]
    links = {}
    if "skill_ids" in values:
        links["skills"] = _linked(session, actor, Skill, values.pop("skill_ids"), "skill_ids")
    if "experience_ids" in values:
        links["experiences"] = _linked(session, actor, Experience, values.pop("experience_ids"),
                                       "experience_ids")
    values = {name: "" if value is None and rules[name].kind not in ("date", "int") else value
              for name, value in values.items()}
    if isinstance(item, Experience):
        start = values.get("start_date", item.start_date)
        end = values.get("end_date", item.end_date)
        if start and end and end < start:
            message = str(_l("The end date must not be before the start date."))
            raise ValidationFailed(str(_l("Some information is not valid.")), fields={"end_date": message})
    for name, value in values.items():
        setattr(item, name, value)
    for name, related in links.items():
        setattr(item, name, related)


def create_item(session: Session, actor: User, model: type, data: dict[str, Any]):
    """Create an experience, diploma, skill or journal entry in the actor's own portfolio."""
    values = clean(RULES[model], data)
    item = model(portfolio_id=portfolio_of(actor).id)
    item.id = uuid.uuid4()
    _apply(session, actor, item, values)
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, actor: User, item, data: dict[str, Any], *, partial: bool = True):
    if not policy.can(actor, policy.UPDATE, item):
        raise NotFound(str(_l("Not found.")))
    _apply(session, actor, item, clean(RULES[type(item)], data, partial=partial))
    session.flush()
    return item


def delete_item(session: Session, actor: User, item) -> None:
    if not policy.can(actor, policy.DELETE, item):
        raise NotFound(str(_l("Not found.")))
    session.delete(item)
    session.flush()


Position = tuple[Any, uuid.UUID]  # (sort key, id) of the last item of a page


@dataclass(frozen=True)
class Order:
    """How a list is sorted: one column, then the id in the same direction, so that every row has
    exactly one place and a page can start right after any position, even one whose row is gone.

    NULL keys (an undated diploma) sort last in both directions, written ``NULLS LAST`` so that SQLite
    (NULL smallest) and PostgreSQL (NULL largest) agree.
    """

    column: Any  # an ORM attribute, e.g. Experience.start_date
    descending: bool

    @property
    def nullable(self) -> bool:
        return bool(self.column.expression.nullable)

    @property
    def key_type(self) -> type:
        """The Python type of the sort key (``date``, ``datetime`` or ``str``), to check a cursor."""
        column_type = self.column.type
        return getattr(column_type, "impl", column_type).python_type

    def position(self, item) -> Position:
        return getattr(item, self.column.key), item.id

    def order_by(self) -> tuple:
        ident = self.column.class_.id
        key = self.column.desc() if self.descending else self.column.asc()
        if self.nullable:
            key = key.nulls_last()
        return key, ident.desc() if self.descending else ident.asc()

    def after(self, position: Position):
        """The SQL condition "comes after ``position``" in this order (a keyset, or seek, condition)."""
        key, item_id = position
        column, ident = self.column, self.column.class_.id
        beyond = operator.lt if self.descending else operator.gt
        if key is None:  # only NULLs come after a NULL key, in id order
            return and_(column.is_(None), beyond(ident, item_id))
        condition = or_(beyond(column, key), and_(column == key, beyond(ident, item_id)))
        return or_(condition, column.is_(None)) if self.nullable else condition


ORDERS: dict[type, Order] = {
    Experience: Order(Experience.start_date, descending=True),
    Diploma: Order(Diploma.awarded_on, descending=True),
    Skill: Order(Skill.sort_name, descending=False),  # by name, ignoring case and accents
    JournalEntry: Order(JournalEntry.created_at, descending=True),
}


# Statements built once, with the portfolio (and the kind) bound at execution: lists and the timeline
# are asked for on every view, and building and coercing the expressions anew cost more than SQLite
# takes to answer them. Here, each list's statement without its page bounds.
_LISTS = {model: (select(model).where(model.portfolio_id == bindparam("portfolio_id"))
                  .order_by(*order.order_by()))
          for model, order in ORDERS.items()}
# The many-to-many links of a page of items: (item id, linked object) for the ids in ``:ids``. The same
# statement as ``selectinload`` emits, without the cost of the loader around it.
_LINKED = {
    Experience: ("skills", select(experience_skills.c.experience_id, Skill).select_from(experience_skills)
                 .join(Skill, Skill.id == experience_skills.c.skill_id)
                 .where(experience_skills.c.experience_id.in_(bindparam("ids", expanding=True)))),
    Skill: ("experiences", select(experience_skills.c.skill_id, Experience).select_from(experience_skills)
            .join(Experience, Experience.id == experience_skills.c.experience_id)
            .where(experience_skills.c.skill_id.in_(bindparam("ids", expanding=True)))),
}
_LINK_CHUNK = 500  # ids per statement, as selectinload does, well under SQLite's parameter limit
# The same links as ids only (same joins, so the same order), for answers that show nothing but ids;
# on the tables (SQLAlchemy Core), as no ORM object comes out of them.
_skills, _experiences = Skill.__table__, Experience.__table__
_LINKED_IDS = {
    Experience: select(experience_skills.c.experience_id, _skills.c.id)
    .select_from(experience_skills.join(_skills, _skills.c.id == experience_skills.c.skill_id))
    .where(experience_skills.c.experience_id.in_(bindparam("ids", expanding=True))),
    Skill: select(experience_skills.c.skill_id, _experiences.c.id)
    .select_from(experience_skills.join(_experiences, _experiences.c.id == experience_skills.c.experience_id))
    .where(experience_skills.c.skill_id.in_(bindparam("ids", expanding=True))),
}
LINKS = {model: attribute for model, (attribute, _statement) in _LINKED.items()}  # model -> link collection


def _attach_links(session: Session, model: type, items: list) -> None:
    """Load the skills of experiences (or the experiences of skills) of ``items`` in one query per
    500 items, and set them as each item's loaded collection. A collection already loaded in this
    session is left as it is, as the eager loader would."""
    attribute, statement = _LINKED[model]
    pending = [item for item in items if attribute in inspect(item).unloaded]
    for start in range(0, len(pending), _LINK_CHUNK):
        chunk = pending[start:start + _LINK_CHUNK]
        linked: dict[uuid.UUID, list] = {item.id: [] for item in chunk}
        for item_id, other in session.execute(statement, {"ids": list(linked)}):
            linked[item_id].append(other)
        for item in chunk:
            set_committed_value(item, attribute, linked[item.id])


def linked_ids(session: Session, model: type, items: list) -> dict[uuid.UUID, list[uuid.UUID]]:
    """For each of ``items`` (experiences or skills), the ids in its ``LINKS[model]`` collection, in
    the order ``list_items`` loads that collection, without loading the linked objects."""
    linked: dict[uuid.UUID, list[uuid.UUID]] = {item.id: [] for item in items}
    keys = list(linked)
    for start in range(0, len(keys), _LINK_CHUNK):
        chunk = keys[start:start + _LINK_CHUNK]
        for item_id, other_id in session.execute(_LINKED_IDS[model], {"ids": chunk}):
            linked[item_id].append(other_id)
    return linked


def list_items(session: Session, actor: User, model: type, *, kind: str | None = None,
               after: Position | None = None, limit: int | None = None, with_links: bool = True) -> list:
    """The actor's items in ``ORDERS[model]`` order (newest first; skills by name).

    ``after`` (the ``Order.position`` of the last item already seen) and ``limit`` page through the
    list in SQL: each page is one indexed query whatever its depth, and a page continues correctly
    even if the item it starts after was deleted meanwhile. The key in ``after`` must have the type
    of the sort column (``Order.key_type``); callers that read it from outside check it first.
    Experiences come with their skills and skills with their experiences (one more query), unless
    ``with_links`` is false (a caller that needs only their ids asks ``linked_ids``).
    """
    query = _LISTS[model]
    if model is Experience and kind:
        query = query.where(Experience.kind == kind)
    if after is not None:
        query = query.where(ORDERS[model].after(after))
    if limit is not None:
        query = query.limit(limit)
    items = list(session.scalars(query, {"portfolio_id": portfolio_of(actor).id}))
    if with_links and model in _LINKED and items:
        _attach_links(session, model, items)
    return items


def entry_date(item: Experience | Diploma) -> date | None:
    """The date that places an item on the timeline: an experience's start, a diploma's award."""
    return item.start_date if isinstance(item, Experience) else item.awarded_on


# The timeline's statements (see ``_LISTS``).
_TIMELINE_EXPERIENCES = select(Experience).where(Experience.portfolio_id == bindparam("portfolio_id"))
_TIMELINE_EXPERIENCES_OF_KIND = _TIMELINE_EXPERIENCES.where(Experience.kind == bindparam("kind"))
_TIMELINE_DIPLOMAS = select(Diploma).where(Diploma.portfolio_id == bindparam("portfolio_id"))


def timeline(session: Session, actor: User, kind: str | None = None) -> list[Experience | Diploma]:
    """The actor's whole path, newest first: experiences (with their skills) and diplomas.

    Three queries whatever the size of the portfolio (experiences, their skills, diplomas; the skills
    take one more per 500 experiences beyond the first 500); undated diplomas come last. ``kind`` is
    an experience kind or ``"diploma"``.
    """
    if kind and kind not in TIMELINE_KINDS:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"kind": str(_l("Not one of the allowed values."))})
    portfolio_id = portfolio_of(actor).id
    entries: list[Experience | Diploma] = []
    if kind != "diploma":
        params = {"portfolio_id": portfolio_id, "kind": kind} if kind else {"portfolio_id": portfolio_id}
        statement = _TIMELINE_EXPERIENCES_OF_KIND if kind else _TIMELINE_EXPERIENCES
        experiences = list(session.scalars(statement, params))
        if experiences:
            _attach_links(session, Experience, experiences)
        entries.extend(experiences)
    if not kind or kind == "diploma":
        entries.extend(session.scalars(_TIMELINE_DIPLOMAS, {"portfolio_id": portfolio_id}))
    entries.sort(key=lambda item: (entry_date(item) is not None, entry_date(item) or date.min,
                                   item.created_at), reverse=True)
    return entries


@dataclass(frozen=True)
class Summary:
    """What the overview dashboard shows; ``skill_levels`` maps each level 1-4 to a count."""

    counts: dict[str, int]
    latest_experiences: list[Experience]
    skill_levels: dict[int, int]
    latest_journal_entry: JournalEntry | None

    @property
    def is_empty(self) -> bool:
        return not any(self.counts.values())


def summary(session: Session, actor: User) -> Summary:
    """Counts per section, the three latest experiences, skills per level, the latest journal entry."""
    portfolio_id = portfolio_of(actor).id

    def count(model):
        return (select(func.count()).select_from(model).where(model.portfolio_id == portfolio_id)
                .scalar_subquery())

    row = session.execute(select(count(Experience), count(Diploma), count(Skill), count(JournalEntry))).one()
    counts = dict(zip(("experiences", "diplomas", "skills", "journal"), row))
    levels = dict.fromkeys(SKILL_LEVELS, 0)
    levels.update(session.execute(select(Skill.level, func.count()).where(Skill.portfolio_id == portfolio_id)
                                  .group_by(Skill.level)).all())
    latest = list(session.scalars(select(Experience).where(Experience.portfolio_id == portfolio_id)
                                  .order_by(Experience.start_date.desc(), Experience.created_at.desc())
                                  .limit(3)))
    entry = session.scalars(select(JournalEntry).where(JournalEntry.portfolio_id == portfolio_id)
                            .order_by(JournalEntry.created_at.desc()).limit(1)).first()
    return Summary(counts, latest, levels, entry)
