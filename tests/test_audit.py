"""The audit log: the existing admin acts record themselves, with no portfolio content, and filter."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import AuditEvent
from app.services import audit, invitations, orgs
from app.services.errors import Forbidden

ORG = {"name": "Lycée Audit", "kind": "school", "contact_email": "contact@lycee.example"}


@pytest.fixture
def pending(app, make_user):
    head = make_user("head@lycee.example")
    org = orgs.create_organisation(db.session, head, ORG, admin=head)
    db.session.commit()
    return org, head


def test_approval_refusal_and_closing_are_logged_with_actor_target_and_reason(app, make_user, pending):
    org, head = pending
    admin = make_user("admin@platform.example")
    admin.is_admin = True
    db.session.commit()
    other = orgs.create_organisation(db.session, head, dict(ORG, name="Autre"), admin=head)
    orgs.refuse(db.session, admin, other, "Not an institution we know.")
    db.session.commit()
    orgs.approve(db.session, admin, org)
    orgs.close(db.session, head, org, ORG["name"])
    db.session.commit()
    log = audit.events(db.session)
    assert [e.action for e in log][::-1] == ["organisation.create", "organisation.create", "organisation.refuse",
                                             "organisation.approve", "organisation.close"]
    refuse = log[-3]
    assert refuse.actor_id == admin.id and refuse.actor_label == "admin@platform.example"
    assert refuse.target_type == "organisation" and refuse.target_id == str(other.id)
    assert refuse.organisation_id == other.id and refuse.details == {"reason": "Not an institution we know."}
    assert [e.action for e in audit.events(db.session, action="organisation.close")] == ["organisation.close"]
    assert audit.events(db.session, actor_id=head.id)[0].action == "organisation.close"


def test_a_refused_act_leaves_no_event_and_a_rolled_back_act_neither(app, make_user, pending):
    org, head = pending
    with pytest.raises(Forbidden):
        orgs.approve(db.session, head, org)  # a head is no platform admin
    db.session.rollback()
    admin = make_user("admin2@platform.example")
    admin.is_admin = True
    db.session.commit()
    orgs.approve(db.session, admin, org)
    db.session.rollback()  # the act and its log line go together
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["organisation.create"]


def test_member_changes_are_logged_and_the_operator_is_an_anonymous_actor(app, make_user, pending):
    org, head = pending
    teacher = make_user("teacher@lycee.example")
    org.status = "approved"
    membership = orgs.add_member(db.session, head, org, teacher.email, "issuer")
    orgs.remove_member(db.session, head, org, membership.id)  # not accepted yet: a cancelled invitation
    again = orgs.add_member(db.session, head, org, teacher.email, "issuer")
    invitations.accept(db.session, teacher, again.id)
    orgs.remove_member(db.session, head, org, again.id)
    audit.record(db.session, actor=policy.OPERATOR, action="cli.test", target_type="user", target_id=teacher.id,
                 details={"long": "x" * 5000})
    db.session.commit()
    actions = [e.action for e in audit.events(db.session, organisation_id=org.id)]
    assert sorted(actions) == sorted(["organisation.create", "member.invite", "invitation.cancel", "member.invite",
                                      "invitation.accept", "member.remove"])
    cli = audit.events(db.session, action="cli.test")[0]
    assert cli.actor_id is None and cli.actor_label == "" and len(cli.details["long"]) == 2000
