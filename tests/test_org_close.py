"""Closing an organisation: its admin (page, API) or the operator (``sillage orgs close``) closes it after
repeating its name; from then on it issues nothing (single awards, bulk, the VC-API, endorsements), its
members keep only reading, its public profile says when it closed, and what it issued still verifies —
its DID document and status lists keep answering, a revocation made before closing included. Its last
admin may then delete their account."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Membership, Organisation, User
from app.policy import OPERATOR, can
from app.services import accounts, awarding, bulk_awards, endorsements, orgs
from app.services.errors import ServiceError
from badges.verify import verify
from tests.awarding_helpers import local_fetch, make_achievement, make_org
from tests.conftest import PASSWORD, login
from tests.helpers import csrf_token


@pytest.fixture
def admin(make_user):
    return make_user("admin@univ.example")


@pytest.fixture
def org(admin):
    return make_org(admin)


@pytest.fixture
def achievement(org):
    return make_achievement(org)


def _close(org, actor=OPERATOR):
    orgs.close(db.session, actor, org, org.name)
    db.session.commit()


# --- closing ------------------------------------------------------------------------------------------------

def test_closing_needs_the_name_and_an_admin(app, org, admin, make_user):
    issuer = make_user("issuer@univ.example")
    orgs.add_member(db.session, OPERATOR, org, issuer.email, "issuer")
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        orgs.close(db.session, issuer, org, org.name)
    assert refused.value.status == 403  # an issuer reads the organisation but cannot close it
    with pytest.raises(ServiceError) as refused:
        orgs.close(db.session, make_user("stranger@example.org"), org, org.name)
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        orgs.close(db.session, admin, org, "Université")
    assert refused.value.code == "validation_error" and "confirm" in refused.value.fields
    assert org.closed_at is None
    orgs.close(db.session, admin, org, "  université de TEST ")  # the name, whatever the case and spaces
    db.session.commit()
    assert org.is_closed
    with pytest.raises(ServiceError) as refused:  # once only
        orgs.close(db.session, admin, org, org.name)
    assert refused.value.code == "organisation_closed"


def test_a_closed_organisation_leaves_its_members_only_reading(app, org, admin):
    _, raw = orgs.create_token(db.session, OPERATOR, org, "sis")
    db.session.commit()
    _close(org, admin)
    assert can(admin, "read", org)
    for action in ("issue", "manage_achievements", "manage_profile", "manage_members", "manage_keys",
                   "manage_tokens", "close"):
        assert not can(admin, action, org), action
        assert not can(OPERATOR, action, org), action
    with pytest.raises(ServiceError) as refused:
        orgs.add_member(db.session, admin, org, "someone@example.org", "issuer")
    assert refused.value.code == "organisation_closed"
    with pytest.raises(ServiceError):
        orgs.rotate_key(db.session, admin, org)
    assert orgs.organisation_for_token(raw) is None  # its API tokens were revoked with it


# --- it issues nothing more -------------------------------------------------------------------------------

def test_a_closed_organisation_awards_nothing(app, org, admin, achievement):
    _close(org)
    for actor in (admin, OPERATOR):
        with pytest.raises(ServiceError) as refused:
            awarding.award(db.session, actor, achievement, "gus@example.org")
        assert refused.value.code == "organisation_closed"
    with pytest.raises(ServiceError) as refused:
        orgs.signing_key(db.session, org)  # the last guard: the key itself is not handed out
    assert refused.value.code == "organisation_closed"


def test_a_closed_organisation_starts_no_bulk_award_and_a_running_one_stops(app, org, admin, achievement):
    parsed = bulk_awards.parse(io.BytesIO(b"email\na@example.org\nb@example.org\n"))
    batch = bulk_awards.start(db.session, admin, achievement, parsed)
    db.session.commit()
    _close(org, admin)
    bulk_awards.batches.run_batch_job(str(batch.id))  # queued before the closing: each row is refused
    db.session.expire_all()
    rows = bulk_awards.batches.report(db.session, batch)
    assert rows and all(row["status"] != "done" for row in rows), rows
    assert {row["error"]["code"] for row in rows} == {"organisation_closed"}
    with pytest.raises(ServiceError) as refused:
        bulk_awards.start(db.session, admin, achievement,
                          bulk_awards.parse(io.BytesIO(b"email\nc@example.org\n")))
    assert refused.value.code == "organisation_closed"


def test_a_closed_organisation_signs_nothing_through_the_vc_api(app, client, org):
    _, raw = orgs.create_token(db.session, OPERATOR, org, "vcapi")
    db.session.commit()
    body = {"credential": {"@context": ["https://www.w3.org/ns/credentials/v2"],
                           "type": ["VerifiableCredential"], "credentialSubject": {"id": "did:example:s"}}}
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.post(f"/issuers/{org.id}/credentials/issue", json=body, headers=headers).status_code == 201
    _close(org)
    refused = client.post(f"/issuers/{org.id}/credentials/issue", json=body, headers=headers)
    assert refused.status_code in (401, 403, 404) and "verifiableCredential" not in (refused.json or {})


def test_a_closed_organisation_endorses_nothing(app, org, admin, make_user):
    other = make_org(make_user("admin@other.example"), name="Autre école")
    _close(org, admin)
    with pytest.raises(ServiceError) as refused:
        endorsements.endorse(db.session, admin, org, "organisation", other.id, "Sérieux.")
    assert refused.value.code == "organisation_closed"


# --- what it issued still verifies ------------------------------------------------------------------------

def test_credentials_issued_before_closing_still_verify_and_revocations_stay_visible(app, client, org, admin,
                                                                                      achievement):
    kept = awarding.award(db.session, admin, achievement, "kept@example.org").credential
    revoked = awarding.award(db.session, admin, achievement, "revoked@example.org").credential
    db.session.commit()
    awarding.revoke(db.session, admin, revoked, "Erreur de saisie")
    db.session.commit()
    orgs.rotate_key(db.session, admin, org)  # a retired key too stays published
    db.session.commit()
    _close(org, admin)
    assert client.get(f"/issuers/{org.id}/did.json").status_code == 200
    result = verify(kept.document, fetch=local_fetch(app))
    assert result["verified"], result["errors"]
    result = verify(revoked.document, fetch=local_fetch(app))
    assert result["verified"] is False and result["verdict"]["reason"] == "revoked"
    awarding.revoke(db.session, admin, kept, "Fraude découverte après la fermeture")  # still revocable
    db.session.commit()
    result = verify(kept.document, fetch=local_fetch(app))  # the list was re-signed with its last key
    assert result["verified"] is False and result["verdict"]["reason"] == "revoked"


# --- revoking what a closed organisation issued -----------------------------------------------------------

@pytest.fixture
def closed(org, admin, achievement, make_user):
    """A closed organisation with one credential, an issuer, a platform admin and a stranger."""
    issuer = make_user("issuer@univ.example")
    orgs.add_member(db.session, OPERATOR, org, issuer.email, "issuer")
    credential = awarding.award(db.session, admin, achievement, "holder@example.org").credential
    db.session.commit()
    _close(org, admin)
    return {"credential": credential, "issuer": issuer, "stranger": make_user("x@example.org"),
            "root": make_user("root@example.org", is_admin=True)}


def test_former_admins_and_the_platform_admin_revoke_what_a_closed_organisation_issued(app, org, admin, closed):
    """Revocation must outlive the organisation (a credential found wrong later would count for good):
    its former admins and the platform admin may; its issuers and strangers may not; suspending, which
    a closed organisation could never lift, stays refused."""
    credential = closed["credential"]
    for somebody, code in ((closed["issuer"], "organisation_closed"), (closed["stranger"], "organisation_closed")):
        with pytest.raises(ServiceError) as refused:
            awarding.revoke(db.session, somebody, credential, "Non")
        assert refused.value.code == code and refused.value.status == 403
        assert not awarding.may_revoke(somebody, credential)
    with pytest.raises(ServiceError) as refused:
        awarding.get_for_issuer(db.session, closed["stranger"], credential.id)
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        awarding.suspend(db.session, admin, credential, "Enquête")
    assert refused.value.code == "organisation_closed"
    assert awarding.may_revoke(admin, credential) and awarding.may_revoke(closed["root"], credential)
    assert awarding.get_for_issuer(db.session, closed["root"], credential.id) is credential
    awarding.revoke(db.session, closed["root"], credential, "Diplôme frauduleux")
    db.session.commit()
    assert credential.revoked_at is not None
    result = verify(credential.document, fetch=local_fetch(app))
    assert result["verified"] is False and result["verdict"]["reason"] == "revoked"


def test_the_platform_admin_cannot_revoke_for_an_open_organisation(app, org, admin, achievement, make_user):
    credential = awarding.award(db.session, admin, achievement, "holder@example.org").credential
    db.session.commit()
    root = make_user("root@example.org", is_admin=True)
    assert not awarding.may_revoke(root, credential) and not can(root, "revoke_closed", org)
    with pytest.raises(ServiceError) as refused:
        awarding.get_for_issuer(db.session, root, credential.id)
    assert refused.value.status == 404


def test_revoking_a_closed_organisations_credential_from_its_page(app, client, org, admin, closed):
    credential = closed["credential"]
    issuer = app.test_client()
    login(issuer, closed["issuer"].email)
    assert issuer.get(f"/organisations/{org.id}/credentials").status_code == 403
    login(client, admin.email)
    assert f"/organisations/{org.id}/credentials".encode() in client.get(f"/organisations/{org.id}").data
    page = client.get(f"/organisations/{org.id}/credentials", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and b"can still be revoked" in page.data
    assert f"/credentials/{credential.id}/revoke".encode() in page.data
    assert f"/credentials/{credential.id}/suspend".encode() not in page.data
    base = f"/organisations/{org.id}/credentials/{credential.id}"
    assert client.post(f"{base}/revoke", data={"reason": "Fraude"}).status_code == 400  # no CSRF token
    assert client.post(f"{base}/suspend", data={"reason": "x", "csrf_token": csrf_token(page)}).status_code == 403
    done = client.post(f"{base}/revoke", data={"reason": "Fraude", "csrf_token": csrf_token(page)})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(credential), credential.id).revocation_reason == "Fraude"


def test_revoking_a_closed_organisations_credential_through_the_api_and_the_cli(app, client, org, admin, closed):
    from tests.test_api_orgs import personal

    credential = closed["credential"]
    url = f"/api/v1/credentials/{credential.id}/revoke"
    assert client.post(url, json={"reason": "Non"}, headers=personal(closed["issuer"])).status_code == 403
    assert client.post(url, json={"reason": "Non"}, headers=personal(closed["stranger"])).status_code == 404
    assert client.post(url, json={}, headers=personal(admin)).status_code == 422
    done = client.post(url, json={"reason": "Erreur"}, headers=personal(admin))
    assert done.status_code == 200 and done.json["state"] == "revoked"

    other = awarding.get(db.session, credential.id)
    db.session.expire_all()
    runner = app.test_cli_runner()
    again = runner.invoke(args=["revoke", str(other.id), "--reason", "Encore"])
    assert again.exit_code != 0  # already revoked, said so
    assert runner.invoke(args=["suspend", str(other.id)]).exit_code != 0


def test_the_cli_revokes_for_a_closed_organisation(app, org, closed):
    credential_id = str(closed["credential"].id)
    result = app.test_cli_runner().invoke(args=["revoke", credential_id, "--reason", "Fraude"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert awarding.get(db.session, credential_id).revoked_at is not None


def test_the_public_profile_says_when_it_closed(app, client, org):
    english = {"Accept-Language": "en"}
    assert b"Closed on" not in client.get(f"/issuers/{org.id}", headers=english).data
    _close(org)
    page = client.get(f"/issuers/{org.id}", headers=english)
    assert page.status_code == 200 and b"Closed on" in page.data
    french = client.get(f"/issuers/{org.id}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Fermée le" in french


# --- the pages, the API, the command line -----------------------------------------------------------------

def test_the_admin_closes_it_from_its_page_with_a_confirmation(app, client, org, admin):
    login(client, admin.email)
    page = client.get(f"/organisations/{org.id}")
    assert f"/organisations/{org.id}/close".encode() in page.data
    form = client.get(f"/organisations/{org.id}/close")
    assert form.status_code == 200
    no_csrf = client.post(f"/organisations/{org.id}/close", data={"confirm": org.name})
    wrong = client.post(f"/organisations/{org.id}/close",
                        data={"confirm": "autre chose", "csrf_token": csrf_token(form)})
    assert no_csrf.status_code in (400, 422) and wrong.status_code == 422
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).closed_at is None
    done = client.post(f"/organisations/{org.id}/close",
                       data={"confirm": org.name, "csrf_token": csrf_token(form)})
    assert done.status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).closed_at is not None
    assert client.get(f"/organisations/{org.id}/close").status_code == 403  # not twice
    listed = client.get("/organisations", headers={"Accept-Language": "en"})
    assert b"closed on" in listed.data


def test_the_api_closes_for_an_admin_only(app, client, org, admin, make_user):
    from tests.test_api_orgs import org_token, personal

    url = f"/api/v1/organisations/{org.id}/close"
    issuer = make_user("issuer@univ.example")
    orgs.add_member(db.session, OPERATOR, org, issuer.email, "issuer")
    db.session.commit()
    assert client.post(url, json={"confirm": org.name}).status_code == 401
    assert client.post(url, json={"confirm": org.name}, headers=personal(issuer)).status_code == 403
    stranger = client.post(url, json={"confirm": org.name}, headers=personal(make_user("x@example.org")))
    assert stranger.status_code == 404
    assert client.post(url, json={"confirm": org.name}, headers=org_token(org)).status_code in (401, 403)
    mine = personal(admin)
    wrong = client.post(url, json={"confirm": "Autre"}, headers=mine)
    assert wrong.status_code == 422 and "confirm" in wrong.json["fields"]
    assert client.post(url, json={}, headers=mine).status_code == 422
    done = client.post(url, json={"confirm": org.name}, headers=mine)
    assert done.status_code == 200 and done.json["closed_at"]
    again = client.post(url, json={"confirm": org.name}, headers=mine)
    assert again.status_code == 403 and again.json["error"] == "organisation_closed"
    assert client.get(f"/api/v1/organisations/{org.id}", headers=mine).status_code == 200  # still reads


def test_cli_close(app, org):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["orgs", "close", str(org.id)], input="pas le nom\n")
    assert refused.exit_code != 0
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).closed_at is None
    done = runner.invoke(args=["orgs", "close", str(org.id)], input=f"{org.name}\n")
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).closed_at is not None
    assert "closed" in runner.invoke(args=["orgs", "list"]).output


# --- the last admin leaves ---------------------------------------------------------------------------------

def test_the_sole_member_can_delete_their_account_once_every_organisation_is_closed(app, client, admin, org):
    pending = make_org(admin, name="Association en attente", approve=False)
    with pytest.raises(accounts.LastOrganisationAdmin) as refusal:
        accounts.delete_account(db.session, admin, PASSWORD)
    db.session.rollback()
    assert {o.id for o in refusal.value.organisations} == {org.id, pending.id}
    login(client, admin.email)
    page = client.get("/settings/delete")
    for each in (org, pending):
        assert f"/organisations/{each.id}/close".encode() in page.data
    _close(org, admin)
    with pytest.raises(accounts.LastOrganisationAdmin) as refusal:  # the pending request is still open
        accounts.delete_account(db.session, admin, PASSWORD)
    db.session.rollback()
    assert [o.id for o in refusal.value.organisations] == [pending.id]
    assert pending in orgs.list_organisations(db.session, "pending")
    _close(pending, admin)  # a request withdrawn: platform admins no longer review it
    assert pending not in orgs.list_organisations(db.session, "pending")
    admin_id, org_id = admin.id, org.id
    accounts.delete_account(db.session, admin, PASSWORD)
    db.session.commit()
    assert db.session.get(User, admin_id) is None
    assert db.session.get(Organisation, org_id) is not None  # it stays, closed, so that its DID answers
    assert db.session.scalar(select(Membership).where(Membership.organisation_id == org_id)) is None
    assert client.get(f"/issuers/{org_id}/did.json").status_code == 200
