"""The invited person's pages: the invitation link, "Shared with me" (with the followed portfolios'
recent changes) and the read-only view of a shared portfolio, its documents included. Thin: parse, call
the service, render. Each read of shared content goes to the owner's access log (the service)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api.documents import CONTENT_CSP, content_response
from app.extensions import db, limiter, talisman
from app.services import grants as service
from app.services.errors import ServiceError
from app.sharing import bp
from app.sharing.forms import EmptyForm

# Invitation tokens carry 256 bits; the limit keeps guessing from costing the database anything.
link_limit = limiter.limit("30/minute")


def _link_invalid(exc: ServiceError):
    return render_template("sharing/link_invalid.html", message=exc.message), exc.status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@link_limit
def invitation(token):
    try:
        grant = service.peek(db.session, token)
    except ServiceError as exc:
        return _link_invalid(exc)
    form = EmptyForm()
    if current_user.is_authenticated and form.validate_on_submit():
        try:
            service.accept_by_link(db.session, current_user, token)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("You can now see what %(owner)s shares with you.",
                    owner=grant.portfolio.display_name or grant.portfolio.owner.email), "success")
            return redirect(url_for("sharing.shared_view", grant_id=grant.id))
    wrong_account = current_user.is_authenticated and current_user.email.lower() != grant.email
    own = current_user.is_authenticated and grant.portfolio.owner_id == current_user.id
    return render_template("sharing/invitation.html", grant=grant, form=form, wrong_account=wrong_account,
                           own=own, next_url=request.path)


@bp.route("/shared", methods=["GET", "POST"])
@login_required
def shared():
    form = EmptyForm()
    return render_template("sharing/shared.html", form=form,
                           invitations=service.invitations_for(db.session, current_user),
                           followed=service.recent_changes(db.session, current_user),
                           title_of=service.title_of)


@bp.post("/shared/invitations/<uuid:grant_id>/accept")
@login_required
def accept(grant_id):
    if EmptyForm().validate_on_submit():
        try:
            grant = service.accept(db.session, current_user, grant_id)
        except ServiceError:
            abort(404)
        db.session.commit()
        return redirect(url_for("sharing.shared_view", grant_id=grant.id))
    return redirect(url_for("sharing.shared"))


def _grant(grant_id):
    try:
        return service.active_grant(db.session, current_user, grant_id)
    except ServiceError:
        abort(404)


@bp.get("/shared/<uuid:grant_id>")
@login_required
def shared_view(grant_id):
    grant = _grant(grant_id)
    shown = service.shared_items(db.session, current_user, grant, ip=request.remote_addr)
    db.session.commit()
    return render_template("sharing/view.html", form=EmptyForm(), title_of=service.title_of, **shown)


@bp.get("/shared/<uuid:grant_id>/documents/<uuid:document_id>")
@talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
@login_required
def shared_document(grant_id, document_id):
    """A shared vault document, sent as the vault sends it (``content_response``: attachment, nosniff,
    ranges). The owner's key opens the owner's document, once the policy said this person may read it."""
    grant = _grant(grant_id)
    try:
        document = service.shared_document(db.session, current_user, grant, document_id, ip=request.remote_addr)
    except ServiceError:
        abort(404)
    db.session.commit()
    try:
        return content_response(grant.portfolio.owner, document)
    except ServiceError as exc:
        return render_template("sharing/link_invalid.html", message=exc.message), exc.status


@bp.post("/shared/<uuid:grant_id>/leave")
@login_required
def leave(grant_id):
    grant = _grant(grant_id)
    if EmptyForm().validate_on_submit():
        service.leave(db.session, current_user, grant)
        db.session.commit()
        flash(_("You no longer follow this portfolio."), "success")
    return redirect(url_for("sharing.shared"))
