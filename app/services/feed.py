"""S'informer: publishing events and offers, and each person's feed matched to their interests.

Publishers are platform admins (the platform's own events, ``organisation=None``) and the members of
approved organisations who may publish (``app.policy.may_publish``). Texts are stored as written and
shown through the sanitising Markdown renderer (``app.templating.render_markdown``: nh3 allowlist),
so that a publisher's text never carries markup of its own into a page, a feed or a mail.

A person's interests (``interests``) are the framework concepts of their skills (``Skill.concept_uri``),
the occupations of their career hypotheses and those occupations' essential and optional skills
(``app.services.frameworks.related``), and keywords they choose. The feed (``feed``) is every published,
not yet past event that meets one of them, each with the reasons shown as "why you see this". The
match runs in Python over the upcoming events: there are few of them (a platform publishes tens a
week), and a reason needs the label of what matched anyway.

Times are aware UTC datetimes. Pages send the wall-clock time of a ``datetime-local`` field with the
person's time zone (``parse_moment(value, tz)``); the API requires an ISO 8601 offset.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app import policy
from app.database import utcnow
from app.models import Membership, Organisation, Portfolio, Skill, User
from app.models.feed import EVENT_KINDS, PUBLISHED, WITHDRAWN, Event, FeedSettings
from app.models.issuing import APPROVED
from app.models.path import Hypothesis
from app.services import cv_ranking, frameworks
from app.services.errors import NotFound, ValidationFailed
from app.services.validation import CONTROL_CHARS, Field, clean

TOKEN_PREFIX = "sfd_"
MAX_CONCEPTS = 50  # occupations or skills named by one event
MAX_KEYWORDS = 20
MAX_CANDIDATES = 2000  # upcoming events considered for one feed
CANCELLED_KEPT = timedelta(days=30)  # a withdrawn event stays in calendars as CANCELLED this long
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 12, 31, tzinfo=timezone.utc)

RULES = {
    "kind": Field("choice", choices=EVENT_KINDS),
    "title": Field(required=True, max_length=200),
    "description": Field(max_length=10_000),
    "place": Field(max_length=200),
    "link": Field("url", max_length=500),
}
MOMENTS = ("starts_at", "ends_at")
CONCEPT_LISTS = {"occupation_uris": ("occupation",), "skill_uris": ("skill", "competence")}
ORGANISATION = "organisation_id"


# --- publishing -----------------------------------------------------------------------------------------

def publishers(session: Session, user: User) -> list[Organisation | None]:
    """For whom ``user`` may publish: ``None`` (the platform) for an admin, then their organisations."""
    found: list[Organisation | None] = [None] if policy.may_publish(user, None) else []
    orgs = session.scalars(select(Organisation).join(Membership).where(
        Membership.user_id == user.id, Membership.accepted(), Organisation.status == APPROVED, Organisation.closed_at.is_(None))
        .order_by(Organisation.name))
    found.extend(org for org in orgs if policy.may_publish(user, org))
    return found


def parse_moment(value, tz: str | None = None, *, name: str = "starts_at") -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string (or a datetime). A time without an offset is read in
    ``tz`` (the person's zone, for a page's ``datetime-local``); with no ``tz`` it is refused (the API)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and not CONTROL_CHARS.search(value):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(name, _l("Not a valid date and time (ISO 8601).")) from None
    else:
        raise _invalid(name, _l("Not a valid date and time (ISO 8601)."))
    if moment.tzinfo is None:
        if not tz:
            raise _invalid(name, _l("Give a time zone (for example 2027-01-31T18:00:00Z)."))
        try:
            moment = moment.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    if not EARLIEST <= moment <= LATEST:
        raise _invalid(name, _l("This date is out of range."))
    return moment


def _invalid(name: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={name: str(message)})


def _concepts(session: Session, values, kinds: tuple[str, ...], name: str) -> list[str]:
    """Concept URIs from URIs or ids, each checked against the imported frameworks (and its kind):
    an event that names a concept nobody can hold would match no one, silently."""
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = values.split()
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise _invalid(name, _l("Must be a list of concept URIs."))
    values = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(values) > MAX_CONCEPTS:
        raise _invalid(name, _l("At most %(n)d concepts.", n=MAX_CONCEPTS))
    uris, unknown = [], []
    for value in values:
        concept = frameworks.find(session, value)
        if concept is None or concept.kind not in kinds:
            unknown.append(value)
        else:
            uris.append(concept.uri)
    if unknown:
        raise _invalid(name, _l("Unknown in the frameworks (or not of the right kind): %(values)s",
                                values=", ".join(unknown[:5])))
    return list(dict.fromkeys(uris))


def _apply(session: Session, event: Event, data: dict, tz: str | None, *, partial: bool) -> None:
    data = dict(data)
    moments = {name: data.pop(name) for name in MOMENTS if name in data}
    concepts = {name: data.pop(name) for name in CONCEPT_LISTS if name in data}
    data.pop(ORGANISATION, None)
    values = clean(RULES, data, partial=partial)
    errors: dict[str, str] = {}
    for name, raw in moments.items():
        try:
            values[name] = parse_moment(raw, tz, name=name)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    for name, raw in concepts.items():
        try:
            values[name] = _concepts(session, raw, CONCEPT_LISTS[name], name)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(str(_l("Some information is not valid.")), fields=errors)
    for name, value in values.items():
        setattr(event, name, value if value is not None or name in MOMENTS else "")
    if not event.kind:
        event.kind = EVENT_KINDS[0]
    _check_dates(event)


def _check_dates(event: Event) -> None:
    if event.kind == "event" and event.starts_at is None:
        raise _invalid("starts_at", _l("An event needs its start date and time."))
    if event.starts_at and event.ends_at and event.ends_at < event.starts_at:
        raise _invalid("ends_at", _l("The end comes before the start."))
    if event.last_moment is not None and event.last_moment < utcnow():
        raise _invalid("ends_at" if event.ends_at else "starts_at", _l("This date is already past."))


def create(session: Session, actor: User, data: dict, *, tz: str | None = None) -> Event:
    """Publish an event or an offer, for the platform (no ``organisation_id``; admins) or for an
    organisation the actor may publish for. Refused: 404 for an organisation they cannot publish for."""
    organisation = _organisation(session, actor, data.get(ORGANISATION))
    event = Event(organisation=organisation, created_by_id=actor.id, occupation_uris=[], skill_uris=[],
                  status=PUBLISHED, published_at=utcnow(), sequence=0, kind=EVENT_KINDS[0])
    _apply(session, event, {k: v for k, v in data.items()}, tz, partial=False)
    session.add(event)
    session.flush()
    return event


def _organisation(session: Session, actor: User, value) -> Organisation | None:
    if value in (None, "", "platform"):
        if not policy.may_publish(actor, None):
            raise NotFound(str(_l("You cannot publish for the platform: choose your organisation.")),
                           code="organisation_not_found")
        return None
    key = policy.parse_id(value)
    organisation = session.get(Organisation, key) if key is not None else None
    if organisation is None or not policy.may_publish(actor, organisation):
        raise NotFound(str(_l("No organisation you may publish for has this id.")), code="organisation_not_found")
    return organisation


def update(session: Session, actor: User, event: Event, data: dict, *, tz: str | None = None) -> Event:
    """Change an event (its publisher only; a withdrawn one stays withdrawn). The iCal ``SEQUENCE`` goes
    up, so that calendars that imported it take the new version."""
    _check_publisher(actor, event)
    if event.status == WITHDRAWN:
        raise ValidationFailed(str(_l("A withdrawn event cannot be changed.")), code="event_withdrawn",
                               status=409)
    if ORGANISATION in data and str(data[ORGANISATION] or "") != str(event.organisation_id or ""):
        raise _invalid(ORGANISATION, _l("The publisher of an event cannot change."))
    _apply(session, event, data, tz, partial=True)
    event.sequence += 1
    session.flush()
    return event


def withdraw(session: Session, actor: User, event: Event) -> Event:
    """Withdraw it: gone from every feed; kept (``STATUS:CANCELLED`` in calendars that hold it)."""
    _check_publisher(actor, event)
    if event.status != WITHDRAWN:
        event.status = WITHDRAWN
        event.withdrawn_at = utcnow()
        event.sequence += 1
        session.flush()
    return event


def _check_publisher(actor, event: Event) -> None:
    if not policy.can(actor, "withdraw", event):
        raise NotFound(str(_l("No event has this id.")), code="not_found")


def get(session: Session, actor, event_id) -> Event:
    """An event the actor may read (published: everyone signed in; withdrawn: its publisher), else 404."""
    key = policy.parse_id(event_id)
    event = session.get(Event, key) if key is not None else None
    if event is None or not policy.can(actor, policy.READ, event):
        raise NotFound(str(_l("No event has this id.")), code="not_found")
    return event


def for_publisher(session: Session, actor: User) -> list[Event]:
    """What the actor publishes (their organisations', and the platform's for an admin), newest first."""
    sources = publishers(session, actor)
    clauses = [Event.organisation_id.in_([org.id for org in sources if org is not None])]
    if None in sources:
        clauses.append(Event.organisation_id.is_(None))
    return list(session.scalars(select(Event).where(or_(*clauses)).options(selectinload(Event.organisation))
                                .order_by(Event.published_at.desc()).limit(500)))


def _not_past(now: datetime):
    return or_(Event.ends_at >= now, and_(Event.ends_at.is_(None), Event.starts_at >= now),
               and_(Event.ends_at.is_(None), Event.starts_at.is_(None)))


def upcoming(session: Session, now: datetime | None = None, *, limit: int = MAX_CANDIDATES) -> list[Event]:
    """Published events not yet over (an offer without dates stays until withdrawn), soonest first."""
    now = now or utcnow()
    events = session.scalars(select(Event).where(Event.status == PUBLISHED, _not_past(now))
                             .options(selectinload(Event.organisation))
                             .order_by(Event.starts_at, Event.published_at).limit(limit))
    return sorted(events, key=_when)


def _when(event: Event) -> datetime:
    return event.starts_at or event.ends_at or LATEST


# --- interests and the feed ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reason:
    """Why an event is in a feed: ``kind`` is ``skill`` (one of your skills), ``occupation`` (the target
    of one of your hypotheses), ``occupation_skill`` (a skill that occupation needs) or ``keyword``."""

    kind: str
    label: str
    concept_uri: str = ""
    via: str = ""  # the hypothesis (occupation) or the occupation (occupation_skill)
    relation: str = ""  # essential | optional, for occupation_skill

    def text(self) -> str:
        if self.kind == "skill":
            return str(_l("It concerns your skill “%(label)s”.", label=self.label))
        if self.kind == "occupation":
            return str(_l("It concerns “%(label)s”, the occupation of your hypothesis “%(via)s”.",
                          label=self.label, via=self.via))
        if self.kind == "occupation_skill":
            if self.relation == "essential":
                return str(_l("It concerns “%(label)s”, an essential skill for “%(via)s”.",
                              label=self.label, via=self.via))
            return str(_l("It concerns “%(label)s”, a useful skill for “%(via)s”.", label=self.label,
                          via=self.via))
        return str(_l("It mentions your keyword “%(label)s”.", label=self.label))

    def as_dict(self) -> dict:
        return {"kind": self.kind, "label": self.label, "concept_uri": self.concept_uri or None,
                "via": self.via or None, "relation": self.relation or None, "text": self.text()}


@dataclass
class Interests:
    skills: dict[str, str] = field(default_factory=dict)  # uri -> the owner's skill name
    occupations: dict[str, tuple[str, str]] = field(default_factory=dict)  # uri -> (label, hypothesis)
    occupation_skills: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # uri -> (label, rel, occ.)
    keywords: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.skills or self.occupations or self.occupation_skills or self.keywords)


def interests(session: Session, user: User, lang: str = "fr") -> Interests:
    found = Interests()
    portfolio_id = session.scalar(select(Portfolio.id).where(Portfolio.owner_id == user.id))
    if portfolio_id is not None:
        for name, uri in session.execute(select(Skill.name, Skill.concept_uri).where(
                Skill.portfolio_id == portfolio_id, Skill.concept_uri != "")):
            found.skills.setdefault(uri, name)
        _hypotheses(session, portfolio_id, lang, found)
    settings = session.get(FeedSettings, user.id)
    found.keywords = list(settings.keywords) if settings is not None else []
    return found


def _hypotheses(session: Session, portfolio_id, lang: str, found: Interests) -> None:
    """The occupations of the person's hypotheses (path's ``Hypothesis.occupation_uri``) and the skills
    each needs (fw's ``related``, essential first, so that an essential reason wins). A dropped
    hypothesis is no interest any more."""
    rows = session.execute(select(Hypothesis.occupation_uri, Hypothesis.occupation_label, Hypothesis.title).where(
        Hypothesis.portfolio_id == portfolio_id, Hypothesis.occupation_uri != "",
        Hypothesis.status != "dropped").order_by(Hypothesis.created_at))
    for uri, chosen_label, title in rows:
        if uri in found.occupations:
            continue
        occupation = frameworks.find(session, uri)
        if occupation is None:  # no framework knows it (any more): the URI alone still matches events
            found.occupations[uri] = (chosen_label or uri, title or chosen_label or uri)
            continue
        occupation_label = frameworks.label(occupation, lang)
        found.occupations[uri] = (occupation_label, title or occupation_label)
        for concept, relation in frameworks.related(session, occupation):
            if relation in ("essential", "optional"):
                found.occupation_skills.setdefault(
                    concept.uri, (frameworks.label(concept, lang), relation, occupation_label))


def _keyword_terms(keyword: str) -> list[frozenset[str]]:
    return [frozenset(term for term, _ in cv_ranking.terms(keyword, language)) for language in ("fr", "en")]


def _event_terms(event: Event) -> frozenset[str]:
    text = " ".join((event.title, event.description or "", event.place or ""))
    return frozenset(term for language in ("fr", "en") for term, _ in cv_ranking.terms(text, language))


def reasons(event: Event, found: Interests, keyword_terms: dict[str, list[frozenset[str]]] | None = None
            ) -> list[Reason]:
    """Every interest the event meets, most direct first (occupation, skill, needed skill, keyword)."""
    result: list[Reason] = []
    for uri in event.occupation_uris or []:
        if uri in found.occupations:
            label, hypothesis = found.occupations[uri]
            result.append(Reason("occupation", label, uri, hypothesis))
    for uri in event.skill_uris or []:
        if uri in found.skills:
            result.append(Reason("skill", found.skills[uri], uri))
        elif uri in found.occupation_skills:
            label, relation, occupation = found.occupation_skills[uri]
            result.append(Reason("occupation_skill", label, uri, occupation, relation))
    if found.keywords:
        keyword_terms = keyword_terms or {k: _keyword_terms(k) for k in found.keywords}
        words = _event_terms(event)
        for keyword in found.keywords:
            if any(terms and terms <= words for terms in keyword_terms[keyword]):
                result.append(Reason("keyword", keyword))
    return result


@dataclass
class FeedItem:
    event: Event
    reasons: list[Reason]


def feed(session: Session, user: User, *, now: datetime | None = None, lang: str | None = None,
         since: datetime | None = None, limit: int = 200, found: Interests | None = None) -> list[FeedItem]:
    """The person's feed: upcoming published events meeting their interests (``found``, computed if not
    given), soonest first, each with its reasons. ``since`` keeps only those published after it (the
    weekly digest)."""
    found = found if found is not None else interests(session, user, lang or user.locale or "fr")
    if not found:
        return []
    keyword_terms = {keyword: _keyword_terms(keyword) for keyword in found.keywords}
    items = []
    for event in upcoming(session, now):
        if since is not None and event.published_at <= since:
            continue
        why = reasons(event, found, keyword_terms)
        if why:
            items.append(FeedItem(event, why))
            if len(items) >= limit:
                break
    return items


def calendar_events(session: Session, user: User, *, now: datetime | None = None,
                    lang: str | None = None) -> list[Event]:
    """The person's calendar: their feed's events, then the events withdrawn in the last
    ``CANCELLED_KEPT`` that met the same interests and are not over. A calendar app that subscribed has
    imported those; a feed that merely drops them leaves each app to guess (many keep the ghost), so they
    stay in the calendar for a while as ``STATUS:CANCELLED`` with a higher ``SEQUENCE`` (app/feed/ical.py),
    which every client applies on its next refresh. The Atom feed, read by people, just drops them."""
    now = now or utcnow()
    found = interests(session, user, lang or user.locale or "fr")
    events = [item.event for item in feed(session, user, now=now, found=found)]
    if not found:
        return events
    keyword_terms = {keyword: _keyword_terms(keyword) for keyword in found.keywords}
    withdrawn = session.scalars(select(Event).where(
        Event.status == WITHDRAWN, Event.withdrawn_at >= now - CANCELLED_KEPT, _not_past(now))
        .options(selectinload(Event.organisation)).order_by(Event.withdrawn_at.desc()).limit(MAX_CANDIDATES))
    return events + [event for event in withdrawn if reasons(event, found, keyword_terms)]


# --- settings: keywords, the feed-reader token, the digest ------------------------------------------------

def settings_for(session: Session, user: User) -> FeedSettings:
    settings = session.get(FeedSettings, user.id)
    if settings is None:
        settings = FeedSettings(user_id=user.id, keywords=[], digest=False)
        session.add(settings)
        session.flush()
    return settings


def set_preferences(session: Session, user: User, *, keywords=None, digest: bool | None = None) -> FeedSettings:
    """Interest keywords (a list, or one per line / comma-separated text) and the weekly digest opt-in."""
    settings = settings_for(session, user)
    if keywords is not None:
        settings.keywords = _clean_keywords(keywords)
    if digest is not None:
        if not isinstance(digest, bool):
            raise _invalid("digest", _l("Must be true or false."))
        settings.digest = digest
    session.flush()
    return settings


def _clean_keywords(value) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _invalid("keywords", _l("Must be a list of words."))
    keywords = list(dict.fromkeys(" ".join(v.split()) for v in value if v.strip()))
    if len(keywords) > MAX_KEYWORDS:
        raise _invalid("keywords", _l("At most %(n)d keywords.", n=MAX_KEYWORDS))
    for keyword in keywords:
        if len(keyword) > 80 or CONTROL_CHARS.search(keyword):
            raise _invalid("keywords", _l("“%(k)s” is not a usable keyword (80 characters at most).", k=keyword[:80]))
        if not any(_keyword_terms(keyword)):
            raise _invalid("keywords", _l("“%(k)s” is too common a word to select anything.", k=keyword))
    return keywords


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token(session: Session, user: User) -> str:
    """A new private feed-reader token (shown once); the previous one stops working at once."""
    settings = settings_for(session, user)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    settings.token_hash = _hash(raw)
    settings.token_created_at = utcnow()
    session.flush()
    return raw


def revoke_token(session: Session, user: User) -> None:
    settings = settings_for(session, user)
    settings.token_hash = None
    settings.token_created_at = None
    session.flush()


def user_for_token(session: Session, raw) -> User | None:
    """The person whose feed the token opens, or None (unknown, revoked, malformed)."""
    if not isinstance(raw, str) or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    settings = session.scalar(select(FeedSettings).where(FeedSettings.token_hash == _hash(raw)))
    # A suspended account's private feeds stop answering too, like its sign-in and tokens (review 14, L9).
    return settings.user if settings is not None and settings.user.suspended_at is None else None


def digest_recipients(session: Session) -> list[str]:
    """Ids of the people who opted in to the weekly digest (verified address, account not suspended)."""
    return [str(user_id) for user_id in session.scalars(
        select(FeedSettings.user_id).join(User, User.id == FeedSettings.user_id).where(
            FeedSettings.digest.is_(True), User.email_verified_at.is_not(None), User.suspended_at.is_(None))
        .order_by(FeedSettings.user_id))]


def digest_items(session: Session, user: User, now: datetime | None = None) -> list[FeedItem]:
    """The feed's events published since the last digest (at most a week back)."""
    now = now or utcnow()
    settings = settings_for(session, user)
    since = max(settings.last_digest_at or now - timedelta(days=7), now - timedelta(days=7))
    return feed(session, user, now=now, since=since, limit=30)


def may_edit(user, event: Event) -> bool:
    return policy.can(user, "withdraw", event)


def concept_labels(session: Session, uris, lang: str = "fr") -> list[tuple[str, str]]:
    """(uri, label) of each concept an event names; the URI itself when no framework knows it (any more)."""
    found = []
    for uri in uris or []:
        concept = frameworks.find(session, uri)
        found.append((uri, frameworks.label(concept, lang) if concept is not None else uri))
    return found
