"""Deleting the account of an organisation's only admin is refused, naming the organisations (page and
API), so that no organisation is left without anybody to manage it; a second admin lets it through."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Membership, Organisation, User
from app.policy import OPERATOR
from app.services import accounts, orgs, tokens
from tests.awarding_helpers import make_org
from tests.conftest import PASSWORD, login
from tests.helpers import csrf_token


def test_the_only_admin_is_refused_and_nothing_is_deleted(app, make_user):
    admin = make_user()
    first = make_org(admin, name="Lycée Victor Hugo")
    pending = make_org(admin, name="Association des Amis", approve=False)
    refused = make_org(admin, name="Refusée", approve=False)
    orgs.refuse(db.session, OPERATOR, refused, "Not an issuer.")
    db.session.commit()
    with pytest.raises(accounts.LastOrganisationAdmin) as refusal:
        accounts.delete_account(db.session, admin, PASSWORD)
    db.session.rollback()
    assert refusal.value.code == "last_organisation_admin" and refusal.value.status == 409
    assert [org.id for org in refusal.value.organisations] == [pending.id, first.id]  # by name; not the refused one
    assert "Lycée Victor Hugo" in refusal.value.message and "Association des Amis" in refusal.value.message
    assert "Refusée" not in refusal.value.message
    assert db.session.get(User, admin.id) is not None
    assert db.session.scalar(select(Membership).where(Membership.user_id == admin.id)) is not None


def test_a_wrong_password_is_still_refused_as_such(app, make_user):
    admin = make_user()
    make_org(admin)
    with pytest.raises(accounts.ServiceError) as refusal:
        accounts.delete_account(db.session, admin, "not the password at all")
    assert refusal.value.code == "invalid_credentials"


def test_with_another_admin_the_account_goes_and_the_organisation_stays(app, make_user):
    admin, second, issuer = make_user(), make_user(), make_user()
    org = make_org(admin)
    orgs.add_member(db.session, OPERATOR, org, second.email, "issuer")
    orgs.add_member(db.session, OPERATOR, org, issuer.email, "issuer")
    db.session.commit()
    with pytest.raises(accounts.LastOrganisationAdmin):  # issuers are not admins
        accounts.delete_account(db.session, admin, PASSWORD)
    db.session.rollback()
    membership = db.session.scalar(select(Membership).where(Membership.user_id == second.id))
    orgs.change_role(db.session, OPERATOR, org, membership.id, "admin")
    db.session.commit()
    admin_id = admin.id
    accounts.delete_account(db.session, admin, PASSWORD)
    db.session.commit()
    assert db.session.get(User, admin_id) is None
    admins = db.session.scalars(select(Membership.user_id).where(Membership.organisation_id == org.id,
                                                                 Membership.role == "admin")).all()
    assert admins == [second.id] and db.session.get(Organisation, org.id) is not None
    # The issuer (no organisation to hold) deletes theirs freely.
    accounts.delete_account(db.session, issuer, PASSWORD)
    db.session.commit()


def test_the_page_warns_first_then_refuses_with_the_names(app, client, make_user):
    admin = make_user()
    org = make_org(admin, name="Lycée <Hugo> & Co")
    login(client, admin.email)
    page = client.get("/settings/delete", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "only administrator" in text
    assert f'href="/organisations/{org.id}"' in text
    assert "Lycée &lt;Hugo&gt; &amp; Co" in text and "<Hugo>" not in text  # escaped
    response = client.post("/settings/delete", data={"password": PASSWORD, "csrf_token": csrf_token(page)},
                           headers={"Accept-Language": "en"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="field-error" role="alert"' in text
    assert "You are the only administrator of “Lycée &lt;Hugo&gt; &amp; Co”" in text
    assert db.session.get(User, admin.id) is not None
    assert client.get("/timeline").status_code == 200  # still signed in


def test_the_page_shows_no_warning_to_others(app, client, make_user):
    person = make_user()
    login(client, person.email)
    assert "only administrator" not in client.get("/settings/delete").get_data(as_text=True)


def test_the_api_answers_409_with_its_code(app, client, make_user):
    admin = make_user()
    make_org(admin, name="Université de Test")
    _, raw = tokens.create_token(db.session, admin, "cli")
    db.session.commit()
    response = client.delete("/api/v1/account", json={"password": PASSWORD},
                             headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})
    assert response.status_code == 409
    assert response.json["error"] == "last_organisation_admin"
    assert "Université de Test" in response.json["message"]
    assert db.session.get(User, admin.id) is not None
