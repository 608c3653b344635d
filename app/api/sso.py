"""``/api/v1/sign-in-services``: the caller's linked OpenID Connect identities; list and unlink.

Linking itself needs the person at the provider's pages in a browser (settings page); what an API
client can do is see the links and remove one, like the settings page.
"""
from __future__ import annotations

import uuid

from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.auth import api_user, require_token
from app.api.common import document_errors
from app.extensions import db
from app.services.errors import ServiceError
from app.sso import identities, providers
from app.sso.errors import SsoError


class IdentitySchema(Schema):
    id = fields.UUID(required=True)
    provider = fields.String(required=True, metadata={"description": "The operator's name for the provider."})
    label = fields.String(required=True)
    email = fields.String(allow_none=True, metadata={"description": "The e-mail the provider last gave."})
    created_at = fields.DateTime(required=True)
    last_login_at = fields.DateTime(allow_none=True)


class ProviderSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)


class SignInServicesSchema(Schema):
    linked = fields.List(fields.Nested(IdentitySchema), required=True)
    available = fields.List(fields.Nested(ProviderSchema), required=True)


def make_blueprint() -> Blueprint:
    blp = Blueprint("sign_in_services", __name__, url_prefix="/api/v1/sign-in-services",
                    description="Single sign-on: the accounts at OpenID Connect providers linked to yours.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.response(200, SignInServicesSchema)
    @blp.doc(summary="List your linked sign-in services and the ones configured here")
    @document_errors(blp, 401)
    def index():
        known = {provider.name: provider for provider in providers.configured()}
        linked = [{"id": identity.id, "provider": identity.provider,
                   "label": known[identity.provider].label if identity.provider in known else identity.provider,
                   "email": identity.email, "created_at": identity.created_at,
                   "last_login_at": identity.last_login_at}
                  for identity in identities.for_user(db.session, api_user())]
        return {"linked": linked, "available": [{"name": p.name, "label": p.label} for p in known.values()]}

    @blp.route("/<identity_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Unlink one of your sign-in services")
    @document_errors(blp, 401, 404)
    def unlink(identity_id: str):
        try:
            identities.unlink(db.session, api_user(), uuid.UUID(identity_id))
        except (ValueError, SsoError) as exc:
            message = exc.message if isinstance(exc, SsoError) else _("This linked account does not exist.")
            raise ServiceError(message, code="not_found", status=404) from exc
        db.session.commit()
        return None

    return blp


def register(app) -> None:
    """Registered by ``app.sso`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
