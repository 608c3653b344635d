"""The owner's "Credentials" section (issue 7, the citizen's side): received credentials, confirmed
attestations and endorsements in one list, each with the verifier's cached verdict and a re-check button
(a revocation shows up on re-check), hide / show, downloads (JSON, baked PNG), share (public link,
LinkedIn "add to profile"); a credential linked to the experience, diploma or skill it proves, shown on
that item's page with its status, and unlinked; the same through the API; and the refusals (another
person's entry, item or link; bad input).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.models import Diploma, Experience, Skill
from app.models.received import CredentialLink, VerificationVerdict
from app.services import attestations, awarding, endorsements, portfolio as items, received, tokens
from app.services.errors import NotFound, ValidationFailed
from badges.bake import unbake
from tests.awarding_helpers import make_achievement, make_org
from tests.conftest import login
from tests.helpers import csrf_token


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example")


@pytest.fixture
def credential(owner, issuer):
    awarded = awarding.award(db.session, issuer, make_achievement(make_org(issuer)), owner.email)
    db.session.commit()
    return awarded.credential


@pytest.fixture
def experience(owner):
    item = items.create_item(db.session, owner, Experience, {
        "kind": "internship", "title": "Stage de secourisme", "organisation": "Croix-Blanche",
        "start_date": "2026-03-01", "end_date": "2026-04-30", "description": "Postes de secours."})
    db.session.commit()
    return item


@pytest.fixture
def skill(owner):
    item = items.create_item(db.session, owner, Skill, {"name": "Travail en équipe", "level": 3})
    db.session.commit()
    return item


@pytest.fixture
def attestation(owner, experience):
    _req, raw = attestations.create(db.session, owner, "experience", experience.id, referee_name="Paul Durand",
                                    referee_email="paul@example.net", relationship="tuteur")
    done = attestations.confirm(db.session, raw, statement=None)
    db.session.commit()
    return done


@pytest.fixture
def endorsement(owner, skill, make_user):
    endorser = make_user("zoe@example.net", display_name="Zoé Martin")
    _req, raw = endorsements.request_endorsement(db.session, owner, "skill", skill.id, referee_name="Zoé",
                                                 referee_email=endorser.email, relationship="collègue")
    done = endorsements.endorse_by_link(db.session, raw, endorser, "Une coéquipière fiable.")
    db.session.commit()
    return done


def _card(page: bytes, kind: str, entry_id) -> str:
    text = page.decode()
    start = text.index(f'id="{kind}-{entry_id}"')
    return text[start:text.index("\n  </li>", start)]


def test_the_section_lists_all_three_kinds_verified(app, client, owner, credential, attestation, endorsement):
    login(client, owner.email)
    page = client.get("/portfolio/credentials")
    assert page.status_code == 200
    for kind, entry_id in (("credential", credential.id), ("attestation", attestation.id),
                           ("endorsement", endorsement.id)):
        card = _card(page.data, kind, entry_id)
        # The view ran the verifier on the three (never checked before) and keeps the verdicts.
        assert 'data-verdict="verified"' in card, card[:400]
        assert f"{kind}s/{entry_id}.json?download=1" in card and f"{kind}s/{entry_id}.png?download=1" in card
        assert "https://www.linkedin.com/profile/add?" in card
    assert db.session.query(VerificationVerdict).count() == 3
    # The downloads are what was signed (JSON) and carry it (PNG), for each kind.
    for kind, row in (("credential", credential), ("attestation", attestation), ("endorsement", endorsement)):
        assert json.loads(client.get(f"/{kind}s/{row.id}.json?download=1").data) == row.document
        assert unbake(client.get(f"/{kind}s/{row.id}.png?download=1").data)["credential"] == row.document


def test_linkedin_link_is_prefilled(app, owner, credential):
    entry = received.get(db.session, owner, "credential", credential.id)
    parts = urlsplit(entry.linkedin_url)
    query = parse_qs(parts.query)
    assert parts.netloc == "www.linkedin.com" and parts.path == "/profile/add"
    assert query["startTask"] == ["CERTIFICATION_NAME"] and query["name"] == ["Premiers secours"]
    assert query["organizationName"] == ["Université de Test"]
    assert query["certUrl"] == [f"http://localhost/credentials/{credential.id}"]
    assert query["issueYear"] == [str(credential.issued_at.year)] and query["certId"] == [str(credential.id)]


def test_recheck_sees_a_revocation(app, client, owner, issuer, credential):
    login(client, owner.email)
    page = client.get("/portfolio/credentials")
    assert 'data-verdict="verified"' in _card(page.data, "credential", credential.id)
    awarding.revoke(db.session, issuer, credential, "Erreur de saisie")
    db.session.commit()
    # The cached verdict stays until re-checked (the page shows the revoked state from the database at once).
    page = client.get("/portfolio/credentials")
    card = _card(page.data, "credential", credential.id)
    assert 'data-verdict="verified"' in card and 'data-state="revoked"' in page.data.decode()
    checked = client.post(f"/portfolio/credentials/credential/{credential.id}/verify",
                          data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert 'data-verdict="not_verified"' in _card(checked.data, "credential", credential.id)


def test_hide_and_show_each_kind_and_refusals(app, client, owner, credential, attestation, endorsement, make_user):
    login(client, owner.email)
    token = csrf_token(client.get("/portfolio/credentials"))
    for kind, row in (("credential", credential), ("attestation", attestation), ("endorsement", endorsement)):
        client.post(f"/portfolio/credentials/{kind}/{row.id}/hide", data={"hidden": "1", "csrf_token": token})
    db.session.expire_all()
    assert all(e.hidden for e in received.entries(db.session, owner))
    assert received.entries(db.session, owner, include_hidden=False) == []
    client.post(f"/portfolio/credentials/attestation/{attestation.id}/hide", data={"hidden": "0", "csrf_token": token})
    db.session.expire_all()
    assert [e.id for e in received.entries(db.session, owner, include_hidden=False)] == [attestation.id]
    # Without a CSRF token nothing changes.
    client.post(f"/portfolio/credentials/attestation/{attestation.id}/hide", data={"hidden": "1"})
    db.session.expire_all()
    assert not db.session.get(type(attestation), attestation.id).hidden

    stranger = app.test_client()
    make_user("stranger@example.org")
    login(stranger, "stranger@example.org")
    token = csrf_token(stranger.get("/portfolio/credentials"))
    for kind, row in (("credential", credential), ("attestation", attestation), ("endorsement", endorsement)):
        assert stranger.post(f"/portfolio/credentials/{kind}/{row.id}/hide",
                             data={"hidden": "0", "csrf_token": token}).status_code == 404
        assert stranger.post(f"/portfolio/credentials/{kind}/{row.id}/verify",
                             data={"csrf_token": token}).status_code == 404
    # The wrong kind for an id is unknown too (an attestation id is no endorsement).
    assert client.post(f"/portfolio/credentials/endorsement/{attestation.id}/hide",
                       data={"hidden": "1", "csrf_token": token}).status_code in (400, 404)
    with pytest.raises(NotFound):
        received.get(db.session, owner, "endorsement", attestation.id)
    with pytest.raises(NotFound):
        received.get(db.session, owner, "bogus", attestation.id)


def test_link_a_credential_to_items_shown_with_status_then_unlink(app, client, owner, credential, experience, skill):
    diploma = items.create_item(db.session, owner, Diploma, {"title": "PSC1", "awarding_body": "Croix-Blanche",
                                                             "awarded_on": "2026-05-01"})
    db.session.commit()
    login(client, owner.email)
    page = client.get(f"/experiences/{experience.id}")
    assert page.status_code == 200 and b"Premiers secours" in page.data  # offered in the link form
    linked = client.post(f"/experience/{experience.id}/credentials",
                         data={"credential": str(credential.id), "csrf_token": csrf_token(page)})
    assert linked.status_code == 303
    page = client.get(f"/experiences/{experience.id}")
    section = page.data.decode().split('class="card stack item-credentials"')[1]
    assert f"/credentials/{credential.id}" in section and "credential-active" in section
    assert 'data-verdict="unchecked"' in section
    # Linking twice is one link; from the section too, to a skill.
    token = csrf_token(page)
    client.post(f"/experience/{experience.id}/credentials", data={"credential": str(credential.id), "csrf_token": token})
    client.post(f"/portfolio/credentials/{credential.id}/links", data={"item": f"skill:{skill.id}", "csrf_token": token})
    assert db.session.query(CredentialLink).count() == 2
    entry = received.get(db.session, owner, "credential", credential.id)
    assert {kind for kind, _item in entry.links} == {"experience", "skill"}
    received.link(db.session, owner, credential.id, "diploma", diploma.id)
    db.session.commit()
    assert f"/credentials/{credential.id}" in client.get(f"/diplomas/{diploma.id}").data.decode()
    # Unlink from the item page, back to the item page.
    gone = client.post(f"/portfolio/credentials/{credential.id}/links/experience/{experience.id}/delete",
                       data={"csrf_token": token, "back": f"experience:{experience.id}"})
    assert gone.status_code == 303 and gone.headers["Location"].endswith(f"/experiences/{experience.id}")
    section = client.get(f"/experiences/{experience.id}").data.decode().split('class="card stack item-credentials"')[1]
    assert 'class="item-credential"' not in section
    with pytest.raises(NotFound):  # nothing left to unlink
        received.unlink(db.session, owner, credential.id, "experience", experience.id)


def test_link_refusals(app, client, owner, credential, experience, make_user, issuer):
    stranger = make_user("stranger@example.org")
    theirs = items.create_item(db.session, stranger, Skill, {"name": "Autre", "level": 2})
    db.session.commit()
    with pytest.raises(NotFound):  # another person's item
        received.link(db.session, owner, credential.id, "skill", theirs.id)
    with pytest.raises(NotFound):  # another person's credential
        received.link(db.session, stranger, credential.id, "skill", theirs.id)
    with pytest.raises(ValidationFailed):
        received.link(db.session, owner, credential.id, "journal", experience.id)
    with pytest.raises(NotFound):
        received.link(db.session, owner, credential.id, "skill", "not-an-id")
    login(client, owner.email)
    token = csrf_token(client.get("/portfolio/credentials"))
    refused = client.post(f"/portfolio/credentials/{credential.id}/links", data={"item": f"skill:{theirs.id}",
                                                                               "csrf_token": token},
                          follow_redirects=True)
    assert refused.status_code == 200 and db.session.query(CredentialLink).count() == 0
    assert client.post(f"/skill/{theirs.id}/credentials", data={"credential": str(credential.id),
                                                                 "csrf_token": token}).status_code == 404


def test_api_lists_verifies_hides_links(app, client, owner, issuer, credential, attestation, endorsement, experience,
                                        make_user):
    raw = tokens.create_token(db.session, owner, "test")[1]
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    listed = client.get("/api/v1/received-credentials", headers=headers)
    assert listed.status_code == 200
    kinds = {(i["kind"], i["id"]) for i in listed.json["items"]}
    assert kinds == {("credential", str(credential.id)), ("attestation", str(attestation.id)),
                     ("endorsement", str(endorsement.id))}
    assert all(i["verdict"] is None for i in listed.json["items"])  # the API never verifies on a read

    checked = client.post(f"/api/v1/received-credentials/endorsement/{endorsement.id}/verify", headers=headers)
    assert checked.status_code == 200 and checked.json["verdict"]["status"] == "verified"
    assert checked.json["credential"] == endorsement.document

    hidden = client.post(f"/api/v1/received-credentials/attestation/{attestation.id}/visibility", headers=headers,
                         json={"hidden": True})
    assert hidden.status_code == 200 and hidden.json["hidden"] is True
    bad = client.post(f"/api/v1/received-credentials/attestation/{attestation.id}/visibility", headers=headers,
                      json={"hidden": "yes"})
    assert bad.status_code == 422 and bad.json["error"] == "validation_error"

    linked = client.post(f"/api/v1/received-credentials/credential/{credential.id}/links", headers=headers,
                         json={"item_kind": "experience", "item_id": str(experience.id)})
    assert linked.status_code == 201
    assert linked.json["links"] == [{"item_kind": "experience", "item_id": str(experience.id),
                                     "title": "Stage de secourisme"}]
    assert client.delete(f"/api/v1/received-credentials/credential/{credential.id}/links/experience/{experience.id}",
                         headers=headers).status_code == 204
    assert client.delete(f"/api/v1/received-credentials/credential/{credential.id}/links/experience/{experience.id}",
                         headers=headers).status_code == 404

    awarding.revoke(db.session, issuer, credential, "Erreur")
    db.session.commit()
    rechecked = client.post(f"/api/v1/received-credentials/credential/{credential.id}/verify", headers=headers)
    assert rechecked.json["verdict"]["status"] == "not_verified" and rechecked.json["state"] == "revoked"

    stranger = make_user("stranger@example.org")
    theirs = {"Authorization": f"Bearer {tokens.create_token(db.session, stranger, 't')[1]}"}
    db.session.commit()
    assert client.get("/api/v1/received-credentials", headers=theirs).json["items"] == []
    for path in (f"credential/{credential.id}", f"attestation/{attestation.id}", f"endorsement/{endorsement.id}"):
        assert client.get(f"/api/v1/received-credentials/{path}", headers=theirs).status_code == 404
        assert client.post(f"/api/v1/received-credentials/{path}/verify", headers=theirs).status_code == 404
    assert client.post(f"/api/v1/received-credentials/credential/{credential.id}/links", headers=theirs,
                       json={"item_kind": "experience", "item_id": str(experience.id)}).status_code == 404
    assert client.get("/api/v1/received-credentials").status_code == 401
