"""Issuers: asking to open an organisation, the platform admins' decision, the organisation's own pages
(members, keys, API tokens, achievements), and the public profile and DID document of each issuer."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.issuing.routes import bp
    from app.issuing.public import public
    from app.api import endorsements
    from app.issuing import endorse, vcapi

    app.register_blueprint(bp)
    app.register_blueprint(public)
    vcapi.register(app)
    app.register_blueprint(endorse.bp)
    app.jinja_env.globals["endorse_form"] = endorse.form_for
    endorsements.register(app)
    from app.api import memberships
    memberships.register(app)
