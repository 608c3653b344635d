"""The publishers' pages: platform admins and members of approved organisations who may publish list
their events, create, change and withdraw them. Anyone else gets 404 (no publishing right to reveal).
Times typed in ``datetime-local`` fields are read in the publisher's time zone."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, get_timezone
from flask_login import current_user, login_required

from app.extensions import db
from app.feed import bp
from app.feed.forms import EmptyForm, EventForm
from app.feed.routes import _event, when
from app.portfolio.common import show_errors
from app.services import feed as service
from app.services.errors import NotFound, ValidationFailed


def _publishers():
    sources = service.publishers(db.session, current_user)
    if not sources:
        abort(404)
    return sources


def _choices(sources) -> list[tuple[str, str]]:
    return [("platform" if org is None else str(org.id), _("The platform (Sillage)") if org is None else org.name)
            for org in sources]


def _local(moment) -> str:
    """A stored UTC time as the ``datetime-local`` value of the publisher's zone."""
    return moment.astimezone(get_timezone()).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _values(form: EventForm) -> dict:
    return {"kind": form.kind.data, "title": form.title.data or "", "description": form.description.data or "",
            "starts_at": form.starts_at.data or None, "ends_at": form.ends_at.data or None,
            "place": form.place.data or "", "link": form.link.data or "",
            "occupation_uris": form.occupation_uris.data or "", "skill_uris": form.skill_uris.data or ""}


@bp.get("/feed/publish")
@login_required
def published():
    _publishers()
    return render_template("feed/published.html", events=service.for_publisher(db.session, current_user),
                           when=when, form=EmptyForm())


@bp.route("/feed/publish/new", methods=["GET", "POST"])
@login_required
def new_event():
    sources = _publishers()
    form = EventForm()
    form.organisation_id.choices = _choices(sources)
    status = 200
    if form.validate_on_submit():
        values = _values(form) | {"organisation_id": form.organisation_id.data}
        try:
            created = service.create(db.session, current_user, values, tz=str(get_timezone()))
        except NotFound as exc:
            db.session.rollback()
            form.organisation_id.errors = [exc.message]
            status = 422
        except ValidationFailed as exc:
            show_errors(form, exc)
            status = 422
        else:
            db.session.commit()
            flash(_("The event is published."), "success")
            return redirect(url_for(".event", event_id=created.id))
    elif form.is_submitted():
        status = 400
    return render_template("feed/edit.html", form=form, event=None), status


@bp.route("/events/<event_id>/edit", methods=["GET", "POST"])
@login_required
def edit_event(event_id):
    found = _event(event_id)
    if not service.may_edit(current_user, found) or found.status != "published":
        abort(404)
    form = EventForm() if request.method == "POST" else EventForm(
        formdata=None, kind=found.kind, title=found.title, description=found.description,
        starts_at=_local(found.starts_at), ends_at=_local(found.ends_at), place=found.place, link=found.link,
        occupation_uris="\n".join(found.occupation_uris), skill_uris="\n".join(found.skill_uris))
    del form.organisation_id
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                service.update(db.session, current_user, found, _values(form), tz=str(get_timezone()))
            except ValidationFailed as exc:
                show_errors(form, exc)
                status = 422
            else:
                db.session.commit()
                flash(_("The event is updated."), "success")
                return redirect(url_for(".event", event_id=found.id))
        else:
            status = 400
    return render_template("feed/edit.html", form=form, event=found), status


@bp.post("/events/<event_id>/withdraw")
@login_required
def withdraw_event(event_id):
    found = _event(event_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        service.withdraw(db.session, current_user, found)
    except NotFound:
        abort(404)
    db.session.commit()
    flash(_("The event is withdrawn: it left every feed."), "success")
    return redirect(url_for(".published"))
