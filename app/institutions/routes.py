"""Pages: thin — parse, call the service, render. Every object is looked up through the organisation the
signed-in person heads (``institutions.headed``), so another school's ids are simply not found."""
from __future__ import annotations

import functools
import hashlib
import re
import time
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.institutions import bp, guard
from app.models.issuing import PARTNER, STAFF_ROLES
from app.services import batches, guardians, institutions, invitations, rosters
from app.sharing.limits import mail_limit, mail_limit_when_sent  # the one per-sender budget of invitation e-mails
from app.services.errors import ServiceError, ValidationFailed


STASH_HOURS = 1


def _sweep(folder: Path) -> None:
    """Delete the previews nobody confirmed within ``STASH_HOURS``: they hold minors' personal data."""
    limit = time.time() - STASH_HOURS * 3600
    for old in folder.glob("*.csv"):
        try:
            if old.stat().st_mtime < limit:
                old.unlink()
        except OSError:  # removed meanwhile by another request
            continue


def _stash(org_id) -> Path:
    """Uploaded rosters wait here between the preview and the confirmation (named by their SHA-256)."""
    path = Path(current_app.instance_path) / "rosters" / str(org_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


@bp.route("/institutions")
@login_required
def home():
    return render_template("institutions/home.html",
                           institutions=institutions.institutions_of(db.session, current_user),
                           groups=institutions.staff_groups(db.session, current_user),
                           shared=institutions.shared_with_staff(db.session, current_user),
                           shareable=institutions.shareable_groups(db.session, current_user))


@bp.route("/institutions/share", methods=["POST"])
@login_required
def share():
    try:
        grant = institutions.share_with_group(db.session, current_user, group_id=request.form.get("group_id"),
                                              group_role=request.form.get("group_role") or None)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".home"))
    people = ", ".join(u.email for u, _r in institutions.reached(db.session, grant)) or _("nobody yet")
    flash(_("Shared. This reaches: %(people)s.", people=people), "success")
    return redirect(url_for(".home"))


def headed(view):
    """A head's page or act: the URL's ``org_id`` becomes ``org``, the organisation the signed-in person
    heads (``institutions.headed``); another's, or an unknown id, is simply not found (404)."""
    @functools.wraps(view)
    def resolved(org_id, **values):
        try:
            org = institutions.headed(db.session, current_user, org_id)
        except ServiceError:
            abort(404)
        return view(org, **values)
    return resolved


@bp.route("/institutions/<org_id>")
@login_required
@headed
def head(org):
    return _head_page(org)


def _head_page(org, exc: ServiceError | None = None, field: str | None = None, **typed):
    """The institution's page; after a refused form, with its message and what the person typed in that
    form (``typed``: input id → value), answered with the refusal's status rather than a redirect that
    would empty the fields. Each refused field shows its message under it, tied by ``aria-describedby``:
    the service's field names are the group form's input ids; ``field`` is the input a refusal without
    fields (a duplicate, a roster's fault, the other forms' e-mail) is about."""
    errors = {}
    if exc is not None:
        db.session.rollback()
        flash(exc.explained, "error")
        errors = {name: text for name, text in exc.fields.items() if name in ("name", "year", "kind")}
        if field and not errors:
            errors[field] = " ".join(dict.fromkeys(map(str, exc.fields.values()))) or exc.message
    return render_template("institutions/head.html", org=org, groups=institutions.groups(db.session, org),
                           staff=institutions.staff_members(db.session, org),
                           partners=guardians.partners(db.session, org), me=current_user,
                           invited=invitations.pending_of(db.session, org, (*STAFF_ROLES, PARTNER)),
                           typed=typed, errors=errors), exc.status if exc is not None else 200


def _act(org, act, message, *, group_id=None, form: dict | None = None):
    """A head's act, answered on the head's page: ``act()`` (the service call) is committed and ``message``
    shown (a string, or a function of what ``act`` returned); refused, it is rolled back and explained. With ``group_id``, an act on one of the institution's
    groups (another's is not found): ``act(group)``, answered on the group's page. A form of the head's
    page whose input must survive a refusal names it in ``form`` (``_head_page``'s ``field`` and typed
    values): refused, that page is shown again rather than redirected to."""
    try:
        done = act() if group_id is None else act(institutions.group_of(db.session, org, group_id))
    except ServiceError as exc:
        if form is not None:
            return _head_page(org, exc, **form)
        db.session.rollback()
        flash(exc.explained, "error")
    else:
        db.session.commit()
        flash(message(done) if callable(message) else message, "success")
    if group_id is None:
        return redirect(url_for(".head", org_id=org.id))
    return redirect(url_for(".group", org_id=org.id, group_id=group_id))


@bp.route("/institutions/<org_id>/staff", methods=["POST"])
@login_required
@mail_limit
@headed
def add_member(org):
    email = request.form.get("email")
    return _act(org, lambda: institutions.add_staff_member(db.session, current_user, org, email=email,
                                                           role=request.form.get("role")),
                _("An invitation is sent: the person joins the staff once they accept it."),
                form={"field": "staff-email", "staff-email": email or ""})


@bp.route("/institutions/<org_id>/staff/<membership_id>", methods=["POST"])
@login_required
@headed
def change_member(org, membership_id):
    """One form per person: a new role, or ``remove`` (the person stays, their staff role goes)."""
    if request.form.get("action") == "remove":
        return _act(org, lambda: institutions.remove_staff_member(db.session, current_user, org,
                                                                  membership_id),
                    _("The person is no longer staff of the institution."))
    return _act(org, lambda: institutions.change_staff_role(db.session, current_user, org, membership_id,
                                                            request.form.get("role")),
                _("Role changed."))


@bp.route("/institutions/<org_id>/partners", methods=["POST"])
@login_required
@mail_limit
@headed
def add_partner(org):
    email = request.form.get("email")
    return _act(org, lambda: guardians.add_partner(db.session, current_user, org, email),
                _("An invitation is sent: once the partner accepts it, your pupils may ask them for "
                  "attestations."), form={"field": "partner-email", "partner-email": email or ""})


@bp.route("/institutions/<org_id>/partners/<membership_id>/remove", methods=["POST"])
@login_required
@headed
def remove_partner(org, membership_id):
    """End a partnership (the partner gets a notice) or cancel a partner's invitation."""
    return _act(org, lambda: guardians.remove_partner(db.session, current_user, org, membership_id),
                _("Done: the partner is removed, or their invitation cancelled."))


@bp.route("/institutions/<org_id>/groups/<group_id>/rename", methods=["POST"])
@login_required
@headed
def rename_group(org, group_id):
    return _act(org, lambda group: institutions.rename_group(db.session, org, group, request.form.get("name"),
                                                             actor=current_user),
                _("Group renamed."), group_id=group_id)


@bp.route("/institutions/<org_id>/groups/<group_id>/archive", methods=["POST"])
@login_required
@headed
def archive_group(org, group_id):
    return _act(org, lambda group: institutions.archive_group(db.session, org, group, actor=current_user),
                _("Group archived: what pupils shared with it no longer reaches anyone."), group_id=group_id)


@bp.route("/institutions/<org_id>/groups/<group_id>/staff/<staff_id>/remove", methods=["POST"])
@login_required
@headed
def remove_staff(org, group_id, staff_id):
    return _act(org, lambda group: institutions.remove_staff(db.session, group, staff_id, actor=current_user),
                _("Removed from the group's staff."), group_id=group_id)


@bp.route("/institutions/<org_id>/groups", methods=["POST"])
@login_required
@headed
def create_group(org):
    name, year = request.form.get("name"), request.form.get("year")
    return _act(org, lambda: institutions.create_group(db.session, org, name=name, year=year,
                                                       kind=request.form.get("kind", "class"),
                                                       actor=current_user),
                _("Group created."), form={"field": "name", "name": name or "", "year": year or ""})


@bp.route("/institutions/<org_id>/groups/<group_id>")
@login_required
@headed
def group(org, group_id):
    try:
        found = institutions.group_of(db.session, org, group_id)
    except ServiceError:
        abort(404)
    members = institutions.members(db.session, found, include_ended=True)
    return render_template("institutions/group.html", org=org, group=found, members=members,
                           # the pupils whose guardian refused the account: paper instead
                           refused=guardians.refused_accounts(db.session, [e.user_id for e in members]))


@bp.route("/institutions/<org_id>/groups/<group_id>/staff", methods=["POST"])
@login_required
@mail_limit_when_sent
@headed
def add_staff(org, group_id):
    return _act(org, lambda group: institutions.add_staff(db.session, org, group, actor=current_user,
                                                          email=request.form.get("email"),
                                                          role=request.form.get("role")),
                lambda place: _("Added to the group's staff.") if not place.pending else
                _("Invited: the place in the group counts once the person accepts to join the staff."),
                group_id=group_id)


@bp.route("/institutions/<org_id>/groups/<group_id>/letters.pdf", methods=["POST"])
@login_required
@headed
def letters(org, group_id):
    try:
        found = institutions.group_of(db.session, org, group_id)
        data, count = institutions.letters(db.session, org, found)
        institutions.letters_printed(db.session, current_user, org, found, count)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".group", org_id=org.id, group_id=group_id))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="activation-letters.pdf"', "Cache-Control": "no-store"})


@bp.route("/institutions/<org_id>/enrolments/<enrolment_id>/end", methods=["POST"])
@login_required
@headed
def end(org, enrolment_id):
    try:
        enrolment = institutions.enrolment_of(db.session, org, enrolment_id)
        reason = request.form.get("reason") or _("Left the institution.")
        institutions.end_enrolment(db.session, enrolment, reason, actor=current_user)
        db.session.commit()
        flash(_("The affiliation has ended; the account and portfolio stay the person's."), "success")
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".head", org_id=org.id))
    return redirect(url_for(".group", org_id=org.id, group_id=enrolment.group_id) if enrolment.group_id
                    else url_for(".head", org_id=org.id))


@bp.route("/institutions/<org_id>/roster", methods=["POST"])
@login_required
@guard.preview_limit
@headed
def roster_preview(org):
    upload = request.files.get("file")
    data = upload.stream.read(rosters.MAX_BYTES + 1) if upload else b""
    try:
        preview = rosters.preview(db.session, current_user, org, data)
    except ServiceError as exc:
        return _head_page(org, exc, "file")
    digest = hashlib.sha256(data).hexdigest()
    _sweep(_stash(org.id))
    if preview["valid"]:  # a file with errors is refused whole at import: never kept (review 14, L5)
        (_stash(org.id) / f"{digest}.csv").write_bytes(data)
    return render_template("institutions/preview.html", org=org, preview=preview, digest=digest)


@bp.route("/institutions/<org_id>/roster/<digest>/import", methods=["POST"])
@login_required
@headed
def roster_import(org, digest):
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        abort(404)
    path = _stash(org.id) / f"{digest}.csv"
    if not path.exists():
        flash(_("Upload the roster again."), "error")
        return redirect(url_for(".head", org_id=org.id))
    try:
        batch = rosters.start_import(db.session, current_user, org, path.read_bytes())
        institutions.roster_imported(db.session, current_user, org, batch)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".head", org_id=org.id))
    finally:  # imported or refused, the file (minors' names, birth dates, guardians) leaves the disk
        path.unlink(missing_ok=True)
    rosters.run_roster_job(str(batch.id))
    return redirect(url_for(".roster_job", org_id=org.id, job_id=batch.id))


@bp.route("/institutions/<org_id>/roster/jobs/<job_id>")
@login_required
@headed
def roster_job(org, job_id):
    try:
        batch = rosters.job_of(db.session, org, job_id)
    except ServiceError:
        abort(404)
    return render_template("institutions/job.html", org=org, batch=batch,
                           summary=rosters.summary(db.session, batch),
                           failed=batches.report(db.session, batch, status="failed"))


@bp.route("/activate", methods=["GET", "POST"])
@guard.per_address
def activate():
    """The form of a letter's or e-mail's code. Their links carry the code in the URL's fragment (the page's
    script copies it into the form); an old letter's ``?code=`` is still accepted, but the answer then
    forbids any ``Referer`` (review 14, L4) and ``sillage serve`` logs no query string."""
    code = request.values.get("code", "")
    if request.method == "POST":
        user = current_user if current_user.is_authenticated else None
        try:
            guard.check(db.session, user)
            try:
                if user is not None:
                    if request.form.get("confirm") != "yes":
                        raise ServiceError(_("Tick the box to confirm that this enrolment is yours."),
                                           code="unconfirmed")
                    enrolment = institutions.join(db.session, current_user, code)
                    db.session.commit()
                    flash(_("Your account is now linked to %(org)s.", org=enrolment.organisation.name),
                          "success")
                    return redirect(url_for(".home"))
                password = request.form.get("password")
                # The page asks for the password twice; a client that sends it once (the API's way) is not
                # refused.
                if request.form.get("password_confirm", password) != password:
                    raise ValidationFailed(_("The two passwords are different."), code="password_mismatch")
                institutions.activate(db.session, code, email=request.form.get("email"), password=password)
                db.session.commit()
            except ServiceError as exc:
                if exc.code == "invalid_code":
                    guard.failed(user)
                raise
            flash(_("Your account is active: sign in with your e-mail and password."), "success")
            return redirect(url_for("auth.login"))
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return _private(render_template("institutions/activate.html", code=code), exc.status)
    return _private(render_template("institutions/activate.html", code=code))


def _private(body, status: int = 200):
    """A page that may show a code: never cached, never named in a ``Referer``."""
    response = current_app.make_response((body, status))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def group_grant_reach(grant) -> dict:
    """For the owner's sharing page and the grants API: whom a group grant names ("Teachers of 4e B
    (Collège …)"), and each person it reaches now (name and e-mail; an archived group reaches nobody)."""
    from app.models.institutions import Group
    group = db.session.get(Group, grant.group_id)
    who = {"teacher": _("Teachers of %(group)s", group=group.name),
           "counsellor": _("Counsellors of %(group)s", group=group.name)}.get(
        grant.group_role, _("Staff of %(group)s", group=group.name))
    reached = institutions.reached(db.session, grant)
    people = []
    for user, _role in reached:
        name = user.portfolio.display_name if user.portfolio is not None else ""
        people.append(f"{name} ({user.email})" if name else user.email)
    return {"label": f"{who} ({group.organisation.name})", "people": people,
            "emails": [user.email for user, _role in reached], "archived": group.archived_at is not None}


def grant_label(grant) -> str:
    """Whom a grant names in a message: the person's e-mail, or the group's staff."""
    return group_grant_reach(grant)["label"] if grant.group_id is not None else grant.email
