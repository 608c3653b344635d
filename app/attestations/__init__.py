"""Attestation requests: the owner's pages (ask, follow, cancel, remind), the referee's link page, the
public attestation pages and the platform's did:web document. The work is done by
``app.services.attestations``."""
from flask import Blueprint, Flask

bp = Blueprint("attestations", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import attestations as api
    from app.attestations import public, routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
    app.add_template_global(routes.item_attestations)
