"""Audit 15, #8: the admin acts that the audit log missed — an organisation created and edited, its signing key
rotated, its API tokens created and revoked, its credentials revoked and suspended (by its admins or its
token), frameworks imported and retired, the training catalogue imported and withdrawn — each write one line,
with the actor, the target and identifiers only; a refused act writes none."""
from __future__ import annotations

from pathlib import Path

import pytest

from app import policy
from app.extensions import db
from app.services import audit, awarding, frameworks, orgs, trainings
from app.services.errors import Forbidden, NotFound
from tests.awarding_helpers import make_achievement, make_org
from tests.test_frameworks import BASE, write_simple


def _actions(**filters) -> list[str]:
    return [e.action for e in audit.events(db.session, **filters)][::-1]  # oldest first


def test_an_organisation_created_edited_its_key_rotated_and_tokens_are_logged(app, make_user):
    head = make_user("head@univ.example")
    org = orgs.create_organisation(db.session, head, {"name": "Université Audit", "kind": "university",
                                                      "contact_email": "c@univ.example"}, admin=head)
    org.status = "approved"
    orgs.update_organisation(db.session, head, org, {"description": "Une université du test"})
    orgs.rotate_key(db.session, head, org)
    token, _raw = orgs.create_token(db.session, head, org, "LMS")
    orgs.revoke_token(db.session, head, org, token.id)
    orgs.revoke_token(db.session, head, org, token.id)  # already revoked: nothing new happens, nothing logged
    db.session.commit()
    assert _actions(organisation_id=org.id) == [
        "organisation.create", "organisation.update", "organisation.rotate_key", "organisation.token_create",
        "organisation.token_revoke"]
    created, updated, rotated, made, revoked = audit.events(db.session, organisation_id=org.id)[::-1]
    assert created.actor_id == head.id and created.details["kind"] == "university"
    assert created.details["approved"] is False and created.details["admin_id"] == str(head.id)
    assert updated.details == {"fields": ["description"]}  # which fields, never their text
    assert rotated.details["retired_key"] != rotated.details["new_key"]
    assert made.target_id == str(token.id) and made.details == {"name": "LMS"}
    assert revoked.target_id == str(token.id)
    # The command line creates an approved organisation: logged with no account behind it.
    other = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Par la CLI", "kind": "school",
                                                                   "contact_email": "c@cli.example"},
                                     admin=head, approve=True)
    db.session.commit()
    cli = audit.events(db.session, organisation_id=other.id)[0]
    assert (cli.action, cli.actor_id, cli.actor_label, cli.details["approved"]) == (
        "organisation.create", None, "", True)


def test_refused_acts_on_an_organisation_log_nothing(app, make_user):
    head, stranger = make_user("head@univ.example"), make_user("x@example.org")
    org = make_org(head)
    db.session.commit()
    before = _actions(organisation_id=org.id)
    for act in (lambda: orgs.update_organisation(db.session, stranger, org, {"description": "x"}),
                lambda: orgs.rotate_key(db.session, stranger, org),
                lambda: orgs.create_token(db.session, stranger, org, "x")):
        with pytest.raises((Forbidden, NotFound)):  # a stranger learns nothing of it: 404 as unknown
            act()
    with pytest.raises(NotFound):
        orgs.revoke_token(db.session, head, org, "not-a-token")
    assert _actions(organisation_id=org.id) == before


def test_credentials_revoked_suspended_and_reinstated_are_logged_for_their_organisation(app, make_user):
    issuer = make_user("issuer@univ.example")
    org = make_org(issuer)
    achievement = make_achievement(org)
    first = awarding.award(db.session, issuer, achievement, "a@example.org").credential
    second = awarding.award(db.session, issuer, achievement, "b@example.org").credential
    db.session.commit()
    awarding.suspend(db.session, issuer, first, "Enquête en cours")
    awarding.unsuspend(db.session, issuer, first)
    awarding.revoke(db.session, policy.OrganisationPrincipal(org.id), second, "Erreur de saisie")  # its token
    db.session.commit()
    log = audit.events(db.session, target_type="credential")[::-1]
    assert [(e.action, e.target_id) for e in log] == [
        ("credential.suspend", str(first.id)), ("credential.unsuspend", str(first.id)),
        ("credential.revoke", str(second.id))]
    assert log[0].details == {"reason": "Enquête en cours"} and log[0].actor_id == issuer.id
    assert all(e.organisation_id == org.id for e in log)
    assert (log[2].actor_id, log[2].actor_label) == (None, "organisation token")
    outsider = make_user("y@example.org")
    with pytest.raises(Forbidden):
        awarding.revoke(db.session, outsider, first, "no")
    assert len(audit.events(db.session, target_type="credential")) == 3


def test_framework_import_and_retirement_are_logged(app, platform_admin, tmp_path: Path):
    parsed_dir = write_simple(tmp_path / "ref", BASE)
    from app.services import framework_readers
    report = frameworks.apply(db.session, framework_readers.read(parsed_dir), actor=platform_admin)
    frameworks.retire_framework(db.session, report.framework, actor=platform_admin)
    frameworks.retire_framework(db.session, report.framework, retired=False)  # the command line
    db.session.commit()
    log = audit.events(db.session, target_type="framework")[::-1]
    assert [e.action for e in log] == ["framework.import", "framework.retire", "framework.restore"]
    assert log[0].actor_id == platform_admin.id and log[0].details["slug"] == "test-ref"
    assert log[0].details["added"] == len(BASE) and log[2].actor_id is None


def test_the_training_catalogue_import_and_withdrawal_are_logged(app, platform_admin, make_user):
    from tests.test_trainings import GOOD, load_frameworks
    load_frameworks()
    report = trainings.import_catalogue(db.session, platform_admin, GOOD.encode(), filename="catalogue.csv")
    db.session.commit()
    imported = audit.events(db.session, action="training.import")[0]
    assert imported.actor_id == platform_admin.id and imported.target_id == str(report.import_id)
    assert imported.details == {"file": "catalogue.csv", "created": 3, "updated": 0}
    training = trainings.catalogue(db.session)[0]
    with pytest.raises(NotFound):
        trainings.delete_training(db.session, make_user("z@example.org"), training)
    assert audit.events(db.session, action="training.delete") == []
    trainings.delete_training(db.session, platform_admin, training)
    db.session.commit()
    assert audit.events(db.session, action="training.delete")[0].target_id == str(training.id)
