"""Organisations and achievements through their services: identity, keys, members, tokens, refusals."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import policy
from app.database import utcnow
from app.extensions import db
from app.models import Membership, SigningKey
from app.services import achievements, orgs
from tests.membership_helpers import accepted
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from certs.keys import method_from_document

ORG = {"name": "Lycée Exemple", "kind": "school", "contact_email": "contact@lycee.example",
       "website": "https://lycee.example"}
BADGE = {"name": "Secourisme", "description": "First aid.", "criteria_narrative": "Passed the PSC1 course.",
         "kind": "Certificate", "tags": "first aid, safety", "validity_months": 24}


@pytest.fixture
def org_pair(app, make_user):
    admin = make_user("admin@lycee.example")
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin, approve=True)
    db.session.commit()
    return org, admin


def test_a_web_organisation_has_a_did_web_under_the_base_url_and_a_document_with_its_key(app, org_pair):
    org, _ = org_pair
    assert org.did == f"did:web:localhost:issuers:{org.id}"
    assert orgs.web_did(org.id, "https://example.org:8443/sub") == \
        f"did:web:example.org%3A8443:sub:issuers:{org.id}"
    pair = orgs.signing_key(db.session, org)
    doc = orgs.did_document(org)
    assert doc["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
    method = method_from_document(doc, pair.id)
    assert method.public_key_multibase == pair.public_key_multibase
    assert "assertionMethod" in method.relationships
    # the private key is stored only sealed
    row = db.session.scalars(select(SigningKey)).one()
    assert pair.private_bytes() not in row.sealed_private_key


def test_rotation_keeps_the_old_key_published_and_signs_with_the_new(app, org_pair):
    org, admin = org_pair
    before = orgs.signing_key(db.session, org)
    orgs.rotate_key(db.session, admin, org)
    db.session.commit()
    after = orgs.signing_key(db.session, org)
    assert after.id != before.id
    doc = orgs.did_document(org)
    assert {m["id"] for m in doc["verificationMethod"]} == {before.id, after.id}
    assert set(doc["assertionMethod"]) == {before.id, after.id}


def test_a_did_key_organisation_is_its_key_and_cannot_rotate(app, make_user):
    admin = make_user()
    org = orgs.create_organisation(db.session, policy.OPERATOR, ORG, admin=admin, approve=True, did_key=True)
    pair = orgs.signing_key(db.session, org)
    assert org.did.startswith("did:key:z6Mk") and pair.controller == org.did
    assert pair.id == f"{org.did}#{org.did[len('did:key:'):]}"
    with pytest.raises(Conflict) as refused:
        orgs.rotate_key(db.session, admin, org)
    assert refused.value.code == "did_key_cannot_rotate"


def test_a_pending_organisation_cannot_issue_sign_or_manage(app, make_user):
    person = make_user()
    org = orgs.create_organisation(db.session, person, ORG, admin=person)
    assert org.status == "pending" and not orgs.may_issue(person, org)
    with pytest.raises(Forbidden):
        orgs.signing_key(db.session, org)
    with pytest.raises(Forbidden) as refused:
        achievements.create(db.session, person, org, BADGE)
    assert refused.value.code == "organisation_not_approved"
    with pytest.raises(Forbidden):
        orgs.create_token(db.session, person, org)
    with pytest.raises(Forbidden):  # a person cannot approve their own request
        orgs.create_organisation(db.session, person, ORG, admin=person, approve=True)
    with pytest.raises(Forbidden):
        orgs.approve(db.session, person, org)


def test_platform_admin_decides_but_is_no_member(app, make_user):
    person, admin = make_user(), make_user(is_admin=True)
    org = orgs.create_organisation(db.session, person, ORG, admin=person)
    with pytest.raises(ValidationFailed):
        orgs.refuse(db.session, admin, org, "  ")
    orgs.refuse(db.session, admin, org, "Not an organisation we can verify.")
    assert org.status == "refused" and org.refusal_reason.startswith("Not an")
    with pytest.raises(Forbidden):  # decided already
        orgs.approve(db.session, admin, org)
    other = orgs.create_organisation(db.session, person, ORG, admin=person)
    orgs.approve(db.session, admin, other)
    assert orgs.may_issue(person, other) and not orgs.may_issue(admin, other)
    for action in ("read", "issue", "manage_achievements", "manage_members", "manage_tokens", "manage_keys"):
        assert not policy.can(admin, action, other), action
    assert not policy.can(admin, "read", person.portfolio)


def test_members_roles_and_the_last_admin(app, org_pair, make_user):
    org, admin = org_pair
    teacher = make_user("teacher@lycee.example")
    membership = orgs.add_member(db.session, admin, org, "Teacher@Lycee.example", "issuer")
    assert not orgs.may_issue(teacher, org)  # invited: no power until they accept
    accepted(membership)
    assert orgs.may_issue(teacher, org) and not policy.can(teacher, "manage_achievements", org)
    with pytest.raises(Forbidden):
        orgs.add_member(db.session, teacher, org, "x@example.org", "admin")
    with pytest.raises(Conflict):
        orgs.add_member(db.session, admin, org, teacher.email, "admin")
    with pytest.raises(ValidationFailed) as unknown:  # the operator's immediate act needs an account
        orgs.add_member(db.session, policy.OPERATOR, org, "nobody@example.org", "issuer")
    assert unknown.value.code == "no_such_account"
    with pytest.raises(ValidationFailed):
        orgs.add_member(db.session, admin, org, teacher.email, "owner")
    own = db.session.scalars(select(Membership).where(Membership.user_id == admin.id)).one()
    with pytest.raises(Conflict) as last:
        orgs.change_role(db.session, admin, org, own.id, "issuer")
    assert last.value.code == "last_admin"
    with pytest.raises(Conflict):
        orgs.remove_member(db.session, admin, org, own.id)
    orgs.change_role(db.session, admin, org, membership.id, "admin")
    orgs.remove_member(db.session, teacher, org, own.id)  # now there is another admin
    assert not orgs.may_issue(admin, org)


def test_an_issuer_of_one_organisation_never_acts_for_another(app, org_pair, make_user):
    org, admin = org_pair
    other_admin = make_user()
    other = orgs.create_organisation(db.session, policy.OPERATOR, {**ORG, "name": "Autre"}, admin=other_admin,
                                     approve=True)
    badge = achievements.create(db.session, admin, org, BADGE)
    assert not orgs.may_issue(other_admin, org)
    with pytest.raises(NotFound):
        orgs.get(db.session, other_admin, org.id)
    with pytest.raises(NotFound):
        achievements.get(db.session, other_admin, badge.id)
    with pytest.raises(NotFound):
        achievements.create(db.session, other_admin, org, BADGE)
    with pytest.raises(NotFound):
        orgs.add_member(db.session, other_admin, org, other_admin.email, "admin")
    with pytest.raises(NotFound):
        orgs.rotate_key(db.session, other_admin, org)
    token, raw = orgs.create_token(db.session, other_admin, other, "robot")
    principal = policy.OrganisationPrincipal(orgs.organisation_for_token(raw).id)
    assert orgs.may_issue(principal, other) and not orgs.may_issue(principal, org)
    with pytest.raises(NotFound):
        achievements.get(db.session, principal, badge.id)


def test_tokens_are_hashed_revocable_and_distinct_from_personal_tokens(app, org_pair):
    from app.services import tokens as personal

    org, admin = org_pair
    token, raw = orgs.create_token(db.session, admin, org, "SIS")
    assert raw.startswith("silo_") and raw not in token.token_hash
    assert orgs.organisation_for_token(raw) is org and token.last_used_at is not None
    assert personal.authenticate_token(db.session, raw) is None
    assert orgs.organisation_for_token(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    orgs.revoke_token(db.session, admin, org, token.id)
    assert orgs.organisation_for_token(raw) is None


def test_achievement_document_and_refusals(app, org_pair):
    org, admin = org_pair
    badge = achievements.create(db.session, admin, org, {
        **BADGE, "criteria_url": "https://lycee.example/psc1",
        "alignments": [{"target_name": "First aid", "target_url": "https://esco.example/fa"}]})
    doc = achievements.achievement_document(badge)
    assert doc["achievementType"] == "Certificate" and doc["tag"] == ["first aid", "safety"]
    assert doc["criteria"] == {"id": "https://lycee.example/psc1", "narrative": "Passed the PSC1 course."}
    assert doc["alignment"][0]["targetUrl"] == "https://esco.example/fa"
    assert doc["image"]["id"].endswith(f"/achievements/{badge.id}/image")
    for bad in ({"criteria_narrative": ""}, {"kind": "Unicorn"}, {"validity_months": 0},
                {"name": "x\x01"}, {"alignments": [{"target_name": "A", "target_url": "ftp://x"}]},
                {"tags": ["t" * 61]}, {"colour": "red"}):
        with pytest.raises(ValidationFailed):
            achievements.create(db.session, admin, org, {**BADGE, **bad})
    data, media_type = achievements.image_of(badge)
    assert media_type == "image/svg+xml" and b"<script" not in data


def test_demo_issuer_is_approved_with_an_admin_and_two_achievements_once(app):
    from app import demo
    from app.models import Achievement, Organisation

    first = demo.load(db.session)
    db.session.commit()
    second = demo.load(db.session)
    db.session.commit()
    assert first == second
    org = db.session.scalars(select(Organisation).where(Organisation.name == demo.ISSUER["name"])).one()
    assert org.status == "approved"
    admin = db.session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                       Membership.accepted_at.is_not(None))).one()
    assert admin.role == "admin" and admin.user.email == demo.ISSUER_ADMIN.email
    # and one invitation, not answered (app/issuing/invitations_demo.py): it gives no power
    invited = db.session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                         Membership.accepted_at.is_(None))).one()
    assert invited.role == "issuer" and not orgs.may_issue(invited.user, org)
    assert len(db.session.scalars(select(Achievement).where(Achievement.organisation_id == org.id)).all()) == 2
    assert orgs.signing_key(db.session, org).controller == org.did


@pytest.mark.parametrize("status", ["pending", "approved", "refused", "closed"])
def test_policy_matrix_from_the_rule_table(app, make_user, status):
    """Every action of ``ORG_RULES`` for every kind of principal, on an organisation in each status: the
    table is what decides, and an outsider (another organisation's admin or token, a stranger) gets
    nothing."""
    admin, issuer, stranger, root = make_user(), make_user(), make_user(), make_user(is_admin=True)
    org = orgs.create_organisation(db.session, policy.OPERATOR, {**ORG, "name": "Mine"}, admin=admin,
                                   approve=True)
    orgs.add_member(db.session, policy.OPERATOR, org, issuer.email, "issuer")
    other_admin = make_user()
    other = orgs.create_organisation(db.session, policy.OPERATOR, {**ORG, "name": "Other"},
                                     admin=other_admin, approve=True)
    closed = status == "closed"  # an approved organisation, closed: only ``CLOSED_ORG_ACTIONS`` remain
    if closed:
        status, org.closed_at = "approved", utcnow()
    org.status = status
    db.session.flush()
    principals = {
        "admin": admin, "issuer": issuer, "token": policy.OrganisationPrincipal(org.id),
        "operator": policy.OPERATOR, "platform_admin": root,
        None: [stranger, other_admin, policy.OrganisationPrincipal(other.id), None],
    }
    for action, (roles, needs_approval) in policy.ORG_RULES.items():
        open_now = (status == "approved" or not needs_approval) and (action != "decide" or status == "pending")
        open_now = open_now and (not closed or action in policy.CLOSED_ORG_ACTIONS)
        open_now = open_now and (action != "revoke_closed" or closed)  # an open one revokes by "issue"
        for role, who in principals.items():
            for principal in who if isinstance(who, list) else [who]:
                expected = role in roles and open_now if role else False
                assert policy.can(principal, action, org) is expected, (action, role, status)
    assert not policy.can(root, "read", admin.portfolio)
    assert not policy.can(policy.OPERATOR, "read", admin.portfolio)


@pytest.mark.parametrize("name", ["Lycée\r\nBcc: victim@example.org", "Lycée\nExemple", "Lycée\rExemple"])
def test_names_are_one_line(app, org_pair, make_user, name):
    """An organisation's name goes into mail subjects (the approval, refusal and request mails) and an
    achievement's name into headings and titles: a line break there is refused with a clear field error,
    rather than accepted and then failing every mail about the organisation (or worse, a header)."""
    org, admin = org_pair
    requester = make_user("someone@example.org")
    with pytest.raises(ValidationFailed) as error:
        orgs.create_organisation(db.session, requester, {**ORG, "name": name}, admin=requester)
    assert "name" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        orgs.update_organisation(db.session, admin, org, {"name": name})
    assert "name" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        achievements.create(db.session, admin, org, {**BADGE, "name": name})
    assert "name" in error.value.fields
    db.session.rollback()
    assert "\n" not in org.name and "\r" not in org.name
