"""The "Import" page: upload a file, see what it would add (and what is already there), confirm.

The API route (``app.api.imports``) is registered from here too, so that the feature hangs on one line of
``app._register_blueprints``.
"""
from flask import Blueprint, Flask

bp = Blueprint("imports", __name__, url_prefix="/import", template_folder="templates")


def init_app(app: Flask) -> None:
    from app import api
    from app.api import imports as imports_api
    from app.imports import routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app, imports_api.make_blueprint())
