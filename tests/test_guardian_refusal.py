"""A guardian's refusal of the whole account suspends it for real (the platform's suspension), the heads are
told, and a later consent of that guardian reinstates it; a minor's share link stops opening as soon as
the guardian withdraws the consent to share links (410, like an expired link)."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models.institutions import Enrolment
from app.services import admin, audit, guardians, pages, share_links
from app.services.errors import ServiceError
from tests.conftest import login
from tests.test_institutions import school
from tests.test_minors import guardian_of, years_ago


@pytest.fixture()
def pupil(app, make_user):
    user = make_user("leo@eleve.example")
    user.birth_date = years_ago(13)
    db.session.commit()
    return user


def enrol(org, pupil):
    db.session.add(Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=[]))
    db.session.commit()


def test_refusal_suspends_the_account_and_that_guardians_consent_reinstates_it(app, client, pupil, make_user,
                                                                               monkeypatch):
    told = []
    monkeypatch.setattr(guardians, "_notify_heads", lambda heads, minor: told.extend(h.email for h in heads))
    org, head = school(make_user)
    enrol(org, pupil)
    guardian = guardian_of(make_user, pupil)
    other_guardian = guardian_of(make_user, pupil, "other-parent@example.org")
    login(client, pupil.email)
    assert client.get("/settings").status_code == 200

    guardians.decide(db.session, guardian, pupil, "account", "refused")
    db.session.commit()
    assert pupil.suspended_at is not None and "parent@example.org" in pupil.suspension_reason
    ended = client.get("/settings")  # the open session ended, on the page that says why
    assert ended.status_code == 403 and 'data-login-refusal="suspended"' in ended.get_data(as_text=True)
    assert client.get("/settings").status_code in (302, 401)
    login(client, pupil.email)
    assert client.get("/settings").status_code in (302, 401)  # no sign-in either
    event = audit.events(db.session, action="account.suspend")[0]
    assert event.actor_id == guardian.id and event.details["guardian_id"] == str(guardian.id)
    assert told == [head.email]  # the heads are told, as before

    # Another guardian's consent does not lift the first one's refusal; a second refusal changes nothing.
    guardians.decide(db.session, other_guardian, pupil, "account", "granted")
    guardians.decide(db.session, other_guardian, pupil, "account", "refused")
    db.session.commit()
    assert pupil.suspended_at is not None and admin.guardian_suspension(db.session, pupil) == str(guardian.id)

    guardians.decide(db.session, guardian, pupil, "account", "granted")
    db.session.commit()
    assert pupil.suspended_at is None and pupil.suspension_reason is None
    assert audit.events(db.session, action="account.reinstate")[0].actor_id == guardian.id
    login(client, pupil.email)
    assert client.get("/settings").status_code == 200


def test_an_admins_suspension_is_not_lifted_by_a_guardian(app, pupil, make_user):
    root = make_user("root@platform.example")
    root.is_admin = True
    guardian = guardian_of(make_user, pupil)
    admin.suspend(db.session, root, pupil, "Reported abuse.")
    guardians.decide(db.session, guardian, pupil, "account", "refused")  # already suspended: kept as is
    guardians.decide(db.session, guardian, pupil, "account", "granted")
    db.session.commit()
    assert pupil.suspended_at is not None and pupil.suspension_reason == "Reported abuse."
    assert admin.guardian_suspension(db.session, pupil) is None


def test_a_minors_share_link_closes_when_the_consent_is_withdrawn(app, client, pupil, make_user):
    guardian = guardian_of(make_user, pupil)
    guardians.decide(db.session, guardian, pupil, "share_link", "granted")
    page = pages.create(db.session, pupil, {"title": "Mon stage"})
    _link, raw = share_links.create(db.session, pupil, page=page, label="club")
    db.session.commit()
    assert client.get(f"/s/{raw}").status_code == 200

    guardians.decide(db.session, guardian, pupil, "share_link", "refused")
    db.session.commit()
    gone = client.get(f"/s/{raw}")
    assert gone.status_code == 410 and "Mon stage" not in gone.get_data(as_text=True)
    assert share_links.open(db.session, raw)[0] == "expired"

    guardians.decide(db.session, guardian, pupil, "share_link", "granted")  # given again: it opens again
    db.session.commit()
    assert client.get(f"/s/{raw}").status_code == 200
    # An adult's link never depends on a guardian.
    adult = make_user("adult@example.org")
    adult.birth_date = years_ago(20)
    _l2, raw2 = share_links.create(db.session, adult, page=pages.create(db.session, adult, {"title": "CV"}))
    db.session.commit()
    assert share_links.open(db.session, raw2)[0] == "active"


def test_nobody_decides_for_an_adult(app, client, make_user):
    """Review 14, M1: an adult's "guardian" (a coach, a parent kept at 18) cannot suspend the account."""
    from tests.test_guardians import bearer
    from tests.test_minors import guardian_of
    adult = make_user("paul@example.org")
    adult.birth_date = years_ago(25)
    db.session.commit()
    coach = guardian_of(make_user, adult, "coach@example.org")  # named on a roster, even
    with pytest.raises(ServiceError) as refused:
        guardians.decide(db.session, coach, adult, "account", "refused")
    assert refused.value.code == "not_minor"
    db.session.rollback()
    answer = client.post("/api/v1/guardians/consents", headers=bearer(coach),
                         json={"minor_id": str(adult.id), "scope": "account", "decision": "refused"})
    assert answer.status_code == 403 and answer.get_json()["error"] == "not_minor"
    assert db.session.get(type(adult), adult.id).suspended_at is None
