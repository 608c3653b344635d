"""``/api/v1/pages`` (create, list, read, change, delete) and ``/api/v1/share-links`` (create, list,
revoke), for the token's owner. The work is ``app.services.pages`` and ``app.services.share_links``;
another person's id answers 404 exactly like a missing one.

A link's address (``url``) is in the creation answer only: the token is not stored, only its hash.
"""
from __future__ import annotations

import marshmallow as ma
from flask import url_for
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db
from app.models.pages import ITEM_TYPES, THEMES, Page, ShareLink
from app.services import pages, share_links
from app.services.errors import NotFound, ValidationFailed


class ItemRefSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(ITEM_TYPES))
    id = ma.fields.UUID(required=True)


class PageBodySchema(ma.Schema):
    title = ma.fields.String(metadata={"description": "Required on creation; 120 characters at most."})
    headline = ma.fields.String(metadata={"description": "One line under the name; empty: the profile's."})
    theme = ma.fields.String(validate=ma.validate.OneOf(THEMES))
    items = ma.fields.List(ma.fields.Nested(ItemRefSchema), metadata={
        "description": "The items shown, in this order (100 at most); each must be one of the owner's."})
    show_photo = ma.fields.Boolean()
    public_profile = ma.fields.Boolean(metadata={"description": "Let search engines index the page "
                                                                "(else it is served noindex); for an owner "
                                                                "under 15, only while a guardian's "
                                                                "`public_page` consent holds."})


class PageSchema(PageBodySchema):
    id = ma.fields.UUID(required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class PageListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PageSchema), required=True)


class ShareLinkBodySchema(ma.Schema):
    page_id = ma.fields.UUID(metadata={"description": "The page to open (or cv_id)."})
    cv_id = ma.fields.UUID(metadata={"description": "The CV to open (or page_id)."})
    expires_at = ma.fields.String(metadata={"description": "ISO 8601 date-time with a time zone, or a date "
                                                           "(the end of that day, UTC); must be in the future."})
    password = ma.fields.String(metadata={"description": "6 to 200 characters; stored as an Argon2id hash."})
    label = ma.fields.String(metadata={"description": "Who the link is for (120 characters at most); shown "
                                                     "in the access log."})


class ShareLinkSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    page_id = ma.fields.UUID(allow_none=True)
    cv_id = ma.fields.UUID(allow_none=True)
    label = ma.fields.String(required=True)
    state = ma.fields.String(required=True, metadata={"description": "active, expired or revoked."})
    has_password = ma.fields.Boolean(required=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    view_count = ma.fields.Integer(required=True)
    last_viewed_at = ma.fields.DateTime(allow_none=True)


class NewShareLinkSchema(ShareLinkSchema):
    url = ma.fields.String(required=True, metadata={"description": "The link's address: shown this once only."})


class ShareLinkListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ShareLinkSchema), required=True)


def dump_page(page: Page) -> dict:
    return {"id": page.id, "title": page.title, "headline": page.headline, "theme": page.theme,
            "items": page.items, "show_photo": page.show_photo, "public_profile": page.public_profile,
            "created_at": page.created_at, "updated_at": page.updated_at}


def dump_link(link: ShareLink, raw: str | None = None) -> dict:
    data = {"id": link.id, "page_id": link.page_id, "cv_id": link.cv_id, "label": link.label, "state": link.state,
            "has_password": link.password_hash is not None, "created_at": link.created_at,
            "expires_at": link.expires_at, "revoked_at": link.revoked_at, "view_count": link.view_count,
            "last_viewed_at": link.last_viewed_at}
    if raw is not None:
        data["url"] = share_links.url(raw)
    return data


def make_pages_blueprint() -> Blueprint:
    blp = Blueprint("pages_api", __name__, url_prefix="/api/v1/pages",
                    description="The owner's public pages (a showcase opened by share links).")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.response(200, PageListSchema)
    @blp.doc(summary="List pages, newest first (50 at most per owner: no pagination needed)")
    @document_errors(blp, 401)
    def index():
        return {"items": [dump_page(page) for page in pages.list_for(db.session, api_user())]}

    @blp.route("", methods=["POST"])
    @blp.response(201, PageSchema)
    @blp.doc(summary="Create a page", **json_body(PageBodySchema))
    @document_errors(blp, 400, 401, 415, 422)
    def create():
        page = pages.create(db.session, api_user(), json_object())
        db.session.commit()
        return dump_page(page), {"Location": url_for(".show", page_id=page.id)}

    @blp.route("/<uuid:page_id>", methods=["GET"])
    @blp.response(200, PageSchema)
    @blp.doc(summary="Read a page")
    @document_errors(blp, 401, 404)
    def show(page_id):
        return dump_page(pages.get(db.session, api_user(), page_id))

    @blp.route("/<uuid:page_id>", methods=["PATCH"])
    @blp.response(200, PageSchema)
    @blp.doc(summary="Change some fields of a page (items: the whole new list)", **json_body(PageBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def update(page_id):
        page = pages.get(db.session, api_user(), page_id)
        pages.update(db.session, api_user(), page, json_object(), partial=True)
        db.session.commit()
        return dump_page(page)

    @blp.route("/<uuid:page_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Delete a page and its share links")
    @document_errors(blp, 401, 404)
    def delete(page_id):
        pages.delete(db.session, api_user(), pages.get(db.session, api_user(), page_id))
        db.session.commit()
        return None

    return blp


def make_links_blueprint() -> Blueprint:
    blp = Blueprint("share_links_api", __name__, url_prefix="/api/v1/share-links",
                    description="Share links: unguessable addresses (/s/<token>) to one page or CV.")
    blp.before_request(require_token)

    @blp.route("", methods=["POST"])
    @blp.response(201, NewShareLinkSchema)
    @blp.doc(summary="Create a share link to a page or a CV; the answer holds its url, once (a cv_id "
                     "that is not one of the owner's CVs: 404)",
             **json_body(ShareLinkBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def create():
        body = json_object()
        unknown = sorted(set(body) - {"page_id", "cv_id", "expires_at", "password", "label"})
        if unknown:
            raise ValidationFailed("Some information is not valid.", fields={k: "Unknown field." for k in unknown})
        page = None
        if body.get("page_id") is not None:
            try:
                page = pages.get(db.session, api_user(), body["page_id"])
            except NotFound:
                raise ValidationFailed("Some information is not valid.",
                                       fields={"page_id": "Not one of your pages."}) from None
        link, raw = share_links.create(db.session, api_user(), page=page, cv_id=body.get("cv_id"),
                                       label=body.get("label"), expires_at=body.get("expires_at"),
                                       password=body.get("password"))
        db.session.commit()
        return dump_link(link, raw)

    @blp.route("", methods=["GET"])
    @blp.response(200, ShareLinkListSchema)
    @blp.doc(summary="List share links, newest first, with their state and view count (never their url)")
    @document_errors(blp, 401)
    def index():
        return {"items": [dump_link(link) for link in share_links.list_for(db.session, api_user())]}

    @blp.route("/<uuid:link_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Revoke a share link (it answers 404 from now on; it stays listed, revoked)")
    @document_errors(blp, 401, 404)
    def revoke(link_id):
        share_links.revoke(db.session, api_user(), share_links.get(db.session, api_user(), link_id))
        db.session.commit()
        return None

    return blp
