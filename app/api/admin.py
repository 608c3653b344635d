"""``/api/v1/admin/…`` and ``/api/v1/orgs/<id>/indicators``: the indicators (JSON and CSV), the audit log,
account look-up and suspension, for the platform admin (an organisation's admins and heads read their
organisation's indicators, and one group's)."""
from __future__ import annotations

import csv
import io

import marshmallow as ma
from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import fields
from sqlalchemy import select

from app import api as api_package
from app import policy
from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_object
from app.api.schemas import UTCDateTime
from app.extensions import db
from app.models import Organisation, User
from app.models.institutions import Group
from app.services import admin, audit, indicators
from app.services.accounts import normalise_email
from app.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed


class IndicatorsSchema(ma.Schema):
    days = fields.Integer(required=True)
    organisation_id = fields.UUID(allow_none=True, required=True)
    group_id = fields.UUID(allow_none=True, required=True)
    indicators = fields.Dict(required=True, metadata={
        "description": "Per section: its title and {key: count}. Counts only, never portfolio content."})


class AdminAccountSchema(ma.Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True)
    is_admin = fields.Boolean(required=True)
    created_at = UTCDateTime(required=True)
    email_verified_at = UTCDateTime(allow_none=True, required=True)
    suspended_at = UTCDateTime(allow_none=True, required=True)
    suspension_reason = fields.String(allow_none=True, required=True)


class AuditEventSchema(ma.Schema):
    id = fields.UUID(required=True)
    created_at = UTCDateTime(required=True)
    actor_id = fields.UUID(allow_none=True, required=True)
    actor_label = fields.String(required=True)
    action = fields.String(required=True)
    target_type = fields.String(required=True)
    target_id = fields.String(allow_none=True, required=True)
    organisation_id = fields.UUID(allow_none=True, required=True)
    details = fields.Dict(required=True)


class SuspensionSchema(ma.Schema):
    id = fields.UUID(required=True)
    suspended_at = UTCDateTime(allow_none=True, required=True)
    suspension_reason = fields.String(allow_none=True, required=True)


def _days() -> int:
    raw = request.args.get("days", "30")
    if raw not in indicators.PERIODS:
        raise ServiceError(str(_l("The period is 7, 30 or 365 days.")), code="invalid_period", status=400)
    return indicators.PERIODS[raw]


def _org(org_id) -> Organisation:
    key = policy.parse_id(org_id)
    org = db.session.get(Organisation, key) if key else None
    if org is None:
        raise NotFound(str(_l("Not found.")))
    return org


def _group(org):
    """The ``group`` filter: one of ``org``'s groups; any other id (another institution's too) is 404."""
    raw = request.args.get("group")
    if not raw:
        return None
    key = policy.parse_id(raw)
    group = db.session.get(Group, key) if key else None
    if group is None or org is None or group.organisation_id != org.id:
        raise NotFound(str(_l("Not found.")))
    return group


def _sections(org, days):
    me = api_user()
    if org is not None and not indicators.may_view(db.session, me, org):
        raise NotFound(str(_l("Not found.")))  # another organisation's: as unknown (its groups too)
    group = _group(org)
    return indicators.compute(db.session, me, org=org, group=group, days=days), group


def _result(org, days):
    sections, group = _sections(org, days)
    return {"days": days, "organisation_id": org.id if org else None, "group_id": group.id if group else None,
            "indicators": indicators.as_json(sections)}


def _csv(org, days) -> Response:
    sections, group = _sections(org, days)
    out = io.StringIO()
    csv.writer(out).writerows(indicators.as_csv_rows(sections))
    name = "-".join(["indicators", *(str(x.id) for x in (org, group) if x is not None), f"{days}d"])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


CSV_RESPONSE = {"200": {"description": "`section,key,label,value` rows: the same figures as the JSON answer "
                                       "(labels starting like a formula are quoted).",
                        "content": {"text/csv": {"schema": {"type": "string"}}}}}


def _admin():
    me = api_user()
    if not admin.is_platform_admin(me):
        raise Forbidden(str(_l("Only a platform admin can do this.")))
    return me


def make_blueprint() -> Blueprint:
    blp = Blueprint("admin_api", __name__, url_prefix="/api/v1",
                    description="Platform administration: indicators (counts only), audit log, suspensions.")
    blp.before_request(require_token)

    @blp.route("/admin/indicators", methods=["GET"])
    @blp.response(200, IndicatorsSchema)
    @blp.doc(summary="Platform indicators (?days=7|30|365&org=<id>&group=<id of one of org's groups>)")
    @document_errors(blp, 400, 401, 403, 404)
    def platform_indicators():
        org_id = request.args.get("org")
        _admin()
        return _result(_org(org_id) if org_id else None, _days())

    @blp.route("/admin/indicators.csv", methods=["GET"])
    @blp.doc(summary="Platform indicators as CSV, like the page's export (same parameters)",
             responses=CSV_RESPONSE)
    @document_errors(blp, 400, 401, 403, 404)
    def platform_indicators_csv():
        org_id = request.args.get("org")
        _admin()
        return _csv(_org(org_id) if org_id else None, _days())

    @blp.route("/orgs/<org_id>/indicators", methods=["GET"])
    @blp.response(200, IndicatorsSchema)
    @blp.doc(summary="An organisation's indicators, for its admins and heads (?days=7|30|365&group=<id>: one "
                     "of its groups' people)")
    @document_errors(blp, 400, 401, 404)
    def organisation_indicators(org_id):
        return _result(_org(org_id), _days())

    @blp.route("/orgs/<org_id>/indicators.csv", methods=["GET"])
    @blp.doc(summary="An organisation's indicators as CSV (same parameters)", responses=CSV_RESPONSE)
    @document_errors(blp, 400, 401, 404)
    def organisation_indicators_csv(org_id):
        return _csv(_org(org_id), _days())

    @blp.route("/admin/accounts", methods=["GET"])
    @blp.response(200, AdminAccountSchema(many=True))
    @blp.doc(summary="Find accounts for suspension: `?email=` (the one account using it, or none) or "
                     "`?suspended=true` (suspended accounts, most recent first, 200 at most)")
    @document_errors(blp, 400, 401, 403)
    def accounts():
        _admin()
        email = (request.args.get("email") or "").strip()
        if email:
            try:
                key = normalise_email(email)
            except ValidationFailed:
                raise ServiceError(str(_l("This is not an e-mail address.")), code="invalid_email",
                                   status=400) from None
            return db.session.scalars(select(User).where(User.email == key)).all()
        if request.args.get("suspended") in ("true", "1"):
            return db.session.scalars(select(User).where(User.suspended_at.is_not(None))
                                      .order_by(User.suspended_at.desc()).limit(200)).all()
        raise ServiceError(str(_l("Give an e-mail address (email=) or ask for suspended accounts "
                                  "(suspended=true).")), code="missing_filter", status=400)

    @blp.route("/admin/audit", methods=["GET"])
    @blp.response(200, AuditEventSchema(many=True))
    @blp.doc(summary="The audit log, newest first (?action=&org=&offset=)")
    @document_errors(blp, 401)
    def audit_log():
        _admin()
        org_id = request.args.get("org")
        return audit.events(db.session, action=request.args.get("action") or None,
                            organisation_id=_org(org_id).id if org_id else None,
                            limit=100, offset=max(request.args.get("offset", 0, type=int), 0))

    @blp.route("/admin/accounts/<user_id>/suspension", methods=["PUT"])
    @blp.response(200, SuspensionSchema)
    @blp.doc(summary="Suspend an account (body: {\"reason\": …})")
    @document_errors(blp, 400, 401, 404, 422)
    def suspend(user_id):
        me = _admin()
        person = admin.get_user(db.session, me, user_id)
        admin.suspend(db.session, me, person, json_object().get("reason"))
        db.session.commit()
        return person

    @blp.route("/admin/accounts/<user_id>/suspension", methods=["DELETE"])
    @blp.response(200, SuspensionSchema)
    @blp.doc(summary="Reinstate a suspended account")
    @document_errors(blp, 401, 404)
    def reinstate(user_id):
        me = _admin()
        person = admin.get_user(db.session, me, user_id)
        admin.reinstate(db.session, me, person)
        db.session.commit()
        return person

    return blp


def register(app) -> None:
    api_package.register(app, make_blueprint())
