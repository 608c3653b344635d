"""Sharing a portfolio with people: the owner's "Sharing" and "Access log" pages, the invitation link,
"Shared with me" and the read-only shared views. The work is ``app.services.grants`` and
``app.services.access_log``; every decision is ``app.policy``'s."""
from flask import Blueprint, Flask

bp = Blueprint("sharing", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import grants as api
    from app.sharing import invitee, owner  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
