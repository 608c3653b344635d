"""``/api/v1/grants``, ``/api/v1/invitations``, ``/api/v1/shared-with-me`` and the owner's
``/api/v1/access-log`` (personal access token).

The owner invites (``POST /grants``: ``email``, ``role``, ``scope``, optional ``expires_at`` and
``message``), lists, changes (``PATCH``) and revokes (``DELETE``) grants. The invitee lists the pending
invitations to their verified address, accepts one, then reads what is shared with them: exactly the
items in scope (``app.services.grants.shared_items``, logged in the owner's access log). Another owner's
grant, a revoked or expired one, answers 404 as a missing one. The work is ``app.services.grants``.
"""
from __future__ import annotations

from datetime import timezone

import marshmallow as ma
from flask import request
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.documents import CONTENT_CSP, content_response
from app.extensions import db, talisman
from app.models import Grant
from app.services import access_log, grants as service
from app.services.errors import ValidationFailed
from app.sharing import emails
from app.sharing.limits import mail_limit

CREATE_FIELDS = {"email", "role", "scope", "expires_at", "message"}
CHANGE_FIELDS = {"role", "scope", "expires_at"}


class ScopeEntrySchema(ma.Schema):
    type = ma.fields.String(required=True, metadata={
        "description": "experience, skill, diploma, document, credential or section"})
    id = ma.fields.String(required=True, metadata={
        "description": "The item's id (a `credential` is one issued here or a badge earned elsewhere), or "
                       "the section's name (profile, experiences, diplomas, skills, documents, credentials, "
                       "journal)"})


class GrantBodySchema(ma.Schema):
    email = ma.fields.Email(required=True)
    role = ma.fields.String(required=True, metadata={"description": "viewer, contributor, certifier, guardian or counsellor"})
    scope = ma.fields.Raw(metadata={"description": '"all" (default: every section but the journal) or a list '
                                                   'of {"type", "id"}'})
    expires_at = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601 date or time; none: no end"})
    message = ma.fields.String(metadata={"description": "To the invitee (at most 2,000 characters)."})


class GrantChangeSchema(ma.Schema):
    role = ma.fields.String()
    scope = ma.fields.Raw()
    expires_at = ma.fields.String(allow_none=True)


class GrantSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    email = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    scope = ma.fields.Raw(required=True)
    status = ma.fields.String(required=True, metadata={"description": "pending, active, expired or revoked"})
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    group_id = ma.fields.UUID(allow_none=True, metadata={
        "description": "A share with the staff of a group (email is then empty)"})
    group_role = ma.fields.String(allow_none=True, metadata={
        "description": "teacher, counsellor, or none: all staff"})
    label = ma.fields.String(metadata={
        "description": "Whom the grant names, e.g. the teachers of 4e B (school)"})
    reaches = ma.fields.List(ma.fields.String(), metadata={
        "description": "The e-mail of each person a group grant reaches now (a person's grant: the grantee)"})


class GrantListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(GrantSchema), required=True)


class InvitationSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    owner = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(allow_none=True)


class InvitationListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InvitationSchema), required=True)


class SharedSchema(ma.Schema):
    id = ma.fields.UUID(required=True, metadata={"description": "The grant's id"})
    owner = ma.fields.String(required=True)
    headline = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    changes_since_last_visit = ma.fields.Integer(required=True)


class SharedListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SharedSchema), required=True)


class SharedPortfolioSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    owner = ma.fields.String(required=True)
    headline = ma.fields.String(required=True)
    role = ma.fields.String(required=True)
    profile = ma.fields.Dict(allow_none=True)
    experiences = ma.fields.List(ma.fields.Dict(), required=True)
    diplomas = ma.fields.List(ma.fields.Dict(), required=True)
    skills = ma.fields.List(ma.fields.Dict(), required=True)
    documents = ma.fields.List(ma.fields.Dict(), required=True)
    credentials = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "Issued here (`kind` credential) and earned elsewhere (`kind` external, with the "
                       "verifier's last `verdict`, `state` and `recipient`)"})
    journal = ma.fields.List(ma.fields.Dict(), required=True)


class AccessEventSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    at = ma.fields.DateTime(required=True)
    action = ma.fields.String(required=True, metadata={"description": "view, download, export, comment, propose"})
    object_type = ma.fields.String(allow_none=True)
    object_id = ma.fields.UUID(allow_none=True)
    object_title = ma.fields.String(required=True, metadata={"description": "Empty once the object is gone"})
    who = ma.fields.String(required=True, metadata={"description": "The reader's name and e-mail, or empty"})
    share_link = ma.fields.String(allow_none=True, metadata={"description": "The share link's label, if any"})
    network = ma.fields.String(required=True, metadata={"description": "The IP address cut to its /24 or /48"})


class AccessLogSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AccessEventSchema), required=True)
    next = ma.fields.String(allow_none=True, metadata={"description": "Pass as ?before= for older events"})


class AccessLogArgs(ma.Schema):
    before = ma.fields.AwareDateTime(load_default=None, default_timezone=timezone.utc)


def _dump(grant: Grant) -> dict:
    return {"id": grant.id, "email": grant.email, "role": grant.role, "scope": grant.scope,
            "status": grant.status, "created_at": grant.created_at, "expires_at": grant.expires_at,
            "accepted_at": grant.accepted_at, "revoked_at": grant.revoked_at, **_group_fields(grant)}


def _group_fields(grant: Grant) -> dict:
    """A group grant names the staff of a group: its label and each person it reaches now."""
    if grant.group_id is None:
        return {"group_id": None, "group_role": None}
    from app.institutions.routes import group_grant_reach  # noqa: PLC0415
    reach = group_grant_reach(grant)
    return {"group_id": grant.group_id, "group_role": grant.group_role, "label": reach["label"],
            "reaches": reach["emails"]}


def _owner_name(grant: Grant) -> str:
    return grant.portfolio.display_name or grant.portfolio.owner.email


def _refuse_unknown(body: dict, allowed: set) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})


def _iso(value):
    return value.isoformat() if value is not None else None


def _item(section: str, item, grant_id) -> dict:
    """The read-only JSON of a shared item: its content, never the owner's internal fields."""
    base = {"id": str(item.id)}
    if section == "experiences":
        return {**base, "kind": item.kind, "title": item.title, "organisation": item.organisation,
                "place": item.place, "start_date": _iso(item.start_date), "end_date": _iso(item.end_date),
                "description": item.description}
    if section == "diplomas":
        return {**base, "title": item.title, "awarding_body": item.awarding_body,
                "awarded_on": _iso(item.awarded_on), "level": item.level}
    if section == "skills":
        return {**base, "name": item.name, "level": item.level, "framework": item.framework,
                "description": item.description}
    if section == "documents":
        return {**base, "name": item.name, "description": item.description, "content_type": item.content_type,
                "size": item.size, "sha256": item.sha256,
                "download_url": f"/shared/{grant_id}/documents/{item.id}",  # the browser's (signed in)
                "content_url": f"/api/v1/shared-with-me/{grant_id}/documents/{item.id}"}  # with the token
    if section == "credentials":
        return {**base, "kind": "credential", "name": service.title_of(item), "issuer": item.organisation.name,
                "issued_at": _iso(item.issued_at), "url": f"/credentials/{item.id}", "credential": item.document}
    return {**base, "title": item.title, "body": item.body}  # journal


def _external_item(entry) -> dict:
    """A badge earned elsewhere in the shared credentials: as an issued one, plus what the verifier said
    when it last checked it (``verdict``), its ``state`` and whom it names (``recipient``)."""
    row, verdict = entry.row, entry.verdict
    return {"id": str(row.id), "kind": "external", "name": entry.title, "issuer": entry.issuer,
            "issued_at": _iso(row.issued_at), "url": entry.public_path, "credential": row.document,
            "state": entry.state, "recipient": row.recipient,
            "verdict": None if verdict is None else {"status": verdict.status, "reason": verdict.reason,
                                                     "checked_at": _iso(verdict.checked_at)}}


# Each invitation is an e-mail with the owner's own message to any address: the Sharing page's budget.
invite_limit = mail_limit


def make_blueprint() -> Blueprint:
    blp = Blueprint("grants_api", __name__, url_prefix="/api/v1",
                    description="Share your portfolio with people (roles, scopes); read what is shared with you.")
    blp.before_request(require_token)

    @blp.route("/grants", methods=["POST"])
    @blp.response(201, GrantSchema)
    @blp.doc(summary="Invite a person by e-mail with a role and a scope", **json_body(GrantBodySchema))
    @document_errors(blp, 400, 401, 415, 422, 429)  # and 409 already_invited, revoked
    @invite_limit
    def create():
        body = json_object()
        _refuse_unknown(body, CREATE_FIELDS)
        grant, raw = service.invite(db.session, api_user(), email=body.get("email"), role=body.get("role"),
                                    scope=body.get("scope", "all"), expires_at=body.get("expires_at"),
                                    message=body.get("message"))
        db.session.commit()
        emails.send_invitation(grant, raw)
        return _dump(grant)

    @blp.route("/grants", methods=["GET"])
    @blp.response(200, GrantListSchema)
    @blp.doc(summary="The people you share your portfolio with, newest first")
    @document_errors(blp, 401)
    def index():
        return {"items": [_dump(grant) for grant in service.list_for_owner(db.session, api_user())]}

    @blp.route("/grants/<uuid:grant_id>", methods=["GET"])
    @blp.response(200, GrantSchema)
    @blp.doc(summary="One of your grants")
    @document_errors(blp, 401, 404)
    def show(grant_id):
        return _dump(service.owned_grant(db.session, api_user(), grant_id))

    @blp.route("/grants/<uuid:grant_id>", methods=["PATCH"])
    @blp.response(200, GrantSchema)
    @blp.doc(summary="Change a grant's role, scope or end of access", **json_body(GrantChangeSchema))
    @document_errors(blp, 400, 401, 404, 415, 422)  # and 409 revoked
    def change(grant_id):
        body = json_object()
        _refuse_unknown(body, CHANGE_FIELDS)
        grant = service.owned_grant(db.session, api_user(), grant_id)
        service.change(db.session, api_user(), grant, role=body.get("role"), scope=body.get("scope"),
                       expires_at=body["expires_at"] if "expires_at" in body else ...)
        db.session.commit()
        return _dump(grant)

    @blp.route("/grants/<uuid:grant_id>", methods=["DELETE"])
    @blp.response(200, GrantSchema)
    @blp.doc(summary="Revoke a grant (at once; idempotent)")
    @document_errors(blp, 401, 404)
    def revoke(grant_id):
        grant = service.owned_grant(db.session, api_user(), grant_id)
        service.revoke(db.session, api_user(), grant)
        db.session.commit()
        return _dump(grant)

    @blp.route("/invitations", methods=["GET"])
    @blp.response(200, InvitationListSchema)
    @blp.doc(summary="Pending invitations to your (verified) address")
    @document_errors(blp, 401)
    def invitations():
        return {"items": [{"id": g.id, "owner": _owner_name(g), "role": g.role, "message": g.message,
                           "expires_at": g.expires_at} for g in service.invitations_for(db.session, api_user())]}

    @blp.route("/invitations/<uuid:grant_id>/accept", methods=["POST"])
    @blp.response(200, SharedSchema)
    @blp.doc(summary="Accept an invitation to your verified address")
    @document_errors(blp, 401, 404)
    def accept(grant_id):
        grant = service.accept(db.session, api_user(), grant_id)
        db.session.commit()
        return _shared(grant, 0)

    @blp.route("/shared-with-me", methods=["GET"])
    @blp.response(200, SharedListSchema)
    @blp.doc(summary="The portfolios shared with you, with the changes since your last visit")
    @document_errors(blp, 401)
    def shared():
        return {"items": [_shared(entry["grant"], entry["count"])
                          for entry in service.recent_changes(db.session, api_user())]}

    @blp.route("/shared-with-me/<uuid:grant_id>", methods=["GET"])
    @blp.response(200, SharedPortfolioSchema)
    @blp.doc(summary="What one grant shows you: exactly the items in its scope (logged for the owner)")
    @document_errors(blp, 401, 404)
    def shared_portfolio(grant_id):
        grant = service.active_grant(db.session, api_user(), grant_id)
        shown = service.shared_items(db.session, api_user(), grant, ip=request.remote_addr)
        db.session.commit()
        portfolio = shown["portfolio"]
        body = {"id": grant.id, "owner": _owner_name(grant), "headline": portfolio.headline, "role": grant.role,
                "profile": {"bio": portfolio.bio, "location": portfolio.location, "email": portfolio.contact_email,
                            "phone": portfolio.phone, "website": portfolio.website} if shown["profile"] else None}
        for section in service.SECTION_MODELS:
            body[section] = [_item(section, item, grant.id) for item in shown[section]]
        body["credentials"] += [_external_item(entry) for entry in shown["external_credentials"]]
        return body

    @blp.route("/shared-with-me/<uuid:grant_id>/documents/<uuid:document_id>", methods=["GET"])
    @talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
    @blp.doc(summary="Download a shared document (in the grant's scope; logged for the owner)",
             description="As `GET /api/v1/documents/<id>/content` for the owner: an attachment, one `Range`.",
             responses={"200": {"description": "The whole document"}, "206": {"description": "The range"}})
    @document_errors(blp, 401, 404)
    def shared_document(grant_id, document_id):
        """An API client reads what the grant shows (``shared_items``) and must be able to fetch its
        documents with the same token: the browser route (``download_url``) needs a signed-in session."""
        grant = service.active_grant(db.session, api_user(), grant_id)
        document = service.shared_document(db.session, api_user(), grant, document_id, ip=request.remote_addr)
        db.session.commit()
        return content_response(grant.portfolio.owner, document)

    @blp.route("/access-log", methods=["GET"])
    @blp.arguments(AccessLogArgs, location="query")
    @blp.response(200, AccessLogSchema)
    @blp.doc(summary="Your access log: who read what in your portfolio, newest first")
    @document_errors(blp, 401, 422)
    def access_log_events(args):
        portfolio = api_user().portfolio
        return access_log_body(access_log.events(db.session, portfolio.id, before=args["before"]))

    return blp


def access_log_body(events) -> dict:
    """One page of an access log as the API gives it (the owner's, and a guardian's view of a minor's)."""
    return {"items": [{"id": e.id, "at": e.created_at, "action": e.action, "object_type": e.object_type,
                       "object_id": e.object_id,
                       "object_title": service.object_title(db.session, e.object_type, e.object_id),
                       "who": e.actor_label, "share_link": e.share_link_label if e.share_link_id else None,
                       "network": e.ip} for e in events],
            "next": events[-1].created_at.isoformat() if len(events) == access_log.PAGE_SIZE else None}


def _shared(grant: Grant, changes: int) -> dict:
    return {"id": grant.id, "owner": _owner_name(grant), "headline": grant.portfolio.headline,
            "role": grant.role, "expires_at": grant.expires_at, "changes_since_last_visit": changes}


def register(app) -> None:
    """Registered by ``app.sharing`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
