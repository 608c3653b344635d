"""Awarding one credential, status lists, revocation and suspension, delivery and claims (issue 7).

Real crypto, the real database built by the migrations, the real pages: a credential issued through
the award form must verify with Sillage's verifier (fetching the did:web document and the status list
from this application's own routes) and with Digital Bazaar's Node.js verifier (tests/interop).
"""
from __future__ import annotations

import json
import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models.credentials import ClaimToken, Credential, StatusEntry, StatusList
from app.services import awarding, orgs
from app.services.errors import ServiceError
from badges.bake import unbake
from badges.verify import verify
from certs.keys import did_web_url
from certs.status import MIN_LENGTH, StatusList as Bitstring
from tests.awarding_helpers import local_fetch, make_achievement, make_org
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_auth import outbox


@pytest.fixture
def issuer(make_user):
    return make_user("issuer@univ.example", display_name="Issuer")


@pytest.fixture
def org(issuer):
    return make_org(issuer)


@pytest.fixture
def achievement(org):
    return make_achievement(org)


def _web_award(client, org, achievement, recipient, **extra):
    page = client.get(f"/organisations/{org.id}/achievements/{achievement.id}/award")
    assert page.status_code == 200, page.data[:300]
    return client.post(f"/organisations/{org.id}/achievements/{achievement.id}/award",
                       data={"recipient": recipient, "csrf_token": csrf_token(page), **extra},
                       buffered=True)  # closed as a server would: the mails go out on close


def _credential_id(response) -> str:
    assert response.status_code == 302, response.data[:500]
    return response.headers["Location"].rstrip("/").split("/")[-1]


def _verify(app, document):
    return verify(document, fetch=local_fetch(app))


# --- issuing through the web ------------------------------------------------------------------------

def test_web_issued_credential_verifies_and_lands_in_the_portfolio(app, client, issuer, org, achievement,
                                                                    make_user):
    recipient = make_user("alice@example.org", display_name="Alice Martin")
    login(client, issuer.email)
    credential_id = _credential_id(_web_award(client, org, achievement, "Alice@Example.org",
                                              narrative="Très bien", evidence="https://example.org/work"))
    document = json.loads(client.get(f"/credentials/{credential_id}.json").data)
    result = _verify(app, document)
    assert result["verified"] is True, result["errors"]
    assert {c["name"] for c in result["checks"] if c["ok"]} >= {"schema", "proof", "issuer", "status"}
    assert document["issuer"]["id"] == org.did
    assert document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert document["credentialSchema"][0]["id"].endswith("ob_v3p0_achievementcredential_schema.json")
    status = document["credentialStatus"]
    assert status["statusPurpose"] == "revocation" and status["type"] == "BitstringStatusListEntry"
    # The recipient appears only as a salted hash.
    assert "alice@example.org" not in json.dumps(document).lower()
    assert document["credentialSubject"]["identifier"][0]["hashed"] is True
    stored = db.session.get(Credential, awarding.get(db.session, credential_id).id)
    assert stored.portfolio_id == recipient.portfolio.id
    assert stored.document == document  # verbatim
    # The page's verify button: the app's verifier, against this site's own did:web document and list.
    page = client.get(f"/credentials/{credential_id}")
    assert b"Alice Martin" not in page.data  # privacy first: no name unless the owner allows it
    checked = client.post(f"/credentials/{credential_id}/verify", data={"csrf_token": csrf_token(page)})
    assert checked.status_code == 200 and b'data-verdict="verified"' in checked.data
    assert checked.headers["Cache-Control"] == "no-store"
    assert client.post(f"/credentials/{credential_id}/verify").status_code == 400  # no CSRF token


def test_a_tampered_credential_fails(app, client, issuer, org, achievement):
    login(client, issuer.email)
    credential_id = _credential_id(_web_award(client, org, achievement, "bob@example.org"))
    document = json.loads(client.get(f"/credentials/{credential_id}.json").data)
    document["credentialSubject"]["achievement"]["name"] = "Autre chose"
    result = _verify(app, document)
    assert result["verified"] is False
    assert "bad_signature" in [error["code"] for error in result["errors"]]


def test_baked_png_and_svg_carry_the_signed_credential(app, client, issuer, org, achievement):
    login(client, issuer.email)
    credential_id = _credential_id(_web_award(client, org, achievement, "carol@example.org"))
    document = json.loads(client.get(f"/credentials/{credential_id}.json").data)
    for suffix in ("png", "svg"):
        image = client.get(f"/credentials/{credential_id}.{suffix}")
        assert image.status_code == 200
        assert unbake(image.data)["credential"] == document
        assert _verify(app, image.data)["verified"] is True
    download = client.get(f"/credentials/{credential_id}.json?download=1")
    assert "attachment" in download.headers["Content-Disposition"]


def test_web_issued_credential_verifies_in_node(app, client, issuer, org, achievement):
    from tests.interop.runner import NodeUnavailable, Witness, node_binary

    if node_binary() is None and not os.environ.get("CI"):
        pytest.skip("node is not installed (the interoperability tests always run in CI)")
    try:
        witness = Witness()
    except NodeUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    login(client, issuer.email)
    credential_id = _credential_id(_web_award(client, org, achievement, "dan@example.org"))
    document = json.loads(client.get(f"/credentials/{credential_id}.json").data)
    witness.extra = {org.did: json.loads(client.get(f"/issuers/{org.id}/did.json").data)}
    assert witness.verify(document) == {"verified": True}
    changed = json.dumps(document).replace("Premiers secours", "Derniers secours", 1)
    assert witness.verify(changed)["verified"] is False


# --- status lists -----------------------------------------------------------------------------------

def test_status_list_is_signed_long_enough_and_cacheable(app, client, issuer, org, achievement):
    awarded = awarding.award(db.session, issuer, achievement, "eve@example.org")
    db.session.commit()
    url = awarded.credential.document["credentialStatus"]["statusListCredential"]
    response = client.get(url.replace("http://localhost", ""))
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"] and response.headers["ETag"]
    listed = json.loads(response.data)
    assert listed["issuer"] == org.did and listed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert len(Bitstring.decode(listed["credentialSubject"]["encodedList"])) >= MIN_LENGTH == 131_072
    again = client.get(url.replace("http://localhost", ""), headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/status/00000000-0000-4000-8000-000000000000").status_code == 404


def test_indexes_are_random_unique_and_a_clash_is_drawn_again(app, issuer, org, achievement, monkeypatch):
    import secrets as secrets_module

    first = awarding.award(db.session, issuer, achievement, "f1@example.org")
    taken = int(first.credential.document["credentialStatus"]["statusListIndex"])
    draws = iter([taken, taken, 4242])  # two clashes with the first credential's index, then a free one
    monkeypatch.setattr(secrets_module, "randbelow", lambda n: next(draws))
    second = awarding.award(db.session, issuer, achievement, "f2@example.org")
    db.session.commit()
    assert second.credential.document["credentialStatus"]["statusListIndex"] == "4242"
    rows = db.session.execute(select(StatusEntry.list_index)).scalars().all()
    assert sorted(rows) == sorted({taken, 4242})
    assert db.session.scalar(select(StatusList.used)) == 2


def test_revocation_sets_the_bit_and_every_surface_says_revoked(app, client, issuer, org, achievement):
    awarded = awarding.award(db.session, issuer, achievement, "gus@example.org")
    db.session.commit()
    credential = awarded.credential
    login(client, issuer.email)
    issued = client.get(f"/organisations/{org.id}/credentials")
    assert b"gus@example.org" in issued.data
    response = client.post(f"/organisations/{org.id}/credentials/{credential.id}/revoke",
                           data={"reason": "Erreur de saisie", "csrf_token": csrf_token(issued)})
    assert response.status_code == 303
    db.session.expire_all()
    assert credential.revoked_at is not None and credential.revocation_reason == "Erreur de saisie"
    result = _verify(app, credential.document)
    assert result["verified"] is False and result["verdict"]["reason"] == "revoked"
    page = client.get(f"/credentials/{credential.id}")
    assert b'data-state="revoked"' in page.data and b"Erreur de saisie" in page.data
    hosted = client.get(f"/ob2/assertions/{credential.id}")
    # OB 2.0 "Revoking Hosted Assertions": 410 Gone, with the stripped-down document as the body.
    assert hosted.status_code == 410
    assertion = json.loads(hosted.data)
    assert assertion["revoked"] is True and set(assertion) <= {"@context", "type", "id", "revoked",
                                                                "revocationReason"}
    # The verify button on the page runs the verifier and shows its verdict.
    verified = client.post(f"/credentials/{credential.id}/verify", data={"csrf_token": csrf_token(page)})
    assert b'data-reason="revoked"' in verified.data


def test_revocation_needs_a_reason_and_happens_once(app, issuer, org, achievement):
    credential = awarding.award(db.session, issuer, achievement, "h@example.org").credential
    with pytest.raises(ServiceError) as error:
        awarding.revoke(db.session, issuer, credential, "  ")
    assert error.value.code == "validation_error"
    awarding.revoke(db.session, issuer, credential, "Fraude")
    with pytest.raises(ServiceError) as error:
        awarding.revoke(db.session, issuer, credential, "Encore")
    assert error.value.code == "already_revoked"
    with pytest.raises(ServiceError):
        awarding.suspend(db.session, issuer, credential, None)


def test_suspension_shows_on_the_page_and_can_be_lifted(app, client, issuer, org, achievement):
    credential = awarding.award(db.session, issuer, achievement, "ivy@example.org").credential
    db.session.commit()
    login(client, issuer.email)
    issued = client.get(f"/organisations/{org.id}/credentials")
    client.post(f"/organisations/{org.id}/credentials/{credential.id}/suspend",
                data={"reason": "Enquête en cours", "csrf_token": csrf_token(issued)})
    page = client.get(f"/credentials/{credential.id}")
    assert b'data-state="suspended"' in page.data and "Enquête en cours".encode() in page.data
    client.post(f"/organisations/{org.id}/credentials/{credential.id}/unsuspend",
                data={"csrf_token": csrf_token(page)})
    db.session.expire_all()
    assert credential.suspended_at is None
    assert b'data-state="active"' in client.get(f"/credentials/{credential.id}").data
    assert _verify(app, credential.document)["verified"] is True


def test_expired_credential_shows_expired(app, client, issuer, org):
    achievement = make_achievement(org, name="Habilitation", validity_months=12)
    credential = awarding.award(db.session, issuer, achievement, "jo@example.org").credential
    db.session.commit()
    assert credential.valid_until is not None
    document = credential.document
    assert document["validUntil"] > document["validFrom"]
    later = credential.valid_until + timedelta(days=1)
    result = verify(document, fetch=local_fetch(app), now=later)
    assert result["verified"] is False and result["verdict"]["reason"] == "expired"
    credential.valid_until = utcnow() - timedelta(seconds=1)  # the page a year on: the end date is past
    db.session.commit()
    assert b'data-state="expired"' in client.get(f"/credentials/{credential.id}").data


def test_the_page_shows_what_was_signed_not_the_achievement_as_edited_since(app, client, issuer, org,
                                                                             achievement):
    """An achievement edited after an award must not change what the credential's page says it certifies:
    the page reads the signed credential (name, description, criteria, issuer), as every verifier does."""
    from app.policy import OPERATOR
    from app.services import achievements

    credential = awarding.award(db.session, issuer, achievement, "paul@example.org").credential
    db.session.commit()
    achievements.update(db.session, OPERATOR, achievement, {
        "name": "Secourisme avancé", "description": "Réanime sans matériel.",
        "criteria_narrative": "Aucun examen."})
    db.session.commit()
    page = client.get(f"/credentials/{credential.id}").get_data(as_text=True)
    assert "Premiers secours" in page and "Sait porter les premiers secours." in page
    assert "Réussir l&#39;examen pratique." in page
    assert "Secourisme avancé" not in page and "Réanime sans matériel." not in page
    assert "Aucun examen." not in page


# --- who may do what ----------------------------------------------------------------------------------

def test_issuer_of_another_organisation_is_refused_everywhere(app, client, issuer, org, achievement, make_user):
    outsider = make_user("other@school.example")
    other_org = make_org(outsider, name="Autre école")
    credential = awarding.award(db.session, issuer, achievement, "k@example.org").credential
    db.session.commit()
    with pytest.raises(ServiceError):
        awarding.award(db.session, outsider, achievement, "k2@example.org")
    for action in (awarding.revoke, awarding.suspend):
        with pytest.raises(ServiceError):
            action(db.session, outsider, credential, "x")
    with pytest.raises(ServiceError):
        awarding.unsuspend(db.session, outsider, credential)
    db.session.rollback()
    login(client, outsider.email)
    assert client.get(f"/organisations/{org.id}/achievements/{achievement.id}/award").status_code == 404
    assert client.get(f"/organisations/{org.id}/credentials").status_code == 404
    # Their own organisation in the URL does not open another organisation's objects either.
    assert client.get(f"/organisations/{other_org.id}/achievements/{achievement.id}/award").status_code == 404
    token = csrf_token(client.get(f"/organisations/{other_org.id}/credentials"))
    for action in ("revoke", "suspend", "unsuspend"):
        for org_id in (org.id, other_org.id):
            response = client.post(f"/organisations/{org_id}/credentials/{credential.id}/{action}",
                                   data={"reason": "x", "csrf_token": token})
            assert response.status_code == 404, (action, org_id)
    db.session.expire_all()
    assert credential.revoked_at is None and credential.suspended_at is None


def test_unapproved_organisation_cannot_issue(app, client, issuer, org, achievement):
    """An organisation whose approval is withdrawn (back to pending) issues nothing, by any door."""
    from app.policy import OPERATOR

    org.status = "pending"
    db.session.commit()
    for actor in (issuer, OPERATOR):
        with pytest.raises(ServiceError) as error:
            awarding.award(db.session, actor, achievement, "x@example.org")
        assert error.value.code == "organisation_not_approved"
        db.session.rollback()
    login(client, issuer.email)
    assert client.get(f"/organisations/{org.id}/achievements/{achievement.id}/award").status_code == 403
    runner = app.test_cli_runner()
    result = runner.invoke(args=["award", "--achievement", str(achievement.id), "--recipient", "x@example.org"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(Credential)) == 0


def test_a_citizen_cannot_issue(app, client, org, achievement, make_user):
    citizen = make_user("citizen@example.org")
    for nobody in (citizen, None):
        with pytest.raises(ServiceError):
            awarding.award(db.session, nobody, achievement, "x@example.org")
    login(client, citizen.email)
    assert client.get(f"/organisations/{org.id}/achievements/{achievement.id}/award").status_code == 404


def test_bad_input_on_the_form_is_a_clear_message(app, client, issuer, org, achievement):
    login(client, issuer.email)
    response = _web_award(client, org, achievement, "not an address")
    assert response.status_code == 422 and b"error-summary" in response.data
    response = _web_award(client, org, achievement, "a@example.org", evidence="javascript:alert(1)")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Credential)) == 0


# --- delivery and claims ------------------------------------------------------------------------------

def test_unknown_address_gets_a_claim_link_and_the_credential_lands_at_verification(app, client, issuer,
                                                                                     achievement):
    from app.services import accounts

    awarded = awarding.award(db.session, issuer, achievement, "newcomer@example.org")
    db.session.commit()
    assert awarded.recipient is None and awarded.claim_token
    assert db.session.scalar(select(ClaimToken.token_hash)) != awarded.claim_token  # stored hashed
    page = client.get(f"/claim/{awarded.claim_token}")
    assert page.status_code == 200 and b"Premiers secours" in page.data
    user = accounts.create_user(db.session, email="Newcomer@example.org", password="correct horse battery staple")
    raw = accounts.verification_token(db.session, user, force=True)
    db.session.commit()
    assert awarded.credential.portfolio_id is None  # not before the address is proved
    accounts.verify_email(db.session, raw)
    db.session.commit()
    db.session.expire_all()
    assert awarded.credential.portfolio_id == user.portfolio.id


def test_nobody_gets_another_persons_credential_by_changing_their_address(app, issuer, achievement, make_user):
    """The credential lands only on a proved address: an unverified account holding the address gets
    nothing, an address change is applied (and delivers) only once the new mailbox confirms it, and a
    verification link sent to an earlier address does not prove the current one."""
    from app.services import accounts
    from tests.conftest import PASSWORD

    credential = awarding.award(db.session, issuer, achievement, "bob@example.org").credential
    db.session.commit()
    squatter = make_user("bob@example.org", verified=False)
    mallory = make_user("mallory@example.org")
    with pytest.raises(ServiceError):  # unverified: no address change at all
        accounts.request_email_change(db.session, squatter, PASSWORD, "x@example.org")
    _new, raw_change = accounts.request_email_change(db.session, mallory, PASSWORD, "bob@example.org")
    db.session.commit()
    db.session.expire_all()
    assert mallory.email == "mallory@example.org" and credential.portfolio_id is None
    # A verification link sent to the squatter's address before a change does not prove a later one.
    late = make_user("late@example.org", verified=False)
    raw_verify = accounts.verification_token(db.session, late, force=True)
    late.email = "bob2@example.org"  # as if changed by any other path: the link no longer proves it
    db.session.commit()
    with pytest.raises(ServiceError):
        accounts.verify_email(db.session, raw_verify)
    db.session.rollback()
    assert awarding.deliver_pending(db.session, squatter) == 0
    db.session.expire_all()
    assert credential.portfolio_id is None
    # Only the confirmation from the mailbox itself (here refused: an account already has the address).
    with pytest.raises(ServiceError):
        accounts.confirm_email_change(db.session, raw_change)
    db.session.rollback()
    db.session.expire_all()
    assert credential.portfolio_id is None


def test_claim_link_signed_in_puts_it_in_the_portfolio_once(app, client, issuer, achievement, make_user):
    awarded = awarding.award(db.session, issuer, achievement, "other-address@example.org")
    db.session.commit()
    holder = make_user("holder@example.org")
    login(client, holder.email)
    page = client.get(f"/claim/{awarded.claim_token}")
    response = client.post(f"/claim/{awarded.claim_token}", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert awarded.credential.portfolio_id == holder.portfolio.id
    again = client.post(f"/claim/{awarded.claim_token}", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 400
    assert client.get("/claim/not-a-real-token").status_code == 400


def test_claim_link_expires(app, client, issuer, achievement):
    awarded = awarding.award(db.session, issuer, achievement, "late@example.org")
    token = db.session.scalars(select(ClaimToken)).one()
    token.expires_at = token.created_at - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/claim/{awarded.claim_token}").status_code == 400


def test_notification_mails(app, client, issuer, org, achievement, make_user):
    make_user("known@example.org")
    login(client, issuer.email)
    _credential_id(_web_award(client, org, achievement, "known@example.org"))
    _credential_id(_web_award(client, org, achievement, "unknown@example.org"))
    mails = {m["To"]: m.get_body(("plain",)).get_content() for m in outbox(app)}
    assert "/portfolio/credentials" in mails["known@example.org"]
    assert "/claim/" in mails["unknown@example.org"] and "/claim/" not in mails["known@example.org"]
    claim = re.search(r"http://localhost(/claim/\S+)", mails["unknown@example.org"]).group(1)
    assert client.get(claim).status_code == 200


# --- the owner's section ------------------------------------------------------------------------------

def test_owner_lists_hides_and_shares(app, client, issuer, achievement, make_user):
    owner = make_user("lea@example.org", display_name="Léa Dupont")
    credential = awarding.award(db.session, issuer, achievement, "lea@example.org").credential
    db.session.commit()
    # Privacy first: the public page names nobody until the owner allows it.
    assert "Léa Dupont".encode() not in client.get(f"/credentials/{credential.id}").data
    login(client, owner.email)
    listing = client.get("/portfolio/credentials")
    assert b"Premiers secours" in listing.data and f"/credentials/{credential.id}".encode() in listing.data
    token = csrf_token(listing)
    client.post(f"/portfolio/credentials/{credential.id}/visibility", data={"show_name": "1", "csrf_token": token})
    assert "Léa Dupont".encode() in client.get(f"/credentials/{credential.id}").data
    client.post(f"/portfolio/credentials/{credential.id}/visibility", data={"hidden": "1", "csrf_token": token})
    db.session.expire_all()
    assert credential.hidden is True
    assert awarding.owned(db.session, owner, include_hidden=False) == []


def test_someone_else_cannot_change_my_credential(app, client, issuer, achievement, make_user):
    make_user("mine@example.org")
    credential = awarding.award(db.session, issuer, achievement, "mine@example.org").credential
    db.session.commit()
    stranger = make_user("stranger@example.org")
    login(client, stranger.email)
    token = csrf_token(client.get("/portfolio/credentials"))
    response = client.post(f"/portfolio/credentials/{credential.id}/visibility",
                           data={"hidden": "1", "csrf_token": token})
    assert response.status_code == 404
    db.session.expire_all()
    assert credential.hidden is False


# --- OB 2.0 hosted documents --------------------------------------------------------------------------

def test_ob2_hosted_assertion_verifies(app, client, issuer, org, achievement):
    credential = awarding.award(db.session, issuer, achievement, "olga@example.org").credential
    db.session.commit()
    assertion = json.loads(client.get(f"/ob2/assertions/{credential.id}").data)
    assert assertion["recipient"]["salt"] == credential.recipient_salt
    badge = json.loads(client.get(assertion["badge"].replace("http://localhost", "")).data)
    assert badge["issuer"].endswith(f"/ob2/issuers/{org.id}")
    assert client.get(badge["image"].replace("http://localhost", "")).data.startswith(b"\x89PNG")
    result = verify(assertion["id"], fetch=local_fetch(app))
    assert result["verified"] is True, result["errors"]
    baked = client.get(f"/ob2/assertions/{credential.id}.png")
    assert unbake(baked.data)["credential"]["id"] == assertion["id"]


def test_organisation_page_links_to_the_award_form_and_the_issued_list(app, client, issuer, org, achievement):
    login(client, issuer.email)
    page = client.get(f"/organisations/{org.id}")
    assert f"/organisations/{org.id}/achievements/{achievement.id}/award".encode() in page.data
    assert f"/organisations/{org.id}/credentials".encode() in page.data


def test_concurrent_awards_never_share_an_index(app, issuer, org, achievement, monkeypatch):
    """Two workers awarding at once, drawing from a deliberately tiny range so that they clash: the unique
    (list, index) constraint and the retry give every credential its own index (PostgreSQL runs them truly
    in parallel; SQLite serialises the writers)."""
    import random
    import secrets as secrets_module
    import threading

    from app.models import Achievement, User

    first = awarding.award(db.session, issuer, achievement, "first@example.org").credential
    status_list_id = first.entries[0].status_list_id
    db.session.commit()
    monkeypatch.setattr(secrets_module, "randbelow", lambda n: random.randrange(12))
    issuer_id, achievement_id = issuer.id, achievement.id  # read here: the test's session stays here
    errors = []

    def worker(number: int):
        try:
            with app.app_context():
                actor = db.session.get(User, issuer_id)
                target = db.session.get(Achievement, achievement_id)
                for i in range(4):
                    awarding.award(db.session, actor, target, f"w{number}-{i}@example.org")
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    indexes = db.session.scalars(select(StatusEntry.list_index).where(StatusEntry.status_list_id == status_list_id)).all()
    assert len(indexes) == len(set(indexes)) == 9
    assert db.session.get(StatusList, status_list_id).used == 9


def test_an_uploaded_svg_achievement_still_bakes_a_png(app, client, issuer, org, achievement):
    achievement.image = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    achievement.image_type = "image/svg+xml"
    credential = awarding.award(db.session, issuer, achievement, "svg@example.org").credential
    db.session.commit()
    png = client.get(f"/credentials/{credential.id}.png").data
    assert png.startswith(b"\x89PNG") and unbake(png)["credential"] == credential.document
    svg = client.get(f"/credentials/{credential.id}.svg")
    assert unbake(svg.data)["credential"] == credential.document
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
