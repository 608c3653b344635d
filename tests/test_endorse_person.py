"""Person endorsements (issue 7): the owner asks someone to endorse a skill or a received credential
through the attestations' request and link; the endorser, signed in with the address the link was sent
to, writes a comment; the platform signs an OB 3.0 EndorsementCredential that passes the official schema,
names the endorser, verifies, is shown on the skill / credential and is downloadable. And the refusals:
not signed in, signed in as someone else, the link reused, an attestation link used to endorse (and the
reverse), another owner's item, a revoked credential, a tampered endorsement.
"""
from __future__ import annotations

import json
import os

import pytest

from app.extensions import db
from app.models import Skill, User
from app.models.attestations import AttestationRequest
from app.services import attestations, awarding, endorsements, portfolio as items, received
from app.services.errors import NotFound, ServiceError, ValidationFailed
from badges.schema import ENDORSEMENT_CREDENTIAL, check
from badges.verify import verify
from tests.awarding_helpers import local_fetch, make_achievement, make_org
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import link_in, outbox


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def endorser(make_user):
    return make_user("paul@example.net", display_name="Paul Durand")


@pytest.fixture
def skill(owner):
    item = items.create_item(db.session, owner, Skill, {"name": "Travail en équipe", "level": 3,
                                                        "description": "Coordination d'une équipe de 5."})
    db.session.commit()
    return item


@pytest.fixture
def credential(make_user, owner):
    issuer = make_user("issuer@univ.example")
    achievement = make_achievement(make_org(issuer))
    awarded = awarding.award(db.session, issuer, achievement, owner.email)
    db.session.commit()
    return awarded.credential


def _ask(client, kinds, item_id, email="paul@example.net"):
    path = f"/{kinds}/{item_id}/endorse-request"
    page = client.get(path)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"referee_name": "Paul Durand", "referee_email": email,
                                   "relationship": "collègue", "message": "Merci !",
                                   "csrf_token": csrf_token(page)}, buffered=True)


def _link(app) -> str:
    mails = [m for m in outbox(app) if "/endorse/" in m.get_body(("plain",)).get_content()]
    assert mails, "no endorsement request mail"
    return link_in(mails[-1], "/endorse/")


def _endorse(client, link, comment="Inès anime une équipe avec calme et méthode."):
    page = client.get(link)
    assert page.status_code == 200, page.data[:500]
    return client.post(link, data={"action": "endorse", "comment": comment, "csrf_token": csrf_token(page)},
                       buffered=True)


def _only_request(owner) -> AttestationRequest:
    db.session.expire_all()
    return attestations.list_for(db.session, owner, purpose="endorsement")[0]


def test_a_skill_endorsed_by_a_signed_in_person_is_signed_schema_valid_and_shown(app, client, owner, endorser,
                                                                                  skill):
    login(client, owner.email)
    assert _ask(client, "skills", skill.id).status_code == 302
    link = _link(app)
    referee = app.test_client()
    login(referee, endorser.email)
    done = _endorse(referee, link)
    assert done.status_code == 200 and b"/endorsements/" in done.data, done.data[-3000:]

    found = _only_request(owner)
    assert found.status == "confirmed" and found.endorser_id == endorser.id
    document = found.document
    assert document["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert document["credentialSubject"]["id"] == f"urn:uuid:{skill.id}"
    assert document["credentialSubject"]["endorsementComment"] == "Inès anime une équipe avec calme et méthode."
    assert "Paul Durand" in document["name"] and "Paul Durand" in document["evidence"][0]["name"]
    assert document["issuer"]["id"] == attestations.platform_did()
    assert {"id": ENDORSEMENT_CREDENTIAL, "type": "1EdTechJsonSchemaValidator2019"} in document["credentialSchema"]
    assert check(document, ENDORSEMENT_CREDENTIAL).errors == []  # the official schema
    assert verify(document, fetch=local_fetch(app))["verified"] is True
    tampered = json.loads(json.dumps(document).replace("calme", "panache"))
    assert verify(tampered, fetch=local_fetch(app))["verified"] is False

    # Portable: the public JSON is what was signed; the baked PNG carries it; the page shows it.
    assert json.loads(client.get(f"/endorsements/{found.id}.json").data) == document
    png = client.get(f"/endorsements/{found.id}.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    from badges.bake import unbake
    assert unbake(png.data)["credential"] == document
    page = client.get(f"/endorsements/{found.id}")
    assert page.status_code == 200 and "calme et méthode".encode() in page.data
    skill_page = client.get(f"/skills/{skill.id}")
    assert "calme et méthode".encode() in skill_page.data and b"Paul Durand" in skill_page.data
    # An endorsement is not an attestation: the skill's attestations stay empty, /attestations/<id> is 404.
    assert attestations.confirmed_for(db.session, "skill", skill.id) == []
    assert client.get(f"/attestations/{found.id}").status_code == 404

    assert referee.get(link).status_code == 410  # the link works once


def test_a_received_credential_can_be_endorsed_and_its_page_shows_it(app, client, owner, endorser, credential):
    login(client, owner.email)
    assert _ask(client, "credentials", credential.id).status_code == 302
    referee = app.test_client()
    login(referee, endorser.email)
    assert _endorse(referee, _link(app), "Formation sérieuse, je l'ai vue à l'œuvre.").status_code == 200
    found = _only_request(owner)
    assert found.document["credentialSubject"]["id"] == credential.document["id"]
    assert verify(found.document, fetch=local_fetch(app))["verified"] is True
    assert endorsements.by_people(db.session, "credential", credential.id) == [found]
    # The owner follows it among their requests, marked as an endorsement, linked to what was endorsed.
    requests_page = client.get("/portfolio/attestations")
    assert requests_page.status_code == 200
    assert f"/credentials/{credential.id}".encode() in requests_page.data
    assert f"/endorsements/{found.id}".encode() in requests_page.data
    # The credential's public page shows it.
    public = client.get(f"/credentials/{credential.id}").data.decode()
    assert "Formation sérieuse" in public and f"/endorsements/{found.id}" in public
    # …unless the owner hides it.
    received.set_hidden(db.session, owner, received.get(db.session, owner, "endorsement", found.id), True)
    db.session.commit()
    assert "Formation sérieuse" not in client.get(f"/credentials/{credential.id}").data.decode()


def test_the_endorser_must_be_signed_in_with_the_address_asked(app, client, owner, endorser, skill, make_user):
    login(client, owner.email)
    _ask(client, "skills", skill.id)
    link = _link(app)
    anonymous = app.test_client()
    page = anonymous.get(link)
    assert page.status_code == 200 and b"/login?next=" in page.data and b'name="comment"' not in page.data
    refused = anonymous.post(link, data={"action": "endorse", "comment": "Oui.", "csrf_token": csrf_token(page)})
    assert refused.status_code == 400 and b"paul@example.net" in refused.data

    someone_else = app.test_client()
    make_user("mallory@example.com")
    login(someone_else, "mallory@example.com")
    refused = someone_else.post(link, data={"action": "endorse", "comment": "Oui.",
                                            "csrf_token": csrf_token(someone_else.get(link))})
    assert refused.status_code == 400
    assert _only_request(owner).status == "pending"  # nothing used, nothing signed

    unverified = make_user("paul2@example.net", verified=False)
    with pytest.raises(ServiceError) as exc:
        endorsements.check_endorser(_only_request(owner), unverified)
    assert exc.value.code == "endorser_not_signed_in"


def test_links_of_one_purpose_do_not_answer_the_other(app, client, owner, endorser, skill):
    login(client, owner.email)
    _ask(client, "skills", skill.id)
    link = _link(app)
    token = link.rsplit("/", 1)[1]
    with pytest.raises(ServiceError) as exc:  # an endorsement link cannot confirm an attestation
        attestations.confirm(db.session, token, statement="Vrai.")
    assert exc.value.code == "invalid_link"
    assert client.get(f"/attest/{token}").status_code == 303  # the attestation page sends it to its own page

    request, raw = attestations.create(db.session, owner, "skill", skill.id, referee_name="Paul",
                                       referee_email=endorser.email, relationship="collègue")
    db.session.commit()
    with pytest.raises(ServiceError) as exc:  # an attestation link cannot sign an endorsement
        endorsements.endorse_by_link(db.session, raw, endorser, "Oui.")
    assert exc.value.code == "invalid_link"


def test_refusals_when_asking(app, owner, endorser, skill, credential, make_user):
    other = make_user("other@example.org")
    with pytest.raises(NotFound):  # another person's skill
        endorsements.request_endorsement(db.session, other, "skill", skill.id, referee_name="P",
                                         referee_email="p@example.net", relationship="x")
    with pytest.raises(NotFound):  # another person's credential
        endorsements.request_endorsement(db.session, other, "credential", credential.id, referee_name="P",
                                         referee_email="p@example.net", relationship="x")
    with pytest.raises(NotFound):  # experiences are attested, not endorsed
        endorsements.request_endorsement(db.session, owner, "experience", skill.id, referee_name="P",
                                         referee_email="p@example.net", relationship="x")
    with pytest.raises(ValidationFailed):  # oneself
        endorsements.request_endorsement(db.session, owner, "skill", skill.id, referee_name="Me",
                                         referee_email=owner.email, relationship="x")
    with pytest.raises(NotFound):  # a credential cannot be attested through the attestation route
        attestations.create(db.session, owner, "credential", credential.id, referee_name="P",
                            referee_email="p@example.net", relationship="x")


def test_empty_comment_and_revoked_credential_are_refused(app, client, owner, endorser, credential):
    _req, raw = endorsements.request_endorsement(db.session, owner, "credential", credential.id,
                                                 referee_name="Paul", referee_email=endorser.email,
                                                 relationship="collègue")
    db.session.commit()
    with pytest.raises(ValidationFailed):
        endorsements.endorse_by_link(db.session, raw, endorser, "  ")
    awarding.revoke(db.session, _issuer(credential), credential, "Erreur")
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        endorsements.endorse_by_link(db.session, raw, endorser, "Très bien.")
    assert exc.value.code == "credential_revoked"
    db.session.rollback()
    assert endorsements.peek_request(db.session, raw).status == "pending"  # the link was not spent


def _issuer(credential):
    from app.models import User
    return db.session.get(User, credential.issued_by_id)


def test_the_api_asks_for_an_endorsement(app, client, owner, skill):
    from app.services import tokens
    raw_token = tokens.create_token(db.session, owner, "test")[1]
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw_token}"}
    made = client.post("/api/v1/endorsement-requests", headers=headers, json={
        "item_kind": "skill", "item_id": str(skill.id), "referee_name": "Paul", "referee_email": "paul@example.net",
        "relationship": "collègue"}, buffered=True)
    assert made.status_code == 201, made.data
    assert made.json["purpose"] == "endorsement" and made.json["status"] == "pending"
    assert _link(app)
    listed = client.get("/api/v1/endorsement-requests", headers=headers).json["items"]
    assert [r["id"] for r in listed] == [made.json["id"]]
    refused = client.post("/api/v1/endorsement-requests", headers=headers, json={
        "item_kind": "experience", "item_id": str(skill.id), "referee_name": "Paul",
        "referee_email": "paul@example.net", "relationship": "collègue"})
    assert refused.status_code == 404 and refused.json["error"] == "not_found"
    unknown = client.post("/api/v1/endorsement-requests", headers=headers, json={"bogus": 1})
    assert unknown.status_code == 422


def test_endorsement_verifies_in_the_node_reference_verifier(app, owner, endorser, skill, tmp_path):
    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        witness = Witness(tmp_path)
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    _req, raw = endorsements.request_endorsement(db.session, owner, "skill", skill.id, referee_name="Paul",
                                                 referee_email=endorser.email, relationship="collègue")
    made = endorsements.endorse_by_link(db.session, raw, endorser, "Solide.")
    db.session.commit()
    witness.extra = {made.document["issuer"]["id"]: attestations.platform_did_document(db.session)}
    assert witness.verify(made.document) == {"verified": True}
    assert witness.verify(dict(made.document, name=made.document["name"] + "!"))["verified"] is False


def test_demo_has_one_person_endorsement_and_one_linked_credential_once(app, client):
    from app import demo
    from app.models.received import CredentialLink
    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)
    db.session.commit()
    ines = db.session.scalars(db.select(User).where(User.email == demo.DEMO_ACCOUNTS[0].email)).one()
    found = attestations.list_for(db.session, ines, purpose="endorsement")
    assert len(found) == 1 and found[0].status == "confirmed"
    assert verify(found[0].document, fetch=local_fetch(app))["verified"] is True
    assert db.session.query(CredentialLink).count() == 1
    kinds = sorted(e.kind for e in received.entries(db.session, ines))
    assert kinds == ["attestation", "credential", "endorsement", "external"]


def test_a_reminder_sends_a_fresh_endorsement_link_and_declining_signs_nothing(app, client, owner, endorser, skill):
    from datetime import timedelta

    from sqlalchemy import update

    login(client, owner.email)
    _ask(client, "skills", skill.id)
    first = _link(app)
    found = _only_request(owner)
    db.session.execute(update(AttestationRequest).where(AttestationRequest.id == found.id)
                       .values(created_at=found.created_at - timedelta(days=2)))
    db.session.commit()
    page = client.get("/portfolio/attestations")
    assert client.post(f"/portfolio/attestations/{found.id}/remind", data={"csrf_token": csrf_token(page)},
                       buffered=True).status_code == 302
    second = _link(app)
    assert second != first and app.test_client().get(first).status_code == 404  # only the latest link works
    referee = app.test_client()
    login(referee, endorser.email)
    page = referee.get(second)
    declined = referee.post(second, data={"action": "decline", "reason": "Je ne la connais pas assez.",
                                          "csrf_token": csrf_token(page)}, buffered=True)
    assert declined.status_code == 200
    found = _only_request(owner)
    assert found.status == "declined" and found.document is None and found.endorser_id is None
    assert endorsements.get_person(db.session, found.id) is None
    assert client.get(f"/endorsements/{found.id}.json").status_code == 404
