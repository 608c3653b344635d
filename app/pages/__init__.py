"""Public pages and share links: the owner's editor (``routes``), the visitors' ``/s/<token>``
(``public``) and the API (``app.api.pages``). The work is done by ``app.services.pages`` and
``app.services.share_links``."""
from flask import Blueprint, Flask

bp = Blueprint("pages", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.pages import public, routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
