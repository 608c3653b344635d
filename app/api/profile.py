"""``/api/v1/profile``: the owner's profile details, and the photo for clients holding a token."""
from __future__ import annotations

from flask import abort, make_response, url_for
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.api.schemas import ProfileSchema, ProfileUpdateSchema
from app.extensions import db
from app.services import photos, portfolio
from app.services.portfolio import PROFILE_RULES


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
        """Only the fields sent change; ``photo_url`` is read-only (the photo is changed on the site)."""
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

    return blp
