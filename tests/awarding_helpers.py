"""Factories for the awarding tests: an approved organisation with an issuer, an achievement, and a
verifier ``fetch`` that reads this application's public documents through the test client."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from app.extensions import db
from app.policy import OPERATOR
from app.services import achievements, orgs
from badges.fetch import FetchError


def make_org(admin, *, name="Université de Test", approve=True):
    org = orgs.create_organisation(db.session, OPERATOR, {"name": name, "kind": "university",
                                                          "contact_email": "contact@univ.example"},
                                   admin=admin, approve=approve)
    db.session.commit()
    return org


def make_achievement(org, *, name="Premiers secours", validity_months=None):
    data = {"name": name, "description": "Sait porter les premiers secours.",
            "criteria_narrative": "Réussir l'examen pratique.", "kind": "Certificate"}
    if validity_months:
        data["validity_months"] = validity_months
    achievement = achievements.create(db.session, OPERATOR, org, data)
    db.session.commit()
    return achievement


def local_fetch(app):
    """The verifier's ``fetch`` for this application's own URLs: did:web documents (https://localhost)
    and status lists (BASE_URL), answered by the application itself; anything else is refused."""
    def fetch(url: str):
        parts = urlsplit(url)
        if parts.hostname != "localhost":
            raise AssertionError(f"unexpected fetch of {url}")
        response = app.test_client().get(parts.path)
        if response.status_code != 200:
            raise FetchError("fetch_failed", f"{url} answered {response.status_code}", url)
        return json.loads(response.data)
    return fetch
