"""JSON API v1: personal access tokens, profile and portfolio items, described in OpenAPI 3.

The description is served at ``/api/v1/openapi.json``, and shown to people at ``/api/v1/docs`` by a
Swagger UI served from this site (``app.api.docs``: no CDN, so the CSP stays ``'self'``). Errors are
``{"error": code, "message": ..., "fields": ...}``, produced by ``app.errors`` like everywhere else.
"""
from __future__ import annotations

import threading

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from werkzeug.exceptions import UnprocessableEntity

from app.api import auth
from app.api.common import describe_error_codes
from app.api.schemas import ErrorSchema
from app.errors import error_response
from app.extensions import csrf, db


# The reference's section (OpenAPI tag) of each API blueprint. flask-smorest names a blueprint's tag
# after the blueprint, whose name is also its endpoints' prefix (``url_for("grants_api.…")``) and cannot
# change; people read these instead. A blueprint missing here gets its name made readable ("frameworks"
# → "Frameworks"); ``tests/test_api_docs_tags.py`` keeps every tag human and declared.
TAGS = {
    "tokens": "Tokens", "account": "Account", "profile": "Profile", "experiences": "Experiences",
    "diplomas": "Diplomas", "skills": "Skills", "journal": "Journal", "documents": "Documents (vault)",
    "evidence": "Evidence", "organisations": "Organisations", "pages_api": "Pages",
    "share_links_api": "Share links", "verify": "Verification", "endorsements": "Endorsements",
    "owned_credentials": "My credentials", "awards": "Awards", "bulk_api": "Bulk awards",
    "received_credentials": "Received credentials", "endorsement_requests": "Endorsement requests",
    "attestation_requests": "Attestation requests", "cvs_api": "CVs", "grants_api": "Grants",
    "collab_api": "Comments and messages",
}
VCAPI_TAG = {"name": "W3C VC-API", "description": (
    "The W3C Verifiable Credentials API routes, outside /api/v1 so that other systems and the W3C test "
    "suites find them where the specification puts them: verification for everyone, issuance with an "
    "organisation token.")}


def tag_name(blueprint_name: str) -> str:
    """The human tag of an API blueprint (``TAGS``, else its name made readable)."""
    if blueprint_name in TAGS:
        return TAGS[blueprint_name]
    words = blueprint_name.removesuffix("_api").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


class SillageApi(Api):
    """flask-smorest's Api without its app-wide error handler, with human tag names, and with each
    route's error answers listing the codes it can give (``app.api.common.describe_error_codes``).

    flask-smorest registers a handler for every ``HTTPException`` that answers JSON in its own shape,
    which would replace Sillage's HTML error pages and JSON errors. ``app.errors`` stays the one place
    that answers errors; only webargs' query-string errors get a blueprint handler (``_args_error``).
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        return None

    def _init_spec(self, **kwargs):
        """flask-smorest's document, whose routes' error codes are listed when it is first written out
        (and again for routes registered since): reading the code of every route takes a second or two
        of CPU once per process, which a process that never serves the document (a CLI command, most
        web workers) does not spend."""
        super()._init_spec(**kwargs)
        self._undescribed: list[tuple] = []
        self._describing = threading.Lock()
        write = self.spec.to_dict

        def to_dict():
            with self._describing:
                for blueprint, name in self._undescribed:
                    describe_error_codes(self, blueprint, name)
                self._undescribed.clear()
            return write()

        self.spec.to_dict = to_dict  # what /api/v1/openapi.json and ``sillage openapi`` call

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register as flask-smorest does, then rename the blueprint's tag (``tag_name``) in the tag list
        and in its operations: flask-smorest offers no tag name apart from the blueprint's name. Its
        routes' error codes are listed when the document is written out (``_init_spec``)."""
        super().register_blueprint(blp, parameters=parameters, **options)
        name = options.get("name", blp.name)
        self._undescribed.append((blp, name))
        human = tag_name(name)
        if human == name:
            return
        for tag in self.spec._tags:  # apispec keeps them in order; no public setter
            if tag.get("name") == name:
                tag["name"] = human
        for operations in self.spec._paths.values():
            for operation in operations.values():
                if isinstance(operation, dict) and name in operation.get("tags", ()):
                    operation["tags"] = [human if tag == name else tag for tag in operation["tags"]]


def _args_error(exc: UnprocessableEntity):
    """A query parameter failed its schema: the same 422 shape as a service validation error."""
    db.session.rollback()
    messages = (getattr(exc, "data", None) or {}).get("messages", {})
    fields = {}
    for location in messages.values():
        for name, problems in location.items():
            fields[name] = " ".join(problems) if isinstance(problems, list) else str(problems)
    return error_response(422, "validation_error", _l("Some information is not valid."), fields)


def _set_no_store(response):
    """API answers are private (and one of them carries a new token): no cache may keep them."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask, *blueprints) -> None:
    """Put API blueprints on the application's API (one place, for this package and for the features
    that bring their own routes): documented in ``/api/v1/openapi.json``, query-string errors in the
    API's 422 shape, ``Cache-Control: no-store``, and no CSRF check (a bearer token is never attached
    by a browser on its own, see ``app.api.auth``)."""
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    for blueprint in blueprints:
        blueprint.register_error_handler(UnprocessableEntity, _args_error)
        blueprint.after_request(_set_no_store)
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)


def init_app(app: Flask) -> None:
    from app.api import account, docs, documents, items, orgs, pages, profile, tokens

    app.config.update({
        "API_TITLE": "Sillage",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "API_SPEC_OPTIONS": {
            "info": {"description": (
                "The Sillage e-portfolio API. Authenticate with a personal access token: "
                "`Authorization: Bearer sil_...` (create one with POST /api/v1/tokens or on the settings "
                "page). Lists are paginated with `limit` and `cursor`. One organisation answers under two "
                "prefixes, with the same id: `/api/v1/organisations/<id>/…` for issuing (profile, members, "
                "signing keys, organisation tokens, achievements) and `/api/v1/orgs/<id>/…` for the "
                "institution (groups, staff, partners, roster, activation letters, indicators).")},
            "security": [{"bearerAuth": []}],
        },
    })
    api = SillageApi(app)
    api.spec.tag(VCAPI_TAG)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "A personal access token (sil_...)."})
    auth.init_app(app)
    docs.init_app(app)
    # Blueprints are built afresh for each application: Flask refuses changes to a registered one.
    register(app, tokens.make_blueprint(), account.make_blueprint(), profile.make_blueprint(),
             *items.make_blueprints(), documents.make_blueprint(), documents.make_evidence_blueprint(),
             orgs.make_blueprint(), pages.make_pages_blueprint(), pages.make_links_blueprint())
