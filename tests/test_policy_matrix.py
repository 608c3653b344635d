"""Every role × object kind × action through a grant, in every grant state, against app.policy.

The expected answers are written out here, independently of ``policy.GRANT_ROLE_ACTIONS`` and
``GRANT_KIND_ACTIONS`` (a test computed from the tables it checks could not fail). One world is built
once per test (it signs a credential and encrypts documents), then every cell is checked and every
wrong cell is reported together. The list filter (``policy.shared_filter``) is checked against the
single reads for every grant, so that a list never shows what a read refuses.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app import policy
from app.database import utcnow
from app.extensions import db
from app.models import Credential, Diploma, Document, Experience, Grant, JournalEntry, Skill
from app.services import awarding, documents, grants, path, portfolio as items
from app.services.errors import ServiceError
from tests.awarding_helpers import make_achievement, make_org

ROLES = ("viewer", "contributor", "certifier", "guardian", "counsellor")
ACTIONS = ("read", "comment", "propose", "attest_request", "update", "delete", "own", "plan")
# What each role may do to an item it can see, and to the portfolio itself: written out by hand.
EXPECTED_ITEM = {
    "viewer": {kind: {"read"} for kind in ("experience", "skill", "diploma", "document", "credential", "journal")},
    "contributor": {"experience": {"read", "comment"}, "skill": {"read", "comment"},
                    "diploma": {"read", "comment"}, "document": {"read", "comment"},
                    "credential": {"read", "comment"}, "journal": {"read"}},
    "certifier": {"experience": {"read", "attest_request"}, "skill": {"read", "attest_request"},
                  "diploma": {"read"}, "document": {"read"}, "credential": {"read"}, "journal": {"read"}},
    "guardian": {kind: {"read"} for kind in ("experience", "skill", "diploma", "document", "credential", "journal")},
    "counsellor": {"experience": {"read", "comment"}, "skill": {"read", "comment"},
                   "diploma": {"read", "comment"}, "document": {"read", "comment"},
                   "credential": {"read", "comment"}, "journal": {"read"}},
}
EXPECTED_PORTFOLIO = {"viewer": {"read"}, "contributor": {"read", "propose"}, "certifier": {"read"},
                      "guardian": {"read"}, "counsellor": {"read"}}
# Career hypotheses and their plan items (issue 12): a counsellor reads them and takes part in the plan,
# whatever the grant's scope; no other role sees them.
EXPECTED_PATH = {"viewer": set(), "contributor": set(), "certifier": set(), "guardian": set(),
                 "counsellor": {"read", "plan"}}
STATES = ("all", "items", "sections", "journal", "expired", "revoked", "pending")
KIND_MODEL = {"experience": Experience, "skill": Skill, "diploma": Diploma, "document": Document,
              "credential": Credential, "journal": JournalEntry}


def _portfolio_items(person, tag: str) -> dict:
    """Two items of every kind in ``person``'s portfolio, through the real services."""
    made = {kind: [] for kind in KIND_MODEL}
    for n in (1, 2):
        made["experience"].append(items.create_item(db.session, person, Experience, {
            "kind": "job", "title": f"{tag} job {n}", "start_date": "2020-01-01"}))
        made["skill"].append(items.create_item(db.session, person, Skill, {"name": f"{tag} skill {n}", "level": 2}))
        made["diploma"].append(items.create_item(db.session, person, Diploma, {"title": f"{tag} diploma {n}"}))
        made["journal"].append(items.create_item(db.session, person, JournalEntry, {"title": f"{tag} note {n}"}))
        made["document"].append(documents.store(db.session, person, f"{tag}-{n}.txt", [b"some evidence"]))
        db.session.commit()
    return made


@pytest.fixture
def world(app, make_user):
    owner = make_user("owner@example.org", display_name="Owner")
    other = make_user("other@example.org", display_name="Other owner")
    issuer = make_user("issuer@example.org")
    org = make_org(issuer)
    achievement = make_achievement(org)

    def award(person):
        result = awarding.award(db.session, issuer, achievement, person.email)
        db.session.commit()
        return result.credential

    mine = _portfolio_items(owner, "mine")
    mine["credential"] = [award(owner), award(owner)]
    theirs = _portfolio_items(other, "theirs")
    theirs["credential"] = [award(other)]
    hypothesis = path.create_hypothesis(db.session, owner, {"description": "Devenir libraire"})
    their_hypothesis = path.create_hypothesis(db.session, other, {"description": "Devenir boulanger"})
    plan_item = path.add_item(db.session, owner, hypothesis, {"kind": "goal", "title": "Stage"})
    db.session.commit()
    assert all(c.portfolio_id == owner.portfolio.id for c in mine["credential"])

    now = utcnow()
    chosen = [{"type": kind, "id": str(found[0].id)} for kind, found in mine.items() if kind != "journal"]
    people = {}
    for role in ROLES:
        for state in STATES:
            person = make_user(f"{role}-{state}@example.org")
            scope = {"items": chosen, "sections": [{"type": "section", "id": "experiences"},
                                                   {"type": "section", "id": "documents"}],
                     "journal": [{"type": "section", "id": "journal"}]}.get(state, "all")
            grant = Grant(portfolio_id=owner.portfolio.id, email=person.email, role=role,
                          scope="all" if role == "guardian" and state != "journal" else scope,
                          grantee_id=None if state == "pending" else person.id,
                          accepted_at=None if state == "pending" else now - timedelta(days=2),
                          expires_at=now - timedelta(seconds=1) if state == "expired" else now + timedelta(days=30),
                          revoked_at=now - timedelta(days=1) if state == "revoked" else None)
            db.session.add(grant)
            people[role, state] = person
    db.session.commit()
    return {"owner": owner, "other": other, "mine": mine, "theirs": theirs, "people": people,
            "path": [hypothesis, plan_item], "their_path": [their_hypothesis]}


def _in_scope(role: str, state: str, kind: str, index: int) -> bool:
    """Which of the owner's items each state shows (index 0 is the chosen item of each kind)."""
    if state in ("expired", "revoked", "pending"):
        return False
    if kind == "journal":
        return state == "journal"
    if role == "guardian":
        return True  # a guardian reads the whole portfolio whatever the stored scope
    return {"all": True, "items": index == 0, "sections": kind in ("experience", "document"),
            "journal": False}[state]


def test_every_role_kind_action_and_state(world):
    wrong = []
    for (role, state), person in world["people"].items():
        active = state not in ("expired", "revoked", "pending")
        for action in ACTIONS:
            expected = active and action in EXPECTED_PORTFOLIO[role]
            if policy.can(person, action, world["owner"].portfolio) != expected:
                wrong.append((role, state, "portfolio", action, expected))
            if policy.can(person, action, world["other"].portfolio):
                wrong.append((role, state, "other portfolio", action, False))
        for kind, found in world["mine"].items():
            for index, item in enumerate(found):
                for action in ACTIONS:
                    expected = _in_scope(role, state, kind, index) and action in EXPECTED_ITEM[role][kind]
                    if policy.can(person, action, item) != expected:
                        wrong.append((role, state, kind, index, action, expected))
        for kind, found in world["theirs"].items():
            for item in found:
                for action in ACTIONS:
                    if policy.can(person, action, item):
                        wrong.append((role, state, "other portfolio's " + kind, action, False))
        for obj in world["path"]:
            for action in ACTIONS:
                expected = active and action in EXPECTED_PATH[role]
                if policy.can(person, action, obj) != expected:
                    wrong.append((role, state, type(obj).__name__, action, expected))
        for obj in world["their_path"]:
            if any(policy.can(person, action, obj) for action in ACTIONS):
                wrong.append((role, state, "other portfolio's hypothesis", False))
    assert wrong == []


def test_lists_show_exactly_what_single_reads_allow(world):
    """``shared_filter`` over a person's grants selects exactly the items ``can(read)`` allows."""
    wrong = []
    for (role, state), person in world["people"].items():
        grants_now = policy.active_grants(person, world["owner"].portfolio)
        assert (len(grants_now) == 1) == (state not in ("expired", "revoked", "pending")), (role, state)
        for kind, model in KIND_MODEL.items():
            listed = set(db.session.scalars(select(model.id).where(policy.shared_filter(grants_now, model))))
            every = [*world["mine"][kind], *world["theirs"][kind]]
            readable = {item.id for item in every if policy.can(person, "read", item)}
            if listed != readable:
                wrong.append((role, state, kind, len(listed), len(readable)))
    assert wrong == []


def test_the_owner_does_everything_and_nobody_else_without_a_grant(world, make_user):
    owner, stranger = world["owner"], make_user("stranger@example.org")
    admin = make_user("admin@example.org")
    admin.is_admin = True  # a platform admin: organisations and indicators, never portfolio content
    db.session.commit()
    for kind in ("experience", "skill", "diploma", "document", "journal"):
        item = world["mine"][kind][0]
        assert all(policy.can(owner, action, item) for action in ("read", "update", "delete", "own")), kind
        for outsider in (stranger, admin):
            assert not any(policy.can(outsider, action, item) for action in ACTIONS), (kind, outsider.email)
    assert not policy.can(None, "read", world["owner"].portfolio)


def test_a_hidden_credential_leaves_every_share(world):
    credential = world["mine"]["credential"][0]
    viewer = world["people"]["viewer", "all"]
    assert policy.can(viewer, "read", credential)
    credential.hidden = True
    db.session.commit()
    assert not policy.can(viewer, "read", credential)
    listed = set(db.session.scalars(select(Credential.id).where(
        policy.shared_filter(policy.active_grants(viewer, world["owner"].portfolio), Credential))))
    assert credential.id not in listed and world["mine"]["credential"][1].id in listed


def test_a_grant_ends_the_moment_it_is_revoked_or_expires(world):
    viewer = world["people"]["viewer", "all"]
    item = world["mine"]["experience"][1]
    grant = db.session.scalar(select(Grant).where(Grant.grantee_id == viewer.id))
    assert policy.can(viewer, "read", item)
    grants.revoke(db.session, world["owner"], grant)
    db.session.commit()
    assert not policy.can(viewer, "read", item)


def test_inviting_oneself_is_refused(world):
    owner = world["owner"]
    with pytest.raises(ServiceError) as refused:
        grants.invite(db.session, owner, email="  OWNER@example.org ", role="viewer")
    assert refused.value.code == "self_invitation"


def test_only_the_owner_manages_a_grant_and_only_the_invitee_accepts_it(world, make_user):
    owner = world["owner"]
    grant, _raw = grants.invite(db.session, owner, email="newcomer@example.org", role="viewer")
    db.session.commit()
    newcomer, stranger = make_user("newcomer@example.org"), make_user("stranger@example.org")
    unverified = make_user("Newcomer2@example.org", verified=False)
    assert all(policy.can(owner, action, grant) for action in ("read", "update", "delete"))
    assert not policy.can(owner, "accept", grant)
    assert policy.can(newcomer, "accept", grant) and not policy.can(newcomer, "update", grant)
    assert not any(policy.can(stranger, action, grant) for action in ("read", "update", "delete", "accept"))
    guardian = world["people"]["guardian", "all"]
    other_grant = db.session.scalar(select(Grant).where(Grant.grantee_id == guardian.id))
    assert policy.can(guardian, "read", other_grant)
    assert not any(policy.can(guardian, action, other_grant) for action in ("update", "delete"))
    assert not policy.can(unverified, "accept", grant)
