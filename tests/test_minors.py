"""Minors under 15: public pages, share links and attestation requests outside the institution wait for a
guardian's consent; guardians read and never write; a refusal suspends the account; the 18-years end."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Experience, Grant
from app.models.guardians import GuardianConsent
from app.models.institutions import Enrolment
from app.services import attestations, grants, guardians, minors, pages, portfolio as items, share_links
from app.services.errors import Forbidden, ServiceError, ValidationFailed
from tests.membership_helpers import accepted
from tests.test_institutions import school


def years_ago(years: int, days: int = 0) -> date:
    today = minors.today()
    return today.replace(year=today.year - years) - timedelta(days=days)


@pytest.fixture()
def pupil(app, make_user):
    user = make_user("leo@eleve.example")
    user.birth_date = years_ago(13)
    db.session.commit()
    return user


def name_guardian(make_user, minor, email):
    """The school names ``email`` as a guardian of ``minor`` (its roster's guardian e-mails): only such a
    guardian decides for a minor (review 14, H1). Enrols the minor in a new school when not enrolled."""
    enrolment = db.session.scalars(select(Enrolment).where(Enrolment.user_id == minor.id,
                                                           Enrolment.ended_at.is_(None))).first()
    if enrolment is None:
        org, _head = school(make_user, name=f"Collège {uuid.uuid4().hex[:6]}")
        enrolment = Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo",
                              birth_date=minor.birth_date, user_id=minor.id, guardian_emails=[])
        db.session.add(enrolment)
    enrolment.guardian_emails = [*(enrolment.guardian_emails or []), email.lower()]
    db.session.commit()
    return enrolment


def guardian_of(make_user, minor, email="parent@example.org", *, named=True):
    guardian = make_user(email)
    if named:
        name_guardian(make_user, minor, email)
    grant, raw = guardians.invite(db.session, minor, email)
    grants.accept_by_link(db.session, guardian, raw)
    db.session.commit()
    return guardian


def stage(owner):
    return items.create_item(db.session, owner, Experience, {"kind": "internship", "title": "Stage",
                                                             "start_date": "2026-03-01"})


def test_age_and_birth_dates(app):
    assert minors.age(date(2010, 6, 15), date(2025, 6, 14)) == 14
    assert minors.age(date(2010, 6, 15), date(2025, 6, 15)) == 15
    assert minors.age(None) is None
    with pytest.raises(ValidationFailed) as refused:
        minors.check_birth_date(minors.today() + timedelta(days=1))
    assert "birth_date" in refused.value.fields
    assert minors.check_birth_date(date(2012, 3, 12)) == date(2012, 3, 12)


def test_under_15_waits_for_consent_for_each_action(app, pupil, make_user):
    with pytest.raises(Forbidden) as refused:
        pages.create(db.session, pupil, {"title": "Ma page", "public_profile": True})
    assert refused.value.code == "guardian_consent_required" and "15" in refused.value.message
    page = pages.create(db.session, pupil, {"title": "Ma page"})  # a private page is the school's purpose
    with pytest.raises(Forbidden):
        pages.update(db.session, pupil, page, {"public_profile": True})
    with pytest.raises(Forbidden) as refused:
        share_links.create(db.session, pupil, page=page, label="club")
    assert refused.value.code == "guardian_consent_required"
    item = stage(pupil)
    with pytest.raises(Forbidden) as refused:
        attestations.create(db.session, pupil, "experience", item.id, referee_name="Club",
                            referee_email="coach@club.example", relationship="coach")
    assert refused.value.code == "guardian_consent_required"
    # A guardian consents to share links only: share links pass, the rest still waits.
    guardian = guardian_of(make_user, pupil)
    consent = guardians.decide(db.session, guardian, pupil, "share_link", "granted")
    assert (consent.guardian_email, consent.decision) == ("parent@example.org", "granted") and consent.decided_at
    link, _raw = share_links.create(db.session, pupil, page=page, label="club")
    assert link.id
    with pytest.raises(Forbidden):
        pages.update(db.session, pupil, page, {"public_profile": True})
    # Withdrawn: a new row, the old one kept.
    guardians.decide(db.session, guardian, pupil, "share_link", "refused")
    with pytest.raises(Forbidden):
        share_links.create(db.session, pupil, page=page, label="other")
    assert db.session.query(GuardianConsent).filter_by(minor_id=pupil.id).count() == 2


def test_15_and_over_and_unknown_birth_dates_need_no_consent(app, make_user):
    for birth in (years_ago(15), None):
        user = make_user()
        user.birth_date = birth
        db.session.commit()
        page = pages.create(db.session, user, {"title": "Page", "public_profile": True})
        share_links.create(db.session, user, page=page, label="x")


def test_attestation_inside_the_institution_needs_no_consent(app, pupil, make_user):
    from app.models.institutions import Enrolment
    org, head = school(make_user)
    db.session.add(Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=[]))
    partner = make_user("asso@partenaire.example")
    invitation = guardians.add_partner(db.session, head, org, partner.email)
    db.session.commit()
    item = stage(pupil)
    with pytest.raises(Forbidden):  # invited, not accepted: still outside the institution
        attestations.create(db.session, pupil, "experience", item.id, referee_name="Asso",
                            referee_email=partner.email, relationship="partenaire")
    accepted(invitation)
    request, _raw = attestations.create(db.session, pupil, "experience", item.id, referee_name="Asso",
                                        referee_email=partner.email, relationship="partenaire")
    assert request.referee_email == partner.email
    with pytest.raises(Forbidden):
        attestations.create(db.session, pupil, "experience", item.id, referee_name="Club",
                            referee_email="coach@club.example", relationship="coach")


def test_guardian_invitation_role_and_refusals(app, pupil, make_user):
    with pytest.raises(ValidationFailed) as refused:
        guardians.invite(db.session, pupil, "LEO@eleve.example")
    assert refused.value.code == "guardian_is_pupil"
    guardian = guardian_of(make_user, pupil)
    item = stage(pupil)
    assert policy.can(guardian, policy.READ, item)
    assert not policy.can(guardian, policy.UPDATE, item) and not policy.can(guardian, policy.DELETE, item)
    assert guardians.minors_of(db.session, guardian) == [pupil]
    stranger = make_user("stranger@example.org")
    with pytest.raises(Forbidden) as refused:
        guardians.decide(db.session, stranger, pupil, "share_link", "granted")
    assert refused.value.code == "not_guardian"
    with pytest.raises(ValidationFailed):
        guardians.decide(db.session, guardian, pupil, "everything", "granted")


def test_a_refused_account_is_suspended_for_its_purpose_and_the_heads_are_told(app, pupil, make_user, mail_outbox=None):
    from app.models.institutions import Enrolment
    org, head = school(make_user)
    db.session.add(Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=[]))
    db.session.commit()
    guardian = guardian_of(make_user, pupil)
    guardians.decide(db.session, guardian, pupil, "share_link", "granted")
    guardians.decide(db.session, guardian, pupil, "account", "refused")
    assert guardians.heads_of(db.session, pupil) == [head]
    with pytest.raises(Forbidden) as refused:
        minors.require_consent(db.session, pupil, minors.SHARE_LINK)
    assert refused.value.code == "account_refused"


def test_guardian_access_ends_at_18_unless_renewed(app, make_user):
    person = make_user("ado@example.org")
    person.birth_date = date(2008, 12, 6)
    db.session.commit()
    first = guardian_of(make_user, person, "mere@example.org")
    second = guardian_of(make_user, person, "pere@example.org")
    assert guardians.end_at_majority(db.session, on=date(2026, 12, 5)) == 0  # 17 the day before
    with pytest.raises(ServiceError) as refused:  # renewal opens 30 days before 18 (tests/test_guardian_access.py)
        guardians.renew(db.session, person, first, on=date(2026, 11, 5))
    assert refused.value.code == "not_adult"
    db.session.add(GuardianConsent(minor_id=person.id, guardian_id=first.id, guardian_email=first.email,
                                   scope="renewal", decision="granted",
                                   decided_at=guardians.datetime(2026, 12, 6, 9, tzinfo=guardians.timezone.utc)))
    db.session.flush()
    assert guardians.end_at_majority(db.session, on=date(2026, 12, 6)) == 1
    db.session.commit()
    still = {g.grantee_id: g.revoked_at is None for g in db.session.query(Grant).filter_by(role="guardian")}
    assert still == {first.id: True, second.id: False}
    assert guardians.minors_of(db.session, second) == []


def test_activation_invites_the_rosters_guardians(app, make_user):
    from app.models.institutions import Enrolment
    from app.services import institutions
    org, _head = school(make_user)
    enrolment = Enrolment(organisation_id=org.id, family_name="Martin", given_name="Léo", birth_date=years_ago(12),
                          guardian_emails=["mere@example.org", "leo@eleve.example"])
    db.session.add(enrolment)
    db.session.flush()
    code = institutions.new_code(db.session, enrolment)
    user = institutions.activate(db.session, code, email="leo@eleve.example", password="correct horse battery 9")
    db.session.commit()
    invited = db.session.query(Grant).filter_by(portfolio_id=user.portfolio.id, role="guardian").all()
    assert [g.email for g in invited] == ["mere@example.org"]  # the pupil's own address is skipped
    assert minors.is_minor(user)
    assert guardians.letter_section(enrolment, site="https://sillage.example")[0]
