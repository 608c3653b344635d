"""Organisation pages for members, and the platform admins' review of requests.

Views stay thin: the services (``app.services.orgs``, ``achievements``) check every action with
``app.policy``; an organisation the person cannot read is a 404, an action their role does not allow a 403.
"""
from __future__ import annotations

import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from app import policy
from app.auth.forms import EmptyForm
from app.auth.utils import apply_errors, verified_required
from app.extensions import db, talisman
from app.issuing import emails
from app.issuing.public import IMAGE_CSP
from app.issuing.forms import (
    ACHIEVEMENT_KIND_LABELS, ORGANISATION_KIND_LABELS, ROLE_LABELS, STATUS_LABELS, AchievementForm,
    AddMemberForm, CloseForm, OrganisationForm, RefuseForm, RoleForm, TokenForm,
)
from app.services import achievements, artwork, concept_alignments, invitations, orgs
from app.sharing.limits import mail_limit  # the one per-sender budget of invitation e-mails
from app.services.errors import Conflict, ValidationFailed

bp = Blueprint("issuing", __name__, template_folder="templates")

NEW_TOKEN_KEY = "new_org_token"
NEW_TOKEN_SECONDS = 300


@bp.context_processor
def _labels():
    return {"kind_labels": ORGANISATION_KIND_LABELS, "role_labels": ROLE_LABELS,
            "status_labels": STATUS_LABELS, "achievement_kind_labels": ACHIEVEMENT_KIND_LABELS}


def _me():
    return current_user._get_current_object()


def _upload(field, name: str):
    """The uploaded image, checked and re-encoded (``artwork.prepare_image``), or None if none was sent."""
    storage = field.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return artwork.prepare_image(storage.read(artwork.MAX_UPLOAD + 1), storage.filename, field=name)


# --- the person's organisations and requests ----------------------------------------------------------------

@bp.get("/organisations")
@login_required
def organisations():
    me = _me()
    pending = len(orgs.list_organisations(db.session, "pending")) if policy.reviews_requests(me) else 0
    return render_template("issuing/organisations.html", memberships=orgs.organisations_of(db.session, me),
                           pending=pending, reviews=policy.reviews_requests(me),
                           invitations=invitations.mine(db.session, me),
                           unconfirmed=invitations.unconfirmed_address(db.session, me), button=EmptyForm())


@bp.get("/organisations/invitations")
@login_required
def invitations_page():
    """The link of the invitation mail: the invitations are on the organisations page, answered there."""
    return redirect(url_for("issuing.organisations", _anchor="invitations"))


@bp.post("/organisations/invitations/<membership_id>/<answer>")
@login_required
def answer_invitation(membership_id, answer):
    """Accept or decline an invitation addressed to me (anyone else's: 404)."""
    if answer not in ("accept", "decline"):
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        if answer == "accept":
            row = invitations.accept(db.session, _me(), membership_id)
            db.session.commit()
            flash(_("You are now a member of %(org)s.", org=row.organisation.name), "success")
        else:
            invitations.decline(db.session, _me(), membership_id)
            db.session.commit()
            flash(_("Invitation declined."), "success")
    except Conflict as exc:
        db.session.commit()  # the duplicate invitation is gone
        flash(exc.message, "error")
    return redirect(url_for("issuing.organisations"))


@bp.route("/organisations/new", methods=["GET", "POST"])
@login_required
@verified_required
def request_organisation():
    """Ask to open an organisation: it stays pending, unable to issue, until a platform admin approves it."""
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            logo = _upload(form.logo, "logo")
            data = {name: getattr(form, name).data or "" for name in orgs.RULES}
            org = orgs.create_organisation(db.session, _me(), data, admin=_me(), logo=logo)
            db.session.commit()
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            emails.new_request(org, orgs.platform_admins(db.session))
            flash(_("Your request is sent. A platform admin will approve or refuse it; you will be told by "
                    "e-mail."), "success")
            return redirect(url_for("issuing.organisation", org_id=org.id))
    return render_template("issuing/request.html", form=form), 422 if form.errors else 200


def _render_org(org, status: int = 200, member_form=None, token_form=None):
    me = _me()
    allowed = {action: policy.can(me, action, org) for action in policy.ORG_RULES}
    raw = created = None
    if allowed["manage_tokens"]:
        tokens = orgs.list_tokens(db.session, me, org)
        pending = session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
        if isinstance(pending, dict) and time.time() - float(pending.get("at") or 0) < NEW_TOKEN_SECONDS:
            created = next((t for t in tokens if str(t.id) == pending.get("id")), None)
            raw = pending.get("raw") if created is not None else None
    else:
        tokens = []
    response = current_app.make_response((render_template(
        "issuing/organisation.html", org=org, allowed=allowed, role=policy.org_role(me, org),
        members=orgs.members(db.session, org) if org.is_approved else [],
        invited=invitations.pending_of(db.session, org) if allowed["manage_members"] else [],
        keys=sorted(org.signing_keys, key=lambda k: k.created_at, reverse=True),
        tokens=tokens, created=created, raw_token=raw, token_prefix=orgs.ORG_TOKEN_PREFIX,
        achievements=achievements.list_for(db.session, me, org),
        member_form=member_form or AddMemberForm(), token_form=token_form or TokenForm(),
        role_form=RoleForm(), button=EmptyForm()), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/organisations/<org_id>")
@login_required
def organisation(org_id):
    return _render_org(orgs.get(db.session, _me(), org_id))


@bp.route("/organisations/<org_id>/edit", methods=["GET", "POST"])
@login_required
def edit_organisation(org_id):
    """The organisation's public details and logo (its admins). The name in credentials already signed
    stays as it was."""
    org = orgs.get(db.session, _me(), org_id, "manage_profile")
    form = OrganisationForm(obj=None if request.method == "POST" else org)
    if form.validate_on_submit():
        try:
            logo = _upload(form.logo, "logo")
            data = {name: getattr(form, name).data or "" for name in orgs.RULES}
            orgs.update_organisation(db.session, _me(), org, data, logo=logo)
            db.session.commit()
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(_("The organisation's details are saved."), "success")
            return redirect(url_for("issuing.organisation", org_id=org.id))
    return render_template("issuing/request.html", form=form, org=org), 422 if form.errors else 200


@bp.route("/organisations/<org_id>/close", methods=["GET", "POST"])
@login_required
def close_organisation(org_id):
    """Close the organisation (its admins), after typing its name: it cannot be undone."""
    org = orgs.get(db.session, _me(), org_id, "close")
    form = CloseForm()
    if form.validate_on_submit():
        try:
            orgs.close(db.session, _me(), org, form.confirm.data or "")
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            flash(_("The organisation is closed. What it issued still verifies."), "success")
            return redirect(url_for("issuing.organisation", org_id=org.id))
    return render_template("issuing/close.html", form=form, org=org), 422 if form.errors else 200


@bp.post("/organisations/<org_id>/members")
@login_required
@mail_limit
def add_member(org_id):
    org = orgs.get(db.session, _me(), org_id, "manage_members")
    form = AddMemberForm()
    if form.validate_on_submit():
        try:
            membership = orgs.add_member(db.session, _me(), org, form.email.data, form.role.data)
            db.session.commit()
        except (ValidationFailed, Conflict) as exc:
            apply_errors(form, ValidationFailed(exc.message, fields=exc.fields or {"email": exc.message}))
        else:
            flash(_("An invitation is sent to %(email)s: they become a member once they accept it.",
                    email=membership.address), "success")
            return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="members"))
    return _render_org(org, 422, member_form=form)


def _member_action(org_id, membership_id, change) -> object:
    org = orgs.get(db.session, _me(), org_id, "manage_members")
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        change(org)
        db.session.commit()
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="members"))


@bp.post("/organisations/<org_id>/members/<membership_id>/role")
@login_required
def change_role(org_id, membership_id):
    role = request.form.get("role")
    return _member_action(org_id, membership_id,
                          lambda org: orgs.change_role(db.session, _me(), org, membership_id, role))


@bp.post("/organisations/<org_id>/members/<membership_id>/remove")
@login_required
def remove_member(org_id, membership_id):
    return _member_action(org_id, membership_id,
                          lambda org: orgs.remove_member(db.session, _me(), org, membership_id))


@bp.post("/organisations/<org_id>/keys/rotate")
@login_required
def rotate_key(org_id):
    org = orgs.get(db.session, _me(), org_id, "manage_keys")
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        orgs.rotate_key(db.session, _me(), org)
        db.session.commit()
        flash(_("A new signing key is in use. The previous ones stay published, so that the credentials "
                "they signed still verify."), "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="keys"))


@bp.post("/organisations/<org_id>/tokens")
@login_required
def create_token(org_id):
    """Post/redirect/get, as the personal tokens: the value waits in the session and is shown once."""
    org = orgs.get(db.session, _me(), org_id, "manage_tokens")
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, raw = orgs.create_token(db.session, _me(), org, form.name.data)
            db.session.commit()
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            session[NEW_TOKEN_KEY] = {"id": str(token.id), "raw": raw, "at": time.time()}
            return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="tokens"))
    return _render_org(org, 422, token_form=form)


@bp.post("/organisations/<org_id>/tokens/<token_id>/revoke")
@login_required
def revoke_token(org_id, token_id):
    org = orgs.get(db.session, _me(), org_id, "manage_tokens")
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = orgs.revoke_token(db.session, _me(), org, token_id)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="tokens"))


# --- achievements -------------------------------------------------------------------------------------------

def _achievement_data(form: AchievementForm) -> dict:
    data = {name: getattr(form, name).data or "" for name in (
        "name", "kind", "description", "criteria_narrative", "criteria_url", "tags", "alignments")}
    data["alignments"] = concept_alignments.expand_lines(  # a concept's bare URI or id: written out
        db.session, data["alignments"], str(get_locale() or "fr")[:2])
    return {**data, "validity_months": form.validity_months.data}


def _achievement_page(org, form: AchievementForm, achievement, save, done):
    """Create or edit: ``save(data, image)`` calls the service, ``done(name)`` says it worked; a refusal
    is shown under its field."""
    if form.validate_on_submit():
        try:
            saved = save(_achievement_data(form), _upload(form.image, "image"))
            db.session.commit()
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            flash(done(saved.name), "success")
            return redirect(url_for("issuing.organisation", org_id=org.id, _anchor="achievements"))
    return render_template("issuing/achievement_form.html", form=form, org=org, achievement=achievement), \
        422 if form.errors else 200


@bp.route("/organisations/<org_id>/achievements/new", methods=["GET", "POST"])
@login_required
def new_achievement(org_id):
    org = orgs.get(db.session, _me(), org_id, "manage_achievements")
    return _achievement_page(
        org, AchievementForm(), None,
        lambda data, image: achievements.create(db.session, _me(), org, data, image=image),
        lambda name: _("The achievement “%(name)s” is created.", name=name))


@bp.route("/organisations/<org_id>/achievements/<achievement_id>/edit", methods=["GET", "POST"])
@login_required
def edit_achievement(org_id, achievement_id):
    achievement = achievements.get(db.session, _me(), achievement_id, policy.UPDATE)
    org = achievement.organisation
    if str(org.id) != str(org_id):
        abort(404)
    form = AchievementForm(obj=None if request.method == "POST" else achievement)
    if request.method == "GET":
        form.tags.data = ", ".join(achievement.tags or [])
        form.alignments.data = achievements.alignment_lines(achievement.alignments or [])
        form.criteria_url.data = achievement.criteria_url or ""
    return _achievement_page(
        org, form, achievement,
        lambda data, image: achievements.update(db.session, _me(), achievement, data, image=image),
        lambda name: _("The achievement “%(name)s” is saved.", name=name))


# --- platform admins: requests ------------------------------------------------------------------------------

def _platform_admin():
    me = _me()
    if not policy.reviews_requests(me):
        abort(404)
    return me


@bp.get("/admin/organisations")
@login_required
def admin_requests():
    _platform_admin()
    return render_template("issuing/admin_requests.html",
                           pending=orgs.list_organisations(db.session, "pending"),
                           decided=[o for o in orgs.list_organisations(db.session) if o.status != "pending"])


@bp.route("/admin/organisations/<org_id>", methods=["GET", "POST"])
@login_required
def admin_review(org_id):
    """One request: approve it, or refuse it with a reason (the requester is told by e-mail)."""
    me = _platform_admin()
    org = orgs.get(db.session, me, org_id, "review")
    form = RefuseForm()
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision == "approve" and EmptyForm().validate_on_submit():
            orgs.approve(db.session, me, org)
        elif decision == "refuse" and form.validate_on_submit():
            try:
                orgs.refuse(db.session, me, org, form.reason.data)
            except ValidationFailed as exc:
                apply_errors(form, exc)
        elif decision not in ("approve", "refuse"):
            abort(400)
        if not form.errors and org.status != "pending":
            db.session.commit()
            emails.decision(org)
            flash(_("“%(name)s” is %(status)s. The requester is told by e-mail.", name=org.name,
                    status=STATUS_LABELS[org.status]), "success")
            return redirect(url_for("issuing.admin_requests"))
    return render_template("issuing/admin_review.html", org=org, form=form, button=EmptyForm()), \
        422 if form.errors else 200


@bp.get("/admin/organisations/<org_id>/logo")
@login_required
@talisman(content_security_policy=IMAGE_CSP)
def admin_logo(org_id):
    """The logo of a request, for the admin deciding it (the public one exists once approved)."""
    org = orgs.get(db.session, _platform_admin(), org_id, "review")
    if not org.logo_type or not org.logo:
        abort(404)
    response = current_app.make_response(org.logo)
    response.mimetype = org.logo_type
    return response
