"""``/api/v1/hypotheses``, ``/api/v1/plans`` and ``/api/v1/trainings`` (issue 12), through a personal
access token: the same operations as the pages (``app.services.path``, ``app.services.trainings``).

A hypothesis is answered with its gap analysis ``{"gap": {"have": [...], "missing": [...]}}``: each skill
the occupation needs with its ``concept_uri``, ``label`` and ``relation`` (essential / optional), and for
those the owner has, the ``evidence`` level (``self_declared``, ``document``, ``attested``,
``credential``); and the catalogue's ``trainings`` that close missing skills, those closing the most
first. An invited counsellor reads the hypotheses of the portfolio (``GET /hypotheses?portfolio=ID``),
their gap computed from what their grant shares, and writes in the plans (goals and steps they add wait
for the owner's acceptance). Texts come back as typed: a client rendering HTML must escape them.
"""
from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_smorest import Blueprint

from app import policy
from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db, limiter
from app.models import Organisation, Portfolio
from app.models.path import Hypothesis, PlanEvent, PlanItem, Training
from app.services import path as service, trainings
from app.services.errors import NotFound, ValidationFailed

TAG = "Career paths"
write_limit = limiter.limit("120/hour", methods=["POST", "PATCH", "DELETE"])


class SkillGapSchema(ma.Schema):
    concept_uri = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    relation = ma.fields.String(required=True, metadata={"description": "essential or optional"})
    evidence = ma.fields.String(metadata={"description": "Skills you have: self_declared, document, attested "
                                                         "or credential (the strongest found)"})
    skill_id = ma.fields.String(allow_none=True, metadata={"description": "Your skill naming this concept"})
    skill_name = ma.fields.String()


class GapSchema(ma.Schema):
    have = ma.fields.List(ma.fields.Nested(SkillGapSchema), required=True)
    missing = ma.fields.List(ma.fields.Nested(SkillGapSchema), required=True)


class TrainingSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True)
    provider = ma.fields.String(required=True)
    place = ma.fields.String(required=True)
    start_date = ma.fields.Date(allow_none=True)
    end_date = ma.fields.Date(allow_none=True)
    link = ma.fields.String(required=True)
    skill_uris = ma.fields.List(ma.fields.String(), required=True)
    organisation_id = ma.fields.UUID(allow_none=True, metadata={"description": "Its publisher; none: the platform"})
    closes = ma.fields.List(ma.fields.String(), metadata={
        "description": "In a hypothesis: the missing skills (concept URIs) this training covers"})


class TrainingListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TrainingSchema), required=True)


class HypothesisBodySchema(ma.Schema):
    occupation = ma.fields.String(metadata={"description": "An occupation's concept URI or id (or give description)"})
    description = ma.fields.String(metadata={"description": "A free description of the path"})
    title = ma.fields.String(metadata={"description": "Default: the occupation's label"})
    status = ma.fields.String(metadata={"description": "exploring (default), active, achieved or dropped"})
    notes = ma.fields.String()


class HypothesisSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    portfolio_id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True)
    occupation_uri = ma.fields.String(required=True, metadata={"description": "Empty for a free description"})
    occupation_label = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    notes = ma.fields.String(metadata={"description": "The owner's own notes: only in the owner's answers, "
                                                      "never a counsellor's"})
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    gap = ma.fields.Nested(GapSchema)
    trainings = ma.fields.List(ma.fields.Nested(TrainingSchema))


class HypothesisListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(HypothesisSchema), required=True)


class HypothesisQuerySchema(ma.Schema):
    portfolio = ma.fields.UUID(metadata={"description": "A portfolio that invited you as its counsellor "
                                                        "(default: yours)"})


class PlanItemBodySchema(ma.Schema):
    hypothesis_id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "goal, step, note or comment"})
    title = ma.fields.String(metadata={"description": "Goals and steps"})
    body = ma.fields.String(metadata={"description": "Notes and comments (required), goals and steps"})
    due_on = ma.fields.Date(metadata={"description": "Goals and steps"})
    happened_on = ma.fields.Date(metadata={"description": "An appointment note's date (default: today)"})
    parent_id = ma.fields.UUID(metadata={"description": "A comment about one item of the same plan"})


class PlanItemChangeSchema(ma.Schema):
    title = ma.fields.String()
    body = ma.fields.String()
    due_on = ma.fields.Date(allow_none=True)
    happened_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(metadata={"description": "open, done or dropped (the owner, accepted goals and steps)"})


class PlanItemSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    hypothesis_id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    due_on = ma.fields.Date(allow_none=True)
    happened_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(required=True)
    acceptance = ma.fields.String(required=True, metadata={
        "description": "accepted; pending (a counsellor's proposal waiting for the owner); declined"})
    author_id = ma.fields.UUID(allow_none=True)
    author_label = ma.fields.String(required=True)
    author_role = ma.fields.String(required=True, metadata={"description": "owner or counsellor"})
    parent_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class PlanItemListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanItemSchema), required=True)


class PlanQuerySchema(ma.Schema):
    hypothesis = ma.fields.UUID(required=True)


class PlanEventSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    item_id = ma.fields.UUID(allow_none=True)
    actor_label = ma.fields.String(required=True)
    actor_role = ma.fields.String(required=True)
    action = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)
    created_at = ma.fields.DateTime(required=True)


class PlanEventListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanEventSchema), required=True)


class TrainingQuerySchema(ma.Schema):
    q = ma.fields.String(metadata={"description": "Words of the title, provider or place"})
    skill = ma.fields.String(metadata={"description": "A skill's concept URI the training covers"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 100_000))


class ImportReportSchema(ma.Schema):
    import_id = ma.fields.UUID(required=True)
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)


def lang() -> str:
    return str(get_locale() or "fr")[:2]


def _only(body: dict, allowed: set) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})


def training_json(training: Training, closes=None) -> dict:
    data = {name: getattr(training, name) for name in TrainingSchema().fields if name != "closes"}
    if closes is not None:
        data["closes"] = [entry["concept_uri"] for entry in closes]
    return data


def hypothesis_json(hypothesis: Hypothesis, user, *, with_gap: bool = True) -> dict:
    data = {name: getattr(hypothesis, name) for name in HypothesisSchema().fields if name not in ("gap", "trainings")}
    if user.portfolio is None or hypothesis.portfolio_id != user.portfolio.id:
        del data["notes"]  # "Your notes" are the owner's: a counsellor reads the plan, not them
    if with_gap:
        grants = service.counsellor_grants(db.session, user, hypothesis.portfolio_id)
        found = service.gap(db.session, hypothesis.portfolio, hypothesis, lang=lang(), grants=grants)
        data["gap"] = found
        data["trainings"] = [training_json(entry["training"], entry["closes"])
                             for entry in service.trainings_for(db.session, found["missing"])]
    return data


def item_json(item: PlanItem) -> dict:
    return {name: getattr(item, name) for name in PlanItemSchema().fields}


def event_json(event: PlanEvent) -> dict:
    return {name: getattr(event, name) for name in PlanEventSchema().fields}


def make_blueprint() -> Blueprint:
    blp = Blueprint(TAG, __name__, url_prefix="/api/v1",
                    description="Career hypotheses with their gap analysis, action plans shared with a "
                                "counsellor, the training catalogue.")
    blp.before_request(require_token)

    @blp.route("/hypotheses", methods=["GET"])
    @blp.arguments(HypothesisQuerySchema, location="query")
    @blp.response(200, HypothesisListSchema)
    @blp.doc(summary="Your hypotheses, or those of a portfolio that invited you as its counsellor (with gaps)")
    @document_errors(blp, 401, 404, 422)
    def hypotheses(args):
        user = api_user()
        portfolio = db.session.get(Portfolio, args["portfolio"]) if args.get("portfolio") else user.portfolio
        if portfolio is None:
            raise NotFound("Not found.")
        found = service.hypotheses_of(db.session, user, portfolio)
        return {"items": [hypothesis_json(h, user) for h in found]}

    @blp.route("/hypotheses", methods=["POST"])
    @blp.response(201, HypothesisSchema)
    @blp.doc(summary="Create a hypothesis from an occupation (concept URI or id) or a free description; "
                     "answers its gap analysis (422 unknown_occupation)", **json_body(HypothesisBodySchema))
    @document_errors(blp, 400, 401, 415, 422)
    @write_limit
    def create_hypothesis():
        body = json_object()
        created = service.create_hypothesis(db.session, api_user(), body, lang=lang())
        db.session.commit()
        return hypothesis_json(created, api_user())

    @blp.route("/hypotheses/<hypothesis_id>", methods=["GET"])
    @blp.response(200, HypothesisSchema)
    @blp.doc(summary="A hypothesis with its gap analysis and the trainings that close it")
    @document_errors(blp, 401, 404)
    def hypothesis(hypothesis_id):
        found = service.get_hypothesis(db.session, api_user(), hypothesis_id)
        service.log_read(db.session, api_user(), found, ip=request.remote_addr)
        data = hypothesis_json(found, api_user())
        db.session.commit()
        return data

    @blp.route("/hypotheses/<hypothesis_id>", methods=["PATCH"])
    @blp.response(200, HypothesisSchema)
    @blp.doc(summary="Change your hypothesis (occupation \"\" removes it)", **json_body(HypothesisBodySchema))
    @document_errors(blp, 400, 401, 403, 404, 415, 422)
    @write_limit
    def change_hypothesis(hypothesis_id):
        found = service.get_hypothesis(db.session, api_user(), hypothesis_id)
        service.update_hypothesis(db.session, api_user(), found, json_object(), lang=lang())
        db.session.commit()
        return hypothesis_json(found, api_user())

    @blp.route("/hypotheses/<hypothesis_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Delete your hypothesis, its plan and its history")
    @document_errors(blp, 401, 403, 404)
    @write_limit
    def delete_hypothesis(hypothesis_id):
        found = service.get_hypothesis(db.session, api_user(), hypothesis_id)
        service.delete_hypothesis(db.session, api_user(), found)
        db.session.commit()
        return ""

    @blp.route("/plans", methods=["GET"])
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanItemListSchema)
    @blp.doc(summary="The action plan of a hypothesis: goals, steps, notes, comments, proposals, oldest first")
    @document_errors(blp, 401, 404, 422)
    def plan(args):
        found = service.get_hypothesis(db.session, api_user(), args["hypothesis"])
        return {"items": [item_json(item) for item in found.items]}

    @blp.route("/plans", methods=["POST"])
    @blp.response(201, PlanItemSchema)
    @blp.doc(summary="Add a goal, step, appointment note or comment (a counsellor's goal or step is a "
                     "proposal: acceptance pending)", **json_body(PlanItemBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    @write_limit
    def add_item():
        body = json_object()
        _only(body, set(PlanItemBodySchema().fields))
        found = service.get_hypothesis(db.session, api_user(), body.pop("hypothesis_id", None))
        created = service.add_item(db.session, api_user(), found, body)
        db.session.commit()
        return item_json(created)

    @blp.route("/plans/history", methods=["GET"])
    @blp.arguments(PlanQuerySchema, location="query")
    @blp.response(200, PlanEventListSchema)
    @blp.doc(summary="Every change to the plan (who, what, when), newest first")
    @document_errors(blp, 401, 404, 422)
    def plan_history(args):
        found = service.get_hypothesis(db.session, api_user(), args["hypothesis"])
        return {"items": [event_json(e) for e in service.history(db.session, api_user(), found)]}

    @blp.route("/plans/<plan_item_id>", methods=["PATCH"])
    @blp.response(200, PlanItemSchema)
    @blp.doc(summary="Change a plan item: its words by their author (403 not_your_words), the status of "
                     "a goal or step by the owner (403 owner_only)", **json_body(PlanItemChangeSchema))
    @document_errors(blp, 400, 401, 403, 404, 415, 422)
    @write_limit
    def change_item(plan_item_id):
        body = json_object()
        _only(body, set(PlanItemChangeSchema().fields))
        item = service.get_item(db.session, api_user(), plan_item_id)
        service.update_item(db.session, api_user(), item, body)
        db.session.commit()
        return item_json(item)

    def decide(item_id, accept: bool) -> dict:
        item = service.get_item(db.session, api_user(), item_id)
        service.decide(db.session, api_user(), item, accept)
        db.session.commit()
        return item_json(item)

    for decision, verb in (("accept", "accepts"), ("decline", "declines")):
        @blp.route(f"/plans/<plan_item_id>/{decision}", methods=["POST"], endpoint=decision)
        @blp.response(200, PlanItemSchema)
        @blp.doc(summary=f"The owner {verb} a counsellor's proposed goal or step (409 already_decided)")
        @document_errors(blp, 401, 403, 404)
        @write_limit
        def decide_view(plan_item_id, _accept=decision == "accept"):
            return decide(plan_item_id, _accept)

    @blp.route("/trainings", methods=["GET"])
    @blp.arguments(TrainingQuerySchema, location="query")
    @blp.response(200, TrainingListSchema)
    @blp.doc(summary="The training catalogue, soonest first")
    @document_errors(blp, 401, 422)
    def training_list(args):
        found = trainings.catalogue(db.session, q=args.get("q"), skill=args.get("skill"), limit=args["limit"],
                                    offset=args["offset"])
        return {"items": [training_json(t) for t in found]}

    @blp.route("/trainings", methods=["POST"])
    @blp.response(201, ImportReportSchema)
    @blp.doc(summary="Import a CSV catalogue (multipart: file, optional organisation_id): platform admins, "
                     "approved organisations' admins; all or nothing (422 invalid_catalogue lists the lines)")
    @document_errors(blp, 400, 401, 404, 415, 422)
    @write_limit
    def import_trainings():
        upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        if upload is None:
            raise ValidationFailed("Send the CSV file as multipart/form-data, in a field named file.",
                                   fields={"file": "This field is required."})
        organisation = None
        if request.form.get("organisation_id"):
            key = policy.parse_id(request.form["organisation_id"])
            organisation = db.session.get(Organisation, key) if key is not None else None
            if organisation is None:
                raise NotFound("Not found.")
        data = upload.stream.read(trainings.MAX_BYTES + 1)
        report = trainings.import_catalogue(db.session, api_user(), data, filename=upload.filename or "",
                                            organisation=organisation)
        db.session.commit()
        return {"import_id": report.import_id, "created": report.created, "updated": report.updated}

    @blp.route("/trainings/<training_id>", methods=["GET"])
    @blp.response(200, TrainingSchema)
    @blp.doc(summary="One training of the catalogue")
    @document_errors(blp, 401, 404)
    def training(training_id):
        return training_json(trainings.get(db.session, training_id))

    @blp.route("/trainings/<training_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Its publisher withdraws a training")
    @document_errors(blp, 401, 404)
    @write_limit
    def delete_training(training_id):
        trainings.delete_training(db.session, api_user(), trainings.get(db.session, training_id))
        db.session.commit()
        return ""

    return blp


def register(app) -> None:
    """Registered by ``app.path`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
