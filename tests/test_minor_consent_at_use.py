"""Review 14, M5 (rest) and L10: consent is read when it is used, not only when a grant or a page was made.

A grant from a pupil under 15 to someone outside their institutions works only while a guardian's
``share_link`` consent (and ``outside_attestation`` for a certifier) holds: withdrawn, it reaches nothing
(pages, API, policy, "shared with me"); given again, it works again. An account that becomes a minor's by
joining a school is held to the same rule. Grants inside the school are not affected. A minor's public page
is indexable only while the ``public_page`` consent holds."""
from __future__ import annotations

from app import policy
from app.extensions import db
from app.services import grants, guardians, institutions, pages, share_links
from tests.conftest import login
from tests.test_guardians import bearer
from tests.test_institutions import enrol_one
from tests.test_minors import guardian_of, stage, years_ago


def _reach(app, grantee, grant, headers):
    client = app.test_client()
    login(client, grantee.email)

    def reached() -> list[bool]:
        db.session.expire_all()
        return [client.get(f"/shared/{grant.id}").status_code == 200,
                client.get(f"/api/v1/shared-with-me/{grant.id}", headers=headers).status_code == 200,
                policy.can(grantee, policy.READ, grant.portfolio),
                bool(grants.shared_with(db.session, grantee)),
                db.session.get(type(grant), grant.id).is_active()]
    return reached


def _decide(guardian, pupil, scope, decision):
    guardians.decide(db.session, guardian, pupil, scope, decision)
    db.session.commit()


def _pupil_of_13(make_user):
    org, _head, enrolment = enrol_one(make_user, f"Martin;Léo;{years_ago(13):%d/%m/%Y};5e B;;;\n")
    pupil = make_user("leo@example.org")
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    db.session.commit()
    return org, enrolment, pupil


def test_an_outsiders_grant_follows_the_consent_as_it_is_now(app, make_user):
    org, enrolment, pupil = _pupil_of_13(make_user)
    assert pupil.birth_date == years_ago(13)
    guardian = guardian_of(make_user, pupil)
    _decide(guardian, pupil, "share_link", "granted")
    stage(pupil)
    coach, teacher = make_user("coach@club.example"), make_user("prof@lycee.example")
    institutions.add_staff(db.session, org, enrolment.group, email=teacher.email, role="teacher")
    outside, raw = grants.invite(db.session, pupil, email=coach.email, role="viewer")
    grants.accept_by_link(db.session, coach, raw)
    inside, raw = grants.invite(db.session, pupil, email=teacher.email, role="viewer")
    grants.accept_by_link(db.session, teacher, raw)
    db.session.commit()
    coach_reached = _reach(app, coach, outside, bearer(coach))
    teacher_reached = _reach(app, teacher, inside, bearer(teacher))
    assert coach_reached() == [True] * 5 and teacher_reached() == [True] * 5

    _decide(guardian, pupil, "share_link", "refused")      # withdrawn: the outsider reads nothing
    assert coach_reached() == [False] * 5
    assert teacher_reached() == [True] * 5                 # the school's own staff are not outsiders
    _decide(guardian, pupil, "share_link", "granted")      # given again: it works again, nothing to redo
    assert coach_reached() == [True] * 5
    _decide(guardian, pupil, "account", "refused")         # the account refused: nothing reaches outside
    assert coach_reached() == [False] * 5


def test_a_certifier_outside_also_needs_the_outside_attestation_consent(app, make_user):
    _org, _enrolment, pupil = _pupil_of_13(make_user)
    guardian = guardian_of(make_user, pupil)
    _decide(guardian, pupil, "share_link", "granted")
    _decide(guardian, pupil, "outside_attestation", "granted")
    coach = make_user("coach@club.example")
    grant, raw = grants.invite(db.session, pupil, email=coach.email, role="certifier")
    grants.accept_by_link(db.session, coach, raw)
    db.session.commit()
    reached = _reach(app, coach, grant, bearer(coach))
    assert reached() == [True] * 5
    _decide(guardian, pupil, "outside_attestation", "refused")
    assert reached() == [False] * 5


def test_an_adult_account_that_joins_as_a_minor_waits_for_consent(app, make_user):
    org, _head, enrolment = enrol_one(make_user, f"Martin;Léo;{years_ago(13):%d/%m/%Y};5e B;;;\n")
    pupil, friend = make_user("leo@example.org"), make_user("ami@example.org")
    assert pupil.birth_date is None                        # signed up alone: an adult's account
    grant, raw = grants.invite(db.session, pupil, email=friend.email, role="viewer")
    grants.accept_by_link(db.session, friend, raw)
    db.session.commit()
    reached = _reach(app, friend, grant, bearer(friend))
    assert reached() == [True] * 5
    institutions.join(db.session, pupil, institutions.new_code(db.session, enrolment))
    db.session.commit()
    assert reached() == [False] * 5                        # now 13 by the school's roster
    guardian = guardian_of(make_user, pupil)
    _decide(guardian, pupil, "share_link", "granted")
    assert reached() == [True] * 5


def test_a_minors_public_page_is_indexable_only_while_the_consent_holds(app, client, make_user):
    _org, _enrolment, pupil = _pupil_of_13(make_user)
    guardian = guardian_of(make_user, pupil)
    _decide(guardian, pupil, "share_link", "granted")
    _decide(guardian, pupil, "public_page", "granted")
    page = pages.create(db.session, pupil, {"title": "Mon parcours", "public_profile": True})
    _link, raw = share_links.create(db.session, pupil, page=page)
    db.session.commit()

    def indexable() -> bool:
        response = client.get(f"/s/{raw}")
        assert response.status_code == 200
        noindex = "noindex" in response.headers.get("X-Robots-Tag", "")
        assert noindex == ('<meta name="robots" content="noindex' in response.get_data(as_text=True))
        return not noindex

    owner = app.test_client()
    login(owner, pupil.email)

    def listed_as_waiting() -> bool:
        """What the pupil's list of pages says: "Public profile", or that it waits for a guardian."""
        html = owner.get("/pages").get_data(as_text=True)
        return 'data-public="waiting"' in html

    assert indexable() and not listed_as_waiting()
    _decide(guardian, pupil, "public_page", "refused")
    assert not indexable()                                 # still shared by its link, no longer public
    assert listed_as_waiting()
    _decide(guardian, pupil, "public_page", "granted")
    assert indexable() and not listed_as_waiting()


def test_an_adults_public_page_needs_no_consent(app, client, make_user):
    adult = make_user("adulte@example.org")
    page = pages.create(db.session, adult, {"title": "Mon parcours", "public_profile": True})
    private = pages.create(db.session, adult, {"title": "Privée"})
    _l1, public_raw = share_links.create(db.session, adult, page=page)
    _l2, private_raw = share_links.create(db.session, adult, page=private)
    db.session.commit()
    assert "X-Robots-Tag" not in client.get(f"/s/{public_raw}").headers
    assert "noindex" in client.get(f"/s/{private_raw}").headers["X-Robots-Tag"]
