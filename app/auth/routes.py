"""Register, verify the address, sign in and out, reset a forgotten password.

No page ever tells whether an address has an account: register, sign-in and reset answer the same,
in the same time, whatever the address (the owner of a taken address gets an e-mail instead, and
every mail goes out after the response). POST routes that guess
secrets are limited per IP by Flask-Limiter; the per-account backoff lives in the database, applied by
``accounts.authenticate`` here and by ``accounts.confirm_password`` wherever the current password is asked
again (settings pages, API account routes).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required

from app.auth import emails
from app.auth.forms import EmptyForm, ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm
from app.auth.utils import apply_errors, end_session, home_url, safe_next, start_session, suspended_page
from app.extensions import db, limiter
from app.services import accounts, one_time_tokens
from app.services.errors import Conflict, ServiceError, ValidationFailed

bp = Blueprint("auth", __name__, template_folder="templates")

# Per-IP limit on the POSTs that guess or spend something (passwords, mails); GETs are free.
post_limit = limiter.limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], methods=["POST"])
# One per-IP budget for every password guess, whatever the door: this page, POST /api/v1/tokens, the
# settings pages that ask for the current password and the API account routes (same scope "login").
login_budget = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_LOGIN"], scope="login",
                                    methods=["POST"])


def invalid_link(exc: ServiceError, purpose: str):
    """The page for a used, expired or unknown link (any other service error propagates).

    ``purpose`` (``verify_email``, ``reset_password``, ``change_email``) decides what the page offers
    next: a spent confirmation link offers a new confirmation, not a password reset."""
    if exc.code != "invalid_token":
        raise exc
    db.session.rollback()
    return render_template("auth/invalid_link.html", message=exc.message, purpose=purpose), 400


@bp.route("/register", methods=["GET", "POST"])
@post_limit
def register():
    """``next`` (checked by ``safe_next``; an invitation link, say) is kept through the confirmation mail
    and the sign-in that follow, so that the new person lands where they were going."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_url())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db.session, email=form.email.data, password=form.password.data,
                                        display_name=form.display_name.data or "", locale=str(get_locale()))
            raw = accounts.verification_token(db.session, user, force=True)
            db.session.commit()
            emails.verification(user, raw, next_url)
        except Conflict:
            # Same outcome as a new account; the address's owner gets a mail with a reset link, at
            # most one every two minutes (the reset page's interval), so that this door cannot be
            # used to flood an inbox.
            db.session.rollback()
            found = accounts.request_password_reset(db.session, form.email.data)
            db.session.commit()
            if found is not None:
                emails.register_attempt(*found)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            return render_template("auth/register.html", form=form, next_url=next_url), 422
        return redirect(url_for("auth.check_inbox", reason="register"))
    return render_template("auth/register.html", form=form, next_url=next_url), 422 if form.errors else 200


@bp.get("/register/check-inbox")
def check_inbox():
    return render_template("auth/check_inbox.html", reason=request.args.get("reason"))


@bp.route("/login", methods=["GET", "POST"])
@login_budget
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_url())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(db.session, form.email.data, form.password.data)
        except accounts.AccountSuspended:
            db.session.commit()
            return suspended_page()
        db.session.commit()  # a failure is counted too
        if user is not None:
            start_session(user)
            return redirect(next_url or home_url())
        form.form_errors.append(_("The e-mail address or the password is not right. After several failed "
                                  "attempts, signing in to an account is paused for a few minutes."))
    return render_template("auth/login.html", form=form, next_url=next_url), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    end_session()
    flash(_("You are signed out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """GET shows a button, POST uses the link: mail scanners that prefetch links do not spend it."""
    form = EmptyForm()
    next_url = safe_next(request.args.get("next"))  # the form posts to this same URL, ``next`` included
    try:
        if request.method == "POST":
            accounts.verify_email(db.session, token)
            db.session.commit()
            flash(_("Thank you: your e-mail address is confirmed."), "success")
            if current_user.is_authenticated:
                return redirect(next_url or home_url())
            return redirect(url_for("auth.login", next=next_url))
        one_time_tokens.peek_token(db.session, token, "verify_email")
    except ServiceError as exc:
        return invalid_link(exc, "verify_email")
    return render_template("auth/verify_email.html", form=form)


@bp.post("/verify-email/resend")
@limiter.limit(lambda: current_app.config["RATE_LIMIT_LOGIN"])
@login_required
def resend_verification():
    """Send a fresh link (at most one every two minutes per account; older links stop working)."""
    user = current_user._get_current_object()
    if user.is_verified:
        flash(_("Your e-mail address is already confirmed."), "info")
    else:
        raw = accounts.verification_token(db.session, user)
        db.session.commit()
        if raw:
            emails.verification(user, raw)
        flash(_("We have sent a new link to %(email)s. It can take a few minutes to arrive; we send at most "
                "one every two minutes.", email=user.email), "info")
    return redirect(safe_next(request.form.get("next")) or url_for("settings.index"))


@bp.route("/reset-password", methods=["GET", "POST"])
@post_limit
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = accounts.request_password_reset(db.session, form.email.data)
        db.session.commit()
        if found is not None:
            emails.password_reset(*found)
        return redirect(url_for("auth.check_inbox", reason="reset"))
    return render_template("auth/forgot_password.html", form=form), 422 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@post_limit
def reset_password(token: str):
    try:
        one_time_tokens.peek_token(db.session, token, "reset_password")
    except ServiceError as exc:
        return invalid_link(exc, "reset_password")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.reset_password(db.session, token, form.password.data)
            db.session.commit()
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except ServiceError as exc:
            return invalid_link(exc, "reset_password")
        else:
            emails.password_changed(user)
            if current_user.is_authenticated:
                end_session()
            flash(_("Your password has been changed, every session signed out and every API token "
                    "revoked. You can sign in now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 422 if form.errors else 200
