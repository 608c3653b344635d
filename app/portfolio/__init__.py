"""The owner's portfolio: profile and photo, experiences, diplomas, skills, journal, timeline, overview.

Everything here is private to its owner: every view requires a signed-in person and loads objects
through ``policy.get_or_404``, so that another person's id answers 404.
"""
from flask import Blueprint, Flask

bp = Blueprint("portfolio", __name__, template_folder="templates")


@bp.context_processor
def _labels() -> dict:
    """Words for kinds and levels, available to every portfolio template."""
    from app.portfolio.labels import DIPLOMA_LABEL, KIND_LABELS, LEVEL_LABELS

    return {"kind_labels": KIND_LABELS, "level_labels": LEVEL_LABELS, "diploma_label": DIPLOMA_LABEL}


def init_app(app: Flask) -> None:
    from app import storage
    from app.portfolio import fragments, items, overview, profile  # noqa: F401  (routes attach to bp)

    storage.init_app(app)
    fragments.init_app(app)
    app.register_blueprint(bp)
