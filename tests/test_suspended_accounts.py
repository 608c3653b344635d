"""Review 14, L9 (the rest): ``User.is_active`` means "not suspended", so every door that starts a session
refuses a suspended account; a session open when the account was suspended gets the clear "suspended" page
(once, then it is ended), an API token gets 403 ``account_suspended``; the account's badge pages and share
links answer 410 saying why; organisation tokens minted by a suspended admin stop until reinstatement."""
from __future__ import annotations

import json

import pytest
from flask_login import login_user

from app import policy
from app.extensions import db
from app.services import admin, backpack, orgs, pages, share_links, tokens
from app.services.accounts import AccountSuspended
from tests.backpack_helpers import Elsewhere
from tests.conftest import login
from tests.test_orgs_services import ORG
from tests.membership_helpers import accepted

SUSPENDED_PAGE = 'data-login-refusal="suspended"'


def _suspend(user):
    admin.suspend(db.session, policy.OPERATOR, user, "Spam reported by three schools.")
    db.session.commit()


def _reinstate(user):
    admin.reinstate(db.session, policy.OPERATOR, user)
    db.session.commit()


def test_is_active_is_not_suspended_and_no_session_starts(app, user):
    from app.auth.utils import start_session

    assert user.is_active
    _suspend(user)
    assert not user.is_active
    with app.test_request_context("/"):
        assert login_user(user) is False          # Flask-Login's own check now refuses it
        with pytest.raises(AccountSuspended):
            start_session(user)                   # and the helper every sign-in path uses says why
    _reinstate(user)
    assert user.is_active


def test_a_session_open_at_suspension_gets_the_suspended_page_once(app, client, user):
    login(client, user.email)
    assert client.get("/settings").status_code == 200
    _suspend(user)
    page = client.get("/settings")
    text = page.get_data(as_text=True)
    assert page.status_code == 403 and SUSPENDED_PAGE in text and "Spam" not in text
    after = client.get("/settings")                # that session is over: the ordinary login redirect
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    other = client.get("/")                       # a public page is unaffected
    assert other.status_code == 200


def test_a_stranger_session_is_not_told_anything(app, client, user):
    _suspend(user)
    response = client.get("/settings")  # never signed in: the login redirect, as for anyone
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_api_token_of_a_suspended_account_says_why(app, client, user):
    _token, raw = tokens.create_token(db.session, user, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/profile", headers=headers).status_code == 200
    _suspend(user)
    refused = client.get("/api/v1/profile", headers=headers)
    assert refused.status_code == 403 and refused.json["error"] == "account_suspended"
    wrong = client.get("/api/v1/profile", headers={"Authorization": "Bearer " + raw[:-2] + "xx"})
    assert wrong.status_code == 401 and wrong.json["error"] == "unauthorized"   # unchanged for others
    _reinstate(user)
    assert client.get("/api/v1/profile", headers=headers).status_code == 200


def test_share_links_and_badge_pages_answer_410_saying_why(app, client, make_user):
    owner = make_user("ines@example.org")
    elsewhere = Elsewhere()
    row = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(), filename="psc1.json",
                       fetch=elsewhere.web)[0]
    page = pages.create(db.session, owner, {"title": "Pour un employeur", "items": []})
    _link, raw = share_links.create(db.session, owner, page=page)
    db.session.commit()
    urls = [f"/s/{raw}", f"/backpack/{row.id}", f"/backpack/{row.id}.json", f"/backpack/{row.id}/original"]
    assert [client.get(url).status_code for url in urls] == [200] * 4
    _suspend(owner)
    for url in urls:
        gone = client.get(url)
        text = gone.get_data(as_text=True)
        assert gone.status_code == 410, url
        if url.endswith(".json"):  # programs read this one: the refusal in JSON, with a stable code
            assert gone.json["error"] == "owner_suspended" and "Spam" not in text
            continue
        assert 'data-gone="owner-suspended"' in text and "suspended" in text and "Spam" not in text
    assert client.get("/backpack/00000000-0000-4000-8000-000000000000").status_code == 404  # unknown: 404
    _reinstate(owner)
    assert [client.get(url).status_code for url in urls] == [200] * 4


def test_organisation_tokens_of_a_suspended_admin_stop_until_reinstated(app, make_user):
    admin_user, colleague = make_user("admin@lycee.example"), make_user("admin2@lycee.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin_user, approve=True)
    accepted(orgs.add_member(db.session, admin_user, org, colleague.email, "admin"))
    _t1, minted = orgs.create_token(db.session, admin_user, org, "SIS")
    _t2, other = orgs.create_token(db.session, colleague, org, "LMS")
    db.session.commit()
    assert orgs.organisation_for_token(minted) is org
    _suspend(admin_user)
    assert orgs.organisation_for_token(minted) is None
    assert orgs.organisation_for_token(other) is org   # the organisation's other tokens keep working
    _reinstate(admin_user)
    assert orgs.organisation_for_token(minted) is org
