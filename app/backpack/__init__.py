"""The backpack: "Add a badge earned elsewhere" (upload or URL, verified, preview), each badge's page
(public by its unguessable id unless hidden, with a verify button and the original for download), the
owner's delete and link forms, and the API ``/api/v1/backpack``. The work is ``app.services.backpack``;
the badges are listed in the owner's "Credentials" section (``app.services.received``, kind ``external``)."""
from flask import Blueprint, Flask

bp = Blueprint("backpack", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import backpack as backpack_api
    from app.backpack import public, routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    backpack_api.register(app)
    app.add_template_global(routes.item_badges)
    app.add_template_global(public.verdict_of, "badge_verdict")
