"""``/api/v1/attestation-requests``: the owner's attestation requests (personal access token).

Create one for an experience or a skill of the caller's portfolio, list them (with their status), read
one, cancel it, send a reminder. Another person's item or request answers 404, as a missing one. The
referee's side has no API: it is the e-mailed link, a page by design (no account, no token).
The work is ``app.services.attestations``; the mails are ``app.attestations.emails``.
"""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.attestations import emails
from app.extensions import db
from app.models.attestations import AttestationRequest
from app.services import attestations as service
from app.services.errors import ValidationFailed

FIELDS = {"item_kind", "item_id", "referee_name", "referee_email", "relationship", "message"}


class RequestBodySchema(ma.Schema):
    item_kind = ma.fields.String(required=True, metadata={"description": "experience or skill"})
    item_id = ma.fields.UUID(required=True)
    referee_name = ma.fields.String(metadata={"description": "Required unless certifier_id is given."})
    referee_email = ma.fields.Email(metadata={"description": "Required unless certifier_id is given."})
    certifier_id = ma.fields.UUID(metadata={"description": (
        "A person holding an active certifier grant on your portfolio that covers the item: their account's "
        "address (and name, unless referee_name is given) are used.")})
    relationship = ma.fields.String(required=True, metadata={"description": "e.g. tutor, colleague"})
    message = ma.fields.String(metadata={"description": "To the referee (at most 2,000 characters)."})


class AttestationRequestSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    item_kind = ma.fields.String(required=True)
    item_id = ma.fields.UUID(required=True)
    item_title = ma.fields.String(required=True)
    statement = ma.fields.String(required=True, metadata={"description": "As confirmed, when corrected."})
    referee_name = ma.fields.String(required=True)
    referee_email = ma.fields.String(required=True)
    relationship = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "pending, confirmed, declined, "
                                                                       "cancelled or expired."})
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    reminders = ma.fields.Integer(required=True)
    decline_reason = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True, metadata={"description": "The public attestation, once confirmed."})
    credential = ma.fields.Dict(allow_none=True, metadata={"description": "The signed OB 3.0 credential."})


class AttestationListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AttestationRequestSchema), required=True)


def _dump(r: AttestationRequest) -> dict:
    confirmed = r.status == "confirmed"
    return {"id": r.id, "item_kind": r.item_kind, "item_id": r.item_id, "item_title": r.item_title,
            "statement": r.final_statement, "referee_name": r.referee_name, "referee_email": r.referee_email,
            "relationship": r.referee_relationship, "status": r.shown_status, "created_at": r.created_at,
            "expires_at": r.expires_at, "decided_at": r.decided_at, "reminders": r.reminders,
            "decline_reason": r.decline_reason, "url": service.public_url(r.id) if confirmed else None,
            "credential": r.document if confirmed else None}


def make_blueprint() -> Blueprint:
    blp = Blueprint("attestation_requests", __name__, url_prefix="/api/v1/attestation-requests",
                    description="Ask referees to confirm your experiences and skills; follow the answers.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @blp.response(201, AttestationRequestSchema)
    @blp.doc(summary="Ask a referee to confirm an experience or a skill", **json_body(RequestBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)  # and 409 too_many_pending
    def create():
        body = json_object()
        unknown = sorted(set(body) - FIELDS - {"certifier_id"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        created, raw = service.create(db.session, api_user(), body.get("item_kind"), body.get("item_id"),
                                      referee_name=body.get("referee_name"),
                                      referee_email=body.get("referee_email"),
                                      relationship=body.get("relationship"), message=body.get("message"),
                                      certifier_id=body.get("certifier_id"))
        db.session.commit()
        emails.send_request(created, raw)
        return _dump(created)

    @blp.route("", methods=["GET"])
    @blp.response(200, AttestationListSchema)
    @blp.doc(summary="List your attestation requests, newest first")
    @document_errors(blp, 401)
    def index():
        return {"items": [_dump(r) for r in service.list_for(db.session, api_user())]}

    @blp.route("/<uuid:request_id>", methods=["GET"])
    @blp.response(200, AttestationRequestSchema)
    @blp.doc(summary="One of your attestation requests")
    @document_errors(blp, 401, 404)
    def show(request_id):
        return _dump(service.get_owned(db.session, api_user(), request_id))

    @blp.route("/<uuid:request_id>/cancel", methods=["POST"])
    @blp.response(200, AttestationRequestSchema)
    @blp.doc(summary="Cancel a pending request (its link stops working)")
    @document_errors(blp, 401, 404)  # and 409 not_pending
    def cancel(request_id):
        found = service.get_owned(db.session, api_user(), request_id)
        service.cancel(db.session, api_user(), found)
        db.session.commit()
        return _dump(found)

    @blp.route("/<uuid:request_id>/remind", methods=["POST"])
    @blp.response(200, AttestationRequestSchema)
    @blp.doc(summary="Send a reminder with a new link (once a day, three times at most)")
    @document_errors(blp, 401, 404, 429)  # and 409 not_pending
    def remind(request_id):
        found = service.get_owned(db.session, api_user(), request_id)
        raw = service.remind(db.session, api_user(), found)
        db.session.commit()
        emails.send_request(found, raw, reminder=True)
        return _dump(found)

    return blp


def register(app) -> None:
    """Registered by ``app.attestations`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
