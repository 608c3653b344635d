""""Export my data" (issue 11): the owner's page to ask for an export of everything or of chosen items,
with an optional passphrase, follow its progress and download it while the link lasts. The work is
``app.services.exports``; the API is ``app.api.exports``; the CLI ``sillage export`` (``app.exports.cli``)."""
from flask import Blueprint, Flask

bp = Blueprint("exports", __name__, url_prefix="/exports", template_folder="templates")


def init_app(app: Flask) -> None:
    from app.api import exports as api
    from app.exports import routes  # noqa: F401  (routes attach to bp)

    app.register_blueprint(bp)
    api.register(app)
