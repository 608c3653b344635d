"""S'informer: the person's feed (``routes``: feed, preferences, private feed-reader addresses, iCal),
the publishers' pages (``publish``), the weekly digest (``digest``) and the API (``app.api.feed``).
The work is ``app.services.feed``."""
from flask import Blueprint, Flask

bp = Blueprint("feed", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import feed as api
    from app.feed import digest, publish, routes  # noqa: F401  (routes attach to bp; digest's tasks)

    app.register_blueprint(bp)
    api.register(app)
