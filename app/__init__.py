"""Sillage: a citizen-owned lifelong e-portfolio with verifiable, signed credentials."""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import bindparam, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module

ROOT = Path(__file__).resolve().parent.parent


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: WAL for concurrent readers, enforced foreign keys, and a wait instead of 'locked'."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def migrations_directory() -> str:
    """The Alembic folder: ``app/migrations`` in an installed wheel (setup.py copies it there), else the
    checkout's top-level ``migrations/``, where new migrations are written."""
    packaged = Path(__file__).resolve().parent / "migrations"
    return str(packaged if (packaged / "env.py").is_file() else ROOT / "migrations")


def create_app(config: Mapping | None = None) -> Flask:
    """Build the application; ``config`` overrides the settings read from the environment (tests)."""
    settings = config_module.load(overrides=config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if hops := app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if not app.logger.handlers or app.debug:
        logging.basicConfig(level=logging.INFO)

    _init_extensions(app)
    _register_blueprints(app)

    from app import cli, errors, templating

    errors.register(app)
    templating.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import i18n, sessions
    from app.extensions import babel, csrf, db, limiter, login_manager, mail, migrate, talisman
    from app.models import User

    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_directory(), render_as_batch=True)
    sessions.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=_select_timezone)
    i18n.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # Built once: this runs on every signed-in request. The portfolio comes in the same query, as
    # nearly every page reads it and a second round trip costs more than the join.
    user_with_portfolio = select(User).where(User.id == bindparam("id")).options(joinedload(User.portfolio))

    @login_manager.user_loader
    def load_user(identity: str):
        """Identity is ``<id>:<session_version>``: a bumped version ends every older session."""
        from app.policy import parse_id

        user_id, _, version = identity.partition(":")
        key = parse_id(user_id)
        user = db.session.scalars(user_with_portfolio, {"id": key}).first() if key else None
        if user is not None and not user.is_active:
            # A session of an account suspended while signed in: the person gets the suspended page
            # (app/auth/utils.py ``refuse_suspended_session``), not a login form that says nothing.
            g.suspended_session = True
            return None
        if user is None or str(user.session_version) != version:
            return None
        return user

    @app.after_request
    def keep_private_pages_out_of_caches(response):
        """A signed-in page shows private content: Back after logout on a shared computer must not
        replay it from the browser cache. Routes that set their own policy (the photo) keep it."""
        user = g.get("_login_user")  # only if the view loaded it: no extra query on public routes
        if (request.endpoint != "static" and "Cache-Control" not in response.headers
                and user is not None and user.is_authenticated):
            response.headers["Cache-Control"] = "no-store"
        return response

    https = app.config["HTTPS"]
    talisman.init_app(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy={
            "default-src": "'self'",
            "img-src": ["'self'", "data:"],
            "style-src": "'self'",
            "script-src": "'self'",
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        },
        content_security_policy_nonce_in=["script-src"],
        referrer_policy="strict-origin-when-cross-origin",
        frame_options="DENY",
    )


def _select_timezone():
    if not has_request_context():
        return None
    if getattr(current_user, "is_authenticated", False) and current_user.timezone:
        return current_user.timezone
    return None


def _register_blueprints(app: Flask) -> None:
    from app import api, auth, credentials, issuing, jobs, portfolio, settings, vault, verification
    from app.main import bp as main_bp

    app.register_blueprint(main_bp)
    # The API first: verification documents its route on the API's OpenAPI description.
    for feature in (auth, portfolio, settings, api, verification, jobs, issuing, credentials, vault):
        feature.init_app(app)
    from app import imports; imports.init_app(app)  # noqa: E702  (issue 11: import page and API)
    from app.attestations import init_app as init_attestations
    init_attestations(app)
    from app import cvs; cvs.init_app(app)  # noqa: E702
    from app.pages import init_app as init_pages
    init_pages(app)
    from app import sso; sso.init_app(app)  # noqa: E702
    from app.sharing import init_app as init_sharing
    init_sharing(app)
    from app.collab import init_app as init_collab
    init_collab(app)
    from app.feed import init_app as init_feed; init_feed(app)  # noqa: E702
    from app import skill_suggestions; skill_suggestions.init_app(app)  # noqa: E702
    from app import frameworks; frameworks.init_app(app)  # noqa: E702
    from app import path; path.init_app(app)  # noqa: E702
    from app import exports; exports.init_app(app)  # noqa: E702
    from app import backpack; backpack.init_app(app)  # noqa: E702
    from app.institutions import init_app as init_institutions; init_institutions(app)  # noqa: E702
    from app.guardians import init_app as init_guardians; init_guardians(app)  # noqa: E702
    from app import admin; admin.init_app(app)  # noqa: E702
