"""Accounts on the web: register, verify the e-mail address, sign in and out, reset a forgotten password.

Verification policy: an unverified account may sign in and use its whole portfolio (a banner asks to
verify); only changing the e-mail address and creating API tokens need a verified address
(``app.auth.utils.verified_required``), because both act on the identity the address stands for.
"""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.auth.routes import bp

    app.register_blueprint(bp)
