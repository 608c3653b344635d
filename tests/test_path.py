"""Career hypotheses, the gap analysis and the shared action plan (``app.services.path``).

The gap analysis is checked against the framework's own relations (``tests.path_helpers.needed``), with
each evidence level made through the real services: a skill typed by the owner, a vault document attached
to it, a referee's confirmed attestation (signed), a credential awarded and linked to it or aligned to a
concept. The plan's rules are checked from both sides: the owner, an invited counsellor, and the refusals
(another person, a viewer, an expired or revoked grant, a counsellor changing the owner's words).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.database import utcnow
from app.extensions import db
from app.models.path import PlanEvent, PlanItem
from app.services import attestations, awarding, documents, path, received
from app.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from tests.awarding_helpers import make_achievement, make_org
from tests.collab_helpers import accepted_grant, revoke
from tests.conftest import PASSWORD
from tests.path_helpers import CARE_ASSISTANT, HANDOVER, HYGIENE, MOBILITY, MONITORING, load_frameworks, needed, skill


@pytest.fixture
def owner(app, make_user):
    load_frameworks()
    return make_user("ines@example.org", display_name="Inès")


@pytest.fixture
def counsellor(make_user):
    return make_user("conseil@example.org", display_name="Conseillère")


def _hypothesis(owner, occupation=CARE_ASSISTANT, **data):
    created = path.create_hypothesis(db.session, owner, {"occupation": occupation, **data}, lang="fr")
    db.session.commit()
    return created


def test_gap_lists_the_occupations_skills_split_by_what_the_owner_has(owner):
    skill(owner, "Toilette et confort", HYGIENE)
    skill(owner, "Unrelated", "https://example.org/not-in-the-framework")
    hypothesis = _hypothesis(owner)
    assert hypothesis.title == "Aide-soignant / aide-soignante"
    assert hypothesis.occupation_uri == CARE_ASSISTANT
    found = path.gap(db.session, owner.portfolio, hypothesis, lang="en")
    expected = needed()
    assert {e["concept_uri"]: e["relation"] for e in found["have"] + found["missing"]} == expected
    assert [e["concept_uri"] for e in found["have"]] == [HYGIENE]
    have = found["have"][0]
    assert have["evidence"] == "self_declared" and have["skill_name"] == "Toilette et confort"
    assert have["label"] == "Provide hygiene and comfort care"  # in the asked language
    relations = [e["relation"] for e in found["missing"]]
    assert relations == sorted(relations, key=lambda r: r != "essential")  # essential first


def test_evidence_levels_strongest_wins(owner, make_user, tmp_path):
    hygiene = skill(owner, "Hygiène", HYGIENE)
    mobility = skill(owner, "Mobilité", MOBILITY)
    monitoring = skill(owner, "Surveillance", MONITORING)
    skill(owner, "Transmissions", HANDOVER)
    # A document attached as evidence to "Mobilité".
    document = documents.store(db.session, owner, "certificat.txt", [b"stage en EHPAD"])
    documents.link(db.session, owner, document, mobility)
    # A confirmed attestation of "Surveillance" (also with a document: the attestation is stronger).
    documents.link(db.session, owner, documents.store(db.session, owner, "b.txt", [b"x"]), monitoring)
    request, raw = attestations.create(db.session, owner, "skill", monitoring.id, referee_name="Tutrice",
                                       referee_email="tutrice@example.org", relationship="Tutrice de stage")
    db.session.commit()
    attestations.confirm(db.session, raw)
    db.session.commit()
    # A credential linked to "Hygiène".
    issuer = make_user("issuer@example.org")
    org = make_org(issuer)
    credential = awarding.award(db.session, issuer, make_achievement(org), owner.email).credential
    db.session.commit()
    received.link(db.session, owner, credential.id, "skill", hygiene.id)
    db.session.commit()

    found = path.gap(db.session, owner.portfolio, _hypothesis(owner))
    levels = {e["concept_uri"]: e["evidence"] for e in found["have"]}
    assert levels == {HYGIENE: "credential", MOBILITY: "document", MONITORING: "attested",
                      HANDOVER: "self_declared"}

    # A revoked credential proves nothing any more: back to the skill's own evidence.
    awarding.revoke(db.session, issuer, credential, "erreur")
    db.session.commit()
    found = path.gap(db.session, owner.portfolio, _hypothesis(owner, title="again"))
    assert {e["concept_uri"]: e["evidence"] for e in found["have"]}[HYGIENE] == "self_declared"


def test_a_credential_aligned_to_a_concept_counts_without_a_skill(owner, make_user):
    issuer = make_user("issuer@example.org")
    org = make_org(issuer)
    achievement = make_achievement(org, name="Manutention des personnes")
    achievement.alignments = [{"target_name": "Aider à la mobilité", "target_url": MOBILITY,
                               "target_framework": "Sample"}]
    db.session.commit()
    awarding.award(db.session, issuer, achievement, owner.email)
    db.session.commit()
    found = path.gap(db.session, owner.portfolio, _hypothesis(owner))
    assert [(e["concept_uri"], e["evidence"], e["skill_id"]) for e in found["have"]] == [(MOBILITY, "credential", None)]


def test_a_counsellors_gap_counts_only_what_their_grant_shares(owner, counsellor):
    hygiene = skill(owner, "Hygiène", HYGIENE)
    skill(owner, "Mobilité", MOBILITY)
    hypothesis = _hypothesis(owner)
    grant = accepted_grant(owner, counsellor, role="counsellor", scope=[{"type": "skill", "id": str(hygiene.id)}])
    mine = path.gap(db.session, owner.portfolio, hypothesis)
    assert {e["concept_uri"] for e in mine["have"]} == {HYGIENE, MOBILITY}
    grants = path.counsellor_grants(db.session, counsellor, owner.portfolio.id)
    assert grants == [grant]
    theirs = path.gap(db.session, owner.portfolio, hypothesis, grants=grants)
    assert {e["concept_uri"] for e in theirs["have"]} == {HYGIENE}
    assert MOBILITY in {e["concept_uri"] for e in theirs["missing"]}


def test_free_description_and_bad_input(owner, make_user):
    free = path.create_hypothesis(db.session, owner, {"description": "Ouvrir une librairie\nen Bretagne"})
    assert free.title == "Ouvrir une librairie" and free.occupation_uri == ""
    assert path.gap(db.session, owner.portfolio, free) == {"have": [], "missing": []}
    with pytest.raises(ValidationFailed) as caught:
        path.create_hypothesis(db.session, owner, {})
    assert "occupation" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        path.create_hypothesis(db.session, owner, {"occupation": "https://example.org/nothing"})
    assert caught.value.code == "unknown_occupation"
    with pytest.raises(ValidationFailed) as caught:  # a skill is not an occupation
        path.create_hypothesis(db.session, owner, {"occupation": HYGIENE})
    assert caught.value.code == "unknown_occupation"
    with pytest.raises(ValidationFailed):
        path.create_hypothesis(db.session, owner, {"description": "x", "status": "maybe"})
    with pytest.raises(ValidationFailed):
        path.create_hypothesis(db.session, owner, {"description": "x", "surprise": 1})
    with pytest.raises(ValidationFailed):
        path.create_hypothesis(db.session, owner, {"description": "bad \x00 text"})


def test_others_cannot_read_or_change_a_hypothesis(owner, counsellor, make_user):
    hypothesis = _hypothesis(owner)
    stranger = make_user("stranger@example.org")
    viewer = make_user("viewer@example.org")
    accepted_grant(owner, viewer, role="viewer")
    for person in (stranger, viewer, counsellor):  # the counsellor has no grant yet
        with pytest.raises(NotFound):
            path.get_hypothesis(db.session, person, hypothesis.id)
        with pytest.raises(NotFound):
            path.hypotheses_of(db.session, person, owner.portfolio)
        with pytest.raises(NotFound):
            path.add_item(db.session, person, hypothesis, {"kind": "note", "body": "hello"})
    with pytest.raises(NotFound):
        path.get_hypothesis(db.session, owner, "not-an-id")
    grant = accepted_grant(owner, counsellor, role="counsellor")
    assert path.get_hypothesis(db.session, counsellor, hypothesis.id) == hypothesis
    with pytest.raises(Forbidden):
        path.update_hypothesis(db.session, counsellor, hypothesis, {"title": "Mine now"})
    with pytest.raises(Forbidden):
        path.delete_hypothesis(db.session, counsellor, hypothesis)
    revoke(owner, grant)
    with pytest.raises(NotFound):
        path.get_hypothesis(db.session, counsellor, hypothesis.id)


def test_expired_counsellor_grant_gives_nothing(owner, counsellor):
    hypothesis = _hypothesis(owner)
    accepted_grant(owner, counsellor, role="counsellor", expires_at=utcnow() - timedelta(seconds=1))
    assert not policy.can(counsellor, policy.READ, hypothesis)
    assert policy.path_role(counsellor, owner.portfolio.id) is None


def test_the_shared_plan_counsellor_proposes_owner_decides(owner, counsellor):
    hypothesis = _hypothesis(owner)
    accepted_grant(owner, counsellor, role="counsellor")
    own_goal = path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Passer le concours",
                                                             "due_on": "2027-03-01"})
    assert own_goal.acceptance == "accepted" and own_goal.author_role == "owner"
    proposal = path.add_item(db.session, counsellor, hypothesis, {"kind": "goal", "title": "Stage d'observation",
                                                                  "due_on": "2027-01-15"})
    note = path.add_item(db.session, counsellor, hypothesis, {"kind": "note", "body": "Premier rendez-vous.",
                                                              "happened_on": "2026-12-01"})
    reply = path.add_item(db.session, counsellor, hypothesis, {"kind": "comment", "body": "Bonne idée",
                                                               "parent_id": str(own_goal.id)})
    db.session.commit()
    assert proposal.acceptance == "pending" and proposal.author_role == "counsellor"
    assert note.happened_on == date(2026, 12, 1) and reply.parent_id == own_goal.id

    # The counsellor never changes the owner's words nor decides; the owner never rewrites the counsellor's.
    with pytest.raises(Forbidden) as caught:
        path.update_item(db.session, counsellor, own_goal, {"title": "Autre chose"})
    assert caught.value.code == "not_your_words"
    with pytest.raises(Forbidden) as caught:
        path.update_item(db.session, counsellor, own_goal, {"status": "done"})
    assert caught.value.code == "owner_only"
    with pytest.raises(Forbidden):
        path.decide(db.session, counsellor, proposal, True)
    with pytest.raises(Forbidden) as caught:
        path.update_item(db.session, owner, note, {"body": "Rewritten"})
    assert caught.value.code == "not_your_words"
    with pytest.raises(ValidationFailed):  # a pending proposal has no status yet
        path.update_item(db.session, owner, proposal, {"status": "done"})
    db.session.rollback()

    # The counsellor corrects their own note; the owner accepts the proposal and closes their goal.
    path.update_item(db.session, counsellor, note, {"body": "Premier rendez-vous : projet clarifié."})
    path.decide(db.session, owner, proposal, True)
    with pytest.raises(ServiceError) as caught:
        path.decide(db.session, owner, proposal, False)
    assert caught.value.code == "already_decided"
    path.update_item(db.session, owner, own_goal, {"status": "done"})
    path.update_item(db.session, owner, proposal, {"status": "dropped"})
    db.session.commit()
    shown = path.plan(db.session, counsellor, hypothesis)
    assert [g.title for g in shown["goals"]] == ["Stage d'observation", "Passer le concours"]  # by due date
    assert shown["replies"][own_goal.id] == [reply]

    events = path.history(db.session, owner, hypothesis)
    assert [(e.actor_role, e.action) for e in reversed(events)] == [
        ("owner", "hypothesis_created"), ("owner", "added"), ("counsellor", "proposed"), ("counsellor", "added"),
        ("counsellor", "added"), ("counsellor", "edited"), ("owner", "accepted"), ("owner", "status_changed"),
        ("owner", "status_changed")]
    assert events[0].details["status"] == ["open", "dropped"]
    assert path.history(db.session, counsellor, hypothesis) == events


def test_plan_item_bad_input(owner):
    hypothesis = _hypothesis(owner)
    other = _hypothesis(owner, title="Other")
    goal = path.add_item(db.session, owner, other, {"kind": "goal", "title": "x"})
    for data in ({"kind": "goal"}, {"kind": "note"}, {"kind": "wish", "title": "x"},
                 {"kind": "goal", "title": "x", "due_on": "31/12/2026"},
                 {"kind": "comment", "body": "x", "parent_id": str(goal.id)},  # another plan's item
                 {"kind": "goal", "title": "x", "parent_id": "nonsense"}):
        with pytest.raises(ValidationFailed):
            path.add_item(db.session, owner, hypothesis, data)


def test_history_is_append_only_and_goes_with_the_hypothesis(owner):
    hypothesis = _hypothesis(owner)
    path.update_hypothesis(db.session, owner, hypothesis, {"status": "active", "notes": "private words"})
    db.session.commit()
    event = path.history(db.session, owner, hypothesis)[0]
    assert event.action == "hypothesis_updated" and event.details["status"] == ["exploring", "active"]
    assert "private words" not in str(event.details)  # the notes' text is not copied into the history
    path.delete_hypothesis(db.session, owner, hypothesis)
    db.session.commit()
    assert db.session.scalars(select(PlanEvent)).all() == []


def test_counsellor_summary(owner, counsellor, make_user):
    hypothesis = _hypothesis(owner)
    grant = accepted_grant(owner, counsellor, role="counsellor")
    today = utcnow().date()
    soon = path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Soon",
                                                         "due_on": (today + timedelta(days=3)).isoformat()})
    path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Late",
                                                  "due_on": (today - timedelta(days=3)).isoformat()})
    path.add_item(db.session, owner, hypothesis, {"kind": "step", "title": "Someday"})
    path.add_item(db.session, counsellor, hypothesis, {"kind": "goal", "title": "Proposed"})
    db.session.commit()
    summary = path.counsellor_summary(db.session, counsellor, grant)
    assert summary["hypotheses"] == 1 and summary["open_count"] == 3 and summary["overdue"] == 1
    assert summary["pending"] == 1
    assert [i.title for i in summary["due_soon"]] == ["Late", "Soon"] and soon in summary["open"]
    # Changes by others since the last visit (the grant's acceptance, after the hypothesis was created):
    # the owner's three additions, not the counsellor's own proposal.
    assert summary["change_count"] == 3
    viewer = make_user("viewer@example.org")
    with pytest.raises(NotFound):
        path.counsellor_summary(db.session, viewer, accepted_grant(owner, viewer, role="viewer"))


def test_a_deleted_counsellors_name_and_comments_leave_the_plans(owner, counsellor):
    """Erasure (review 13, M2): the counsellor's comments go; their appointment notes and their goals,
    accepted or still pending (a proposal is a gift to the owner, as in collab), stay without their name or
    address anywhere in the plan or history, and the owner may still decide on the pending one."""
    from app.services import accounts  # noqa: PLC0415
    hypothesis = _hypothesis(owner)
    accepted_grant(owner, counsellor, role="counsellor")
    own_goal = path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Passer le concours"})
    adopted = path.add_item(db.session, counsellor, hypothesis, {"kind": "goal", "title": "Stage adopté"})
    pending = path.add_item(db.session, counsellor, hypothesis, {"kind": "goal", "title": "Proposition secrète"})
    note = path.add_item(db.session, counsellor, hypothesis, {"kind": "note", "body": "Rendez-vous.",
                                                              "happened_on": "2026-12-01"})
    path.add_item(db.session, counsellor, hypothesis, {"kind": "comment", "body": "Avis personnel",
                                                       "parent_id": str(own_goal.id)})
    path.decide(db.session, owner, adopted, True)
    db.session.commit()
    kept_ids = {own_goal.id, adopted.id, note.id, pending.id}
    accounts.delete_account(db.session, counsellor, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    items = db.session.scalars(select(PlanItem).where(PlanItem.hypothesis_id == hypothesis.id)).all()
    assert {i.id for i in items} == kept_ids
    assert all(i.author_label == "" for i in items if i.author_role == "counsellor")
    events = db.session.scalars(select(PlanEvent).where(PlanEvent.hypothesis_id == hypothesis.id)).all()
    texts = " ".join(f"{i.author_label} {i.title} {i.body}" for i in items) + " ".join(
        f"{e.actor_label} {e.details}" for e in events)
    for needle in ("Conseillère", "conseil@example.org", "Avis personnel"):
        assert needle not in texts
    path.decide(db.session, owner, db.session.get(PlanItem, pending.id), True)
    db.session.commit()


def test_a_counsellor_rewording_an_accepted_goal_sends_it_back_to_the_owner(owner, counsellor):
    """The owner accepted those words, not new ones (review 13, L4): the goal waits for a new decision."""
    hypothesis = _hypothesis(owner)
    accepted_grant(owner, counsellor, role="counsellor")
    goal = path.add_item(db.session, counsellor, hypothesis, {"kind": "goal", "title": "Stage d'observation"})
    path.decide(db.session, owner, goal, True)
    db.session.commit()
    path.update_item(db.session, counsellor, goal, {"title": "Stage de six mois"})
    db.session.commit()
    assert goal.acceptance == "pending" and goal.title == "Stage de six mois"
    assert [g.id for g in path.plan(db.session, owner, hypothesis)["proposals"]] == [goal.id]
    assert path.history(db.session, owner, hypothesis)[0].details["acceptance"] == ["accepted", "pending"]
    path.decide(db.session, owner, goal, True)  # decided again, on the new words
    own = path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Mon but"})
    path.update_item(db.session, owner, own, {"title": "Mon but précis"})  # the owner's own words: no decision
    db.session.commit()
    assert goal.acceptance == own.acceptance == "accepted"


def test_badges_earned_elsewhere_count_as_credentials(owner, make_user):
    """Issue 12's "certified by a credential", wherever issued: a backpack badge linked to the skill, or
    aligned (OB 3.0 ``alignment.targetUrl``) to the concept, is ``credential`` evidence; an expired one is
    not; a counsellor sees it only when the Credentials section is shared."""
    import json

    from app.services import backpack
    from tests.backpack_helpers import Elsewhere, signed

    elsewhere = Elsewhere()
    hygiene = skill(owner, "Hygiène", HYGIENE)
    [linked] = backpack.add(db.session, owner, json.dumps(elsewhere.signed(owner.email)).encode(),
                            fetch=elsewhere.web)
    backpack.link(db.session, owner, linked, "skill", hygiene.id)
    document = elsewhere.credential(owner.email, name="Manutention")
    document["credentialSubject"]["achievement"]["alignment"] = [
        {"type": ["Alignment"], "targetName": "Aider à la mobilité", "targetUrl": MOBILITY}]
    [aligned] = backpack.add(db.session, owner, json.dumps(signed(document, elsewhere.issuer.key)).encode(),
                             fetch=elsewhere.web)
    db.session.commit()
    hypothesis = _hypothesis(owner)
    found = {e["concept_uri"]: (e["evidence"], e["skill_id"]) for e in path.gap(db.session, owner.portfolio,
                                                                                  hypothesis)["have"]}
    assert found == {HYGIENE: ("credential", str(hygiene.id)), MOBILITY: ("credential", None)}
    # A counsellor shown the skill only does not see the badges; shown everything, they do.
    counsellor = make_user("conseil@example.org")
    narrow = accepted_grant(owner, counsellor, role="counsellor", scope=[{"type": "skill", "id": str(hygiene.id)}])
    theirs = path.gap(db.session, owner.portfolio, hypothesis, grants=[narrow])["have"]
    assert {e["concept_uri"]: e["evidence"] for e in theirs} == {HYGIENE: "self_declared"}
    wide = accepted_grant(owner, counsellor, role="counsellor", scope="all")
    theirs = path.gap(db.session, owner.portfolio, hypothesis, grants=[wide])["have"]
    assert {e["concept_uri"]: e["evidence"] for e in theirs} == {HYGIENE: "credential", MOBILITY: "credential"}
    # An expired badge proves nothing any more.
    aligned.expires_at = utcnow() - timedelta(days=1)
    linked.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    found = {e["concept_uri"]: e["evidence"] for e in path.gap(db.session, owner.portfolio, hypothesis)["have"]}
    assert found == {HYGIENE: "self_declared"}
