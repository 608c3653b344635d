"""``/api/v1``: awarding and revoking (organisation members and organisation tokens), and the owner's
received credentials.

Who calls: a personal access token (``sil_...``, a person: they act as that person's organisation role),
or an organisation token (``silo_...``, ``orgs.organisation_for_token``: it acts for its own organisation
only). An organisation the caller is not an issuer of answers 404, an unapproved one 403
``organisation_not_approved``; an object of another organisation, 404. The work is ``app.services.awarding``.
"""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api.auth import api_user, require_principal, require_token
from app.api.common import decode_cursor, document_errors, json_body, json_object, page
from app.credentials import emails
from app.extensions import db
from app.models.credentials import Credential
from app.services import achievements, awarding, orgs
from app.services.errors import NotFound, ValidationFailed

MAX_LIMIT = 100


class AwardBodySchema(ma.Schema):
    recipient = ma.fields.Email(required=True, metadata={"description": "The recipient's e-mail address."})
    narrative = ma.fields.String(metadata={"description": "Why it is awarded (at most 5,000 characters)."})
    evidence = ma.fields.List(ma.fields.Url(), metadata={"description": "Evidence URLs (at most 10)."})


class ReasonBodySchema(ma.Schema):
    reason = ma.fields.String(metadata={"description": "Required to revoke; optional to suspend."})


class CredentialSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    achievement_id = ma.fields.UUID(required=True)
    organisation_id = ma.fields.UUID(required=True)
    state = ma.fields.String(required=True, metadata={"description": "active, suspended, revoked or expired."})
    issued_at = ma.fields.DateTime(required=True)
    valid_until = ma.fields.DateTime(allow_none=True)
    url = ma.fields.String(required=True, metadata={"description": "The public page."})
    json_url = ma.fields.String(required=True)
    delivered = ma.fields.Boolean(required=True, metadata={"description": "In a portfolio already."})
    hidden = ma.fields.Boolean()
    revocation_reason = ma.fields.String(allow_none=True)
    suspension_reason = ma.fields.String(allow_none=True)
    credential = ma.fields.Dict(metadata={"description": "The signed OB 3.0 credential, verbatim."})


class CredentialPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CredentialSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    cursor = ma.fields.String(validate=ma.validate.Length(max=2048))


def _dump(credential: Credential, *, with_document: bool = True) -> dict:
    data = {
        "id": credential.id, "achievement_id": credential.achievement_id,
        "organisation_id": credential.organisation_id, "state": credential.state,
        "issued_at": credential.issued_at, "valid_until": credential.valid_until,
        "url": awarding.credential_url(credential.id), "json_url": awarding.credential_url(credential.id) + ".json",
        "delivered": credential.portfolio_id is not None, "hidden": credential.hidden,
        "revocation_reason": credential.revocation_reason, "suspension_reason": credential.suspension_reason,
    }
    if with_document:
        data["credential"] = credential.document
    return data


def _credential_page(query, args) -> dict:
    after = decode_cursor(args.get("cursor"), datetime)
    if after is not None:
        key, last_id = after
        query = query.where((Credential.issued_at < key) | ((Credential.issued_at == key) & (Credential.id > last_id)))
    found = list(db.session.scalars(query.order_by(Credential.issued_at.desc(), Credential.id)
                                    .limit(args["limit"] + 1)))
    result = page(found, args["limit"], lambda c: (c.issued_at, c.id))
    result["items"] = [_dump(c, with_document=False) for c in result["items"]]
    return result


def _achievement(organisation_id, achievement_id):
    principal = g.api_principal
    organisation = orgs.get(db.session, principal, organisation_id, "issue")
    achievement = achievements.get(db.session, principal, achievement_id, "award")
    if achievement.organisation_id != organisation.id:
        raise NotFound("Not found.")
    return achievement


def make_issuer_blueprint() -> Blueprint:
    blp = Blueprint("awards", __name__, url_prefix="/api/v1",
                    description="Award achievements, list issued credentials, revoke and suspend them "
                                "(issuers and organisation tokens).")
    blp.before_request(require_principal)

    @blp.route("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/awards",
               methods=["POST"])
    @blp.response(201, CredentialSchema)
    @blp.doc(summary="Award an achievement to one person by e-mail", **json_body(AwardBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def award(organisation_id, achievement_id):
        """Signed at once; delivered to the account with this (verified) address, else a claim link is
        e-mailed."""
        achievement = _achievement(organisation_id, achievement_id)
        body = json_object()
        unknown = sorted(set(body) - {"recipient", "narrative", "evidence"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        awarded = awarding.award(db.session, g.api_principal, achievement, body.get("recipient"),
                                 narrative=body.get("narrative"), evidence=body.get("evidence") or [])
        db.session.commit()
        emails.notify(awarded)
        return _dump(awarded.credential)

    @blp.route("/organisations/<uuid:organisation_id>/achievements/<uuid:achievement_id>/awards",
               methods=["GET"])
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CredentialPageSchema)
    @blp.doc(summary="List the credentials issued for an achievement, newest first")
    @document_errors(blp, 400, 401, 404, 422)
    def issued(args, organisation_id, achievement_id):
        achievement = _achievement(organisation_id, achievement_id)
        return _credential_page(select(Credential).where(Credential.achievement_id == achievement.id), args)

    def _acting(credential_id):
        return awarding.get_for_issuer(db.session, g.api_principal, credential_id)

    @blp.route("/credentials/<uuid:credential_id>/revoke", methods=["POST"])
    @blp.response(200, CredentialSchema)
    @blp.doc(summary="Revoke a credential (for good; a reason is required)",
             description="A closed organisation's credentials stay revocable by its former admins and the "
                         "platform admin (403 `organisation_closed` for its other members).",
             **json_body(ReasonBodySchema))
    @document_errors(blp, 400, 401, 403, 404, 415, 422)
    def revoke(credential_id):
        credential = _acting(credential_id)
        awarding.revoke(db.session, g.api_principal, credential, json_object().get("reason"))
        db.session.commit()
        return _dump(credential)

    @blp.route("/credentials/<uuid:credential_id>/suspend", methods=["POST"])
    @blp.response(200, CredentialSchema)
    @blp.doc(summary="Suspend a credential until the suspension is lifted", **json_body(ReasonBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def suspend(credential_id):
        credential = _acting(credential_id)
        awarding.suspend(db.session, g.api_principal, credential, json_object().get("reason"))
        db.session.commit()
        return _dump(credential)

    @blp.route("/credentials/<uuid:credential_id>/unsuspend", methods=["POST"])
    @blp.response(200, CredentialSchema)
    @blp.doc(summary="Lift a suspension")
    @document_errors(blp, 401, 404)
    def unsuspend(credential_id):
        credential = _acting(credential_id)
        awarding.unsuspend(db.session, g.api_principal, credential)
        db.session.commit()
        return _dump(credential)

    return blp


def make_owner_blueprint() -> Blueprint:
    blp = Blueprint("owned_credentials", __name__, url_prefix="/api/v1/credentials",
                    description="The credentials in the token owner's portfolio.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, CredentialPageSchema)
    @blp.doc(summary="List your credentials, newest first (hidden ones included, marked)")
    @document_errors(blp, 400, 401, 422)
    def index(args):
        portfolio = api_user().portfolio
        return _credential_page(select(Credential).where(Credential.portfolio_id == portfolio.id), args)

    return blp


def register(app) -> None:
    """Registered by ``app.credentials`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_owner_blueprint(), make_issuer_blueprint())
