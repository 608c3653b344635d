"""``/api/v1/docs``: the API reference people read, rendered by Swagger UI from ``/api/v1/openapi.json``.

Swagger UI's files come from the ``flask-swagger-ui`` package (its ``dist`` folder is swagger-ui-dist,
the version in its ``VERSION`` file) and are served from here, under the page's own origin: no
third-party CDN, so the site's CSP (``script-src 'self'``) holds unchanged. Only the files the page
uses are served. The start-up script is ``static/api-docs.js`` (no inline script).

The page lives under ``/api/`` with the description it shows; like every ``/api/`` answer it opens no
session and follows ``Accept-Language``.
"""
from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Flask, abort, render_template, send_from_directory, url_for

DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})
ASSET_MAX_AGE = 24 * 3600

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs", template_folder="templates")


def swagger_ui_version() -> str:
    return (DIST / "VERSION").read_text(encoding="utf-8").strip()


@bp.get("")
def docs():
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(DIST, name, max_age=ASSET_MAX_AGE)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
