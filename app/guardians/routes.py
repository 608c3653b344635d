"""Pages: ``/guardians`` (both sides), invitations, decisions, renewal at 18, a head's partners."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.guardians import bp
from app.sharing.limits import mail_limit
from app.models import Grant, User
from app.services import guardians, institutions, minors
from app.services.errors import ServiceError


def _guardian_grants(user: User) -> list[Grant]:
    if user.portfolio is None:
        return []
    return list(db.session.scalars(select(Grant).where(Grant.portfolio_id == user.portfolio.id,
                                                       Grant.role == "guardian", Grant.revoked_at.is_(None))))


@bp.route("/guardians")
@login_required
def home():
    return _home_page()


def _home_page(exc: ServiceError | None = None, typed_email: str = ""):
    """The page; after a refused invitation, with its message (also under the field, tied to it by
    ``aria-describedby``) and the address typed kept in the field."""
    if exc is not None:
        db.session.rollback()
        flash(exc.explained, "error")
    children = guardians.minors_of(db.session, current_user)
    return render_template("guardians/home.html", me=current_user, minor=minors.is_minor(current_user),
                           age=minors.age(current_user.birth_date), my_guardians=_guardian_grants(current_user),
                           history=guardians.history(db.session, current_user), children=children,
                           decisions={c.id: guardians.history(db.session, c) for c in children},
                           grant_of={c.id: guardians.guardian_grant(db.session, current_user, c) for c in children},
                           groups_of={c.id: institutions.shareable_groups(db.session, c) for c in children},
                           may_renew=guardians.may_renew(current_user),
                           renewal_opens=guardians.renewal_opens(current_user),
                           scopes=guardians.DECIDABLE, typed_email=typed_email,
                           email_error=exc.explained if exc else ""), exc.status if exc else 200


def _done(message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".home"))


def _refused(exc: ServiceError):
    db.session.rollback()
    flash(exc.explained, "error")
    return redirect(url_for(".home"))


@bp.route("/guardians/invite", methods=["POST"])
@login_required
@mail_limit  # the Sharing page's budget of invitation e-mails (review 14, L11)
def invite():
    from app.sharing.emails import send_invitation
    try:
        grant, raw = guardians.invite(db.session, current_user, request.form.get("email"))
        db.session.commit()
    except ServiceError as exc:
        return _home_page(exc, request.form.get("email", ""))
    send_invitation(grant, raw)
    flash(_("Invitation sent to %(email)s.", email=grant.email), "success")
    return redirect(url_for(".home"))


def _minor() -> User:
    """The person a guardian's form names (``minor_id``); an unknown id is refused like someone else's."""
    minor = db.session.get(User, policy.parse_id(request.form.get("minor_id")))
    if minor is None:
        raise ServiceError(_("You are not a guardian of this person."), code="not_guardian", status=403)
    return minor


@bp.route("/guardians/decide", methods=["POST"])
@login_required
def decide():
    try:
        minor = _minor()
        guardians.decide(db.session, current_user, minor, request.form.get("scope"), request.form.get("decision"))
    except ServiceError as exc:
        return _refused(exc)
    return _done(_("Your decision is recorded."))


@bp.route("/guardians/renew", methods=["POST"])
@login_required
def renew():
    guardian = db.session.get(User, policy.parse_id(request.form.get("guardian_id")))
    try:
        if guardian is None:
            raise ServiceError(_("You are not a guardian of this person."), code="not_guardian", status=403)
        guardians.renew(db.session, current_user, guardian)
    except ServiceError as exc:
        return _refused(exc)
    return _done(_("Your guardian keeps access to your portfolio."))



@bp.route("/guardians/<uuid:grant_id>/access-log")
@login_required
def access_log(grant_id):
    """The minor's access log, as the owner sees it, for the guardian of that grant only (else 404)."""
    from app.services import access_log as log_service, grants
    from app.sharing.owner import before_param
    try:
        grant, events = guardians.access_log(db.session, current_user, grant_id, before=before_param())
    except ServiceError:
        abort(404)
    titles = {e.id: grants.object_title(db.session, e.object_type, e.object_id) for e in events}
    owner = grant.portfolio.display_name or grant.portfolio.owner.email
    return render_template("sharing/access_log.html", events=events, titles=titles, owner=owner,
                           days=log_service.retention_days(), page_size=log_service.PAGE_SIZE,
                           older_endpoint="guardians.access_log", older_args={"grant_id": grant.id})


@bp.route("/guardians/group-share", methods=["POST"])
@login_required
def group_share():
    """A guardian shares the minor's portfolio with the staff of one of the minor's groups (one action)."""
    try:
        minor = _minor()
        guardians.share_with_group(db.session, current_user, minor, group_id=request.form.get("group_id"),
                                   group_role=request.form.get("group_role") or None)
    except ServiceError as exc:
        return _refused(exc)
    return _done(_("The group's staff can now read this portfolio."))
