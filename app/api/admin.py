"""``/api/v1/admin/…`` and ``/api/v1/orgs/<id>/indicators``: the indicators, the audit log and account
suspension, for the platform admin (an organisation's admins read their organisation's indicators)."""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import fields

from app import api as api_package
from app import policy
from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_object
from app.api.schemas import UTCDateTime
from app.extensions import db
from app.models import Organisation
from app.services import admin, audit, indicators
from app.services.errors import Forbidden, NotFound, ServiceError


class IndicatorsSchema(ma.Schema):
    days = fields.Integer(required=True)
    organisation_id = fields.UUID(allow_none=True, required=True)
    indicators = fields.Dict(required=True, metadata={
        "description": "Per section: its title and {key: count}. Counts only, never portfolio content."})


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


def _result(org, days):
    try:
        sections = indicators.compute(db.session, api_user(), org=org, days=days)
    except Forbidden:
        if org is None:
            raise
        raise NotFound(str(_l("Not found."))) from None  # another organisation's: as unknown
    return {"days": days, "organisation_id": org.id if org else None, "indicators": indicators.as_json(sections)}


def _admin():
    me = api_user()
    if not admin.is_platform_admin(me):
        raise Forbidden(str(_l("Only a platform admin can do this.")))
    return me


def make_blueprint() -> Blueprint:
    blp = Blueprint("admin_api", __name__, url_prefix="/api/v1",
                    description="Platform administration: indicators (counts only), audit log, suspensions.")
    blp.before_request(require_token)
    blp.error_sources = ("app.services.indicators", "app.services.admin", "app.api.admin")  # codes in OpenAPI

    @blp.route("/admin/indicators", methods=["GET"])
    @blp.response(200, IndicatorsSchema)
    @blp.doc(summary="Platform indicators (?days=7|30|365&org=<id>)")
    @document_errors(blp, 400, 401, 404)
    def platform_indicators():
        org_id = request.args.get("org")
        _admin()
        return _result(_org(org_id) if org_id else None, _days())

    @blp.route("/orgs/<org_id>/indicators", methods=["GET"])
    @blp.response(200, IndicatorsSchema)
    @blp.doc(summary="An organisation's indicators, for its admins (?days=7|30|365)")
    @document_errors(blp, 400, 401, 404)
    def organisation_indicators(org_id):
        return _result(_org(org_id), _days())

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
