"""Account settings: e-mail and its verification, password, language and time zone, sessions, API
tokens, and deleting the account. Every page is the signed-in person's own; nothing takes a user id."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.settings.routes import bp

    app.register_blueprint(bp)
