"""The owner's pages: "Sharing" (invite, change, resend, revoke) and "Access log". Thin: parse, call the
service, render."""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.models import Credential, Diploma, Document, Experience, ExternalCredential, Skill
from app.portfolio.common import show_errors
from app.services import access_log, grants as service
from app.services.errors import ServiceError, ValidationFailed
from app.sharing import bp, emails
from app.sharing.limits import mail_limit  # each sends a mail to someone who did not ask for it
from app.sharing.forms import ROLE_CHOICES, EmptyForm, GrantForm, InviteForm

CHOOSABLE = (("experience", Experience, Experience.start_date.desc()), ("diploma", Diploma, Diploma.title),
             ("skill", Skill, Skill.sort_name), ("document", Document, Document.name),
             ("credential", Credential, Credential.issued_at.desc()))


def _choices() -> dict:
    """The owner's items that a scope may name, by type (the badges earned elsewhere are credentials)."""
    portfolio_id = current_user.portfolio.id
    found = {kind: list(db.session.scalars(select(model).where(model.portfolio_id == portfolio_id).order_by(order)))
             for kind, model, order in CHOOSABLE}
    found["credential"] += db.session.scalars(select(ExternalCredential).where(
        ExternalCredential.portfolio_id == portfolio_id).order_by(ExternalCredential.created_at.desc()))
    return found


def _scope_from(form: GrantForm):
    if form.extent.data == "all":
        return "all"
    scope = []
    for value in request.form.getlist("scope"):
        kind, _sep, key = value.partition(":")
        scope.append({"type": kind, "id": key})
    return scope


def _expiry(form: GrantForm):
    day = form.expires_on.data
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc) if day else None


def _render(form, status=200, grant=None):
    template = "sharing/edit.html" if grant is not None else "sharing/index.html"
    return render_template(template, form=form, grant=grant, choices=_choices(), empty=EmptyForm(),
                           grant_label=_label(grant) if grant is not None else "",
                           grants=service.list_for_owner(db.session, current_user),
                           title_of=service.title_of), status


@bp.route("/portfolio/sharing", methods=["GET", "POST"])
@login_required
@mail_limit
def index():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            grant, raw = service.invite(db.session, current_user, email=form.email.data, role=form.role.data,
                                        scope=_scope_from(form), expires_at=_expiry(form),
                                        message=form.message.data)
        except ValidationFailed as exc:
            show_errors(form, exc)
        except ServiceError as exc:
            form.email.errors = [*form.email.errors, exc.message]
        else:
            db.session.commit()
            emails.send_invitation(grant, raw)
            flash(_("Your invitation was sent to %(email)s.", email=grant.email), "success")
            return redirect(url_for("sharing.index"))
    return _render(form, 400 if request.method == "POST" else 200)


@bp.route("/portfolio/sharing/<uuid:grant_id>", methods=["GET", "POST"])
@login_required
def edit(grant_id):
    grant = _owned(grant_id)
    form = GrantForm(obj=None)
    if grant.group_id is not None:  # a group's staff only ever read (grants.change refuses the rest)
        form.role.choices = [choice for choice in ROLE_CHOICES if choice.value == "viewer"]
    elif grant.role == "guardian":  # a guardian's role never changes (grants.change)
        form.role.choices = [choice for choice in ROLE_CHOICES if choice.value == "guardian"]
    if request.method == "GET":
        form.role.data = grant.role
        form.extent.data = "all" if grant.scope == "all" else "chosen"
        form.expires_on.data = grant.expires_at.date() if grant.expires_at else None
    if form.validate_on_submit():
        try:
            service.change(db.session, current_user, grant, role=form.role.data, scope=_scope_from(form),
                           expires_at=_expiry(form))
        except ValidationFailed as exc:
            db.session.rollback()
            show_errors(form, exc)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("The share with %(email)s was changed.", email=_label(grant)), "success")
            return redirect(url_for("sharing.index"))
    return _render(form, 400 if request.method == "POST" else 200, grant=grant)


def _label(grant) -> str:
    """A group grant has no e-mail: it names the staff of a group (app/institutions)."""
    if grant.group_id is None:
        return grant.email
    from app.institutions.routes import grant_label  # noqa: PLC0415
    return grant_label(grant)


def _owned(grant_id):
    try:
        return service.owned_grant(db.session, current_user, grant_id)
    except ServiceError:
        abort(404)


@bp.post("/portfolio/sharing/<uuid:grant_id>/revoke")
@login_required
def revoke(grant_id):
    grant = _owned(grant_id)
    if EmptyForm().validate_on_submit():
        try:
            service.revoke(db.session, current_user, grant)
        except ServiceError as exc:  # a guardian the school named, while the owner is a minor
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("%(email)s no longer has access to your portfolio.", email=_label(grant)), "success")
    return redirect(url_for("sharing.index"))


@bp.post("/portfolio/sharing/<uuid:grant_id>/resend")
@login_required
@mail_limit
def resend(grant_id):
    grant = _owned(grant_id)
    if EmptyForm().validate_on_submit():
        try:
            raw = service.resend(db.session, current_user, grant)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            emails.send_invitation(grant, raw)
            flash(_("The invitation was sent again to %(email)s.", email=grant.email), "success")
    return redirect(url_for("sharing.index"))


def before_param() -> datetime | None:
    """The access log's ``?before=`` (its older page): an ISO time, UTC when it names no zone; ignored if
    malformed (the newest page then)."""
    before = request.args.get("before")
    try:
        before_time = datetime.fromisoformat(before) if before else None
    except ValueError:
        return None
    if before_time is not None and before_time.tzinfo is None:
        before_time = before_time.replace(tzinfo=timezone.utc)
    return before_time


@bp.get("/portfolio/access-log")
@login_required
def access_log_page():
    events = access_log.events(db.session, current_user.portfolio.id, before=before_param())
    titles = {event.id: service.object_title(db.session, event.object_type, event.object_id) for event in events}
    return render_template("sharing/access_log.html", events=events, titles=titles,
                           days=access_log.retention_days(), page_size=access_log.PAGE_SIZE)
