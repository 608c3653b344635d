"""Attestation requests (issue 7): the owner asks, the referee answers through a single-use link, the
confirmation becomes a signed OB 3.0 credential that verifies with Sillage's verifier and with Digital
Bazaar's Node.js verifier; and every refusal: another owner's item, a reused, expired, tampered or
cancelled link, a referee acting for an organisation they are not a member of.

Real crypto, the real database built by the migrations, the real pages and mails (outbox files).
"""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.database import utcnow
from app.extensions import db
from app.models.attestations import AttestationRequest, PlatformKey
from app.services import attestations, portfolio as items
from app.models import Experience, Skill
from badges.verify import verify
from tests.awarding_helpers import local_fetch, make_org
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import link_in, outbox


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def experience(owner):
    item = items.create_item(db.session, owner, Experience, {
        "kind": "internship", "title": "Stage en boulangerie", "organisation": "Au Bon Pain", "place": "Lyon",
        "start_date": "2026-03-01", "end_date": "2026-04-30", "description": "Pétrissage et vente."})
    db.session.commit()
    return item


def _ask(client, experience, *, email="paul@example.net", relationship="maître de stage", kinds="experiences"):
    path = f"/{kinds}/{experience.id}/attest"
    page = client.get(path)
    assert page.status_code == 200, page.data[:300]
    return client.post(path, data={"referee_name": "Paul Durand", "referee_email": email,
                                   "relationship": relationship, "message": "Merci !",
                                   "csrf_token": csrf_token(page)}, buffered=True)


def _referee_link(app) -> str:
    mails = [m for m in outbox(app) if "/attest/" in m.get_body(("plain",)).get_content()]
    assert mails, "no request mail"
    return link_in(mails[-1], "/attest/")


def _confirm(client, link, statement=None, sign_as="", **extra):
    page = client.get(link)
    assert page.status_code == 200, page.data[:500]
    data = {"action": "confirm", "csrf_token": csrf_token(page), "sign_as": sign_as,
            "statement": statement or "Paul confirme le stage.", **extra}
    return client.post(link, data=data, buffered=True)


def _new_client(app):
    return app.test_client()


def _request_of(owner) -> AttestationRequest:
    db.session.expire_all()
    return attestations.list_for(db.session, owner)[0]


# --- the happy path --------------------------------------------------------------------------------

def test_confirmed_attestation_is_signed_by_the_platform_and_verifies(app, client, owner, experience):
    login(client, owner.email)
    assert _ask(client, experience).status_code == 302
    link = _referee_link(app)
    referee = _new_client(app)  # no account, no session
    page = referee.get(link)
    assert b"Stage en boulangerie" in page.data and b"Merci !" in page.data
    done = _confirm(referee, link, statement="Stage de deux mois, pétrissage et vente.")
    assert done.status_code == 200 and b"/attestations/" in done.data

    request = _request_of(owner)
    assert request.status == "confirmed" and request.corrected_statement.startswith("Stage de deux mois")
    document = json.loads(client.get(f"/attestations/{request.id}.json").data)
    assert document["issuer"]["id"] == "did:web:localhost:issuers:platform"
    assert document["credentialSubject"]["achievement"]["description"] == "Stage de deux mois, pétrissage et vente."
    evidence = document["evidence"][0]
    assert "Paul Durand" in evidence["name"] and "maître de stage" in evidence["description"]
    assert "Paul Durand" in evidence["narrative"] and "e-mail" in evidence["narrative"]  # what is vouched for
    assert "paul@example.net" not in json.dumps(document)  # the referee's address stays private, even hashed
    assert "ines@example.org" not in json.dumps(document)  # the holder only as a salted hash
    result = verify(document, fetch=local_fetch(app))
    assert result["verified"] is True, result["errors"]
    assert {c["name"] for c in result["checks"] if c["ok"]} >= {"schema", "proof", "issuer"}
    # Tampered: the signature no longer holds.
    document["credentialSubject"]["achievement"]["description"] = "Directeur de la boulangerie."
    assert verify(document, fetch=local_fetch(app))["verified"] is False
    # Shown on the experience page and on the owner's list; the owner is told by mail, in French.
    assert b"Confirmed by Paul Durand" in client.get(f"/experiences/{experience.id}").data or \
        "Confirmé par Paul Durand".encode() in client.get(f"/experiences/{experience.id}").data
    told = [m for m in outbox(app) if m["To"] == owner.email and "Paul Durand" in m["Subject"]]
    assert told and "a confirmé" in told[-1]["Subject"], told[-1]["Subject"]
    # The public page's verify button uses the app's verifier against the site's own documents.
    public = referee.get(f"/attestations/{request.id}")
    checked = referee.post(f"/attestations/{request.id}/verify", data={"csrf_token": csrf_token(public)})
    assert checked.status_code == 200 and b'data-verdict="verified"' in checked.data


def test_attestation_verifies_in_node(app, client, owner, experience):
    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        witness = Witness()
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    login(client, owner.email)
    _ask(client, experience)
    _confirm(_new_client(app), _referee_link(app))
    request = _request_of(owner)
    document = json.loads(client.get(f"/attestations/{request.id}.json").data)
    witness.extra = {document["issuer"]["id"]: json.loads(client.get("/issuers/platform/did.json").data)}
    assert witness.verify(document) == {"verified": True}
    assert witness.verify(json.dumps(document).replace("Paul Durand", "Paul Dupont", 1))["verified"] is False


def test_a_skill_can_be_attested_and_declining_signs_nothing(app, client, owner):
    skill = items.create_item(db.session, owner, Skill, {"name": "Travail en équipe", "level": 3})
    db.session.commit()
    login(client, owner.email)
    assert _ask(client, skill, kinds="skills").status_code == 302
    link = _referee_link(app)
    referee = _new_client(app)
    page = referee.get(link)
    declined = referee.post(link, data={"action": "decline", "csrf_token": csrf_token(page),
                                        "reason": "Je ne la connais pas assez."}, buffered=True)
    assert declined.status_code == 200
    request = _request_of(owner)
    assert request.status == "declined" and request.document is None
    assert client.get(f"/attestations/{request.id}.json").status_code == 404
    assert referee.get(link).status_code == 410  # answered: the link is spent


# --- refusals ---------------------------------------------------------------------------------------

def test_another_owners_item_is_not_found(app, client, make_user, experience):
    make_user("mallory@example.org")
    login(client, "mallory@example.org")
    assert client.get(f"/experiences/{experience.id}/attest").status_code == 404
    with pytest.raises(attestations.NotFound):  # the same refusal in the service, for the API and pages
        attestations.create(db.session, db.session.query(type(experience.portfolio.owner)).filter_by(
            email="mallory@example.org").one(), "experience", experience.id, referee_name="X",
            referee_email="x@example.net", relationship="ami")
    assert db.session.query(AttestationRequest).count() == 0


def test_reused_tampered_expired_and_cancelled_links_give_a_clear_page(app, client, owner, experience):
    login(client, owner.email)
    _ask(client, experience)
    link = _referee_link(app)
    referee = _new_client(app)
    # Tampered: one character changed.
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    page = referee.get(tampered)
    assert page.status_code == 404 and b'data-code="invalid_link"' in page.data
    # Expired.
    db.session.execute(update(AttestationRequest).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    page = referee.get(link)
    assert page.status_code == 410 and b'data-code="link_expired"' in page.data
    db.session.execute(update(AttestationRequest).values(expires_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    # Used once, then reused.
    assert _confirm(referee, link).status_code == 200
    again = referee.get(link)
    assert again.status_code == 410 and b'data-code="link_used"' in again.data
    # A POST on a spent link signs nothing more.
    replay = referee.post(link, data={"action": "confirm", "statement": "x"})
    assert replay.status_code in (400, 410)
    assert db.session.query(AttestationRequest).filter_by(status="confirmed").count() == 1


def test_cancelled_request_link_stops_working(app, client, owner, experience):
    login(client, owner.email)
    _ask(client, experience)
    link = _referee_link(app)
    request = _request_of(owner)
    mine = client.get("/portfolio/attestations")
    assert client.post(f"/portfolio/attestations/{request.id}/cancel",
                       data={"csrf_token": csrf_token(mine)}).status_code == 302
    page = _new_client(app).get(link)
    assert page.status_code == 410 and b'data-code="request_cancelled"' in page.data
    # A cancelled request cannot be reminded nor cancelled again.
    with pytest.raises(attestations.ServiceError):
        attestations.remind(db.session, owner, _request_of(owner))


def test_remind_replaces_the_link_and_is_rate_limited(app, client, owner, experience):
    login(client, owner.email)
    _ask(client, experience)
    first = _referee_link(app)
    request = _request_of(owner)
    mine = client.get("/portfolio/attestations")
    # Too soon: a reminder waits a day.
    client.post(f"/portfolio/attestations/{request.id}/remind", data={"csrf_token": csrf_token(mine)})
    assert _request_of(owner).reminders == 0
    db.session.execute(update(AttestationRequest).values(created_at=utcnow() - timedelta(days=2)))
    db.session.commit()
    client.post(f"/portfolio/attestations/{request.id}/remind", data={"csrf_token": csrf_token(mine)},
                buffered=True)
    assert _request_of(owner).reminders == 1
    second = _referee_link(app)
    assert second != first
    assert _new_client(app).get(first).status_code == 404  # only the latest link counts
    assert _new_client(app).get(second).status_code == 200
    with pytest.raises(attestations.ServiceError) as refused:  # again within the day
        attestations.remind(db.session, owner, _request_of(owner))
    assert refused.value.code == "too_many_reminders"


def test_self_attestation_and_bad_input_are_refused(app, client, owner, experience):
    login(client, owner.email)
    assert _ask(client, experience, email=owner.email).status_code == 400
    assert _ask(client, experience, relationship="").status_code == 400
    assert _ask(client, experience, relationship="a\x01b").status_code == 400
    assert db.session.query(AttestationRequest).count() == 0


# --- signing as an organisation --------------------------------------------------------------------

def test_referee_member_signs_as_organisation(app, client, make_user, owner, experience):
    referee_user = make_user("paul@example.net", display_name="Paul Durand")
    org = make_org(referee_user, name="Boulangerie Coopérative")
    login(client, owner.email)
    _ask(client, experience)
    link = _referee_link(app)
    referee = _new_client(app)
    login(referee, referee_user.email)
    assert b"Boulangerie Coop" in referee.get(link).data
    assert _confirm(referee, link, sign_as=str(org.id)).status_code == 200
    request = _request_of(owner)
    assert request.signed_by_organisation_id == org.id
    document = request.document
    assert document["issuer"]["id"] == org.did
    assert "paul@example.net" not in json.dumps(document) and "Paul Durand" in json.dumps(document)
    result = verify(document, fetch=local_fetch(app))
    assert result["verified"] is True, result["errors"]


def test_referee_cannot_act_for_an_organisation_they_are_not_member_of(app, client, make_user, owner,
                                                                       experience):
    referee_user = make_user("paul@example.net", display_name="Paul Durand")
    other_admin = make_user("boss@other.example")
    foreign = make_org(other_admin, name="Autre École")
    login(client, owner.email)
    _ask(client, experience)
    link = _referee_link(app)
    referee = _new_client(app)
    login(referee, referee_user.email)
    refused = _confirm(referee, link, sign_as=str(foreign.id))
    assert refused.status_code == 403
    assert _request_of(owner).status == "pending"  # nothing used, nothing signed
    # Nor for their own organisation while it is not approved.
    pending_org = make_org(referee_user, name="Association en attente", approve=False)
    assert _confirm(referee, link, sign_as=str(pending_org.id)).status_code == 403
    assert _request_of(owner).status == "pending"
    # Nor can a member sign for their organisation when signed in under another address than the referee's.
    own = make_org(other_admin, name="École du patron")
    boss = _new_client(app)
    login(boss, other_admin.email)
    assert _confirm(boss, link, sign_as=str(own.id)).status_code == 403
    assert _request_of(owner).status == "pending"
    # Signing as oneself still works afterwards: the link was not spent by the refusals.
    assert _confirm(_new_client(app), link).status_code == 200


# --- platform key and master key rotation ---------------------------------------------------------

def test_platform_key_is_sealed_and_rewrapped_by_rotate_master(app, client):
    from app.services import vault_keys

    document = json.loads(client.get("/issuers/platform/did.json").data)
    assert document["id"] == "did:web:localhost:issuers:platform"
    row = db.session.query(PlatformKey).one()
    ring = vault_keys.keyring()
    assert row.master_key_id == ring.wrapping_id
    before = attestations.platform_key(db.session).public_key_multibase
    vault_keys.begin_rotation(app.config)
    ring = vault_keys.keyring()
    assert vault_keys.pending(db.session, ring) >= 1
    while vault_keys.rewrap_batch(db.session, ring):
        db.session.commit()
        if vault_keys.pending(db.session, ring) == 0:
            break
    db.session.commit()
    row = db.session.query(PlatformKey).one()
    assert row.master_key_id == ring.wrapping_id and row.rotated_at is not None
    vault_keys.finish_rotation(app.config)
    assert attestations.platform_key(db.session).public_key_multibase == before


def test_demo_has_one_confirmed_and_one_pending_attestation(app):
    from app import demo

    demo.load(db.session)
    db.session.commit()
    demo.load(db.session)  # idempotent
    db.session.commit()
    # (The demo's endorsement request, purpose "endorsement", is tested in tests/test_endorse_person.py.)
    statuses = sorted(r.status for r in db.session.query(AttestationRequest).filter_by(purpose="attestation"))
    assert statuses == ["confirmed", "pending"]
    confirmed = db.session.query(AttestationRequest).filter_by(status="confirmed", purpose="attestation").one()
    assert verify(confirmed.document, fetch=local_fetch(app))["verified"] is True


def test_mails_are_in_the_referees_and_owners_language(app, client, make_user, owner, experience):
    make_user("paul@example.net", locale="en")  # the referee has an account, in English
    login(client, owner.email)
    _ask(client, experience)
    to_referee = [m for m in outbox(app) if m["To"] == "paul@example.net"][-1]
    assert to_referee["Subject"] == "Inès Morel asks you for an attestation"
    assert _request_of(owner).locale == "en"
    _ask(client, experience, email="lucie@example.net")  # no account: the owner's language
    to_lucie = [m for m in outbox(app) if m["To"] == "lucie@example.net"][-1]
    assert to_lucie["Subject"] == "Inès Morel vous demande une attestation"
    body = to_lucie.get_body(("plain",)).get_content()
    assert "Merci !" in body and "14 jours" in body
