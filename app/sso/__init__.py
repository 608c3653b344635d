"""Single sign-on with OpenID Connect: any number of providers configured by the operator.

An academy's ENT, a university's IdP or a national identity service signs people in with the
authorization code flow, PKCE (S256), ``state`` and ``nonce``; the ID token's signature (the provider's
JWKS), ``iss``, ``aud``/``azp``, ``exp``, ``iat`` and ``nonce`` are checked here (app/sso/flow.py) before
anything is created or linked. Accounts are linked by an e-mail address the provider says is verified
(``email_verified``), or explicitly from the settings page; local passwords stay available.
"""
from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    from app.sso.providers import parse
    from app.sso.routes import bp

    # A misconfigured provider stops the start, not a sign-in.
    raw = app.config.get("OIDC_PROVIDERS")
    path = Path(app.config["INSTANCE_PATH"]) / "oidc_providers.json"
    if raw is None and path.is_file():
        raw = path.read_text()
    parse(raw or "[]", testing=bool(app.config.get("TESTING")))

    app.register_blueprint(bp)
    app.context_processor(_login_buttons)
    from app.api import sso as api
    api.register(app)


def _login_buttons() -> dict:
    """The sign-in page's buttons: one per configured provider (none when SSO is not set up)."""
    from app.sso.providers import configured

    return {"sso_providers": configured}
