"""Contextual CVs: the owner's pages (create from a job offer, choose and order items, write the summary
and cover letter, preview, download in DOCX, PDF, HTML and JSON Resume). The work is ``app.services.cvs``;
the designs and renderers are ``cv_templates``."""

from flask import Blueprint, Flask

bp = Blueprint("cvs", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import cvs as api
    from app.cvs import routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
