"""Working together on a shared portfolio: comments on items, message threads with each invited person,
contributors' proposals in the owner's inbox, and their e-mail digests. The work is
``app.services.collab``; access is decided in ``app.policy``."""
from flask import Blueprint, Flask

bp = Blueprint("collab", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import collab as api
    from app.collab import emails, routes  # noqa: F401  (routes attach to bp; emails holds the digest job)

    app.register_blueprint(bp)
    api.register(app)
    app.add_template_global(routes.comments_link)
    app.add_template_global(routes.may_propose)
