"""Building one's path (issue 12): career hypotheses with their gap analysis, the action plan shared with
a counsellor, the training catalogue. The work is ``app.services.path`` and ``app.services.trainings``;
access is decided in ``app.policy`` (its "career hypotheses" rules)."""
from flask import Blueprint, Flask

bp = Blueprint("path", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import path as api
    from app.path import routes, trainings  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
    app.add_template_global(routes.counsellor_summary)
