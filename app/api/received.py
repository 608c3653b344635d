"""``/api/v1/received-credentials`` and ``/api/v1/endorsement-requests`` (personal access token): the
owner's "Credentials" section through the API — every credential, attestation and endorsement received,
with the verifier's cached verdict; re-check, hide or show, link a credential to an experience, diploma or
skill and unlink it — and the endorsement requests (the same requests and links as attestations).

Another person's entry, item or request answers 404, as a missing one. The work is
``app.services.received`` and ``app.services.endorsements``.
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_smorest import Blueprint

from app.api.attestations import AttestationRequestSchema, FIELDS, _dump as dump_request
from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.attestations import emails
from app.attestations.public import local_fetch
from app.extensions import db
from app.models.received import LINKABLE_KINDS
from app.services import attestations, endorsements, received
from app.services.errors import ValidationFailed
from app.verification import runner
from badges.fetch import json_fetcher
from badges import messages

KIND = "<any(credential, attestation, endorsement, external):kind>"  # external: app.backpack


class VerdictSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "verified, verified_with_remarks or "
                                                                      "not_verified"})
    reason = ma.fields.String(allow_none=True)
    title = ma.fields.String(required=True, metadata={"description": "In the caller's language."})
    error_codes = ma.fields.List(ma.fields.String(), required=True)
    checked_at = ma.fields.DateTime(required=True)
    stale = ma.fields.Boolean(required=True, metadata={"description": "Older than a day: check again."})


class LinkSchema(ma.Schema):
    item_kind = ma.fields.String(required=True)
    item_id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True)


class EntrySchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={"description": "credential, attestation, endorsement or "
                                                                    "external (a badge earned elsewhere)"})
    id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True)
    issuer = ma.fields.String(required=True, metadata={"description": "Organisation, referee or endorser."})
    date = ma.fields.DateTime(required=True)
    state = ma.fields.String(required=True, metadata={"description": "active, revoked, suspended or expired"})
    hidden = ma.fields.Boolean(required=True)
    url = ma.fields.String(required=True, metadata={"description": "The public page (share it)."})
    json_url = ma.fields.String(required=True)
    png_url = ma.fields.String(required=True, metadata={"description": "The baked PNG."})
    linkedin_url = ma.fields.String(required=True, metadata={"description": "LinkedIn's add-to-profile link."})
    verdict = ma.fields.Nested(VerdictSchema, allow_none=True)
    links = ma.fields.List(ma.fields.Nested(LinkSchema), required=True)
    credential = ma.fields.Dict(required=True, metadata={"description": "The signed document, verbatim."})


class EntryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EntrySchema), required=True)


class VisibilityBodySchema(ma.Schema):
    hidden = ma.fields.Boolean(required=True)


class LinkBodySchema(ma.Schema):
    item_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(LINKABLE_KINDS))
    item_id = ma.fields.UUID(required=True)


class EndorsementRequestSchema(AttestationRequestSchema):
    purpose = ma.fields.String(required=True)
    endorsement_comment = ma.fields.String(allow_none=True)


class EndorsementRequestBodySchema(ma.Schema):
    item_kind = ma.fields.String(required=True, metadata={"description": "skill or credential"})
    item_id = ma.fields.UUID(required=True)
    referee_name = ma.fields.String(required=True)
    referee_email = ma.fields.Email(required=True)
    relationship = ma.fields.String(required=True)
    message = ma.fields.String()


class EndorsementRequestListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EndorsementRequestSchema), required=True)


def dump(entry) -> dict:
    json_url, png_url = entry.public_url + ".json", entry.public_url + ".png"
    verdict = entry.verdict
    return {"kind": entry.kind, "id": entry.id, "title": entry.title, "issuer": entry.issuer, "date": entry.date,
            "state": entry.state, "hidden": entry.hidden, "url": entry.public_url, "json_url": json_url,
            "png_url": png_url, "linkedin_url": entry.linkedin_url, "credential": entry.document,
            "links": [{"item_kind": kind, "item_id": item.id, "title": getattr(item, "title", None) or item.name}
                      for kind, item in entry.links],
            "verdict": None if verdict is None else {
                "status": verdict.status, "reason": verdict.reason, "error_codes": verdict.error_codes,
                "checked_at": verdict.checked_at, "stale": entry.stale,
                "title": messages.verdict_text(verdict.reason or verdict.status, runner.reader_locale())[0]}}


def _dump_request(found) -> dict:
    return {**dump_request(found), "purpose": found.purpose, "endorsement_comment": found.endorsement_comment}


def make_blueprint() -> Blueprint:
    blp = Blueprint("received_credentials", __name__, url_prefix="/api/v1/received-credentials",
                    description="Your Credentials section: credentials, attestations and endorsements received.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.response(200, EntryListSchema)
    @blp.doc(summary="Everything others signed about you, newest first, with the last verdict")
    @document_errors(blp, 401)
    def index():
        return {"items": [dump(e) for e in received.entries(db.session, api_user())]}

    @blp.route(f"/{KIND}/<uuid:entry_id>", methods=["GET"])
    @blp.response(200, EntrySchema)
    @blp.doc(summary="One entry of your Credentials section")
    @document_errors(blp, 401, 404)
    def show(kind, entry_id):
        return dump(received.get(db.session, api_user(), kind, entry_id))

    @blp.route(f"/{KIND}/<uuid:entry_id>/verify", methods=["POST"])
    @blp.response(200, EntrySchema)
    @blp.doc(summary="Run the verifier again and keep its verdict")
    @document_errors(blp, 401, 404)  # and 503 verifier_busy
    def verify(kind, entry_id):
        entry = received.get(db.session, api_user(), kind, entry_id)
        fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
        with runner.slot():
            received.check(db.session, entry, local_fetch(db.session, fallback), locale=runner.reader_locale())
        db.session.commit()
        return dump(entry)

    @blp.route(f"/{KIND}/<uuid:entry_id>/visibility", methods=["POST"])
    @blp.response(200, EntrySchema)
    @blp.doc(summary="Hide it from your portfolio, or show it again", **json_body(VisibilityBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def visibility(kind, entry_id):
        entry = received.get(db.session, api_user(), kind, entry_id)
        hidden = json_object().get("hidden")
        if not isinstance(hidden, bool):
            raise ValidationFailed("Some information is not valid.", fields={"hidden": "true or false."})
        received.set_hidden(db.session, api_user(), entry, hidden)
        db.session.commit()
        return dump(entry)

    @blp.route("/credential/<uuid:entry_id>/links", methods=["POST"])
    @blp.response(201, EntrySchema)
    @blp.doc(summary="Link a received credential to the experience, diploma or skill it proves",
             **json_body(LinkBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def link(entry_id):
        body = json_object()
        unknown = sorted(set(body) - {"item_kind", "item_id"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        received.link(db.session, api_user(), entry_id, body.get("item_kind"), body.get("item_id"))
        db.session.commit()
        return dump(received.get(db.session, api_user(), "credential", entry_id))

    @blp.route("/credential/<uuid:entry_id>/links/<any(experience, diploma, skill):item_kind>/<uuid:item_id>",
               methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Unlink a credential from an item")
    @document_errors(blp, 401, 404)
    def unlink(entry_id, item_kind, item_id):
        received.unlink(db.session, api_user(), entry_id, item_kind, item_id)
        db.session.commit()
        return ""

    return blp


def make_requests_blueprint() -> Blueprint:
    blp = Blueprint("endorsement_requests", __name__, url_prefix="/api/v1/endorsement-requests",
                    description="Ask someone to endorse a skill or a received credential; follow the answers.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @blp.response(201, EndorsementRequestSchema)
    @blp.doc(summary="Ask someone (who will sign in) to endorse a skill or a received credential",
             description="`item_kind` is `skill` or `credential`. Reminders and cancellation: "
                         "`/api/v1/attestation-requests/<id>/remind` and `/cancel` (the same requests).",
             **json_body(EndorsementRequestBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def create():
        body = json_object()
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        created, raw = endorsements.request_endorsement(
            db.session, api_user(), body.get("item_kind"), body.get("item_id"),
            referee_name=body.get("referee_name"), referee_email=body.get("referee_email"),
            relationship=body.get("relationship"), message=body.get("message"))
        db.session.commit()
        emails.send_request(created, raw)
        return _dump_request(created)

    @blp.route("", methods=["GET"])
    @blp.response(200, EndorsementRequestListSchema)
    @blp.doc(summary="List your endorsement requests, newest first")
    @document_errors(blp, 401)
    def index():
        return {"items": [_dump_request(r) for r in attestations.list_for(db.session, api_user(),
                                                                           purpose="endorsement")]}

    return blp


def register(app) -> None:
    """Registered by ``app.credentials`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint(), make_requests_blueprint())
