"""Issue 11: people with a grant see the owner's badges earned elsewhere (the backpack) where the grant's
scope covers credentials, with the verifier's verdict, beside the credentials issued here; outside the
scope (another section, other chosen items, a hidden badge, a revoked grant) they see nothing of them.
The same through ``/api/v1/shared-with-me/<grant>`` and ``policy.can``; a scope naming another person's
badge is refused."""
from __future__ import annotations

import json

import pytest

from app import policy
from app.extensions import db
from app.models import Experience
from app.services import awarding, backpack, grants, portfolio as items, tokens
from app.services.errors import ValidationFailed
from tests.awarding_helpers import make_achievement, make_org
from tests.backpack_helpers import Elsewhere
from tests.conftest import login


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def reader(make_user):
    return make_user("camille@example.org", display_name="Camille Conseil")


@pytest.fixture
def world(owner, make_user):
    """An issued credential, two badges from elsewhere (one verified, one kept although it does not
    verify; verified against their issuer's web, ``Elsewhere``), a hidden badge, and an experience."""
    elsewhere = Elsewhere()
    issuer = make_user("issuer@univ.example")
    issued = awarding.award(db.session, issuer, make_achievement(make_org(issuer), name="Licence pro"),
                            owner.email).credential
    [good] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(),
                          fetch=elsewhere.web)
    tampered = elsewhere.signed(owner.email, name="Sauveteur")
    tampered["credentialSubject"]["achievement"]["name"] = "Chirurgien"
    [bad] = backpack.add(db.session, owner, json.dumps(tampered).encode(), fetch=elsewhere.web,
                         accept_unverified=True)
    [hidden] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email, name="Caché")).encode(),
                            fetch=elsewhere.web)
    backpack.set_hidden(db.session, owner, hidden, True)
    job = items.create_item(db.session, owner, Experience, {"kind": "job", "title": "Vendeuse",
                                                            "start_date": "2022-05-01"})
    db.session.commit()
    return {"issued": issued, "good": good, "bad": bad, "hidden": hidden, "job": job, "elsewhere": elsewhere}


def _grant(owner, reader, scope):
    grant, raw = grants.invite(db.session, owner, email=reader.email, role="viewer", scope=scope)
    grants.accept_by_link(db.session, reader, raw)
    db.session.commit()
    return grant


def _view(app, reader, grant):
    client = app.test_client()
    login(client, reader.email)
    return client.get(f"/shared/{grant.id}")


def test_the_credentials_section_shows_badges_from_elsewhere_with_their_verdict(app, owner, reader, world):
    grant = _grant(owner, reader, [{"type": "section", "id": "credentials"}])
    page = _view(app, reader, grant)
    assert page.status_code == 200
    html = page.data.decode()
    assert f'data-item="credential:{world["issued"].id}"' in html  # the issued one, as before
    good = html.split(f'data-item="external:{world["good"].id}"')[1].split("</li>")[0]
    assert 'data-verdict="verified"' in good and f'href="/backpack/{world["good"].id}"' in good
    assert "Premiers secours (PSC1)" in good and "Croix Test" in good
    bad = html.split(f'data-item="external:{world["bad"].id}"')[1].split("</li>")[0]
    assert 'data-verdict="not_verified"' in bad  # a kept forgery shows its failing verdict
    assert str(world["hidden"].id) not in html and "Caché" not in html  # hidden by the owner
    assert "Vendeuse" not in html  # another section
    shown = grants.shared_items(db.session, reader, grant, record=False)
    assert {e.id for e in shown["external_credentials"]} == {world["good"].id, world["bad"].id}
    assert all(e.links == [] for e in shown["external_credentials"])  # what it proves may be out of scope


def test_a_grant_without_the_credentials_sees_nothing_of_them(app, owner, reader, world):
    grant = _grant(owner, reader, [{"type": "section", "id": "experiences"}])
    html = _view(app, reader, grant).data.decode()
    assert "Vendeuse" in html
    for key in ("issued", "good", "bad", "hidden"):
        assert str(world[key].id) not in html
    assert "Premiers secours" not in html and "Badge earned elsewhere" not in html
    assert grants.shared_items(db.session, reader, grant, record=False)["external_credentials"] == []
    assert not policy.can(reader, policy.READ, world["good"])


def test_chosen_badges_only_and_the_policy_agrees(app, owner, reader, world, make_user):
    elsewhere = world["elsewhere"]
    grant = _grant(owner, reader, [{"type": "credential", "id": str(world["good"].id)}])
    html = _view(app, reader, grant).data.decode()
    assert f'data-item="external:{world["good"].id}"' in html
    assert str(world["bad"].id) not in html and str(world["issued"].id) not in html
    assert policy.can(reader, policy.READ, world["good"])
    assert not policy.can(reader, policy.READ, world["bad"])
    assert not policy.can(owner, policy.READ, world["good"])  # the owner's own pages decide for themselves
    stranger = make_user("stranger@example.org")
    assert not policy.can(stranger, policy.READ, world["good"])
    # A scope naming another person's badge is refused like a missing item.
    [theirs] = backpack.add(db.session, stranger, json.dumps(elsewhere.signed(stranger.email)).encode(),
                            fetch=elsewhere.web)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        grants.change(db.session, owner, grant, scope=[{"type": "credential", "id": str(theirs.id)}])
    db.session.rollback()
    # Hidden after sharing: gone from the view and from single reads.
    backpack.set_hidden(db.session, owner, world["good"], True)
    db.session.commit()
    assert str(world["good"].id) not in _view(app, reader, grant).data.decode()
    assert not policy.can(reader, policy.READ, world["good"])


def test_a_revoked_grant_shows_nothing(app, owner, reader, world):
    grant = _grant(owner, reader, "all")
    assert f'data-item="external:{world["good"].id}"' in _view(app, reader, grant).data.decode()
    grants.revoke(db.session, owner, grant)
    db.session.commit()
    assert _view(app, reader, grant).status_code == 404
    assert not policy.can(reader, policy.READ, world["good"])


def test_the_owner_can_choose_a_badge_in_the_sharing_form(app, owner, world):
    client = app.test_client()
    login(client, owner.email)
    page = client.get("/portfolio/sharing").data.decode()
    assert f'value="credential:{world["good"].id}"' in page and f'value="credential:{world["issued"].id}"' in page


def test_the_api_lists_them_among_the_credentials(app, client, owner, reader, world, make_user):
    grant = _grant(owner, reader, [{"type": "section", "id": "credentials"}])
    _token, raw = tokens.create_token(db.session, reader, "tests")
    db.session.commit()
    body = client.get(f"/api/v1/shared-with-me/{grant.id}", headers={"Authorization": f"Bearer {raw}"}).get_json()
    by_id = {c["id"]: c for c in body["credentials"]}
    assert by_id[str(world["issued"].id)]["kind"] == "credential"
    good, bad = by_id[str(world["good"].id)], by_id[str(world["bad"].id)]
    assert (good["kind"], good["verdict"]["status"], good["state"], good["recipient"]) == (
        "external", "verified", "active", "you")
    assert good["url"] == f"/backpack/{world['good'].id}" and good["credential"] == world["good"].document
    assert bad["verdict"]["status"] == "not_verified"
    assert str(world["hidden"].id) not in by_id
    narrow = _grant(owner, make_user("paul@example.net"), [{"type": "section", "id": "experiences"}])
    _token, paul = tokens.create_token(db.session, narrow.grantee, "tests")
    db.session.commit()
    body = client.get(f"/api/v1/shared-with-me/{narrow.id}", headers={"Authorization": f"Bearer {paul}"}).get_json()
    assert body["credentials"] == [] and [e["title"] for e in body["experiences"]] == ["Vendeuse"]
