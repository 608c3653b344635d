"""Sign-in buttons' targets, the provider's callback, and the settings page to link and unlink.

The sign-in starts with a GET (a link on the sign-in page; it only redirects to the provider). Linking
from the settings is a POST with CSRF: it binds an identity to the signed-in account. The flow's
secrets (state, nonce, PKCE verifier) live in the server-side session, keyed by ``state`` (a few
sign-ins may run in parallel tabs), and are spent by the first callback that names them.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.utils import home_url, safe_next, start_session, suspended_page
from app.extensions import db, limiter
from app.services import accounts
from app.sso import emails, flow, identities, providers
from app.sso.errors import SsoError

bp = Blueprint("sso", __name__, template_folder="templates")
PENDING = "sso_pending"
MAX_PENDING = 5


def _begin(name: str, *, link_user=None, next_url=None) -> tuple[providers.Provider, str]:
    provider = providers.get(name)
    # From SILLAGE_BASE_URL, not the request's Host: the redirect URI is the one registered at the provider.
    callback_url = current_app.config["BASE_URL"].rstrip("/") + url_for("sso.callback", name=name)
    url, state, record = flow.begin(provider, callback_url)
    record.update(next=next_url, link_user=str(link_user) if link_user else None)
    pending = dict(session.get(PENDING) or {})
    while len(pending) >= MAX_PENDING:  # the oldest unfinished sign-ins give way
        pending.pop(min(pending, key=lambda key: pending[key]["started"]))
    pending[state] = record
    session[PENDING] = pending
    return provider, url


def _refuse(exc: SsoError):
    db.session.rollback()
    return render_template("sso/error.html", message=exc.message, code=exc.code), exc.status


@bp.get("/auth/oidc/<name>/login")
@limiter.limit("30/minute")
def login(name: str):
    try:
        return redirect(_begin(name, next_url=safe_next(request.args.get("next")))[1])
    except SsoError as exc:
        return _refuse(exc)


@bp.get("/auth/oidc/<name>/callback")
@limiter.limit("30/minute")
def callback(name: str):
    pending = dict(session.get(PENDING) or {})
    record = pending.pop(str(request.args.get("state", "")), None)  # spent now, whatever follows
    session[PENDING] = pending
    try:
        provider = providers.get(name)
        claims = flow.finish(provider, request.args, record)
        if record.get("link_user"):
            if not current_user.is_authenticated or str(current_user.id) != record["link_user"]:
                raise SsoError("bad_state", _("You are no longer signed in as the person who asked for this "
                                              "link: refused."), status=403)
            identities.link(db.session, current_user._get_current_object(), provider, claims)
            db.session.commit()
            flash(_("Your %(provider)s account is linked: you can now sign in with it.",
                    provider=provider.label), "success")
            return redirect(url_for("sso.settings"))
        user, outcome = identities.sign_in(db.session, provider, claims)
        db.session.commit()
    except SsoError as exc:
        return _refuse(exc)
    except accounts.AccountSuspended:  # as after the right password (app/auth/routes.py login)
        db.session.rollback()
        return suspended_page()
    start_session(user)
    if outcome == "created":
        flash(_("Welcome! Your account was created with %(provider)s. You can also set a password with "
                "\"Forgot your password?\".", provider=provider.label), "success")
    elif outcome == "linked":
        emails.linked_by_email(user, provider.label, claims.get("email"))  # nobody clicked "link": tell them
        flash(_("Your %(provider)s account is now linked to your Sillage account.", provider=provider.label),
              "info")
    return redirect(record.get("next") or home_url())


@bp.get("/settings/sign-in-services")
@login_required
def settings():
    user = current_user._get_current_object()
    linked = identities.for_user(db.session, user)
    known = {provider.name: provider for provider in providers.configured()}
    return render_template("sso/settings.html", linked=linked, providers=known)


@bp.post("/settings/sign-in-services/<name>/link")
@login_required
def link(name: str):
    try:
        provider, url = _begin(name, link_user=current_user.id)
    except SsoError as exc:
        return _refuse(exc)
    # A page with a link rather than a redirect: the site's CSP (form-action 'self') forbids a form's
    # answer to redirect to another origin, and a link is a plain navigation.
    return render_template("sso/continue.html", provider=provider, url=url)


@bp.post("/settings/sign-in-services/<identity_id>/unlink")
@login_required
def unlink(identity_id: str):
    try:
        identity_uuid = uuid.UUID(identity_id)
    except ValueError:
        abort(404)
    try:
        identities.unlink(db.session, current_user._get_current_object(), identity_uuid)
    except SsoError as exc:
        return _refuse(exc)
    db.session.commit()
    flash(_("The link is removed. You sign in with your password (or \"Forgot your password?\" to set one)."),
          "success")
    return redirect(url_for("sso.settings"))
