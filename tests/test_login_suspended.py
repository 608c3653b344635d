"""Signing in to a suspended account: the right password learns the account is suspended and whom to
contact; a wrong password (or an unknown address) gets the same generic refusal as any other account."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services import admin
from tests.conftest import PASSWORD, login

GENERIC = "The e-mail address or the password is not right."


@pytest.fixture
def suspended(app, make_user):
    person = make_user("suspended@example.org")
    person.locale = "en"
    root = make_user("root@platform.example")
    root.is_admin = True
    db.session.commit()
    admin.suspend(db.session, root, person, "Spam reported by three schools.")
    db.session.commit()
    return person


@pytest.fixture
def client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"   # visitors' pages follow the browser's language
    return client


def test_right_password_says_suspended_and_whom_to_contact(app, client, suspended):
    app.config["CONTACT_EMAIL"] = "support@sillage.example"
    response = login(client, suspended.email, PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Your account is suspended" in page and 'data-login-refusal="suspended"' in page
    assert 'href="mailto:support@sillage.example"' in page
    assert "Spam" not in page   # the admin's reason stays in the audit log
    assert GENERIC not in page
    assert client.get("/settings").status_code in (302, 401)   # and still not signed in


def test_without_a_contact_address_the_page_still_says_whom_to_ask(app, client, suspended):
    app.config["CONTACT_EMAIL"] = ""
    page = login(client, suspended.email, PASSWORD).get_data(as_text=True)
    assert "contact the administrators of this service" in page and "mailto:" not in page


@pytest.mark.parametrize("email, password", [("suspended@example.org", "wrong horse battery 42"),
                                             ("nobody@example.org", PASSWORD)])
def test_wrong_password_or_unknown_address_is_the_generic_refusal(app, client, suspended, email, password):
    response = login(client, email, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert GENERIC in page
    assert "Your account is suspended" not in page and "data-login-refusal" not in page


def test_reinstated_account_signs_in_again(app, client, suspended):
    admin.reinstate(db.session, admin_user(), suspended)
    db.session.commit()
    assert login(client, suspended.email, PASSWORD).status_code == 302
    assert client.get("/settings").status_code == 200


def admin_user():
    from sqlalchemy import select

    from app.models import User
    return db.session.scalars(select(User).where(User.email == "root@platform.example")).one()


def test_api_token_request_answers_the_same_way(app, client, suspended):
    right = client.post("/api/v1/tokens", json={"email": suspended.email, "password": PASSWORD})
    assert right.status_code == 403 and right.json["error"] == "account_suspended"
    wrong = client.post("/api/v1/tokens", json={"email": suspended.email, "password": "wrong horse battery 42"})
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_credentials"
