"""Review 14, M2: a suspended account's grants reach nobody while it is suspended (the person's own grantees,
the staff of their group, the API), and work again once the account is reinstated; the check is the one
definition of an active grant (``Grant.is_active`` and ``policy.active_clause``)."""
from __future__ import annotations

from app import policy
from app.extensions import db
from app.models import Experience
from app.services import admin, grants, institutions, portfolio as items
from tests.conftest import login
from tests.test_guardians import bearer
from tests.test_institutions import enrol_one


def test_a_suspended_accounts_grants_reach_nobody_until_reinstated(app, client, make_user):
    org, head, enrolment = enrol_one(make_user, "Martin;Léo;12/03/2000;BTS 1;;;\n")  # an adult: no consent
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    teacher, friend = make_user("prof@lycee.example"), make_user("ami@example.org")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    items.create_item(db.session, pupil, Experience, {"kind": "internship", "title": "Stage",
                                                       "start_date": "2026-03-01"})
    group_grant = institutions.share_with_group(db.session, pupil, group_id=enrolment.group.id)
    grant, raw = grants.invite(db.session, pupil, email=friend.email, role="viewer")
    grants.accept_by_link(db.session, friend, raw)
    db.session.commit()
    friend_h = bearer(friend)
    teacher_client = app.test_client()
    login(teacher_client, teacher.email)
    login(client, friend.email)

    def reached() -> list[bool]:
        db.session.expire_all()
        return [client.get(f"/shared/{grant.id}").status_code == 200,
                teacher_client.get(f"/shared/{group_grant.id}").status_code == 200,
                client.get(f"/api/v1/shared-with-me/{grant.id}", headers=friend_h).status_code == 200,
                policy.can(teacher, policy.READ, pupil.portfolio),
                bool(grants.shared_with(db.session, friend))]

    assert reached() == [True] * 5
    admin.suspend(db.session, policy.OPERATOR, pupil, "abuse")
    db.session.commit()
    assert reached() == [False] * 5
    assert client.get(f"/shared/{grant.id}").status_code == 404
    admin.reinstate(db.session, policy.OPERATOR, pupil)
    db.session.commit()
    assert reached() == [True] * 5


def test_a_suspended_accounts_private_feeds_and_digest_stop(app, make_user):
    """Review 14, L9: the private Atom/iCal feed token and the weekly digest follow the suspension."""
    from app.services import feed
    person = make_user("ines@example.org")
    raw = feed.new_token(db.session, person)
    feed.settings_for(db.session, person).digest = True
    db.session.commit()
    assert feed.user_for_token(db.session, raw) == person
    assert str(person.id) in feed.digest_recipients(db.session)
    admin.suspend(db.session, policy.OPERATOR, person, "abuse")
    db.session.commit()
    assert feed.user_for_token(db.session, raw) is None
    assert str(person.id) not in feed.digest_recipients(db.session)
    admin.reinstate(db.session, policy.OPERATOR, person)
    db.session.commit()
    assert feed.user_for_token(db.session, raw) == person
