"""``/api/v1/tokens``: get a personal access token with e-mail and password, list and revoke tokens."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import request
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.api.account import body_fields
from app.api.auth import api_user, require_token
from app.api.common import decode_cursor, document_errors, json_body, json_object, page
from app.api.schemas import (
    ErrorSchema, NewTokenSchema, PageArgsSchema, TokenRequestSchema, TokenSchema, page_schema,
)
from app.auth.routes import login_budget
from app.database import utcnow
from app.extensions import db
from app.services import accounts
from app.services import tokens as token_service
from app.services.errors import ServiceError

MAX_DAYS = 3650


def _text(value) -> str | None:
    return None if isinstance(value, str) else str(_l("Must be text."))


def _days(value) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DAYS:
        return None
    return str(_l("Must be between %(a)d and %(b)d.", a=1, b=MAX_DAYS))


def _require_token_except_create():
    """Creating a token is the one API call made with a password instead of a token."""
    return None if request.endpoint == "tokens.create" else require_token()


def make_blueprint() -> Blueprint:
    blp = Blueprint("tokens", __name__, url_prefix="/api/v1/tokens",
                    description="Personal access tokens: shown once at creation, stored hashed, revocable.")
    blp.before_request(_require_token_except_create)

    @blp.route("", methods=["POST"])
    @login_budget  # the sign-in page's per-IP budget, shared: one budget of guesses whatever the door
    @blp.response(201, NewTokenSchema)
    @blp.doc(summary="Create a token with your e-mail and password", security=[],
             **json_body(TokenRequestSchema))
    @document_errors(blp, 400, 415, 422, 429)
    @blp.alt_response(401, schema=ErrorSchema, description="Wrong e-mail or password (invalid_credentials).")
    @blp.alt_response(403, schema=ErrorSchema,
                      description="E-mail address not verified yet (email_not_verified), or the right "
                                  "password of a suspended account (account_suspended).")
    def create():
        """The answer's ``token`` is the only time the secret is shown: keep it safe."""
        body = body_fields(json_object(), ("email", "password"), {"name": _text, "expires_in_days": _days})
        try:
            user = accounts.authenticate(db.session, body["email"], body["password"])
        finally:
            db.session.commit()  # a failed attempt counts towards the account's backoff, so it is kept too
        if user is None:
            raise ServiceError(str(_l("Wrong e-mail or password.")), code="invalid_credentials", status=401)
        if not user.is_verified:
            raise ServiceError(str(_l("Please confirm your e-mail address first.")),
                               code="email_not_verified", status=403)
        days = body["expires_in_days"]
        expires_at = utcnow() + timedelta(days=days) if days else None
        token, raw = token_service.create_token(db.session, user, body["name"] or "", expires_at)
        db.session.commit()
        return {"token": raw, "id": token.id, "name": token.name, "prefix": token.prefix,
                "created_at": token.created_at, "expires_at": token.expires_at}

    @blp.route("", methods=["GET"])
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(TokenSchema, "TokenPageSchema"))
    @blp.doc(summary="List your tokens (never their secret)")
    @document_errors(blp, 400, 401, 422)
    def index(args):
        """Newest first; revoked and expired tokens are listed too, with ``active`` false."""
        after = decode_cursor(args.get("cursor"), datetime)
        found = token_service.list_tokens(db.session, api_user(), after=after, limit=args["limit"] + 1)
        return page(found, args["limit"], lambda token: (token.created_at, token.id))

    @blp.route("/<uuid:token_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Revoke a token (it stops working at once)")
    @document_errors(blp, 401, 404)
    def revoke(token_id):
        token_service.revoke_token(db.session, api_user(), token_id)
        db.session.commit()
        return None

    return blp
