"""The writing aid's pages: skill suggestions on an experience's page and while its form is filled in.

The work is ``app.services.skill_suggestions``; this package only reads forms, calls it and renders. The
experience's detail page and form include this package's templates (guarded by ``has_endpoint``), and
``suggestions_for`` is a template global so that the portfolio's views need no change to show them.
"""
from flask import Blueprint, Flask

bp = Blueprint("skill_suggestions", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import skill_suggestions as api
    from app.portfolio.labels import LEVEL_LABELS
    from app.skill_suggestions import routes

    app.register_blueprint(bp)
    app.jinja_env.globals.update(skill_suggestions_for=routes.suggestions_for, skill_levels=LEVEL_LABELS)
    api.register(app)
