"""Endorsements: an organisation's signed OB 3.0 EndorsementCredential about an achievement, another
organisation or a credential; it passes the official schema, verifies with the app's verifier and with
the Node reference verifier; the API and its refusals; the public ``.json`` and the pages that show it."""
from __future__ import annotations

import os

import pytest

from app.extensions import db
from app.policy import OPERATOR
from app.services import awarding, endorsements, orgs, tokens
from app.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from badges.schema import ENDORSEMENT_CREDENTIAL, check
from tests.awarding_helpers import local_fetch, make_achievement, make_org


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example")


@pytest.fixture
def org(issuer):
    return make_org(issuer)


@pytest.fixture
def other_admin(make_user):
    return make_user("admin@cfa.example")


@pytest.fixture
def other(other_admin):
    return make_org(other_admin, name="CFA des Métiers")


@pytest.fixture
def achievement(org):
    return make_achievement(org)


@pytest.fixture
def verify_locally(app, monkeypatch):
    import badges.verify

    monkeypatch.setattr(badges.verify, "json_fetcher", lambda allow_loopback=False: local_fetch(app))


def _verify(client, document):
    return client.post("/credentials/verify", json={"verifiableCredential": document})


def test_an_organisation_endorses_another_organisations_achievement(client, other, other_admin, achievement,
                                                                     verify_locally):
    made = endorsements.endorse(db.session, other_admin, other, "achievement", achievement.id,
                                "Nous recrutons sur ce badge.")
    db.session.commit()
    document = made.document
    assert document["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert document["issuer"]["id"] == other.did
    assert document["credentialSubject"]["type"] == ["EndorsementSubject"]
    assert document["credentialSubject"]["id"] == made.subject_uri
    assert document["credentialSubject"]["endorsementComment"] == "Nous recrutons sur ce badge."
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    findings = check(document, ENDORSEMENT_CREDENTIAL)
    assert findings.errors == []
    verdict = _verify(client, document)
    assert verdict.status_code == 200, verdict.json["errors"]
    # The download is the signed document, byte for byte what the verifier accepted.
    download = client.get(f"/endorsements/{made.id}.json")
    assert download.status_code == 200 and download.json == document
    assert "attachment" in download.headers["Content-Disposition"]
    tampered = dict(document, credentialSubject={**document["credentialSubject"], "endorsementComment": "Autre"})
    assert _verify(client, tampered).status_code == 422


def test_endorsing_an_organisation_and_a_credential(client, org, issuer, other, other_admin, achievement,
                                                    verify_locally):
    on_org = endorsements.endorse(db.session, other_admin, other, "organisation", org.id, "Partenaire sérieux.")
    awarded = awarding.award(db.session, issuer, achievement, "alice@example.org")
    on_credential = endorsements.endorse(db.session, other_admin, other, "credential", awarded.credential.id,
                                         "Alice a fait ses preuves chez nous.")
    db.session.commit()
    assert on_org.subject_uri == org.did
    assert on_credential.subject_uri == f"urn:uuid:{awarded.credential.id}"
    for made in (on_org, on_credential):
        assert _verify(client, made.document).status_code == 200
    assert endorsements.of_subject(db.session, "organisation", org.id) == [on_org]
    assert endorsements.of_subject(db.session, "credential", awarded.credential.id) == [on_credential]
    # The pages show them.
    assert "Partenaire sérieux." in client.get(f"/issuers/{org.id}").get_data(as_text=True)
    page = client.get(f"/credentials/{awarded.credential.id}").get_data(as_text=True)
    assert "Alice a fait ses preuves chez nous." in page and f"/endorsements/{on_credential.id}.json" in page


def test_the_achievement_page_shows_its_endorsements(client, other, other_admin, achievement):
    made = endorsements.endorse(db.session, other_admin, other, "achievement", achievement.id, "Très utile.")
    db.session.commit()
    page = client.get(f"/issuers/{achievement.organisation_id}/achievements/{achievement.id}")
    text = page.get_data(as_text=True)
    assert "Très utile." in text and other.name in text and f"/endorsements/{made.id}.json" in text


def test_refusals(org, issuer, other, other_admin, achievement, make_user):
    outsider = make_user("nobody@example.org")
    with pytest.raises(Forbidden):
        endorsements.endorse(db.session, outsider, other, "achievement", achievement.id, "Je signe pour eux.")
    with pytest.raises(Forbidden):  # an admin of one organisation never signs as another
        endorsements.endorse(db.session, issuer, other, "achievement", achievement.id, "Pour le CFA.")
    with pytest.raises(ServiceError) as self_endorsement:
        endorsements.endorse(db.session, issuer, org, "organisation", org.id, "Nous sommes bons.")
    assert self_endorsement.value.code == "self_endorsement"
    with pytest.raises(ServiceError) as own_achievement:
        endorsements.endorse(db.session, issuer, org, "achievement", achievement.id, "Notre badge est bon.")
    assert own_achievement.value.code == "self_endorsement"
    for kind, subject, comment in (("achievement", achievement.id, ""), ("achievement", achievement.id, "a\u0001b"),
                                   ("achievement", achievement.id, "x" * 5001), ("person", achievement.id, "ok")):
        with pytest.raises(ValidationFailed):
            endorsements.endorse(db.session, other_admin, other, kind, subject, comment)
    with pytest.raises(NotFound):
        endorsements.endorse(db.session, other_admin, other, "achievement", "not-an-id", "ok")
    pending = make_org(make_user("p@pending.example"), name="En attente", approve=False)
    with pytest.raises(NotFound):  # an organisation that is not approved cannot be endorsed...
        endorsements.endorse(db.session, other_admin, other, "organisation", pending.id, "ok")
    with pytest.raises(Forbidden) as refused:  # ...nor endorse
        endorsements.endorse(db.session, pending.created_by, pending, "organisation", org.id, "ok")
    assert refused.value.code == "organisation_not_approved"
    awarded = awarding.award(db.session, issuer, achievement, "bob@example.org")
    awarding.revoke(db.session, issuer, awarded.credential, "Erreur")
    with pytest.raises(ServiceError) as revoked:
        endorsements.endorse(db.session, other_admin, other, "credential", awarded.credential.id, "ok")
    assert revoked.value.code == "credential_revoked"
    db.session.rollback()
    assert endorsements.by_organisation(db.session, other) == []


def test_api_endorse_with_an_organisation_token_and_refusals(client, org, other, other_admin, achievement, issuer):
    _, raw = orgs.create_token(db.session, OPERATOR, other, "ci")
    db.session.commit()
    url = f"/api/v1/organisations/{other.id}/endorsements"
    body = {"subject_kind": "achievement", "subject_id": str(achievement.id), "comment": "Reconnu par le CFA."}
    response = client.post(url, json=body, headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 201, response.json
    assert response.json["credential"]["issuer"]["id"] == other.did
    assert response.json["json_url"].endswith(f"/endorsements/{response.json['id']}.json")
    listed = client.get(url, headers={"Authorization": f"Bearer {raw}"})
    assert [item["id"] for item in listed.json["items"]] == [response.json["id"]]

    assert client.post(url, json=body).status_code == 401
    # Another organisation's member or token cannot sign for the CFA.
    _, personal = tokens.create_token(db.session, issuer, "mine")
    _, theirs = orgs.create_token(db.session, OPERATOR, org, "theirs")
    db.session.commit()
    for bearer in (personal, theirs):
        assert client.post(url, json=body, headers={"Authorization": f"Bearer {bearer}"}).status_code == 404
    bad = client.post(url, json={**body, "comment": "", "extra": 1}, headers={"Authorization": f"Bearer {raw}"})
    assert bad.status_code == 422 and "extra" in bad.json["fields"]
    assert client.get("/endorsements/not-an-id.json").status_code == 404


def test_endorsement_verifies_in_the_node_reference_verifier(app, other, other_admin, achievement, tmp_path):
    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        witness = Witness(tmp_path)
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    made = endorsements.endorse(db.session, other_admin, other, "achievement", achievement.id, "Solide.")
    db.session.commit()
    witness.extra = {other.did: orgs.did_document(other)}
    assert witness.verify(made.document) == {"verified": True}
    changed = dict(made.document, name=made.document["name"] + "!")
    assert witness.verify(changed)["verified"] is False


def test_demo_has_one_endorsement_once(app, client, verify_locally):
    from sqlalchemy import func, select

    from app import demo
    from app.models.endorsements import Endorsement

    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Endorsement)) == 1
    made = db.session.scalars(select(Endorsement)).one()
    assert _verify(client, made.document).status_code == 200


def test_the_endorsement_form_on_the_achievement_page(app, client, org, issuer, other, other_admin, achievement,
                                                      make_user):
    from tests.conftest import login
    from tests.helpers import csrf_token

    def signed_in(user):
        browser = app.test_client()
        assert login(browser, user.email).status_code == 302
        return browser

    url = f"/issuers/{org.id}/achievements/{achievement.id}"
    action = f"/endorse/achievement/{achievement.id}"
    # Anonymous readers and the achievement's own issuer see no form, and the issuer cannot post one.
    assert action not in client.get(url).get_data(as_text=True)
    own = signed_in(issuer)
    assert action not in own.get(url).get_data(as_text=True)
    forged = own.post(action, data={"organisation": str(org.id), "comment": "Moi-même",
                                    "csrf_token": csrf_token(own.get(f"/organisations/{org.id}"))})
    assert forged.status_code == 403
    # An admin of another approved organisation endorses through it (with the form's CSRF token).
    cfa = signed_in(other_admin)
    page = cfa.get(url)
    assert action in page.get_data(as_text=True)
    assert cfa.post(action, data={"organisation": str(other.id), "comment": "Bien."}).status_code == 400
    response = cfa.post(action, data={"organisation": str(other.id), "comment": "Un vrai savoir-faire.",
                                      "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert "Un vrai savoir-faire." in client.get(url).get_data(as_text=True)
    made = endorsements.of_subject(db.session, "achievement", achievement.id)
    assert [e.organisation_id for e in made] == [other.id]
    # Someone with no organisation cannot post one, even naming the CFA.
    stranger = signed_in(make_user("stranger@example.org"))
    refused = stranger.post(action, data={"organisation": str(other.id), "comment": "Pirate",
                                          "csrf_token": csrf_token(stranger.get("/organisations/new"))})
    assert refused.status_code == 403
    assert len(endorsements.of_subject(db.session, "achievement", achievement.id)) == 1
