"""``/api/v1/experiences/<id>/skill-suggestions``: the writing aid through the API (personal access token).

GET lists the framework skills suggested for one of the owner's experiences, with the owner's words that
matched; POST confirms one (``{"action": "confirm", "concept": id or URI, "level": 1-4}`` → the skill,
created or linked) or dismisses one (``{"action": "dismiss", "concept": …}``, remembered for that
experience). The work is ``app.services.skill_suggestions``; another person's experience answers 404.
"""
from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from flask_smorest import Blueprint

from app import policy
from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db
from app.models import Experience
from app.services import skill_suggestions as service
from app.services.errors import ValidationFailed


class SuggestionSchema(ma.Schema):
    concept_id = ma.fields.UUID(required=True)
    concept_uri = ma.fields.String(required=True)
    label = ma.fields.String(required=True, metadata={"description": "In the token owner's language."})
    kind = ma.fields.String(required=True, metadata={"description": "skill or competence"})
    framework = ma.fields.String(required=True)
    score = ma.fields.Float(required=True)
    matched = ma.fields.List(ma.fields.String(), required=True,
                             metadata={"description": "The experience's words that matched, strongest first."})
    skill_id = ma.fields.UUID(allow_none=True, required=True,
                              metadata={"description": "The owner's skill already pointing at this concept."})


class SuggestionListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SuggestionSchema), required=True)


class DecisionSchema(ma.Schema):
    action = ma.fields.String(required=True, metadata={"description": "confirm or dismiss"})
    concept = ma.fields.String(required=True, metadata={"description": "The concept's id or URI."})
    level = ma.fields.Integer(metadata={"description": "confirm: self-assessment, 1 (not mastered) to 4 "
                                                       "(well mastered)."})


class DecisionResultSchema(ma.Schema):
    action = ma.fields.String(required=True)
    concept_uri = ma.fields.String(required=True)
    skill_id = ma.fields.UUID(allow_none=True, metadata={"description": "confirm: the skill created or linked."})


def make_blueprint() -> Blueprint:
    blp = Blueprint("Skill suggestions", __name__, url_prefix="/api/v1/experiences",  # the OpenAPI tag
                    description="Skill suggestions: skills of the reference frameworks found in an "
                                "experience's title and description, computed on the server.")
    blp.before_request(require_token)

    def experience(item_id) -> Experience:
        return policy.get_or_404(Experience, item_id, api_user(), policy.OWN)

    @blp.route("/<uuid:item_id>/skill-suggestions", methods=["GET"])
    @blp.response(200, SuggestionListSchema)
    @blp.doc(summary="Skills suggested for an experience",
             description="Dismissed suggestions and concepts already linked through one of your skills are "
                         "left out; best first.")
    @document_errors(blp, 401, 404)
    def index(item_id):
        found = service.suggest(db.session, api_user(), experience(item_id))
        return {"items": [suggestion.as_dict() for suggestion in found]}

    @blp.route("/<uuid:item_id>/skill-suggestions", methods=["POST"])
    @blp.response(200, DecisionResultSchema)
    @blp.doc(summary="Confirm or dismiss a suggested skill", **json_body(DecisionSchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def decide(item_id):
        item = experience(item_id)
        body = json_object()
        unknown = sorted(set(body) - {"action", "concept", "level"})
        action = body.get("action")
        if unknown or action not in ("confirm", "dismiss"):
            fields = {name: "Unknown field." for name in unknown}
            if action not in ("confirm", "dismiss"):
                fields["action"] = "Must be confirm or dismiss."
            raise ValidationFailed("Some information is not valid.", fields=fields)
        if action == "confirm":
            skill = service.confirm(db.session, api_user(), item, body.get("concept"), body.get("level"))
            db.session.commit()
            return jsonify({"action": action, "concept_uri": skill.concept_uri, "skill_id": str(skill.id)})
        concept = service.dismiss(db.session, api_user(), item, body.get("concept"))
        db.session.commit()
        return jsonify({"action": action, "concept_uri": concept.uri, "skill_id": None})

    return blp


def register(app) -> None:
    """Registered by ``app.skill_suggestions`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
