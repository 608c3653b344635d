"""``/api/v1/frameworks`` and ``/api/v1/concepts``: the reference frameworks, for any token holder.

Frameworks are reference data, readable by every signed-in person, so any valid personal token reads
them. ``GET /api/v1/concepts/<id or URI>`` takes the concept's id, or its URI as it is (the rule keeps
the double slash of ``https://``), for clients that only hold a skill's ``concept_uri``.
The work is ``app.services.frameworks``.
"""
from __future__ import annotations

import re

import marshmallow as ma
from flask_smorest import Blueprint

from app.api.auth import require_token
from app.api.common import document_errors
from app.extensions import db
from app.models.frameworks import CONCEPT_KINDS, SKILL_TYPES
from app.services import frameworks
from app.services.errors import NotFound, ValidationFailed

TAG = "Reference frameworks"
_SCHEME = re.compile(r"^(https?):/(?!/)")


class FrameworkSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    slug = ma.fields.String(required=True, metadata={"description": "Short name; a new version is imported "
                                                                     "under the same one."})
    name = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    format = ma.fields.String(required=True, metadata={"description": "esco, case or csv."})
    source = ma.fields.String(required=True, metadata={"description": "Origin and licence."})
    imported_at = ma.fields.String(required=True)
    concept_count = ma.fields.Integer(required=True)
    relation_count = ma.fields.Integer(required=True)
    retired_count = ma.fields.Integer(required=True)
    retired = ma.fields.Boolean(required=True)


class FrameworkListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FrameworkSchema), required=True)


class FrameworkRefSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    slug = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    version = ma.fields.String(required=True)


class ConceptSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    uri = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": ", ".join(CONCEPT_KINDS)})
    label = ma.fields.String(required=True, metadata={"description": "The label in `lang` (else the other)."})
    labels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    alt_labels = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), required=True)
    descriptions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    notation = ma.fields.String(required=True)
    skill_type = ma.fields.String(required=True, metadata={
        "description": "ESCO's skillType: knowledge or skill_competence; empty for other concepts."})
    framework = ma.fields.Nested(FrameworkRefSchema, required=True)
    retired = ma.fields.Boolean(required=True, metadata={
        "description": "A newer version of its framework dropped it; it still resolves."})


class ConceptListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConceptSchema), required=True)


class RelatedSchema(ma.Schema):
    relation = ma.fields.String(required=True, metadata={"description": "essential, optional, part_of, "
                                                                        "related, precedes…"})
    direction = ma.fields.String(required=True, metadata={
        "description": "out: this concept → the other (an occupation's skills); in: the other → this one."})
    concept = ma.fields.Nested(ConceptSchema, required=True)


class ConceptLinkSchema(ma.Schema):
    relation = ma.fields.String(required=True, metadata={"description": "broader, exact_match, related…"})
    uri = ma.fields.String(required=True, metadata={"description": "A concept outside this concept's file."})
    concept = ma.fields.Nested(ConceptSchema, allow_none=True, metadata={
        "description": "That concept, when a framework imported here holds it; else null."})


class ConceptDetailSchema(ConceptSchema):
    parent = ma.fields.Nested(ConceptSchema, allow_none=True)
    children = ma.fields.List(ma.fields.Nested(ConceptSchema), required=True)
    relations = ma.fields.List(ma.fields.Nested(RelatedSchema), required=True)
    links = ma.fields.List(ma.fields.Nested(ConceptLinkSchema), required=True)


class ConceptQuerySchema(ma.Schema):
    q = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200), metadata={
        "description": "Words to find in the labels, accents and case ignored; each may be a word's start."})
    kind = ma.fields.String(validate=ma.validate.OneOf(CONCEPT_KINDS))
    skill_type = ma.fields.String(validate=ma.validate.OneOf(SKILL_TYPES), metadata={
        "description": "ESCO skills of this type only (knowledge or skill_competence)."})
    framework = ma.fields.String(validate=ma.validate.Length(max=80), metadata={
        "description": "A framework's id or slug."})
    lang = ma.fields.String(validate=ma.validate.OneOf(frameworks.LANGUAGES), metadata={
        "description": "Search this language's labels only, and answer `label` in it."})
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class LangSchema(ma.Schema):
    lang = ma.fields.String(validate=ma.validate.OneOf(frameworks.LANGUAGES))


def make_blueprint() -> Blueprint:
    blp = Blueprint(TAG, __name__, url_prefix="/api/v1",
                    description="Reference frameworks (ESCO, CASE packages, the socle commun…) and their "
                                "concepts: search in French and English, relations, tree.")
    blp.before_request(require_token)

    @blp.route("/frameworks", methods=["GET"])
    @blp.response(200, FrameworkListSchema)
    @blp.doc(summary="List the frameworks in use (retired ones are left out)")
    @document_errors(blp, 401)
    def list_frameworks():
        return {"items": [frameworks.framework_dict(f) for f in frameworks.frameworks(db.session)]}

    @blp.route("/concepts", methods=["GET"])
    @blp.arguments(ConceptQuerySchema, location="query")
    @blp.response(200, ConceptListSchema)
    @blp.doc(summary="Search concepts: every word must start a word of a label (French or English)")
    @document_errors(blp, 401, 422)
    def search(args):
        framework = None
        if args.get("framework"):
            try:
                framework = frameworks.get_framework(db.session, args["framework"])
            except NotFound:
                raise ValidationFailed("Some information is not valid.",
                                       fields={"framework": "No such framework."}, code="unknown_framework") from None
        found = frameworks.search(db.session, args["q"], kind=args.get("kind"), framework=framework,
                                  skill_type=args.get("skill_type"), lang=args.get("lang"), limit=args["limit"])
        return {"items": [frameworks.concept_dict(c, args.get("lang")) for c in found]}

    @blp.route("/concepts/<path:reference>", methods=["GET"], merge_slashes=False)
    @blp.arguments(LangSchema, location="query")
    @blp.response(200, ConceptDetailSchema)
    @blp.doc(summary="Read a concept by id or URI, with its parent, children and relations")
    @document_errors(blp, 401, 404, 422)
    def show(args, reference):
        lang = args.get("lang")
        concept = frameworks.get(db.session, _SCHEME.sub(r"\1://", reference))
        data = frameworks.concept_dict(concept, lang)
        data["parent"] = frameworks.concept_dict(concept.parent, lang) if concept.parent else None
        data["children"] = [frameworks.concept_dict(c, lang) for c in frameworks.children(db.session, concept)]
        data["relations"] = (
            [{"relation": r, "direction": "out", "concept": frameworks.concept_dict(c, lang)}
             for c, r in frameworks.related(db.session, concept)]
            + [{"relation": r, "direction": "in", "concept": frameworks.concept_dict(c, lang)}
               for c, r in frameworks.related(db.session, concept, reverse=True)])
        data["links"] = [{"relation": r, "uri": uri, "concept": frameworks.concept_dict(c, lang) if c else None}
                         for r, uri, c in frameworks.links(db.session, concept)]
        return data

    return blp


def register(app) -> None:
    """Registered by ``app.frameworks`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
