"""Reference frameworks: the concept browser (everyone signed in), the platform admins' import and
retirement pages, the skill form's concept picker, the API and the ``sillage frameworks`` commands.
The work is ``app.services.frameworks``."""
from flask import Flask


def init_app(app: Flask) -> None:
    from app.api import frameworks as api
    from app.frameworks import picker
    from app.frameworks.routes import bp

    app.register_blueprint(bp)
    app.jinja_env.globals["framework_concept"] = picker.concept_for_uri
    api.register(app)
