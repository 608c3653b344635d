"""Settings pages. Each acts on the signed-in account only.

The POSTs that check the current password (password, e-mail, deletion) go through
``accounts.confirm_password``, the sign-in page's per-account backoff, and spend the sign-in page's
per-IP budget (``login_budget``, shared with ``/login`` and the API): a stolen session must not guess
the password here faster than anywhere else."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import emails
from app.auth.forms import EmptyForm
from app.auth.routes import invalid_link, login_budget
from app.auth.utils import apply_errors, end_session, start_session, verified_required
from app.database import utcnow
from app.extensions import db
from app.services import accounts, one_time_tokens
from app.services import tokens as api_tokens
from app.services.errors import Conflict, ServiceError, ValidationFailed
from app.settings.forms import (
    ChangeEmailForm, ChangePasswordForm, CreateTokenForm, DeleteAccountForm, PreferencesForm,
)

bp = Blueprint("settings", __name__, url_prefix="/settings", template_folder="templates")


def _me():
    return current_user._get_current_object()


def _save(form, change: Callable[[], object], password_field=None) -> tuple[bool, object]:
    """Run ``change`` (a service call) and commit: (True, its result), or (False, None) with the
    refusal shown in ``form``.

    A refused value (``ValidationFailed``) is rolled back and shown under its field. A wrong current
    password (``invalid_credentials``, where the form has a ``password_field``) is committed, because
    it counts towards the sign-in backoff, and shown under that field. Any other service error
    propagates to the error pages.
    """
    try:
        result = change()
        db.session.commit()
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return False, None
    except ServiceError as exc:
        if password_field is None or exc.code != "invalid_credentials":
            raise
        db.session.commit()
        password_field.errors = [*password_field.errors, exc.message]
        return False, None
    return True, result


@bp.get("")
@login_required
def index():
    return render_template("settings/index.html", user=_me())


@bp.route("/password", methods=["GET", "POST"])
@login_budget
@login_required
def password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user, revoke = _me(), form.revoke_tokens.data
        saved, _result = _save(form, lambda: accounts.change_password(
            db.session, user, form.current_password.data, form.new_password.data, revoke_tokens=revoke),
            form.current_password)
        if saved:
            start_session(user)  # this session carries the new version; every other one has ended
            emails.password_changed(user)
            flash(_("Your password has been changed. Your other sessions have been signed out and your API "
                    "tokens revoked.") if revoke else
                  _("Your password has been changed. Your other sessions have been signed out."), "success")
            return redirect(url_for("settings.index"))
    return render_template("settings/password.html", form=form), 422 if form.errors else 200


@bp.route("/email", methods=["GET", "POST"])
@login_budget
@login_required
@verified_required
def email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        user = _me()
        saved, pending = _save(form, lambda: accounts.request_email_change(
            db.session, user, form.password.data, form.new_email.data), form.password)
        if saved:
            new_email, raw = pending
            emails.email_change(user, new_email, raw)
            flash(_("We have sent a link to %(email)s. Your address will change when you follow it.",
                    email=new_email), "info")
            return redirect(url_for("settings.index"))
    return render_template("settings/email.html", form=form), 422 if form.errors else 200


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """The link sent to the new address. Works signed out too (it may be opened on another device):
    the token is the proof. GET shows a button, POST uses the link."""
    form = EmptyForm()
    try:
        if form.validate_on_submit():
            user, old_email = accounts.confirm_email_change(db.session, token)
            db.session.commit()
            emails.email_changed_notice(user, old_email)
            flash(_("Your e-mail address is now %(email)s.", email=user.email), "success")
            signed_in = current_user.is_authenticated
            return redirect(url_for("settings.index") if signed_in else url_for("auth.login"))
        one_time_tokens.peek_token(db.session, token, "change_email")
    except Conflict:
        db.session.rollback()
        return render_template("auth/invalid_link.html",
                               message=_("Another account already uses this e-mail address."),
                               purpose="change_email"), 409
    except ServiceError as exc:
        return invalid_link(exc, "change_email")
    return render_template("settings/confirm_email.html", form=form)


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    user = _me()
    form = PreferencesForm(data={"locale": user.locale or "", "timezone": user.timezone or ""})
    if form.validate_on_submit():
        saved, _result = _save(form, lambda: accounts.set_preferences(
            db.session, user, locale=form.locale.data, timezone=form.timezone.data))
        if saved:
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for("settings.preferences"))
    return render_template("settings/preferences.html", form=form), 422 if form.errors else 200


@bp.post("/sessions/end")
@login_required
def logout_everywhere():
    """End every other session (lost phone, shared computer); this one stays signed in."""
    user = _me()
    accounts.end_all_sessions(db.session, user)
    db.session.commit()
    start_session(user)
    flash(_("All your other sessions have been signed out."), "success")
    return redirect(url_for("settings.index"))


# Where a new token's value waits between the POST that made it and the page that shows it.
NEW_TOKEN_KEY = "new_api_token"
NEW_TOKEN_SECONDS = 300


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
@verified_required
def tokens():
    """List, create and revoke API tokens.

    Creation is post/redirect/get: the POST keeps the new value in the session and redirects; the
    next GET takes it out of the session and shows it, once. Reloading either page therefore never
    creates a second token, and the value leaves the session store as soon as it has been shown.
    """
    user = _me()
    form = CreateTokenForm()
    if form.validate_on_submit():
        days = form.expires_in_days.data
        expires_at = utcnow() + timedelta(days=days) if days else None
        saved, created_and_raw = _save(form, lambda: api_tokens.create_token(
            db.session, user, form.name.data, expires_at))
        if saved:
            created, raw = created_and_raw
            session[NEW_TOKEN_KEY] = {"id": str(created.id), "raw": raw, "at": time.time()}
            return redirect(url_for("settings.tokens"))
    listed = api_tokens.list_tokens(db.session, user)
    created = raw = None
    pending = session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    # Shown only right after its creation: a value left behind (the redirect never followed) expires.
    if isinstance(pending, dict) and time.time() - float(pending.get("at") or 0) < NEW_TOKEN_SECONDS:
        created = next((token for token in listed if str(token.id) == pending.get("id")), None)
        raw = pending.get("raw") if created is not None else None
    response = current_app.make_response((render_template(
        "settings/tokens.html", form=form, tokens=listed, created=created, raw_token=raw,
        token_prefix=api_tokens.TOKEN_PREFIX, now=utcnow()), 422 if form.errors else 200))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tokens/<token_id>/revoke")
@login_required
@verified_required
def revoke_token(token_id: str):
    token = api_tokens.revoke_token(db.session, _me(), token_id)  # another person's id: NotFound, a 404 page
    db.session.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("settings.tokens"))


@bp.route("/delete", methods=["GET", "POST"])
@login_budget
@login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        saved, _result = _save(form, lambda: accounts.delete_account(db.session, _me(), form.password.data),
                               form.password)
        if saved:
            end_session()
            flash(_("Your account and everything in it have been deleted."), "success")
            return redirect(url_for("main.index"))
    return render_template("settings/delete.html", form=form,
                           alone=accounts.organisations_only_administered_by(db.session, _me())), \
        422 if form.errors else 200
