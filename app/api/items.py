"""``/api/v1/experiences``, ``/diplomas``, ``/skills`` and ``/journal``: list, create, read, update, delete.

The four resources behave the same way, so one factory builds their blueprints from a small table; the
work itself is done by ``app.services.portfolio`` and every lookup goes through ``policy``, so another
person's id answers 404 exactly like a missing one.
"""
from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from flask import jsonify, url_for
from flask_smorest import Blueprint

from app import policy
from app.api.auth import api_user, require_token
from app.api.common import decode_cursor, document_errors, json_body, json_object, page
from app.api.schemas import (
    DiplomaSchema, ExperiencePageArgsSchema, ExperienceSchema, JournalEntrySchema, PageArgsSchema,
    SkillSchema,
    body_schema, page_schema, plain_dumper,
)
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill
from app.services import documents, portfolio


@dataclass(frozen=True)
class Resource:
    name: str  # blueprint name, URL segment and OpenAPI tag
    label: str  # singular, for the documentation
    model: type
    schema: type[ma.Schema]
    order: str  # how lists are sorted (``portfolio.ORDERS``), for the documentation
    args: type[ma.Schema] = PageArgsSchema


RESOURCES = (
    Resource("experiences", "experience", Experience, ExperienceSchema, "Latest start date first.",
             ExperiencePageArgsSchema),
    Resource("diplomas", "diploma", Diploma, DiplomaSchema,
             "Latest award date first; undated diplomas last."),
    Resource("skills", "skill", Skill, SkillSchema, "By name, ignoring case and accents."),
    Resource("journal", "journal entry", JournalEntry, JournalEntrySchema, "Newest first."),
)


def make_blueprint(resource: Resource) -> Blueprint:
    model, label = resource.model, resource.label
    order = portfolio.ORDERS[model]
    article = "an" if label[0] in "aeiou" else "a"
    base = "".join(part.capitalize() for part in label.split())
    create_schema = body_schema(portfolio.RULES[model], f"{base}CreateSchema", partial=False)
    update_schema = body_schema(portfolio.RULES[model], f"{base}UpdateSchema", partial=True)
    page_of = page_schema(resource.schema, f"{base}PageSchema")
    dump_item = plain_dumper(resource.schema)
    links = portfolio.LINKS.get(model)

    blp = Blueprint(resource.name, __name__, url_prefix=f"/api/v1/{resource.name}",
                    description=f"The owner's {resource.name} (each {label} belongs to the token's owner).")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.arguments(resource.args, location="query")
    @blp.response(200, page_of)
    @blp.doc(summary=f"List {resource.name}", description=(
        f"{resource.order} Pages of at most `limit` items; follow `next_cursor` until it is null. A cursor "
        "stays valid when items are added, changed or deleted meanwhile, even the last one seen: the walk "
        "goes on from that place in the order, so no item is listed twice and none that kept its place is "
        "skipped."))
    @document_errors(blp, 400, 401, 422)
    def index(args):
        """The cursor holds the last item's (sort key, id): the next page is sought from it in SQL.

        The answer is the page schema's (it documents it), written by ``dump_item``, which gives what
        the schema gives at a fraction of its cost on this, the API's busiest route.
        """
        after = decode_cursor(args.get("cursor"), order.key_type, nullable=order.nullable)
        found = portfolio.list_items(db.session, api_user(), model, kind=args.get("kind"), after=after,
                                     limit=args["limit"] + 1, with_links=False)
        result = page(found, args["limit"], order.position)
        shown = result["items"]
        # Linked skills (or experiences) and evidence documents are shown as ids: read their ids, not
        # the objects.
        evidence = (documents.evidence_ids(db.session, model, [item.id for item in shown])
                    if model in documents.EVIDENCE_ITEMS else None)
        ids = portfolio.linked_ids(db.session, model, shown) if links else None

        def related(item) -> dict | None:
            known = {links: ids[item.id]} if links else {}
            if evidence is not None:
                known["evidence"] = evidence[item.id]
            return known or None

        items = [dump_item(item, related(item)) for item in shown]
        return jsonify({"items": items, "next_cursor": result["next_cursor"]})

    @blp.route("", methods=["POST"])
    @blp.response(201, resource.schema)
    @blp.doc(summary=f"Create {article} {label}", **json_body(create_schema))
    @document_errors(blp, 400, 401, 415, 422)
    def create():
        """Unknown fields are refused with 422, so that a misspelt field never silently drops data."""
        item = portfolio.create_item(db.session, api_user(), model, json_object())
        db.session.commit()
        return item, {"Location": url_for(".show", item_id=item.id)}

    @blp.route("/<uuid:item_id>", methods=["GET"])
    @blp.response(200, resource.schema)
    @blp.doc(summary=f"Read {article} {label}")
    @document_errors(blp, 401, 404)
    def show(item_id):
        return policy.get_or_404(model, item_id, api_user(), policy.OWN)

    @blp.route("/<uuid:item_id>", methods=["PATCH"])
    @blp.response(200, resource.schema)
    @blp.doc(summary=f"Change some fields of {article} {label}", **json_body(update_schema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def update(item_id):
        """Only the fields sent change; send null or "" to empty an optional field."""
        item = policy.get_or_404(model, item_id, api_user(), policy.UPDATE)
        portfolio.update_item(db.session, api_user(), item, json_object(), partial=True)
        db.session.commit()
        return item

    @blp.route("/<uuid:item_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary=f"Delete {article} {label}")
    @document_errors(blp, 401, 404)
    def delete(item_id):
        item = policy.get_or_404(model, item_id, api_user(), policy.DELETE)
        portfolio.delete_item(db.session, api_user(), item)
        db.session.commit()
        return None

    return blp


def make_blueprints() -> list[Blueprint]:
    return [make_blueprint(resource) for resource in RESOURCES]
