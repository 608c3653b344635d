"""The profile page (details and photo) and the photo itself, served to its owner only."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from app.extensions import db
from app.portfolio import bp
from app.portfolio.common import form_data, render_invalid, show_errors
from app.portfolio.forms import PhotoForm, ProfileForm
from app.services import photos
from app.services import portfolio as service
from app.services.errors import ValidationFailed


def _render(profile_form=None, photo_form=None, invalid=False):
    """The profile page; ``form`` names the refused form, if any, for the layout's error summary."""
    portfolio = service.portfolio_of(current_user)
    context = dict(portfolio=portfolio, profile_form=profile_form or ProfileForm(obj=portfolio),
                   photo_form=photo_form or PhotoForm(formdata=None),
                   photo_version=_photo_version(portfolio.photo_key), form=profile_form or photo_form)
    if invalid:
        return render_invalid("portfolio/profile.html", **context)
    return render_template("portfolio/profile.html", **context)


def _photo_version(key: str | None) -> str | None:
    """The blob's uuid, used in the photo URL so that a new photo is never hidden by a cached one."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0] if key else None


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    if request.method == "POST":
        form = ProfileForm()
        try:
            service.update_profile(db.session, current_user, form_data(service.PROFILE_RULES))
        except ValidationFailed as exc:
            show_errors(form, exc)
            return _render(profile_form=form, invalid=True)
        db.session.commit()
        flash(gettext("Profile saved."), "success")
        return redirect(url_for("portfolio.profile"))
    return _render()


@bp.post("/profile/photo")
@login_required
def upload_photo():
    form = PhotoForm()
    upload = request.files.get("photo")
    limit = current_app.config["PHOTO_MAX_BYTES"]
    # Read one byte more than allowed: enough to know it is too large, never the whole of a huge file.
    data = upload.stream.read(limit + 1) if upload and upload.filename else b""
    try:
        photos.set_photo(db.session, current_user, data, max_bytes=limit)
    except ValidationFailed as exc:
        show_errors(form, exc)
        return _render(photo_form=form, invalid=True)
    db.session.commit()
    flash(gettext("Photo saved."), "success")
    return redirect(url_for("portfolio.profile"))


@bp.post("/profile/photo/delete")
@login_required
def remove_photo():
    photos.remove_photo(db.session, current_user)
    db.session.commit()
    flash(gettext("Photo removed."), "success")
    return redirect(url_for("portfolio.profile"))


@bp.get("/profile/photo")
@login_required
def photo():
    """The signed-in person's own photo; there is no URL that reaches anybody else's."""
    data = photos.read_photo(current_user)
    if data is None:
        abort(404)
    response = make_response(data)
    response.mimetype = photos.CONTENT_TYPE
    response.cache_control.private = True
    response.cache_control.no_cache = True  # revalidate (cheap, with the ETag): the photo may change
    response.set_etag(_photo_version(current_user.portfolio.photo_key))
    return response.make_conditional(request)

