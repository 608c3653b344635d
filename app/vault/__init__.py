"""The vault's pages: the owner's documents (list, search, tags, quota), upload, one document's page,
and documents attached as evidence to experiences, diplomas and skills.

Views stay thin: every rule (sizes, quota, names, types, encryption, who may read what) lives in
``app.services.documents``; here we parse the request, call it, and say its refusals in plain words
(``app.vault.text``). Another person's document id answers 404 on every route, as a missing one does.
"""
from flask import Blueprint, Flask

bp = Blueprint("vault", __name__, url_prefix="/vault", template_folder="templates")


def init_app(app: Flask) -> None:
    from app.vault import evidence, routes, text  # noqa: F401  (routes and filters attach to bp)

    app.register_blueprint(bp)
