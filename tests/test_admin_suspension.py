"""Suspending an account: no sign-in, no session, no token, share links 410; reason and audit recorded."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.services import admin, audit, pages, share_links, tokens
from app.services.errors import Conflict, Forbidden, ValidationFailed
from tests.conftest import login


def test_a_suspended_account_cannot_sign_in_use_a_session_a_token_or_its_links(client, user, platform_admin):
    login(client, user.email)
    assert client.get("/settings").status_code == 200
    _token, raw = tokens.create_token(db.session, user, "phone")
    page = pages.create(db.session, user, {"title": "Pour un employeur", "items": []})
    _link, link_raw = share_links.create(db.session, user, page=page)
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/profile", headers=headers).status_code == 200
    assert client.get(f"/s/{link_raw}").status_code == 200

    admin.suspend(db.session, platform_admin, user, "Spam reported by three schools.")
    db.session.commit()
    assert client.get("/settings").status_code == 403  # the open session ended, on the suspended page
    assert client.get("/settings").status_code in (302, 401)
    assert client.get("/api/v1/profile", headers=headers).status_code == 403
    gone = client.get(f"/s/{link_raw}")
    assert gone.status_code == 410 and "Spam" not in gone.get_data(as_text=True)
    response = login(client, user.email)
    assert client.get("/settings").status_code in (302, 401)
    event = audit.events(db.session, action="account.suspend")[0]
    assert event.target_id == str(user.id) and event.details == {"reason": "Spam reported by three schools."}

    admin.reinstate(db.session, platform_admin, user)
    db.session.commit()
    assert client.get("/api/v1/profile", headers=headers).status_code == 200
    assert client.get(f"/s/{link_raw}").status_code == 200
    login(client, user.email)
    assert client.get("/settings").status_code == 200
    assert audit.events(db.session)[0].action == "account.reinstate"


def test_suspension_refusals(app, user, make_user, platform_admin):
    other = make_user()
    with pytest.raises(Forbidden):
        admin.suspend(db.session, other, user, "because")
    with pytest.raises(ValidationFailed):
        admin.suspend(db.session, platform_admin, user, "   ")
    with pytest.raises(Conflict):
        admin.suspend(db.session, platform_admin, platform_admin, "myself")
    with pytest.raises(Conflict):
        admin.reinstate(db.session, platform_admin, user)
    admin.suspend(db.session, platform_admin, user, "once")
    with pytest.raises(Conflict):
        admin.suspend(db.session, platform_admin, user, "twice")


def test_the_command_line_suspends_and_reinstates_with_an_audited_reason(app, user):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "suspend", user.email, "--reason", "court order"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert user.suspended_at is not None and user.suspension_reason == "court order"
    event = audit.events(db.session, action="account.suspend")[0]
    assert event.actor_id is None and event.details == {"reason": "court order"}
    again = runner.invoke(args=["users", "suspend", user.email, "--reason", "x"])
    assert again.exit_code != 0 and "suspendu" in again.output  # the instance speaks French by default
    assert runner.invoke(args=["users", "suspend", "nobody@example.org", "--reason", "x"]).exit_code != 0
    assert runner.invoke(args=["users", "reinstate", user.email]).exit_code == 0
    db.session.expire_all()
    assert user.suspended_at is None
