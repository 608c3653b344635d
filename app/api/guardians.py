"""``/api/v1/guardians/…``: a minor's guardians and consents, a guardian's decisions, renewal at 18; and
``/api/v1/orgs/<id>/partners`` (the institution's heads). Personal tokens only."""
from __future__ import annotations

from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app import policy
from app.api.auth import api_user, require_token
from app.api.common import document_errors
from app.api.grants import AccessLogArgs, AccessLogSchema, access_log_body
from app.extensions import db
from app.models import User
from app.models.issuing import Organisation
from app.models.issuing import PARTNER
from app.services import guardians, invitations, minors
from app.services.errors import Forbidden, NotFound, ServiceError
from app.sharing.limits import mail_limit


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError(str(_l("The body must be a JSON object.")), code="invalid_json", status=400)
    return data


def _consent_json(row) -> dict:
    return {"id": str(row.id), "minor_id": str(row.minor_id), "guardian_email": row.guardian_email,
            "scope": row.scope, "decision": row.decision, "decided_at": row.decided_at.isoformat()}


def _user(value, code="not_guardian") -> User:
    key = policy.parse_id(value)
    user = db.session.get(User, key) if key is not None else None
    if user is None:
        raise Forbidden(str(_l("You are not a guardian of this person.")), code=code)
    return user


def make_blueprint() -> Blueprint:
    blp = Blueprint("guardians_api", __name__, url_prefix="/api/v1",
                    description="Minors and guardians: consents, guardian invitations, renewal at 18; partners.")
    blp.before_request(require_token)

    @blp.route("/guardians", methods=["GET"])
    @blp.doc(summary="My status (minor or not), my guardians' decisions, and the minors I am a guardian of")
    @document_errors(blp, 401)
    def overview():
        me = api_user()
        return {"minor": minors.is_minor(me), "consents": [_consent_json(r) for r in guardians.history(db.session, me)],
                "minors": [{"id": str(c.id), "email": c.email,
                            "consents": [_consent_json(r) for r in guardians.history(db.session, c)]}
                           for c in guardians.minors_of(db.session, me)]}

    @blp.route("/guardians/invitations", methods=["POST"])
    @blp.doc(summary="Invite a guardian by e-mail: {email} (a guardian grant; the pupil's own address is refused)")
    @document_errors(blp, 400, 401, 409, 422, 429)
    @mail_limit  # the Sharing page's budget of invitation e-mails (review 14, L11)
    def invite():
        from app.sharing.emails import send_invitation
        grant, raw = guardians.invite(db.session, api_user(), _body().get("email"))
        db.session.commit()
        send_invitation(grant, raw)
        return {"grant_id": str(grant.id), "email": grant.email, "status": grant.status}, 201

    @blp.route("/guardians/consents", methods=["POST"])
    @blp.doc(summary="A guardian's decision: {minor_id, scope: public_page|share_link|outside_attestation|account, "
                     "decision: granted|refused}")
    @document_errors(blp, 400, 401, 403, 422)
    def decide():
        data = _body()
        row = guardians.decide(db.session, api_user(), _user(data.get("minor_id")), data.get("scope"),
                               data.get("decision"))
        db.session.commit()
        return _consent_json(row), 201

    @blp.route("/guardians/renewals", methods=["POST"])
    @blp.doc(summary="At 18 or later, keep a guardian's access: {guardian_id}")
    @document_errors(blp, 400, 401, 403, 422)
    def renew():
        row = guardians.renew(db.session, api_user(), _user(_body().get("guardian_id")))
        db.session.commit()
        return _consent_json(row), 201

    @blp.route("/shared-with-me/<uuid:grant_id>/access-log", methods=["GET"])
    @blp.arguments(AccessLogArgs, location="query")
    @blp.response(200, AccessLogSchema)
    @blp.doc(summary="A guardian reads the minor's access log (guardian grants only; any other grant: 404)")
    @document_errors(blp, 401, 404, 422)
    def guardian_access_log(args, grant_id):
        _grant, events = guardians.access_log(db.session, api_user(), grant_id, before=args["before"])
        return access_log_body(events)

    @blp.route("/guardians/group-shares", methods=["POST"])
    @blp.doc(summary="A guardian shares a minor's portfolio with the staff of one of the minor's groups: "
                     "{minor_id, group_id, group_role (teacher|counsellor|null), scope, expires_at}")
    @document_errors(blp, 400, 401, 403, 404, 422)
    def group_share():
        from app.services import institutions
        data = _body()
        grant = guardians.share_with_group(db.session, api_user(), _user(data.get("minor_id")),
                                           group_id=data.get("group_id"), group_role=data.get("group_role"),
                                           scope=data.get("scope", "all"), expires_at=data.get("expires_at"))
        db.session.commit()
        return {"id": str(grant.id), "group_id": str(grant.group_id), "group_role": grant.group_role,
                "made_by": api_user().email,
                "reaches": [u.email for u, _r in institutions.reached(db.session, grant)]}, 201

    @blp.route("/orgs/<org_id>/partners", methods=["GET"])
    @blp.doc(summary="The institution's partners (its heads)")
    @document_errors(blp, 401, 403, 404)
    def partners(org_id):
        org = _org(org_id)
        from app.services.rosters import check_head
        check_head(db.session, api_user(), org)
        return {"items": [{"id": str(m.id), "email": m.address, "status": "accepted"}
                          for m in guardians.partners(db.session, org)]
                + [{"id": str(m.id), "email": m.address, "status": "pending"}
                   for m in invitations.pending_of(db.session, org, (PARTNER,))]}

    @blp.route("/orgs/<org_id>/partners", methods=["POST"])
    @mail_limit
    @blp.doc(summary="Invite a partner by e-mail: {email}; pending (no power) until they accept. The answer is "
                     "the same whether or not the address has an account")
    @document_errors(blp, 400, 401, 403, 404, 409, 422)
    def add_partner(org_id):
        membership = guardians.add_partner(db.session, api_user(), _org(org_id), _body().get("email"))
        db.session.commit()
        return {"id": str(membership.id), "email": membership.address, "role": membership.role,
                "status": "pending"}, 201

    @blp.route("/orgs/<org_id>/partners/<membership_id>", methods=["DELETE"])
    @blp.doc(summary="End a partnership or cancel a partner's invitation; the person gets a notice (grants "
                     "pupils gave them stay the pupils' to revoke)")
    @document_errors(blp, 401, 403, 404)
    def remove_partner(org_id, membership_id):
        guardians.remove_partner(db.session, api_user(), _org(org_id), membership_id)
        db.session.commit()
        return "", 204

    return blp


def _org(org_id) -> Organisation:
    key = policy.parse_id(org_id)
    org = db.session.get(Organisation, key) if key is not None else None
    if org is None:
        raise NotFound(str(_l("No such organisation.")))
    return org


def register(app) -> None:
    from app import api  # noqa: PLC0415

    api.register(app, make_blueprint())
