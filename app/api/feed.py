"""``/api/v1/events`` (list, read; create, change, withdraw for publishers) and ``/api/v1/feed`` (the
token owner's feed with the reasons of each event). The work is ``app.services.feed``; an event the
caller may not see (a withdrawn one of another publisher) answers 404 like a missing one.

Lists are short by nature (upcoming events, soonest first): ``limit`` bounds them (200 at most) rather
than a cursor, since the feed is computed by matching, not read from an index in a stable order.
"""
from __future__ import annotations

import marshmallow as ma
from flask import Flask, current_app, url_for
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db
from app.feed.routes import event_url
from app.models.feed import EVENT_KINDS, Event
from app.services import feed as service
from app.services.errors import ValidationFailed


class EventBodySchema(ma.Schema):
    organisation_id = ma.fields.String(metadata={
        "description": "On creation: the organisation that publishes (its id), or absent/`platform` for the "
                       "platform's own events (platform admins). Cannot change afterwards."})
    kind = ma.fields.String(validate=ma.validate.OneOf(EVENT_KINDS), metadata={"description": "event or offer"})
    title = ma.fields.String(metadata={"description": "Required on creation; 200 characters at most."})
    description = ma.fields.String(metadata={"description": "Markdown (sanitised when shown); 10,000 at most."})
    starts_at = ma.fields.String(allow_none=True, metadata={
        "description": "ISO 8601 with a time zone; required for an event, optional for an offer."})
    ends_at = ma.fields.String(allow_none=True, metadata={
        "description": "ISO 8601 with a time zone, not before starts_at; an offer's closing date. The event "
                       "must not be over already."})
    place = ma.fields.String()
    link = ma.fields.String(metadata={"description": "An http(s) address."})
    occupation_uris = ma.fields.List(ma.fields.String(), metadata={
        "description": "Occupations concerned: concept URIs or ids of the imported frameworks (50 at most)."})
    skill_uris = ma.fields.List(ma.fields.String(), metadata={
        "description": "Skills concerned: concept URIs or ids of the imported frameworks (50 at most)."})


class EventSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    starts_at = ma.fields.DateTime(allow_none=True)
    ends_at = ma.fields.DateTime(allow_none=True)
    place = ma.fields.String(required=True)
    link = ma.fields.String(required=True)
    occupation_uris = ma.fields.List(ma.fields.String(), required=True)
    skill_uris = ma.fields.List(ma.fields.String(), required=True)
    organisation_id = ma.fields.UUID(allow_none=True, metadata={"description": "null: the platform"})
    publisher = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "published or withdrawn"})
    published_at = ma.fields.DateTime(required=True)
    withdrawn_at = ma.fields.DateTime(allow_none=True)
    updated_at = ma.fields.DateTime(required=True)
    url = ma.fields.String(required=True, metadata={"description": "The event's page"})
    ical_url = ma.fields.String(required=True)


class ReasonSchema(ma.Schema):
    kind = ma.fields.String(required=True, metadata={
        "description": "skill, occupation (of a hypothesis), occupation_skill (a skill it needs) or keyword"})
    label = ma.fields.String(required=True)
    concept_uri = ma.fields.String(allow_none=True)
    via = ma.fields.String(allow_none=True, metadata={"description": "The hypothesis or occupation"})
    relation = ma.fields.String(allow_none=True, metadata={"description": "essential or optional"})
    text = ma.fields.String(required=True, metadata={"description": "Why you see this, in words"})


class EventListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventSchema), required=True)


class FeedItemSchema(ma.Schema):
    event = ma.fields.Nested(EventSchema, required=True)
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), required=True)


class FeedSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FeedItemSchema), required=True)


class PreferencesBodySchema(ma.Schema):
    keywords = ma.fields.List(ma.fields.String(), metadata={
        "description": "Interest keywords (20 at most, 80 characters each); accents and plurals are folded."})
    digest = ma.fields.Boolean(metadata={"description": "The weekly e-mail of new events in the feed."})


class PreferencesSchema(PreferencesBodySchema):
    private_addresses_since = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When the active private feed addresses were made; null: none."})


class PrivateAddressesSchema(ma.Schema):
    atom_url = ma.fields.String(required=True, metadata={"description": "Shown this once only."})
    ical_url = ma.fields.String(required=True, metadata={"description": "Shown this once only."})


class ListArgs(ma.Schema):
    scope = ma.fields.String(load_default="upcoming", validate=ma.validate.OneOf(("upcoming", "mine")), metadata={
        "description": "upcoming: every published event not yet over; mine: what you publish (withdrawn too)"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


class FeedArgs(ma.Schema):
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))


def dump_event(event: Event) -> dict:
    return {"id": event.id, "kind": event.kind, "title": event.title, "description": event.description,
            "starts_at": event.starts_at, "ends_at": event.ends_at, "place": event.place, "link": event.link,
            "occupation_uris": list(event.occupation_uris), "skill_uris": list(event.skill_uris),
            "organisation_id": event.organisation_id, "publisher": event.publisher_name or "Sillage",
            "status": event.status, "published_at": event.published_at, "withdrawn_at": event.withdrawn_at,
            "updated_at": event.updated_at, "url": event_url(event), "ical_url": f"{event_url(event)}/calendar.ics"}


def make_events_blueprint() -> Blueprint:
    blp = Blueprint("Events and offers", __name__, url_prefix="/api/v1/events",
                    description="Events and offers published by the platform and approved organisations.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, EventListSchema)
    @blp.doc(summary="List events: the upcoming ones, soonest first, or those you publish")
    @document_errors(blp, 401, 422)
    def index(args):
        if args["scope"] == "mine":
            events = service.for_publisher(db.session, api_user())
        else:
            events = service.upcoming(db.session, limit=args["limit"])
        return {"items": [dump_event(event) for event in events[:args["limit"]]]}

    @blp.route("", methods=["POST"])
    @blp.response(201, EventSchema)
    @blp.doc(summary="Publish an event or an offer (platform admins; members of an approved organisation "
                     "who may issue)", **json_body(EventBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def create():
        event = service.create(db.session, api_user(), json_object())
        db.session.commit()
        return dump_event(event), {"Location": url_for(".show", event_id=event.id)}

    @blp.route("/<uuid:event_id>", methods=["GET"])
    @blp.response(200, EventSchema)
    @blp.doc(summary="Read an event")
    @document_errors(blp, 401, 404)
    def show(event_id):
        return dump_event(service.get(db.session, api_user(), event_id))

    @blp.route("/<uuid:event_id>", methods=["PATCH"])
    @blp.response(200, EventSchema)
    @blp.doc(summary="Change some fields of an event you publish (not once withdrawn: 422 event_withdrawn)",
             **json_body(EventBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def update(event_id):
        body = json_object()
        event = service.get(db.session, api_user(), event_id)
        service.update(db.session, api_user(), event, body)
        db.session.commit()
        return dump_event(event)

    @blp.route("/<uuid:event_id>/withdraw", methods=["POST"])
    @blp.response(200, EventSchema)
    @blp.doc(summary="Withdraw an event you publish: it leaves every feed (calendars get it cancelled)")
    @document_errors(blp, 401, 404)
    def withdraw(event_id):
        event = service.get(db.session, api_user(), event_id)
        service.withdraw(db.session, api_user(), event)
        db.session.commit()
        return dump_event(event)

    return blp


def make_feed_blueprint() -> Blueprint:
    blp = Blueprint("Personal feed", __name__, url_prefix="/api/v1/feed",
                    description="Your feed: upcoming events matching your skills, hypotheses and keywords.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.arguments(FeedArgs, location="query")
    @blp.response(200, FeedSchema)
    @blp.doc(summary="Your feed, soonest first, each event with why you see it")
    @document_errors(blp, 401, 422)
    def index(args):
        user = api_user()
        items = service.feed(db.session, user, limit=args["limit"])
        return {"items": [{"event": dump_event(item.event), "reasons": [r.as_dict() for r in item.reasons]}
                          for item in items]}

    def dump_preferences(settings) -> dict:
        return {"keywords": list(settings.keywords), "digest": settings.digest,
                "private_addresses_since": settings.token_created_at if settings.token_hash else None}

    @blp.route("/preferences", methods=["GET"])
    @blp.response(200, PreferencesSchema)
    @blp.doc(summary="Your interest keywords and digest choice")
    @document_errors(blp, 401)
    def preferences():
        settings = service.settings_for(db.session, api_user())
        db.session.commit()
        return dump_preferences(settings)

    @blp.route("/preferences", methods=["PATCH"])
    @blp.response(200, PreferencesSchema)
    @blp.doc(summary="Change your keywords (the whole new list) or the weekly digest",
             **json_body(PreferencesBodySchema))
    @document_errors(blp, 400, 401, 415, 422)
    def change_preferences():
        body = json_object()
        unknown = sorted(set(body) - {"keywords", "digest"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        settings = service.set_preferences(db.session, api_user(), keywords=body.get("keywords"),
                                           digest=body.get("digest"))
        db.session.commit()
        return dump_preferences(settings)

    @blp.route("/private-addresses", methods=["POST"])
    @blp.response(201, PrivateAddressesSchema)
    @blp.doc(summary="New private addresses (Atom, iCal) for feed readers; the previous ones stop working")
    @document_errors(blp, 401)
    def new_addresses():
        raw = service.new_token(db.session, api_user())
        db.session.commit()
        base = current_app.config["BASE_URL"].rstrip("/")
        return {"atom_url": f"{base}/feed/private/{raw}/atom.xml", "ical_url": f"{base}/feed/private/{raw}/calendar.ics"}

    @blp.route("/private-addresses", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Switch the private addresses off")
    @document_errors(blp, 401)
    def revoke_addresses():
        service.revoke_token(db.session, api_user())
        db.session.commit()
        return None

    return blp


def register(app: Flask) -> None:
    from app import api

    api.register(app, make_events_blueprint(), make_feed_blueprint())
