"""Fuzz the JSON API with schemathesis, from the application's own OpenAPI description.

Every documented operation (but the account deletion: see ``SKIPPED``) gets generated requests (valid
ones, and invalid ones: wrong types, missing or extra fields, odd strings), sent with a real token of a
test user whose portfolio holds a few items.
Whatever the input, the API must never answer 5xx. The number of examples is bounded so that the whole
run stays well under a minute; raise ``SILLAGE_FUZZ_EXAMPLES`` for a longer hunt.

Schemathesis' own pytest integration (``schemathesis.pytest.from_fixture``) fails under pytest 9 (it
reads ``request.node._nodeid``, which pytest 9 removed), so each operation's Hypothesis strategy is
driven here directly with ``given``: schemathesis generates and sends the requests, we check the answers.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Skill, User
from app.services import portfolio, tokens

EXAMPLES = int(os.environ.get("SILLAGE_FUZZ_EXAMPLES", "8"))
# Operations not fuzzed, each with its reason.
SKIPPED = {
    # Deleting the account would end the fuzz user (and its token) at the first valid password, leaving
    # every later operation to answer 401. It is tested in test_api_account.py; its refusals (wrong
    # password, malformed body) go through the same code as the two password routes fuzzed here.
    ("DELETE", "/api/v1/account"),
}


@pytest.fixture
def app_settings(app_settings):
    """No per-IP limits while fuzzing: the routes that check a password share the sign-in budget, and
    hundreds of generated requests would otherwise meet 429 instead of the code under test."""
    return {**app_settings, "RATELIMIT_ENABLED": False}


def _seed(app, user) -> tuple[dict[str, str], str]:
    """A few items to find (so that reads and changes reach real objects too) and a token."""
    with app.test_request_context():
        skill = portfolio.create_item(db.session, user, Skill, {"name": "Kneading", "level": 2})
        ids = {
            "skills": skill.id,
            "experiences": portfolio.create_item(db.session, user, Experience, {
                "kind": "job", "title": "Baker", "start_date": "2020-01-01",
                "skill_ids": [str(skill.id)]}).id,
            "diplomas": portfolio.create_item(db.session, user, Diploma, {"title": "CAP"}).id,
            "journal": portfolio.create_item(db.session, user, JournalEntry, {"title": "Why"}).id,
        }
        _, raw = tokens.create_token(db.session, user, "fuzz")
    db.session.commit()
    return {name: str(value) for name, value in ids.items()}, raw


def test_api_never_answers_5xx(app, user):
    """Each operation, in both modes; reads and changes also aimed at existing items."""
    ids, raw = _seed(app, user)
    user_id = user.id
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {raw}"}
    failures = []

    operations = [result.ok() for result in loaded.get_all_operations()]
    names = {(operation.method.upper(), operation.path) for operation in operations}
    assert SKIPPED <= names and {("POST", "/api/v1/account/password"), ("POST", "/api/v1/account/email"),
                                 ("GET", "/api/v1/account"), ("PATCH", "/api/v1/account"),
                                 ("DELETE", "/api/v1/account/sessions")} <= names
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        resource = (operation.path.split("/") + [""] * 4)[3]  # "" for the short VC-API paths
        targets = [{}]
        if "{item_id}" in operation.path and operation.method.upper() != "DELETE":
            targets.append({"path_parameters": {"item_id": ids[resource]}})
        for mode in GenerationMode:
            for target in targets:
                @given(case=operation.as_strategy(mode, **target))
                @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
                def check(case):
                    response = case.call(headers=headers)
                    assert response.status_code < 500, (case.formatted_path, case.query, case.body,
                                                         response.text[:300])
                    assert "Set-Cookie" not in response.headers
                    is_json = response.headers.get("Content-Type") == "application/json"
                    if response.status_code >= 400 and is_json:
                        assert isinstance(response.json().get("error"), str), response.text[:300]

                try:
                    check()
                except Exception as exc:  # noqa: BLE001 - collected, so that one run reports every operation
                    failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
    assert db.session.get(User, user_id) is not None  # the fuzz user survived: nothing deleted it


def test_the_description_is_a_valid_openapi_document(app):
    """Schemathesis checks the document against the OpenAPI 3.0 meta-schema when asked to."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    loaded.validate()
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 20
