"""``/api/v1/grants/<id>/messages``, ``/api/v1/comments``, ``/api/v1/proposals``: working together through
a personal access token, the same operations as the pages (``app.services.collab``).

Texts come back as typed: a client that renders them as HTML must escape them, as the pages do.
A proposed document is sent as ``multipart/form-data`` (fields ``grant_id``, ``note``, ``file``), within
the instance's request size limit; experiences and skills as JSON.
"""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db, limiter
from app.models.collab import Comment, Message, Proposal
from app.services import collab as service
from app.services.errors import ServiceError, ValidationFailed


class TextSchema(ma.Schema):
    body = ma.fields.String(required=True, metadata={"description": "Plain text, at most 5,000 characters."})


class ThreadMessageSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    grant_id = ma.fields.UUID(required=True)
    author_id = ma.fields.UUID(allow_none=True)
    body = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    read_at = ma.fields.DateTime(allow_none=True)


class ThreadMessageListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ThreadMessageSchema), required=True)


class CommentBodySchema(ma.Schema):
    item_type = ma.fields.String(required=True, metadata={"description": "experience, skill, diploma, "
                                                                         "document or credential"})
    item_id = ma.fields.UUID(required=True)
    body = ma.fields.String(required=True)
    parent_id = ma.fields.UUID(metadata={"description": "The comment replied to, on the same item."})


class CommentSchema(CommentBodySchema):
    id = ma.fields.UUID(required=True)
    author_id = ma.fields.UUID(allow_none=True)
    parent_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime(required=True)


class CommentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CommentSchema), required=True)


class CommentQuerySchema(ma.Schema):
    item_type = ma.fields.String(required=True)
    item_id = ma.fields.UUID(required=True)


class ProposalBodySchema(ma.Schema):
    grant_id = ma.fields.UUID(required=True, metadata={"description": "Your grant on the portfolio."})
    kind = ma.fields.String(required=True, metadata={"description": "experience or skill (a document: "
                                                                    "multipart/form-data with a file)"})
    data = ma.fields.Dict(required=True, metadata={"description": "The item's fields, as for the owner's "
                                                                  "own items (without links to other items)."})
    note = ma.fields.String(metadata={"description": "To the owner."})


class ProposalSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    grant_id = ma.fields.UUID(allow_none=True)
    author_id = ma.fields.UUID(allow_none=True)
    kind = ma.fields.String(required=True)
    data = ma.fields.Dict(required=True)
    note = ma.fields.String(required=True)
    filename = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "pending, accepted or declined"})
    decline_reason = ma.fields.String(required=True)
    created_item_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    decided_at = ma.fields.DateTime(allow_none=True)


class ProposalListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ProposalSchema), required=True)


class ProposalQuerySchema(ma.Schema):
    mine = ma.fields.Boolean(load_default=False, metadata={"description": "The proposals you made, instead of "
                                                                          "your portfolio's inbox."})
    status = ma.fields.String(metadata={"description": "pending (default for the inbox), accepted, declined"})


class DeclineSchema(ma.Schema):
    reason = ma.fields.String()


def _message(m: Message) -> dict:
    return {"id": m.id, "grant_id": m.grant_id, "author_id": m.author_id, "body": m.body,
            "created_at": m.created_at, "read_at": m.read_at}


def _comment(c: Comment) -> dict:
    return {"id": c.id, "item_type": c.item_type, "item_id": c.item_id, "author_id": c.author_id,
            "parent_id": c.parent_id, "body": c.body, "created_at": c.created_at}


def _proposal(p: Proposal) -> dict:
    return {name: getattr(p, name) for name in ProposalSchema().fields}


def _only(body: dict, allowed: set) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})


# As the pages: each write may end up in someone's mailbox (in a digest) or inbox.
write_limit = limiter.limit("120/hour", methods=["POST"])


def make_blueprint() -> Blueprint:
    blp = Blueprint("collab_api", __name__, url_prefix="/api/v1",
                    description="Comments on items, message threads with invited people, proposals.")
    blp.before_request(require_token)

    @blp.route("/grants/<grant_id>/messages", methods=["GET"])
    @blp.response(200, ThreadMessageListSchema)
    @blp.doc(summary="The thread of a grant (owner or grantee), oldest first; marks yours read")
    @document_errors(blp, 401, 404)
    def messages(grant_id):
        grant = service.get_grant(db.session, api_user(), grant_id)
        found = service.thread(db.session, api_user(), grant)
        db.session.commit()
        return {"items": [_message(m) for m in found]}

    @blp.route("/grants/<grant_id>/messages", methods=["POST"])
    @blp.response(201, ThreadMessageSchema)
    @blp.doc(summary="Write in the thread of a grant (403 thread_closed once revoked or expired)",
             **json_body(TextSchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    @write_limit
    def post_message(grant_id):
        body = json_object()
        _only(body, {"body"})
        grant = service.get_grant(db.session, api_user(), grant_id)
        created = service.post_message(db.session, api_user(), grant, body.get("body"))
        db.session.commit()
        return _message(created)

    @blp.route("/comments", methods=["GET"])
    @blp.arguments(CommentQuerySchema, location="query")
    @blp.response(200, CommentListSchema)
    @blp.doc(summary="The comments on one item you may read, oldest first")
    @document_errors(blp, 401, 404, 422)
    def comments(args):
        found = service.comments_on(db.session, api_user(), args["item_type"], args["item_id"],
                                    ip=request.remote_addr)
        db.session.commit()  # the access log line
        return {"items": [_comment(c) for c in found]}

    @blp.route("/comments", methods=["POST"])
    @blp.response(201, CommentSchema)
    @blp.doc(summary="Comment on an item (contributors) or reply (the owner)", **json_body(CommentBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    @write_limit
    def add_comment():
        body = json_object()
        _only(body, {"item_type", "item_id", "body", "parent_id"})
        created = service.add_comment(db.session, api_user(), body.get("item_type"), body.get("item_id"),
                                      body.get("body"), body.get("parent_id"), ip=request.remote_addr)
        db.session.commit()
        return _comment(created)

    @blp.route("/proposals", methods=["GET"])
    @blp.arguments(ProposalQuerySchema, location="query")
    @blp.response(200, ProposalListSchema)
    @blp.doc(summary="Your portfolio's inbox (pending by default), or with mine=true the proposals you made")
    @document_errors(blp, 401, 422)
    def proposals(args):
        status = args.get("status")
        if args["mine"]:
            found = [p for p in service.proposals_by(db.session, api_user()) if not status or p.status == status]
        else:
            found = service.inbox(db.session, api_user(), status or "pending")
        return {"items": [_proposal(p) for p in found]}

    @blp.route("/proposals", methods=["POST"])
    @blp.response(201, ProposalSchema)
    @blp.doc(summary="Propose an experience or a skill (JSON) or a document (multipart: grant_id, note, file)",
             **json_body(ProposalBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    @write_limit
    def propose():
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ValidationFailed("Some information is not valid.", fields={"file": "This field is required."})
            created = service.propose_document(db.session, api_user(), request.form.get("grant_id"),
                                               upload.filename, iter(lambda: upload.stream.read(service.READ_SIZE),
                                                                     b""), request.form.get("note", ""),
                                               ip=request.remote_addr)
        else:
            body = json_object()
            _only(body, {"grant_id", "kind", "data", "note"})
            if body.get("kind") == "document":
                raise ServiceError("Send a document as multipart/form-data, in a field named file.",
                                   code="unsupported_media_type", status=415)
            created = service.propose_item(db.session, api_user(), body.get("grant_id"), body.get("kind"),
                                           body.get("data"), body.get("note", ""), ip=request.remote_addr)
        db.session.commit()
        return _proposal(created)

    @blp.route("/proposals/<proposal_id>", methods=["GET"])
    @blp.response(200, ProposalSchema)
    @blp.doc(summary="A proposal you made or one in your inbox")
    @document_errors(blp, 401, 404)
    def proposal(proposal_id):
        return _proposal(service.get_proposal(db.session, api_user(), proposal_id))

    @blp.route("/proposals/<proposal_id>/accept", methods=["POST"])
    @blp.response(200, ProposalSchema)
    @blp.doc(summary="Accept: the item is created in your portfolio (created_item_id); 409 not_pending")
    @document_errors(blp, 401, 404, 422)
    def accept(proposal_id):
        found = service.get_proposal(db.session, api_user(), proposal_id)
        service.accept(db.session, api_user(), found)
        db.session.commit()
        return _proposal(found)

    @blp.route("/proposals/<proposal_id>/decline", methods=["POST"])
    @blp.response(200, ProposalSchema)
    @blp.doc(summary="Decline, with an optional reason shown to its author; 409 not_pending")
    @document_errors(blp, 401, 404, 422)
    def decline(proposal_id):
        body = json_object() if request.content_length else {}
        _only(body, {"reason"})
        found = service.get_proposal(db.session, api_user(), proposal_id)
        service.decline(db.session, api_user(), found, body.get("reason", ""))
        db.session.commit()
        return _proposal(found)

    return blp


def register(app) -> None:
    """Registered by ``app.collab`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
