"""Membership invitations (issue 13: "never enrolled without their consent"; review 14, M4): a head or an
org admin invites, the person accepts or declines; a pending membership gives no power anywhere; the
inviter's answer never tells whether the address has an account; heads remove partners; heads' indicator
tables hide counts from 1 to 4."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import navigation, policy
from app.extensions import db
from app.models import Grant, Membership
from app.services import audit, guardians, indicators, institutions, invitations, orgs
from app.services.errors import Forbidden, NotFound
from tests.conftest import login
from tests.helpers import csrf_token
from tests.membership_helpers import accepted
from tests.test_api_orgs import personal
from tests.test_institution_heads import classroom  # noqa: F401 (fixture)
from tests.test_institutions import school
from tests.test_issuing_pages import outbox


def _gone(membership_id) -> bool:
    db.session.expire_all()
    return db.session.scalar(select(Membership.id).where(Membership.id == membership_id)) is None


def test_a_pending_admin_staff_or_partner_has_no_power_until_they_accept(app, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    admin_inv = make_user("admin2@college.example")
    staff_inv = make_user("cpe@college.example")
    partner = make_user("club@sport.example")
    as_admin = orgs.add_member(db.session, policy.OPERATOR, org, admin_inv.email, "admin", on_behalf_of=head)
    as_staff = institutions.add_staff_member(db.session, head, org, email=staff_inv.email, role="counsellor")
    institutions.add_staff(db.session, org, group, email=staff_inv.email, role="counsellor", actor=head)
    as_partner = guardians.add_partner(db.session, head, org, partner.email)
    grant = institutions.share_with_group(db.session, pupil, group_id=group.id)
    db.session.commit()
    # Admin: no role, no management, no indicators, no issuing; the organisation is not even visible.
    assert policy.org_role(admin_inv, org) is None and not orgs.may_issue(admin_inv, org)
    with pytest.raises(NotFound):
        orgs.add_member(db.session, admin_inv, org, "x@example.org", "issuer")
    assert not indicators.may_view(db.session, admin_inv, org)
    assert orgs.organisations_of(db.session, admin_inv) == []
    # Staff: a group place reaches nothing; no staff page, no institution in the menu.
    assert [u for u, _r in institutions.reached(db.session, grant)] == [teacher]
    assert institutions.shared_with_staff(db.session, staff_inv) == []
    assert institutions.staff_groups(db.session, staff_inv) == []
    assert db.session.scalars(select(Grant).where(policy.reaches_clause(staff_inv))).all() == []
    assert not navigation.ties(staff_inv).member and navigation._memberships(staff_inv) == []
    with pytest.raises(Forbidden):
        institutions.headed(db.session, staff_inv, org.id)
    # Partner: not listed, not "inside the institution" for a minor's attestations.
    assert guardians.partners(db.session, org) == []
    from app.services import minors
    assert not minors.inside_institution(db.session, pupil, partner.email)
    # Not counted in the members by role either.
    roles = {k: v for s in indicators.compute(db.session, head, org=org) if s.key == "members_by_role"
             for k, _l, v in s.rows}
    assert "admin" not in roles and "partner" not in roles
    # Once accepted, each has their role's powers.
    for membership in (as_admin, as_staff, as_partner):
        accepted(membership)
    db.session.commit()
    assert policy.org_role(admin_inv, org) == "admin" and indicators.may_view(db.session, admin_inv, org)
    assert staff_inv in [u for u, _r in institutions.reached(db.session, grant)]
    assert minors.inside_institution(db.session, pupil, partner.email)
    assert [m.user for m in guardians.partners(db.session, org)] == [partner]


def test_only_the_invited_person_answers(app, client, classroom, make_user):
    org, head, *_rest = classroom
    invited = make_user("invited@example.org")
    intruder = make_user("intruder@example.org")
    membership = guardians.add_partner(db.session, head, org, invited.email)
    db.session.commit()
    for answer in (invitations.accept, invitations.decline):
        with pytest.raises(NotFound):
            answer(db.session, intruder, membership.id)
    with pytest.raises(NotFound):
        invitations.accept(db.session, invited, "not-an-id")
    assert invitations.mine(db.session, intruder) == []
    url = f"/api/v1/memberships/invitations/{membership.id}"
    assert client.post(f"{url}/accept", headers=personal(intruder)).status_code == 404
    assert client.post(f"{url}/decline", headers=personal(intruder)).status_code == 404
    login(client, intruder.email)
    page = client.get("/organisations")
    assert str(membership.id).encode() not in page.data
    assert client.post(f"/organisations/invitations/{membership.id}/accept",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).accepted_at is None
    # The invited person sees it, accepts it through the API; a second answer finds nothing.
    mine = client.get("/api/v1/memberships/invitations", headers=personal(invited)).json["items"]
    assert [m["id"] for m in mine] == [str(membership.id)] and mine[0]["organisation"]["name"] == org.name
    done = client.post(f"{url}/accept", headers=personal(invited))
    assert done.status_code == 200 and done.json["status"] == "accepted"
    assert client.post(f"{url}/decline", headers=personal(invited)).status_code == 404
    actions = [e.action for e in audit.events(db.session, organisation_id=org.id)]
    assert "member.invite" in actions and "invitation.accept" in actions


def test_a_decline_removes_the_invitation_and_the_page_answers(app, client, classroom, make_user):
    org, head, *_rest = classroom
    invited = make_user("invited@example.org")
    membership = orgs.add_member(db.session, policy.OPERATOR, org, invited.email, "issuer", on_behalf_of=head)
    db.session.commit()
    membership_id = membership.id
    login(client, invited.email)
    assert b'data-invitations="1"' in client.get("/dashboard").data
    page = client.get("/organisations")
    assert str(membership.id).encode() in page.data and org.name.encode() in page.data
    response = client.post(f"/organisations/invitations/{membership.id}/decline",
                           data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert _gone(membership.id)
    assert audit.events(db.session, action="invitation.decline")[0].actor_id == invited.id
    assert client.post(f"/organisations/invitations/{membership_id}/accept",
                       data={"csrf_token": csrf_token(page)}).status_code == 404
    assert b"data-invitations" not in client.get("/dashboard").data
    assert client.post(f"/organisations/invitations/{membership_id}/maybe",
                       data={"csrf_token": csrf_token(page)}).status_code == 404


def test_a_head_cannot_cancel_another_schools_invitation(app, client, classroom, make_user):
    org, head, *_rest = classroom
    org_b, head_b = school(make_user, "Collège B")
    invited = make_user("club@sport.example")
    membership = guardians.add_partner(db.session, head, org, invited.email)
    staff = institutions.add_staff_member(db.session, head, org, email="new-teacher@example.org", role="teacher")
    db.session.commit()
    with pytest.raises(Forbidden):
        guardians.remove_partner(db.session, head_b, org, membership.id)
    with pytest.raises(NotFound):
        guardians.remove_partner(db.session, head_b, org_b, membership.id)
    with pytest.raises(NotFound):
        institutions.remove_staff_member(db.session, head_b, org_b, staff.id)
    assert client.delete(f"/api/v1/orgs/{org.id}/partners/{membership.id}",
                         headers=personal(head_b)).status_code == 403
    assert client.delete(f"/api/v1/orgs/{org_b.id}/partners/{membership.id}",
                         headers=personal(head_b)).status_code == 404
    # A partner route never removes staff, nor the staff route a partner.
    with pytest.raises(NotFound):
        guardians.remove_partner(db.session, head, org, staff.id)
    db.session.expire_all()
    assert db.session.get(Membership, membership.id) is not None
    # Their own head cancels both.
    assert client.delete(f"/api/v1/orgs/{org.id}/partners/{membership.id}", headers=personal(head)).status_code == 204
    assert client.delete(f"/api/v1/orgs/{org.id}/staff/{staff.id}", headers=personal(head)).status_code == 204
    assert db.session.scalars(select(Membership).where(Membership.accepted_at.is_(None))).all() == []
    assert len(audit.events(db.session, organisation_id=org.id, action="invitation.cancel")) == 2


def test_the_heads_answer_is_the_same_with_or_without_an_account(app, client, classroom, make_user):
    org, head, *_rest = classroom
    make_user("has-account@example.org")
    headers = personal(head)
    answers = {}
    for email in ("has-account@example.org", "no-account@example.org"):
        for path, body in (("partners", {"email": email}),):
            response = client.post(f"/api/v1/orgs/{org.id}/{path}", headers=headers, json=body)
            answers[email] = (response.status_code, sorted(response.json), response.json["status"])
            response.close()  # the mail goes after the response, as on a server
    assert answers["has-account@example.org"] == answers["no-account@example.org"] == (
        201, ["email", "id", "role", "status"], "pending")
    staff = [client.post(f"/api/v1/orgs/{org.id}/staff", headers=headers,
                         json={"email": email, "role": "teacher"})
             for email in ("staff-account@example.org", "staff-none@example.org")]
    make_user("staff-account@example.org")  # made after: no difference either way
    listed = {m["email"]: m for m in client.get(f"/api/v1/orgs/{org.id}/partners", headers=headers).json["items"]}
    assert listed["has-account@example.org"]["status"] == listed["no-account@example.org"]["status"] == "pending"
    assert [(s.status_code, s.json["user_id"], s.json["status"]) for s in staff] == [(201, None, "pending")] * 2
    # The page: the same redirection and the same message.
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    flashes = []
    for email in ("page-account@example.org", "page-none@example.org"):
        if email == "page-account@example.org":
            make_user(email)
        response = client.post(f"/institutions/{org.id}/partners", data={"csrf_token": csrf_token(page),
                                                                         "email": email})
        with client.session_transaction() as browser:
            flashes.append((response.status_code, response.headers["Location"], browser.pop("_flashes", None)))
    assert flashes[0] == flashes[1] and flashes[0][0] == 302 and flashes[0][2][0][0] == "success"
    # Both addresses got the same invitation mail.
    mails = [m for m in outbox(app) if "has-account@example.org" in m.split("\n")[0]
             or "no-account@example.org" in m.split("\n")[0]]
    assert len(mails) == 2
    assert mails[0].split("\n", 1)[1] == mails[1].split("\n", 1)[1]


def test_an_address_without_an_account_accepts_once_the_account_confirms_it(app, classroom, make_user):
    org, head, *_rest = classroom
    membership = guardians.add_partner(db.session, head, org, "later@example.org")
    db.session.commit()
    assert membership.user_id is None
    unconfirmed = make_user("later@example.org", verified=False)
    assert invitations.mine(db.session, unconfirmed) == [] and invitations.unconfirmed_address(db.session, unconfirmed)
    with pytest.raises(NotFound):
        invitations.accept(db.session, unconfirmed, membership.id)
    from app.database import utcnow
    unconfirmed.email_verified_at = utcnow()
    db.session.commit()
    assert invitations.mine(db.session, unconfirmed) == [membership]
    invitations.accept(db.session, unconfirmed, membership.id)
    db.session.commit()
    assert membership.user_id == unconfirmed.id and guardians.partners(db.session, org)[0].id == membership.id


def test_operator_acts_are_immediate(app, make_user):
    head = make_user("head@college.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Collège CLI", "kind": "school",
                                   "contact_email": head.email}, admin=head, approve=True)
    issuer = make_user("issuer@college.example")
    orgs.add_member(db.session, policy.OPERATOR, org, issuer.email, "issuer")  # sillage orgs add-member
    db.session.commit()
    assert policy.org_role(head, org) == "admin" and orgs.may_issue(issuer, org)


def test_a_head_removes_a_partner_who_gets_a_notice_and_keeps_the_pupils_grants(app, client, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    partner = make_user("club@sport.example")
    membership = accepted(guardians.add_partner(db.session, head, org, partner.email))
    db.session.commit()
    from app.services import grants
    grant, raw = grants.invite(db.session, pupil, email=partner.email, role="viewer")
    grants.accept_by_link(db.session, partner, raw)
    db.session.commit()
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}")
    assert f'data-partner="{membership.id}"'.encode() in page.data
    response = client.post(f"/institutions/{org.id}/partners/{membership.id}/remove",
                           data={"csrf_token": csrf_token(page)})
    response.close()
    assert response.status_code == 302
    assert _gone(membership.id)
    db.session.expire_all()
    assert db.session.get(Grant, grant.id).revoked_at is None  # the pupil's to revoke
    notice = [m for m in outbox(app) if m.startswith(f"To: {partner.email}") and "/shared" in m]
    assert len(notice) == 1
    event = audit.events(db.session, organisation_id=org.id, action="member.remove")[0]
    assert event.actor_id == head.id and event.details["role"] == "partner"


def test_heads_see_small_counts_as_less_than_five_and_platform_admins_exactly(app, classroom, make_user):
    org, head, group, pupil, teacher = classroom
    admin = make_user("root@example.org")
    admin.is_admin = True
    db.session.commit()
    def group_values(actor):
        return {k: v for s in indicators.compute(db.session, actor, org=org)
                if s.key == "group_activated" for k, _l, v in s.rows}
    assert group_values(head) == {str(group.id): "<5"}
    assert group_values(admin) == {str(group.id): 1}
    rows = indicators.as_csv_rows(indicators.compute(db.session, head, org=org))
    assert [r[3] for r in rows if r[:2] == ["group_activated", str(group.id)]] == ["<5"]
    assert not any(r[0].startswith("group_") and r[3] in ("1", "2", "3", "4") for r in rows[1:])
    from app.admin.charts import chart
    section = next(s for s in indicators.compute(db.session, head, org=org) if s.key == "group_activated")
    assert "&lt;5" in str(chart(section))


def test_the_migration_makes_every_existing_membership_accepted(app, make_user):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    head = make_user("head@college.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Collège Migré", "kind": "school",
                                   "contact_email": head.email}, admin=head, approve=True)
    invited = make_user("invited@college.example")
    orgs.add_member(db.session, head, org, invited.email, "issuer")
    db.session.commit()
    head_id, org_id = head.id, org.id
    db.session.remove()
    downgrade(revision="d2e3f4a5b601")
    try:
        # Before invitations: the pending one is gone (it would give power), the admin stays.
        rows = db.session.execute(text("SELECT user_id FROM memberships")).all()
        assert len(rows) == 1
    finally:
        db.session.remove()
        upgrade()
    membership = db.session.scalars(select(Membership)).one()
    assert membership.user_id == head_id and membership.organisation_id == org_id
    assert membership.accepted_at == membership.created_at and membership.role == "admin"


def test_the_openapi_document_lists_the_stable_error_codes(app, client):
    spec = client.get("/api/v1/openapi.json").json
    def described(path, method, status):
        return spec["paths"][path][method]["responses"][str(status)]["description"]
    partners = "/api/v1/orgs/{org_id}/partners"
    assert "`not_head`" in described(partners, "post", 403) and "`not_enrolling`" in described(partners, "post", 403)
    assert "`already_member`" in described(partners, "post", 409)
    assert "`already_member`" in described("/api/v1/memberships/invitations/{membership_id}/accept", "post", 409)
    assert "`not_found`" in described("/api/v1/memberships/invitations/{membership_id}/decline", "post", 404)
    assert "`group_exists`" in described("/api/v1/orgs/{org_id}/groups", "post", 409)
    assert "`invalid_period`" not in described("/api/v1/orgs/{org_id}/groups", "post", 409)
    assert "`last_admin`" in described("/api/v1/organisations/{org_id}/members/{membership_id}", "delete", 409)
    indicators_403 = described("/api/v1/admin/indicators", "get", 404)
    assert "`not_found`" in indicators_403


def test_the_group_page_marks_staff_who_have_not_accepted(client, classroom, make_user):
    org, head, group, _pupil, _teacher = classroom
    invited = make_user("cpe2@college.example")
    membership = institutions.add_staff_member(db.session, head, org, email=invited.email, role="counsellor")
    institutions.add_staff(db.session, org, group, email=invited.email, role="counsellor", actor=head)
    db.session.commit()
    login(client, head.email)
    page = client.get(f"/institutions/{org.id}/groups/{group.id}").get_data(as_text=True)
    row = page.split(invited.email)[1].split("</li>")[0]
    assert "data-pending" in row
    accepted(membership)
    db.session.commit()
    page = client.get(f"/institutions/{org.id}/groups/{group.id}").get_data(as_text=True)
    assert "data-pending" not in page.split(invited.email)[1].split("</li>")[0]
