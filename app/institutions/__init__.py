"""Institutions: the head's pages (groups, staff, roster import with progress, letters), the staff's page
(their groups, the portfolios shared with them), the activation page, and a pupil's "share with my
group". The work is ``app.services.institutions`` and ``app.services.rosters``."""
from flask import Blueprint, Flask

bp = Blueprint("institutions", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import institutions as api
    from app.institutions import routes  # noqa: F401  (routes attach to bp; imports the roster batch handler)

    app.register_blueprint(bp)
    api.register(app)
    app.jinja_env.globals["group_grant_reach"] = routes.group_grant_reach  # the owner's sharing list
