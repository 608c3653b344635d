"""Guardians of minors: the pupil's page (their guardians, what waits for consent, invite a guardian) and the
guardian's page (their children, consent decisions, refusal); the head's partners. The work is
``app.services.guardians`` and ``app.services.minors``."""
from flask import Blueprint, Flask

bp = Blueprint("guardians", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import guardians as api
    from app.guardians import routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
