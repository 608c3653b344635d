"""``/api/v1``: endorsements by organisations (members' personal tokens or the organisation's token),
and the public ``/endorsements/<id>.json`` (the signed EndorsementCredential, verbatim, for anyone).

An organisation the caller may not issue for answers 404 (or 403 ``organisation_not_approved``), as the
award routes do; the work is ``app.services.endorsements``.
"""
from __future__ import annotations

import json

import marshmallow as ma
from flask import Blueprint as FlaskBlueprint, abort, g, make_response
from flask_smorest import Blueprint

from app.api.auth import require_principal
from app.api.common import document_errors, json_body, json_object
from app.extensions import db
from app.models.endorsements import SUBJECT_KINDS, Endorsement
from app.services import endorsements, orgs
from app.services.errors import ValidationFailed


class EndorseBodySchema(ma.Schema):
    subject_kind = ma.fields.String(required=True, validate=ma.validate.OneOf(SUBJECT_KINDS))
    subject_id = ma.fields.UUID(required=True, metadata={"description": "The achievement, organisation or "
                                                                        "credential id."})
    comment = ma.fields.String(required=True, metadata={"description": "What is endorsed and why (5,000 "
                                                                       "characters at most)."})


class EndorsementSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    organisation_id = ma.fields.UUID(required=True, metadata={"description": "The endorser."})
    subject_kind = ma.fields.String(required=True)
    subject_id = ma.fields.UUID(required=True)
    subject_uri = ma.fields.String(required=True, metadata={"description": "credentialSubject.id as signed."})
    comment = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    json_url = ma.fields.String(required=True)
    credential = ma.fields.Dict(metadata={"description": "The signed EndorsementCredential, verbatim."})


class EndorsementListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EndorsementSchema), required=True)


def json_url(endorsement: Endorsement) -> str:
    from flask import current_app  # noqa: PLC0415

    return f"{current_app.config['BASE_URL'].rstrip('/')}/endorsements/{endorsement.id}.json"


def dump(endorsement: Endorsement) -> dict:
    return {"id": endorsement.id, "organisation_id": endorsement.organisation_id,
            "subject_kind": endorsement.subject_kind, "subject_id": endorsement.subject_id,
            "subject_uri": endorsement.subject_uri, "comment": endorsement.comment,
            "created_at": endorsement.created_at, "json_url": json_url(endorsement),
            "credential": endorsement.document}


def make_blueprint() -> Blueprint:
    blp = Blueprint("endorsements", __name__, url_prefix="/api/v1/organisations",
                    description="Endorsements signed by an organisation (members and organisation tokens).")
    blp.before_request(require_principal)

    @blp.route("/<uuid:organisation_id>/endorsements", methods=["POST"])
    @blp.response(201, EndorsementSchema)
    @blp.doc(summary="Endorse an achievement, another organisation or a credential",
             **json_body(EndorseBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def endorse(organisation_id):
        principal = g.api_principal
        organisation = orgs.get(db.session, principal, organisation_id, "issue")
        body = json_object()
        unknown = sorted(set(body) - {"subject_kind", "subject_id", "comment"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        made = endorsements.endorse(db.session, principal, organisation, body.get("subject_kind"),
                                    body.get("subject_id"), body.get("comment"))
        db.session.commit()
        return dump(made)

    @blp.route("/<uuid:organisation_id>/endorsements", methods=["GET"])
    @blp.response(200, EndorsementListSchema)
    @blp.doc(summary="List the endorsements this organisation signed, newest first")
    @document_errors(blp, 401, 404)
    def signed(organisation_id):
        organisation = orgs.get(db.session, g.api_principal, organisation_id, "issue")
        return {"items": [dump(e) for e in endorsements.by_organisation(db.session, organisation)]}

    return blp


public = FlaskBlueprint("endorsements_public", __name__)


@public.get("/endorsements/<endorsement_id>.json")
def endorsement_json(endorsement_id):
    """The signed EndorsementCredential as issued (portable: any verifier, any wallet)."""
    found = endorsements.get(db.session, endorsement_id)
    if found is None:  # a person's endorsement, signed by the platform (app.services.endorsements)
        found = endorsements.get_person(db.session, endorsement_id)
    elif not found.organisation.is_approved:
        found = None
    if found is None:
        from app.services.erasure import is_erased_page  # noqa: PLC0415 - issue 11: gone with its holder
        abort(410 if is_erased_page(db.session, endorsement_id) else 404)
    response = make_response(json.dumps(found.document, ensure_ascii=False, indent=2))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="endorsement-{found.id}.json"'
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _shown(kind: str, subject_id) -> list[Endorsement]:
    """For the pages (``issuing/_endorsements.html``): the endorsements of one subject."""
    return endorsements.of_subject(db.session, kind, subject_id)


def register(app) -> None:
    """Registered by ``app.issuing`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
    app.register_blueprint(public)
    app.jinja_env.globals["endorsements_of"] = _shown
