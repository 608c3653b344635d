"""``/api/v1/backpack`` (personal access token): badges earned elsewhere — add one (a multipart ``file``:
baked PNG/SVG, OB JSON, VC-JWT or CLR 2.0; or JSON ``{"url": …}`` for an OB 2.0 hosted assertion), with
``dry_run`` for the preview and ``accept_unverified`` to keep one that does not verify; list, read,
delete, verify again, link to the experience, diploma or skill it proves. Hiding one is the Credentials
section's route (``/api/v1/received-credentials/external/<id>/visibility``), as for every entry there.

Another person's badge answers 404, as a missing one. The work is ``app.services.backpack``.
"""
from __future__ import annotations

import marshmallow as ma
from flask import request, url_for
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.received import LinkBodySchema, LinkSchema, VerdictSchema
from app.backpack.routes import fetcher
from app.database import utcnow
from app.extensions import db
from app.services import backpack, received
from app.services.errors import ServiceError, ValidationFailed
from app.verification import runner
from app.verification.routes import verify_limit
from badges import messages

FIELDS = {"url", "accept_unverified", "dry_run"}


class BadgeSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    format = ma.fields.String(required=True, metadata={"description": "ob2, ob3-di, ob3-jwt or clr-member"})
    title = ma.fields.String(required=True, metadata={"description": "The achievement's name."})
    description = ma.fields.String(allow_none=True)
    issuer = ma.fields.String(required=True)
    issuer_id = ma.fields.String(allow_none=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    state = ma.fields.String(required=True, metadata={"description": "active, expired, revoked or suspended"})
    hidden = ma.fields.Boolean(required=True)
    recipient = ma.fields.String(allow_none=True, metadata={
        "description": "Whom the badge names: `you` (the account's address), `someone_else` (kept after "
                       "confirmation), or null (it names no e-mail address: not checked)"})
    url = ma.fields.String(required=True, metadata={"description": "Its page (reachable by whoever has the "
                                                                   "address, unless hidden)."})
    original_url = ma.fields.String(required=True, metadata={"description": "The badge as issued (JSON or JWS)."})
    image_url = ma.fields.String(allow_none=True, metadata={"description": "The baked image as given."})
    source_url = ma.fields.String(allow_none=True)
    bundle = ma.fields.Dict(allow_none=True, metadata={"description": "For a clr-member: the CLR that carried "
                                                                      "it and the verifier's status of that CLR."})
    verdict = ma.fields.Nested(VerdictSchema, allow_none=True)
    links = ma.fields.List(ma.fields.Nested(LinkSchema), required=True)
    credential = ma.fields.Dict(required=True, metadata={"description": "The credential (a VC-JWT decoded)."})
    created_at = ma.fields.DateTime(required=True)


class BadgeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BadgeSchema), required=True)


class CandidateSchema(ma.Schema):
    format = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    issuer = ma.fields.String(required=True)
    issued_at = ma.fields.DateTime(allow_none=True)
    status = ma.fields.String(required=True, metadata={"description": "verified, verified_with_remarks or "
                                                                      "not_verified"})
    reason = ma.fields.String(allow_none=True)
    title_of_verdict = ma.fields.String(required=True, metadata={"description": "In the caller's language."})
    duplicate_of = ma.fields.UUID(allow_none=True, metadata={"description": "Already in the backpack as this id."})
    issued_here = ma.fields.UUID(allow_none=True, metadata={"description": "Your own credential issued on this "
                                                                           "platform: in your Credentials section "
                                                                           "already, not added."})
    recipient = ma.fields.String(allow_none=True, metadata={"description": "you, someone_else, or null when "
                                                                           "the badge names no e-mail address"})


class AddResultSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    candidates = ma.fields.List(ma.fields.Nested(CandidateSchema), required=True)
    items = ma.fields.List(ma.fields.Nested(BadgeSchema), required=True,
                           metadata={"description": "The entries (empty for a dry run)."})
    added = ma.fields.Integer(required=True)


class AddBodySchema(ma.Schema):
    url = ma.fields.String(required=True, metadata={"description": "An OB 2.0 hosted assertion (https)."})
    accept_unverified = ma.fields.Boolean(metadata={"description": "Keep a badge that does not verify."})
    dry_run = ma.fields.Boolean(metadata={"description": "Only read and verify: store nothing."})


UPLOAD = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "A baked badge (PNG, SVG), an OB JSON file, a VC-JWT or a CLR 2.0 (5 MB at most)."},
        "accept_unverified": {"type": "boolean"}, "dry_run": {"type": "boolean"}}}},
    "application/json": {"schema": AddBodySchema}}}}


def dump(row, verdict=None) -> dict:
    verdict = verdict if verdict is not None else backpack.verdict(db.session, row)
    items = []
    for link in row.links:
        item = db.session.get(received.ITEM_MODELS[link.item_kind], link.item_id)
        if item is not None:
            items.append({"item_kind": link.item_kind, "item_id": item.id,
                          "title": getattr(item, "title", None) or item.name})
    image = None
    if row.image_type == "image/png":
        image = url_for("backpack.image_png", badge_id=row.id, _external=True)
    elif row.image_type == "image/svg+xml":
        image = url_for("backpack.image_svg", badge_id=row.id, _external=True)
    return {
        "id": row.id, "format": row.format, "title": row.achievement_name,
        "description": row.achievement_description,
        "issuer": row.issuer_name, "issuer_id": row.issuer_id, "issued_at": row.issued_at,
        "expires_at": row.expires_at, "state": backpack.state(row, verdict), "hidden": row.hidden,
        "recipient": row.recipient, "url": url_for("backpack.page", badge_id=row.id, _external=True),
        "original_url": url_for("backpack.original", badge_id=row.id, _external=True), "image_url": image,
        "source_url": row.source_url, "bundle": row.bundle, "credential": row.document, "links": items,
        "created_at": row.created_at,
        "verdict": None if verdict is None else {
            "status": verdict.status, "reason": verdict.reason, "error_codes": verdict.error_codes,
            "checked_at": verdict.checked_at, "stale": verdict.checked_at <= utcnow() - received.VERDICT_TTL,
            "title": messages.verdict_text(verdict.reason or verdict.status, runner.reader_locale())[0]}}


def _candidate(c) -> dict:
    return {"format": c.format, "title": c.achievement_name, "issuer": c.issuer_name, "issued_at": c.issued_at,
            "status": c.status, "reason": c.reason, "recipient": c.recipient,
            "title_of_verdict": messages.verdict_text(c.reason or c.status, runner.reader_locale())[0],
            "duplicate_of": c.existing.id if c.existing is not None else None,
            "issued_here": c.issued_here.id if c.issued_here is not None else None}


def _flag(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    if value is None:
        return False
    raise ValidationFailed("Some information is not valid.", fields={name: "true or false."})


def _input() -> tuple[bytes | None, str | None, str | None, dict]:
    """(payload, filename, url, options) from a multipart ``file`` or a JSON body with ``url``."""
    if (request.mimetype or "") == "multipart/form-data":
        if (request.content_length or 0) > backpack.MAX_IMAGE + 64 * 1024:
            raise ServiceError("A badge file is at most 5 MB.", code="too_large", status=413)
        upload = request.files.get("file")
        if upload is None:
            raise ServiceError("Send the badge as the multipart field “file”.", code="no_input", status=400)
        data = upload.read(backpack.MAX_IMAGE + 1)
        if len(data) > backpack.MAX_IMAGE:
            raise ServiceError("A badge file is at most 5 MB.", code="too_large", status=413)
        if not data:
            raise ServiceError("The file is empty.", code="empty_file", status=400)
        return data, upload.filename, None, dict(request.form)
    body = json_object()
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
    url = body.get("url")
    if not isinstance(url, str) or not url.strip() or len(url) > 2048:
        raise ValidationFailed("Some information is not valid.", fields={"url": "An https address."})
    return None, None, url.strip(), body


def make_blueprint() -> Blueprint:
    blp = Blueprint("Backpack", __name__, url_prefix="/api/v1/backpack",
                    description="Badges earned elsewhere: add (verified), list, verify again, link, delete.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @verify_limit
    @blp.response(201, AddResultSchema)
    @blp.alt_response(200, schema=AddResultSchema, description="A dry run: what would be added.")
    @blp.doc(summary="Add a badge earned elsewhere (verified on import)",
             description="A `file` (multipart) or a JSON `url`. A new badge that does not verify is refused "
                         "(422 `credential_not_verified`, nothing stored) unless `accept_unverified` is true; so is "
                         "one issued to another e-mail address (422 `recipient_not_you`). "
                         "A badge already in the backpack comes back as it is (`added` counts only new ones). "
                         "Not a badge: 422 with `no_badge`, `unsupported_document`, `not_a_badge`, … ; an "
                         "address the SSRF guard refuses (private, loopback, http): 422 `fetch_refused`.",
             **UPLOAD)
    @document_errors(blp, 400, 401, 415, 422, 429)
    def create():
        payload, filename, url, options = _input()
        dry_run = _flag(options.get("dry_run"), "dry_run")
        accept = _flag(options.get("accept_unverified"), "accept_unverified")
        user = api_user()
        with runner.slot():
            found = backpack.preview(db.session, user, payload, filename=filename, url=url, fetch=fetcher(),
                                     locale=runner.reader_locale())
        if dry_run:
            return {"dry_run": True, "candidates": [_candidate(c) for c in found], "items": [], "added": 0}, 200
        rows = backpack.add(db.session, user, candidates=found, accept_unverified=accept)
        db.session.commit()
        added = sum(1 for c in found if c.is_new)
        return {"dry_run": False, "candidates": [_candidate(c) for c in found], "items": [dump(r) for r in rows],
                "added": added}, 201 if added else 200

    @blp.route("", methods=["GET"])
    @blp.response(200, BadgeListSchema)
    @blp.doc(summary="Your badges from elsewhere, newest first, with the last verdict")
    @document_errors(blp, 401)
    def index():
        return {"items": [dump(row) for row in backpack.owned(db.session, api_user())]}

    @blp.route("/<uuid:badge_id>", methods=["GET"])
    @blp.response(200, BadgeSchema)
    @blp.doc(summary="One badge from elsewhere")
    @document_errors(blp, 401, 404)
    def show(badge_id):
        return dump(backpack.get(db.session, api_user(), badge_id))

    @blp.route("/<uuid:badge_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Delete a badge from your backpack (its links and verdict go with it)")
    @document_errors(blp, 401, 404)
    def remove(badge_id):
        user = api_user()
        backpack.delete(db.session, user, backpack.get(db.session, user, badge_id))
        db.session.commit()
        return ""

    @blp.route("/<uuid:badge_id>/verify", methods=["POST"])
    @verify_limit
    @blp.response(200, BadgeSchema)
    @blp.doc(summary="Run the verifier again on the badge as imported, and keep its verdict")
    @document_errors(blp, 401, 404, 429)  # and 503 verifier_busy
    def verify(badge_id):
        row = backpack.get(db.session, api_user(), badge_id)
        with runner.slot():
            found = backpack.recheck(db.session, row, fetcher(), locale=runner.reader_locale())
        db.session.commit()
        return dump(row, found)

    @blp.route("/<uuid:badge_id>/links", methods=["POST"])
    @blp.response(201, BadgeSchema)
    @blp.doc(summary="Link a badge to the experience, diploma or skill it proves", **json_body(LinkBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def link(badge_id):
        user = api_user()
        row = backpack.get(db.session, user, badge_id)
        body = json_object()
        unknown = sorted(set(body) - {"item_kind", "item_id"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        backpack.link(db.session, user, row, body.get("item_kind"), body.get("item_id"))
        db.session.commit()
        db.session.refresh(row)
        return dump(row)

    @blp.route("/<uuid:badge_id>/links/<any(experience, diploma, skill):item_kind>/<uuid:item_id>",
               methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Unlink a badge from an item")
    @document_errors(blp, 401, 404)
    def unlink(badge_id, item_kind, item_id):
        user = api_user()
        backpack.unlink(db.session, user, backpack.get(db.session, user, badge_id), item_kind, item_id)
        db.session.commit()
        return ""

    return blp


def register(app) -> None:
    """Registered by ``app.backpack`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
