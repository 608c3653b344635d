"""The server-side session store: what is kept, for whom, and for how long (issue 6, §6)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import HttpSession
from tests.conftest import PASSWORD, login
from tests.test_auth import english, is_signed_in, post_form


def session_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(HttpSession))


def rows_of(user_id) -> int:
    return db.session.scalar(select(func.count()).select_from(HttpSession).where(HttpSession.user_id == user_id))


# --- deleting an account ends every one of its sessions -------------------------------------------------

def test_deleting_an_account_deletes_every_session_row_of_it(app, make_user):
    owner, neighbour = make_user("owner@example.org"), make_user("neighbour@example.org")
    owner_id = owner.id
    here, phone, other = english(app), english(app), english(app)
    for client, person in ((here, owner), (phone, owner), (other, neighbour)):
        assert login(client, person.email).status_code == 302
    assert rows_of(owner_id) == 2 and rows_of(neighbour.id) == 1

    assert post_form(here, "/settings/delete", {"password": PASSWORD}).status_code == 302
    assert rows_of(owner_id) == 0
    # Not one row still carries the deleted account's id inside its data either.
    assert not [row for row in db.session.scalars(select(HttpSession))
                if str(owner_id).encode() in bytes(row.data or b"")]
    assert not is_signed_in(phone)
    assert rows_of(neighbour.id) == 1 and is_signed_in(other)


def test_deleting_an_account_through_the_api_deletes_its_sessions(app, make_user):
    from app.services import tokens

    owner = make_user("owner@example.org")
    owner_id = owner.id
    browser = english(app)
    assert login(browser, owner.email).status_code == 302
    _, raw = tokens.create_token(db.session, owner, "cli")
    db.session.commit()
    response = app.test_client().delete("/api/v1/account", json={"password": PASSWORD},
                                        headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code in (200, 204), response.data
    assert rows_of(owner_id) == 0 and not is_signed_in(browser)
