"""``/api/v1/orgs/<id>/…``: an institution's groups, staff, roster import and activation letters (its heads
only; another institution's ids answer 404 as unknown ones do), plus the person's side: sharing with a
group's staff and joining an institution with a code. Personal tokens only."""
from __future__ import annotations

import functools

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors
from app.extensions import db
from app.institutions import guard
from app.models.issuing import STAFF_ROLES
from app.services import batches, institutions, rosters
from app.services.errors import ServiceError
from app.sharing.limits import mail_limit, mail_limit_when_sent  # the one per-sender budget of invitation e-mails


def headed(view):
    """A head's route: the URL's ``org_id`` becomes ``org``, the organisation the token's person heads
    (``institutions.headed``: another's, or an unknown id, is refused with its stable code), and its
    ``group_id``, if any, becomes ``group``, one of that organisation's groups (another's is not found)."""
    @functools.wraps(view)
    def resolved(org_id, **values):
        org = institutions.headed(db.session, api_user(), org_id)
        if "group_id" in values:
            values["group"] = institutions.group_of(db.session, org, values.pop("group_id"))
        return view(org, **values)
    return resolved


def _group_json(group, *, detail=False) -> dict:
    data = {"id": str(group.id), "name": group.name, "kind": group.kind, "year": group.year,
            "organisation_id": str(group.organisation_id),
            "archived_at": group.archived_at.isoformat() if group.archived_at else None}
    if detail:
        data["staff"] = [_place_json(s) for s in group.staff]
        from app.services import guardians  # a guardian's refusal: the school provides paper for that pupil
        # ended members too, as the group's page shows them (their ``ended_at`` and ``end_reason`` set)
        members = institutions.members(db.session, group, include_ended=True)
        refused = guardians.refused_accounts(db.session, [e.user_id for e in members])
        data["members"] = [{**_enrolment_json(e), "guardian_refused": e.user_id in refused} for e in members]
    return data


def _place_json(place) -> dict:
    """A group place; one waiting for its staff invitation shows the invited address (``pending``)."""
    return {"id": str(place.id), "email": place.address, "role": place.role,
            "status": "pending" if place.pending else "accepted"}


def _enrolment_json(e) -> dict:
    return {"id": str(e.id), "family_name": e.family_name, "given_name": e.given_name,
            "birth_date": e.birth_date.isoformat() if e.birth_date else None, "ine": e.ine, "email": e.email,
            "guardian_emails": e.guardian_emails, "status": e.status,
            "group_id": str(e.group_id) if e.group_id else None,
            "ended_at": e.ended_at.isoformat() if e.ended_at else None, "end_reason": e.end_reason}


def _member_json(m) -> dict:
    """A membership; an invitation not accepted yet names no account (whether the address has one is not
    the inviter's to learn, review 14 M4)."""
    accepted = m.is_accepted
    return {"id": str(m.id), "user_id": str(m.user_id) if accepted else None, "email": m.address, "role": m.role,
            "status": "accepted" if accepted else "pending"}


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError(str(_l("The body must be a JSON object.")), code="invalid_json", status=400)
    return data


def make_blueprint() -> Blueprint:
    blp = Blueprint("institutions_api", __name__, url_prefix="/api/v1",
                    description="Institutions: groups, staff, rosters, activation letters; sharing with a "
                                "group's staff; your institutions and groups. The same organisation's issuing side "
                                "(members, keys, tokens, achievements) is under /api/v1/organisations/<id>/….")
    blp.before_request(require_token)

    @blp.route("/orgs/<org_id>/groups", methods=["GET"])
    @blp.doc(summary="The institution's groups (its heads)")
    @document_errors(blp, 401, 403, 404)
    @headed
    def groups(org):
        return {"items": [_group_json(g) for g in institutions.groups(db.session, org)]}

    @blp.route("/orgs/<org_id>/groups", methods=["POST"])
    @blp.doc(summary="Create a group: {name, kind: class|cohort, year}")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    @headed
    def create_group(org):
        data = _body()
        group = institutions.create_group(db.session, org, name=data.get("name"), kind=data.get("kind", "class"),
                                          year=data.get("year"), actor=api_user())
        db.session.commit()
        return _group_json(group), 201

    @blp.route("/orgs/<org_id>/groups/<group_id>", methods=["GET"])
    @blp.doc(summary="A group with its staff and members")
    @document_errors(blp, 401, 403, 404)
    @headed
    def group(org, group):
        return _group_json(group, detail=True)

    @blp.route("/orgs/<org_id>/groups/<group_id>", methods=["PATCH"])
    @blp.doc(summary="Rename a group: {name}")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    @headed
    def rename_group(org, group):
        institutions.rename_group(db.session, org, group, _body().get("name"), actor=api_user())
        db.session.commit()
        return _group_json(group)

    @blp.route("/orgs/<org_id>/groups/<group_id>/archive", methods=["POST"])
    @blp.doc(summary="Archive a group: its grants stop reaching anyone (409 `group_archived` if it was)")
    @document_errors(blp, 401, 403, 404, 409)
    @headed
    def archive_group(org, group):
        institutions.archive_group(db.session, org, group, actor=api_user())
        db.session.commit()
        return _group_json(group)

    @blp.route("/orgs/<org_id>/staff", methods=["GET"])
    @blp.doc(summary="The institution's staff: heads, teachers, counsellors")
    @document_errors(blp, 401, 403, 404)
    @headed
    def staff_members(org):
        from app.services import invitations
        return {"items": [_member_json(m) for m in institutions.staff_members(db.session, org)]
                + [_member_json(m) for m in invitations.pending_of(db.session, org, STAFF_ROLES)]}

    @blp.route("/orgs/<org_id>/staff", methods=["POST"])
    @mail_limit
    @blp.doc(summary="Invite a person staff: {email, role: head|teacher|counsellor}; pending (no power) until "
                     "they accept. The answer is the same whether or not the address has an account")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    @headed
    def add_staff_member(org):
        data = _body()
        membership = institutions.add_staff_member(db.session, api_user(), org, email=data.get("email"),
                                                   role=data.get("role"))
        db.session.commit()
        return _member_json(membership), 201

    @blp.route("/orgs/<org_id>/staff/<membership_id>", methods=["PATCH"])
    @blp.doc(summary="Change a staff member's role: {role} (never one's own: 409 `own_membership`)")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    @headed
    def change_staff_member(org, membership_id):
        membership = institutions.change_staff_role(db.session, api_user(), org, membership_id,
                                                    _body().get("role"))
        db.session.commit()
        return _member_json(membership)

    @blp.route("/orgs/<org_id>/staff/<membership_id>", methods=["DELETE"])
    @blp.doc(summary="A person stops being staff (and leaves the institution's groups), or a staff invitation "
                     "is cancelled; the account stays, and a member removed gets a notice")
    @document_errors(blp, 401, 403, 404, 409)
    @headed
    def remove_staff_member(org, membership_id):
        institutions.remove_staff_member(db.session, api_user(), org, membership_id)
        db.session.commit()
        return "", 204

    @blp.route("/orgs/<org_id>/groups/<group_id>/staff", methods=["POST"])
    @mail_limit_when_sent
    @blp.doc(summary="Give a person a place in the group: {email, role: head|teacher|counsellor}. Staff of "
                     "the institution get it at once; anyone else is invited to the staff (or their pending "
                     "invitation is used) and the place, `pending`, reaches nothing until they accept. The "
                     "answer is the same whether or not the address has an account")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    @headed
    def add_staff(org, group):
        data = _body()
        staff = institutions.add_staff(db.session, org, group, email=data.get("email"), role=data.get("role"),
                                       actor=api_user())
        db.session.commit()
        return _place_json(staff), 201

    @blp.route("/orgs/<org_id>/groups/<group_id>/staff/<staff_id>", methods=["DELETE"])
    @blp.doc(summary="Take a place in the group away (a pending one too; the staff invitation stays)")
    @document_errors(blp, 401, 403, 404)
    @headed
    def remove_staff(org, group, staff_id):
        institutions.remove_staff(db.session, group, staff_id, actor=api_user())
        db.session.commit()
        return "", 204

    @blp.route("/orgs/<org_id>/enrolments/<enrolment_id>/end", methods=["POST"])
    @blp.doc(summary="End a pupil's affiliation (the account and portfolio stay theirs): {reason}")
    @document_errors(blp, 400, 401, 403, 404)
    @headed
    def end(org, enrolment_id):
        enrolment = institutions.enrolment_of(db.session, org, enrolment_id)
        institutions.end_enrolment(db.session, enrolment, str(_body().get("reason") or ""), actor=api_user())
        db.session.commit()
        return _enrolment_json(enrolment)

    @blp.route("/orgs/<org_id>/roster", methods=["POST"])
    @guard.preview_limit
    @blp.doc(summary="Import a roster CSV (multipart `file`; `dry_run`=1 for the preview only). 202 with "
                     "the job when it starts; 422 `roster_errors` when any row is wrong (nothing imported); "
                     "429 beyond 30 a head an hour (the page's previews count too).")
    @document_errors(blp, 400, 401, 403, 404, 409, 422, 429)
    @headed
    def roster(org):
        upload = request.files.get("file")
        if upload is None:
            raise ServiceError(str(_l("Send the roster as the multipart field “file”.")), code="file_missing")
        data = upload.stream.read(rosters.MAX_BYTES + 1)
        if str(request.form.get("dry_run", request.args.get("dry_run", ""))).lower() in ("1", "true", "yes"):
            return rosters.preview(db.session, api_user(), org, data)
        batch = rosters.start_import(db.session, api_user(), org, data)
        institutions.roster_imported(db.session, api_user(), org, batch)
        db.session.commit()
        rosters.run_roster_job(str(batch.id))
        db.session.expire_all()
        return {"job": str(batch.id), **rosters.summary(db.session, rosters.job_of(db.session, org, batch.id))}, 202

    @blp.route("/orgs/<org_id>/roster/<job_id>", methods=["GET"])
    @blp.doc(summary="A roster import's progress and what it did")
    @document_errors(blp, 401, 403, 404)
    @headed
    def roster_job(org, job_id):
        batch = rosters.job_of(db.session, org, job_id)
        result = rosters.summary(db.session, batch)
        result["failed_items"] = batches.report(db.session, batch, status="failed")
        return result

    @blp.route("/orgs/<org_id>/letters.pdf", methods=["GET"])
    @blp.doc(summary="Activation letters of a group (`group`=id): one page per pupil not yet activated; "
                     "each call issues fresh codes (earlier letters stop working)")
    @document_errors(blp, 401, 403, 404, 409)
    @headed
    def letters(org):
        group = institutions.group_of(db.session, org, request.args.get("group"))
        data, count = institutions.letters(db.session, org, group)
        institutions.letters_printed(db.session, api_user(), org, group, count)
        db.session.commit()
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="activation-letters.pdf"', "Cache-Control": "no-store"})

    @blp.route("/me/institutions", methods=["GET"])
    @blp.doc(summary="Your institutions and groups, as `/institutions` shows them: where you are staff "
                     "(`staff_of`), the groups you teach or follow (`staff_groups`), the portfolios shared "
                     "with them (`shared_with_my_groups`), and the groups of your enrolments whose staff you may "
                     "share with (`shareable_groups`: their `id` is the `group_id` of `POST /me/group-shares`)")
    @document_errors(blp, 401)
    def my_institutions():
        me = api_user()
        org_json = lambda org: {"id": str(org.id), "name": org.name, "kind": org.kind}  # noqa: E731
        return {
            "staff_of": [{"organisation": org_json(org), "role": role}
                         for org, role in institutions.institutions_of(db.session, me)],
            "staff_groups": [{**_group_json(g), "organisation_name": g.organisation.name, "role": role}
                             for g, role in institutions.staff_groups(db.session, me)],
            "shared_with_my_groups": [
                {"grant_id": str(grant.id), "group_id": str(grant.group_id), "portfolio_id": str(grant.portfolio_id),
                 "owner": grant.portfolio.display_name or grant.portfolio.owner.email}
                for grant in institutions.shared_with_staff(db.session, me)],
            "shareable_groups": [{**_group_json(g), "organisation_name": g.organisation.name}
                                 for g in institutions.shareable_groups(db.session, me)],
        }

    @blp.route("/me/group-shares", methods=["POST"])
    @blp.doc(summary="Share your portfolio with the staff of one of your groups: {group_id, group_role "
                     "(teacher|counsellor|null), scope, expires_at}")
    @document_errors(blp, 400, 401, 404, 422)
    def share(**_kwargs):
        data = _body()
        grant = institutions.share_with_group(db.session, api_user(), group_id=data.get("group_id"),
                                              group_role=data.get("group_role"), scope=data.get("scope", "all"),
                                              expires_at=data.get("expires_at"))
        db.session.commit()
        return {"id": str(grant.id), "group_id": str(grant.group_id), "group_role": grant.group_role,
                "reaches": [u.email for u, _r in institutions.reached(db.session, grant)]}, 201

    @blp.route("/me/institutions/join", methods=["POST"])
    @guard.per_address
    @blp.doc(summary="Join an institution with the code of its letter or e-mail: {code}. Wrong codes are "
                     "limited per address, per account and in total (429 `too_many_codes`)")
    @document_errors(blp, 400, 401, 403, 409, 429)
    def join():
        guard.check(db.session, api_user())
        try:
            enrolment = institutions.join(db.session, api_user(), _body().get("code"))
        except ServiceError as exc:
            if exc.code == "invalid_code":
                guard.failed(api_user())
            raise
        db.session.commit()
        return _enrolment_json(enrolment)

    return blp


def register(app) -> None:
    from app import api  # noqa: PLC0415

    api.register(app, make_blueprint())
