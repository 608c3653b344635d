"""Applications do not outlive themselves: what the shared extensions keep of each one.

The suite builds about two thousand applications in one process. Flask-WTF's CSRFProtect (one
module-level object for all of them) kept every exempted API blueprint in a plain set, and with them
their views, schemas and OpenAPI documents: 9.5 GiB at the end of a CI run and minutes spent freeing it
at exit. ``app.extensions._CSRFProtect`` holds them weakly; these tests keep it that way.
"""
from __future__ import annotations

import gc
import shutil
import weakref

from app import create_app
from app.extensions import csrf, db
from app.models import ApiToken
from app.services import tokens
from tests.conftest import PG_URL, _settings, release_database


def _build_and_drop(tmp_path, template_db, name) -> list[weakref.ref]:
    """Build an application as the fixtures do, release it, and return weak references to its API
    blueprints (those ``app.api.register`` exempts from CSRF)."""
    instance = tmp_path / name
    instance.mkdir()
    url = PG_URL
    if not url:
        shutil.copy(template_db, instance / "sillage.db")
        url = f"sqlite:///{instance / 'sillage.db'}"
    other = create_app(_settings(instance, url))
    exempted = [blueprint for blueprint in other.blueprints.values() if blueprint in csrf._exempt_blueprints]
    assert len(exempted) > 5  # the API's blueprints, as registered
    refs = [weakref.ref(blueprint) for blueprint in exempted]
    with other.app_context():
        release_database()
    del other, exempted
    gc.collect()
    return refs


def test_a_released_applications_blueprints_are_freed(tmp_path, template_db):
    """Flask-Talisman (another shared extension) keeps the last application it was bound to, so the
    proof is on the one before: once a newer application exists, nothing holds the older one."""
    first = _build_and_drop(tmp_path, template_db, "first")
    second = _build_and_drop(tmp_path, template_db, "second")
    # The two VC-API blueprints are module-level objects, the same for every application; the rest is
    # built per application and must go with it.
    latest = {id(ref()) for ref in second if ref() is not None}
    survivors = [ref() for ref in first if ref() is not None and id(ref()) not in latest]
    assert survivors == []
    assert len([ref for ref in first if ref() is None]) > 5  # the per-application ones, freed
    assert len(csrf._exempt_blueprints) <= len(second)  # only the latest application's, at most


def test_a_live_applications_api_stays_exempt_and_its_forms_protected(app, client, user):
    app.config["WTF_CSRF_ENABLED"] = True
    _, raw = tokens.create_token(db.session, user, "memory test")
    other, _ = tokens.create_token(db.session, user, "to revoke")
    db.session.commit()
    other_id = other.id
    gc.collect()  # a collection must not drop the exemption of a blueprint its application still holds
    revoked = client.delete(f"/api/v1/tokens/{other_id}", headers={"Authorization": f"Bearer {raw}"})
    assert revoked.status_code == 204, revoked.data[:300]
    db.session.expire_all()
    assert db.session.get(ApiToken, other_id).revoked_at is not None
    refused = client.post("/login", data={"email": user.email, "password": "x"})  # no CSRF token
    assert refused.status_code == 400
