"""Fuzz the JSON API with schemathesis, from the application's own OpenAPI description.

Every documented operation gets generated requests (valid ones, and invalid ones: wrong types, missing
or extra fields, odd strings), sent with a real token of a test user whose portfolio holds a few items.
Whatever the input, the API must never answer 5xx. The number of examples is bounded so that the whole
run stays well under a minute; raise ``SILLAGE_FUZZ_EXAMPLES`` for a longer hunt.
"""
from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  (only once schemathesis is known present)

from app.extensions import db  # noqa: E402
from app.models import Diploma, Experience, JournalEntry, Skill  # noqa: E402
from app.services import portfolio, tokens  # noqa: E402

EXAMPLES = int(os.environ.get("SILLAGE_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def api_schema(app, user):
    """The live schema of a fresh application, plus a token and a few items to find."""
    with app.test_request_context():
        skill = portfolio.create_item(db.session, user, Skill, {"name": "Kneading", "level": 2})
        portfolio.create_item(db.session, user, Experience, {"kind": "job", "title": "Baker",
                                                              "start_date": "2020-01-01", "skill_ids": [str(skill.id)]})
        portfolio.create_item(db.session, user, Diploma, {"title": "CAP"})
        portfolio.create_item(db.session, user, JournalEntry, {"title": "Why"})
        _, raw = tokens.create_token(db.session, user, "fuzz")
    db.session.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.fuzz_token = raw
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx(case, api_schema):
    response = case.call(headers={"Authorization": f"Bearer {api_schema.fuzz_token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])
    assert "Set-Cookie" not in response.headers
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        assert isinstance(response.json().get("error"), str), response.text[:500]


def test_the_description_is_a_valid_openapi_document(app):
    """Schemathesis checks the document against the OpenAPI 3.0 meta-schema when asked to."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    loaded.validate()
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 20
