"""Session and redirect helpers shared by the auth and settings pages."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from app import sessions
from app.extensions import db
from app.models import User
from app.services.accounts import AccountSuspended
from app.services.errors import ValidationFailed


def safe_next(target) -> str | None:
    """``target`` if it is a path on this site, else None: ``next`` must never send people elsewhere.

    Refuses absolute and scheme-relative URLs (``//evil``), and backslashes and control characters,
    which some browsers read as ``/`` (``/\\evil``) or strip.
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return None
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def home_url() -> str:
    """Where a signed-in person lands."""
    return url_for("portfolio.dashboard")


def start_session(user: User) -> None:
    """Sign ``user`` in on a NEW session id, so that an id planted or seen before login is worthless.

    The session store commits the database session when it drops the old id: callers commit first.
    """
    if not user.is_active:  # whatever door (password, SSO, settings) reached here: no session (L9)
        raise AccountSuspended()
    sessions.regenerate(session)
    # A new CSRF token too: the one from before sign-in lived in a cookie that someone else may have set.
    # Made now, so that it is stored with the new session rather than by the next page's extra write.
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)
    generate_csrf()
    login_user(user)


def suspended_page():
    """The one answer a suspended account gets wherever it tries to sign in or use a session: why, and
    whom to ask (never the admin's reason, which stays in the audit log)."""
    return render_template("auth/suspended.html", contact=current_app.config.get("CONTACT_EMAIL")), 403


def refuse_suspended_session():
    """For a page that needs a signed-in person, when the session's account was suspended while signed in
    (``load_user`` flags it): end that session and show the suspended page; else None."""
    if not g.pop("suspended_session", False):
        return None
    end_session()
    return suspended_page()


def end_session() -> None:
    """Sign out for real: the stored session is deleted and the browser gets a fresh, empty one."""
    logout_user()
    sessions.regenerate(session)
    session.clear()


def verified_required(view):
    """Actions on the identity the address stands for (e-mail change, API tokens) need it verified."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_verified:
            # Only why the page did not open: the banner on every page already offers a new link.
            flash(_("This needs a confirmed e-mail address."), "info")
            return redirect(url_for("settings.index"))
        return view(*args, **kwargs)

    return wrapper


def apply_errors(form, exc: ValidationFailed) -> None:
    """Show a service's field messages under the form's fields (or above the form if no field matches).

    The session is rolled back first: nothing of a refused submission may be committed by what runs
    later in the request (the server-side session store commits the same database session).
    """
    db.session.rollback()
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    if not exc.fields:
        form.form_errors.append(exc.message)
