"""The application factory, the health check, error formats and the migrations."""
from sqlalchemy import inspect

from app.extensions import db


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok",
                             "jobs": {"status": "ok", "pending": 0, "consumer": "immediate"}}


def test_unknown_api_route_is_json_with_stable_code(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_unknown_page_is_friendly_html(client):
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    assert b"<html" in response.data and b"Traceback" not in response.data


def test_security_headers(client):
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_migrations_create_every_model_table(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
