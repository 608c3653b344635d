"""The person's side of S'informer: their feed with "why you see this", their preferences (keywords,
weekly digest), the private feed-reader addresses (Atom and iCal behind a revocable token: feed readers
and calendar apps cannot sign in), the iCal downloads, and an event's page. Thin: parse, call the
service, render."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext as _
from flask_login import current_user, login_required

from app.extensions import db, limiter
from app.feed import atom, bp, ical
from app.feed.forms import EmptyForm, PreferencesForm
from app.models.feed import Event
from app.portfolio.common import show_errors
from app.services import feed as service
from app.services.errors import NotFound, ValidationFailed
from app.templating import fmt_datetime


def base_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def event_url(event: Event) -> str:
    """The event's page, absolute (feeds and calendars are read elsewhere); built by hand so that jobs,
    which have no request, use the same function."""
    return f"{base_url()}/events/{event.id}"


def domain() -> str:
    return base_url().split("://", 1)[-1].split("/", 1)[0] or "sillage.local"


def when(event: Event, fmt=lambda moment: fmt_datetime(moment, "short")) -> str:
    """When (and where) on one line, in the reader's language and time zone (``fmt`` formats a time:
    the request's zone by default; a mail, sent outside any request, passes the recipient's)."""
    parts = []
    if event.starts_at and event.ends_at:
        parts.append(_("From %(start)s to %(end)s", start=fmt(event.starts_at), end=fmt(event.ends_at)))
    elif event.starts_at:
        parts.append(fmt(event.starts_at))
    elif event.ends_at:
        parts.append(_("Until %(end)s", end=fmt(event.ends_at)))
    if event.place:
        parts.append(event.place)
    return " · ".join(parts)


def personal_when(user):
    """``when`` in ``user``'s language and time zone, for what is read outside their session (the
    feed-reader addresses, the digest mail)."""
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")
    try:
        zone = ZoneInfo(user.timezone or current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return lambda event: when(event, lambda moment: format_datetime(moment, "short", tzinfo=zone, locale=locale))


def _render_index(preferences=None, *, new_token: str | None = None, status: int = 200):
    settings = service.settings_for(db.session, current_user)
    found = service.interests(db.session, current_user, current_user.locale or "fr")
    items = service.feed(db.session, current_user, found=found)
    if preferences is None:
        preferences = PreferencesForm(formdata=None, keywords="\n".join(settings.keywords), digest=settings.digest)
    return render_template(
        "feed/index.html", items=items, interests=found, preferences=preferences, settings=settings,
        form=EmptyForm(), new_token=new_token, when=when,
        publishes=bool(service.publishers(db.session, current_user))), status


@bp.get("/feed")
@login_required
def index():
    response = _render_index()
    db.session.commit()  # the settings row, created on first visit
    return response


@bp.post("/feed/preferences")
@login_required
def preferences():
    form = PreferencesForm()
    if not form.validate_on_submit():
        return _render_index(form, status=400)
    try:
        service.set_preferences(db.session, current_user, keywords=form.keywords.data or "",
                                digest=bool(form.digest.data))
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _render_index(form, status=422)
    db.session.commit()
    flash(_("Your preferences are saved."), "success")
    return redirect(url_for(".index"))


@bp.post("/feed/token")
@login_required
def new_token():
    if not EmptyForm().validate_on_submit():
        abort(400)
    raw = service.new_token(db.session, current_user)
    db.session.commit()
    return _render_index(new_token=raw)


@bp.post("/feed/token/revoke")
@login_required
def revoke_token():
    if not EmptyForm().validate_on_submit():
        abort(400)
    service.revoke_token(db.session, current_user)
    db.session.commit()
    flash(_("The private addresses of your feed no longer work."), "success")
    return redirect(url_for(".index"))


def _calendar_response(events, name: str, filename: str) -> Response:
    body = ical.calendar(events, url_of=event_url, domain=domain(), name=name)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/feed/calendar.ics")
@login_required
def calendar():
    events = service.calendar_events(db.session, current_user)
    return _calendar_response(events, _("My Sillage feed"), "sillage-feed.ics")


# --- the private addresses, for feed readers and calendar apps (no session) ------------------------------

def _token_user(token: str):
    user = service.user_for_token(db.session, token)
    if user is None:
        abort(404)
    return user


@bp.get("/feed/private/<token>/atom.xml")
@limiter.limit("120/hour")
def atom_feed(token: str):
    user = _token_user(token)
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
        items = service.feed(db.session, user)
        body = atom.document(
            items, feed_id=f"urn:uuid:{user.id}", title=_("My Sillage feed"),
            self_url=f"{base_url()}/feed/private/{token}/atom.xml", site_url=f"{base_url()}/feed",
            url_of=event_url, when_of=personal_when(user), author="Sillage")
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/feed/private/<token>/calendar.ics")
@limiter.limit("120/hour")
def private_calendar(token: str):
    user = _token_user(token)
    with force_locale(user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "fr")):
        events = service.calendar_events(db.session, user)
        return _calendar_response(events, _("My Sillage feed"), "sillage-feed.ics")


# --- one event ----------------------------------------------------------------------------------------

def _event(event_id) -> Event:
    try:
        return service.get(db.session, current_user, event_id)
    except NotFound:
        abort(404)


@bp.get("/events/<event_id>")
@login_required
def event(event_id):
    found = _event(event_id)
    lang = current_user.locale or "fr"
    found_interests = service.interests(db.session, current_user, lang)
    return render_template(
        "feed/event.html", event=found, when=when, reasons=service.reasons(found, found_interests),
        occupations=service.concept_labels(db.session, found.occupation_uris, lang),
        skills=service.concept_labels(db.session, found.skill_uris, lang),
        may_edit=service.may_edit(current_user, found), form=EmptyForm())


@bp.get("/events/<event_id>/calendar.ics")
@login_required
def event_calendar(event_id):
    found = _event(event_id)
    return _calendar_response([found], found.title, f"event-{found.id}.ics")
