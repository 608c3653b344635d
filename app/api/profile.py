"""``/api/v1/profile``: the owner's profile details and photo."""
from __future__ import annotations

from flask import abort, make_response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.schemas import ProfileSchema, ProfileUpdateSchema
from app.extensions import db
from app.services import photos, portfolio
from app.services.errors import ServiceError
from app.services.portfolio import PROFILE_RULES

PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def _profile() -> dict:
    owned = portfolio.portfolio_of(api_user())
    data = {name: getattr(owned, name) for name in PROFILE_RULES}
    # The API's own photo URL: the page's /profile/photo needs a browser session, a client has a token.
    data["photo_url"] = url_for("profile.photo", _external=True) if owned.photo_key else None
    return data


def make_blueprint() -> Blueprint:
    blp = Blueprint("profile", __name__, url_prefix="/api/v1/profile",
                    description="The owner's profile: name, headline, contact details.")
    blp.before_request(require_token)

    @blp.route("", methods=["GET"])
    @blp.response(200, ProfileSchema)
    @blp.doc(summary="Read your profile")
    @document_errors(blp, 401)
    def show():
        return _profile()

    @blp.route("", methods=["PATCH"])
    @blp.response(200, ProfileSchema)
    @blp.doc(summary="Change some profile fields", **json_body(ProfileUpdateSchema))
    @document_errors(blp, 400, 401, 415, 422)
    def update():
        """Only the fields sent change; ``photo_url`` is read-only (PUT the photo to change it)."""
        portfolio.update_profile(db.session, api_user(), json_object())
        db.session.commit()
        return _profile()

    @blp.route("/photo", methods=["GET"])
    @blp.doc(summary="Download your profile photo", responses={
        "200": {"description": "The photo, a JPEG of at most 512x512 pixels.",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}})
    @document_errors(blp, 401, 404)
    def photo():
        data = photos.read_photo(api_user())
        if data is None:
            abort(404)
        response = make_response(data)
        response.mimetype = photos.CONTENT_TYPE
        return response

    @blp.route("/photo", methods=["PUT"])
    @blp.response(200, ProfileSchema)
    @blp.doc(summary="Replace your profile photo", requestBody={
        "required": True, "description": "The image itself (JPEG, PNG, WebP or GIF) as the whole body; it is "
                                         "re-encoded as a JPEG of at most 512x512, without its metadata.",
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in PHOTO_TYPES}})
    @document_errors(blp, 401, 415, 422)
    def replace_photo():
        """The image is recognised by its content; the Content-Type only has to say it is an image."""
        if request.mimetype not in PHOTO_TYPES:
            raise ServiceError(str(_l("Send the image itself, with Content-Type image/jpeg, image/png, "
                                      "image/webp or image/gif.")), code="unsupported_media_type", status=415)
        photos.set_photo(db.session, api_user(), request.get_data(cache=False))
        db.session.commit()
        return _profile()

    @blp.route("/photo", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Remove your profile photo")
    @document_errors(blp, 401)
    def remove_photo():
        photos.remove_photo(db.session, api_user())
        db.session.commit()
        return None

    return blp
