"""The one place that decides who may do what to which object. Default: deny.

Views and API routes never compare owners themselves: they call ``can`` or ``get_or_404``. Another
person's object answers 404, exactly as a missing one, so that ids reveal nothing.

Organisations grow by data: ``ORG_RULES`` says which role may do which action, and whether the
organisation must be approved (an unapproved one can do nothing but show its request to its members).
Principals: a ``User`` (by their membership), an ``OrganisationPrincipal`` (an organisation token, for its
own organisation only), the ``OPERATOR`` (the command line). Platform admins decide requests
(``reviews_requests``) and get no member right and no portfolio content.

Portfolios grow by data too: the owner may do anything to their portfolio and its items; another person
only what an active ``Grant`` gives (``GRANT_ROLE_ACTIONS`` × ``GRANT_KIND_ACTIONS``, for an object in the
grant's scope). ``OWN`` is the owner's workspace (their item pages, their vault): a grant never opens it,
so that an invited person reads only through the shared views, which show exactly the scope and log
the access.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from flask import abort
from sqlalchemy import and_, exists, false, or_, select

from app.extensions import db
from app.database import utcnow
from app.models import (
    Achievement, Credential, Diploma, Document, Experience, ExternalCredential, Grant, JournalEntry, Membership,
    Organisation, Portfolio, Skill, User,
)
from app.models.feed import PUBLISHED, Event
from app.models.institutions import Group, GroupStaff
from app.models.issuing import APPROVED, PENDING, STAFF_ROLES
from app.models.pages import Page, ShareLink
from app.models.path import Hypothesis, PlanItem

T = TypeVar("T")

READ, UPDATE, DELETE = "read", "update", "delete"
OWN = "own"  # the owner's workspace (item pages, vault): never through a grant
COMMENT, PROPOSE, ATTEST_REQUEST = "comment", "propose", "attest_request"
PLAN = "plan"  # a counsellor's part in an action plan: propose goals, write appointment notes, comment
PORTFOLIO_ITEMS = (Experience, Diploma, Skill, JournalEntry, Document)


def _owns_portfolio(user: User, portfolio_id) -> bool:
    portfolio = user.portfolio
    return portfolio is not None and portfolio.id == portfolio_id


# --- organisations -------------------------------------------------------------------------------------
# The one table of who may do what to an organisation: action -> (roles allowed, approved organisation
# required). Roles are the member's (``admin``, ``issuer``), ``token`` for an organisation API token acting
# for its own organisation, ``operator`` for the command line (whoever runs it holds the database), and
# ``platform_admin``, which decides requests and nothing else: no member right, no portfolio content.
ORG_RULES: dict[str, tuple[frozenset[str], bool]] = {
    "read": (frozenset({"admin", "issuer", "token", "operator"}), False),
    "issue": (frozenset({"admin", "issuer", "token", "operator"}), True),
    "manage_achievements": (frozenset({"admin", "token", "operator"}), True),
    "manage_profile": (frozenset({"admin", "operator"}), True),
    "manage_members": (frozenset({"admin", "operator"}), True),
    "manage_keys": (frozenset({"admin", "operator"}), True),
    "manage_tokens": (frozenset({"admin", "operator"}), True),
    "review": (frozenset({"platform_admin", "operator"}), False),
    "decide": (frozenset({"platform_admin", "operator"}), False),
    "close": (frozenset({"admin", "operator"}), False),
    # A closed organisation's credentials stay revocable (a diploma found fraudulent after the school
    # closed must not stay valid for good): by its former admins, the platform admin, the operator.
    # Only once closed (``_can_organisation``); an open one revokes through "issue".
    "revoke_closed": (frozenset({"admin", "platform_admin", "operator"}), False),
    "publish": (frozenset({"admin", "issuer", "operator"}), True),  # S'informer: events and offers (pages, API)
    "publish_trainings": (frozenset({"admin", "operator"}), True),  # issue 12: the training catalogue
}
# What a closed organisation still allows: its members (and the operator) read what it did, platform admins
# see it, and what it issued can be revoked; nothing else.
CLOSED_ORG_ACTIONS = frozenset({"read", "review", "revoke_closed"})
# An achievement's actions, as the organisation action they need.
ACHIEVEMENT_ACTIONS = {READ: "read", UPDATE: "manage_achievements", DELETE: "manage_achievements",
                       "award": "issue"}


@dataclass(frozen=True)
class OrganisationPrincipal:
    """Who calls with an organisation API token: the organisation itself, never a person."""

    organisation_id: uuid.UUID
    is_authenticated: bool = True


@dataclass(frozen=True)
class Operator:
    """The command line (``sillage orgs ...``): trusted for organisation objects only."""

    is_authenticated: bool = True


OPERATOR = Operator()


def org_role(user, organisation: Organisation) -> str | None:
    """The principal's role in *organisation* (a member role, ``token``, ``operator``), or None."""
    if isinstance(user, Operator):
        return "operator"
    if isinstance(user, OrganisationPrincipal):
        return "token" if user.organisation_id == organisation.id else None
    if not isinstance(user, User):
        return None
    # An invitation not accepted yet gives no role (issue 13: nobody is enrolled without their consent).
    return db.session.scalar(select(Membership.role).where(Membership.organisation_id == organisation.id,
                                                           Membership.user_id == user.id, Membership.accepted()))


def reviews_requests(user) -> bool:
    """Platform admins (and the operator) see and decide organisation requests, and nothing inside them."""
    return isinstance(user, Operator) or (isinstance(user, User) and user.is_authenticated and user.is_admin)


def _can_organisation(user, action: str, organisation: Organisation) -> bool:
    rule = ORG_RULES.get(action)
    if rule is None:
        return False
    roles, needs_approval = rule
    if organisation.closed_at is not None and action not in CLOSED_ORG_ACTIONS:
        return False
    if needs_approval and organisation.status != APPROVED:
        return False
    if action == "decide" and organisation.status != PENDING:
        return False
    if action == "revoke_closed" and organisation.closed_at is None:
        return False
    if "platform_admin" in roles and reviews_requests(user):
        return True
    return org_role(user, organisation) in roles


def can(user, action: str, obj) -> bool:
    """May ``user`` perform ``action`` on ``obj``? Anything not explicitly allowed is refused."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if isinstance(obj, Organisation):
        return _can_organisation(user, action, obj)
    if isinstance(obj, Achievement):
        mapped = ACHIEVEMENT_ACTIONS.get(action)
        return mapped is not None and _can_organisation(user, mapped, obj.organisation)
    if not isinstance(user, User):
        return False  # tokens and the operator act on organisation objects only
    if isinstance(obj, Portfolio):
        return obj.owner_id == user.id or _granted(user, action, obj.id, "portfolio", obj.id)
    if isinstance(obj, PORTFOLIO_ITEMS):
        if _owns_portfolio(user, obj.portfolio_id):
            return True
        return _granted(user, action, obj.portfolio_id, KIND_OF[type(obj)], obj.id)
    if isinstance(obj, (Credential, ExternalCredential)):
        if obj.portfolio_id is None or obj.hidden or _owns_portfolio(user, obj.portfolio_id):
            return False  # the owner's credential pages decide by themselves (public ids, claim links)
        return _granted(user, action, obj.portfolio_id, "credential", obj.id)
    if isinstance(obj, Grant):
        return _can_grant(user, action, obj)
    if isinstance(obj, User):
        return obj.id == user.id
    if isinstance(obj, (Page, ShareLink)):
        return _can_sharing(user, action, obj)
    if isinstance(obj, Event):
        return _can_event(user, action, obj)
    if isinstance(obj, (Hypothesis, PlanItem)):
        return _can_path(user, action, obj)
    return False


# --- sharing: grants ---------------------------------------------------------------------------------
# The one table of what a grant gives: the role's actions, met with the actions that make sense on the
# kind of object. A guardian (a minor's parent) reads everything and writes nothing; a contributor
# comments on items and proposes additions to the portfolio; a certifier may be asked to attest an
# experience or a skill; a counsellor reads and comments (and takes part in the action plans: see
# "career hypotheses" below). No grant ever gives UPDATE, DELETE or OWN: only the owner changes the portfolio.
GRANT_ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "contributor": frozenset({READ, COMMENT, PROPOSE}),
    "certifier": frozenset({READ, ATTEST_REQUEST}),
    "guardian": frozenset({READ}),
    "counsellor": frozenset({READ, COMMENT}),
}
GRANT_KIND_ACTIONS: dict[str, frozenset[str]] = {
    "portfolio": frozenset({READ, PROPOSE}),
    "experience": frozenset({READ, COMMENT, ATTEST_REQUEST}),
    "skill": frozenset({READ, COMMENT, ATTEST_REQUEST}),
    "diploma": frozenset({READ, COMMENT}),
    "document": frozenset({READ, COMMENT}),
    "credential": frozenset({READ, COMMENT}),
    "journal": frozenset({READ}),
}
KIND_OF = {Experience: "experience", Skill: "skill", Diploma: "diploma", Document: "document",
           JournalEntry: "journal", Credential: "credential"}
MODEL_OF = {kind: model for model, kind in KIND_OF.items()}
# A badge earned elsewhere (the backpack, issue 11) is a credential to whoever the owner shares with: the
# "credentials" section covers it, and a scope may name one by its id under the type "credential" (ids
# are UUID4: never the same as an issued credential's).
KIND_OF_SHARED = {**KIND_OF, ExternalCredential: "credential"}
# The section that holds each kind of item. ``"all"`` covers every section but the journal (a private
# reflection, shared only when the owner names its section); ``profile`` is the bio and contact details.
SECTION_OF = {"experience": "experiences", "skill": "skills", "diploma": "diplomas", "document": "documents",
              "credential": "credentials", "journal": "journal"}
ALL = object()  # ``scope_selection``: every item of the kind


def grant_allows(role: str, kind: str, action: str) -> bool:
    """The table alone: may a grant of ``role`` give ``action`` on an object of ``kind`` (in scope)?"""
    return action in GRANT_ROLE_ACTIONS.get(role, ()) and action in GRANT_KIND_ACTIONS.get(kind, ())


def scope_selection(grant: Grant, kind: str):
    """Which items of ``kind`` the grant's scope covers: ``ALL``, or a frozenset of their ids.

    The one scope resolution: ``can`` (single reads) and ``shared_filter`` (every list, count and search
    a grantee sees) both come from it, so that a list never shows what a read would refuse.
    """
    section = SECTION_OF.get(kind)
    scope = grant.scope
    if grant.role == "guardian" or scope == "all":
        if kind == "journal":  # named only, even for a guardian
            named = scope if isinstance(scope, list) else []
            return ALL if {"type": "section", "id": "journal"} in named else frozenset()
        return ALL
    if not isinstance(scope, list):
        return frozenset()
    ids = set()
    for entry in scope:
        if not isinstance(entry, dict):
            continue
        if entry.get("type") == "section" and section is not None and entry.get("id") == section:
            return ALL
        if entry.get("type") == kind:
            key = parse_id(entry.get("id"))
            if key is not None:
                ids.add(key)
    return frozenset(ids)


def covers_section(grant: Grant, section: str) -> bool:
    """Whether the grant shows a whole section (``profile``: the bio and contact details)."""
    if section == "journal":
        return scope_selection(grant, "journal") is ALL
    return grant.role == "guardian" or grant.scope == "all" or (
        isinstance(grant.scope, list) and {"type": "section", "id": section} in grant.scope)


def active_clause(now: datetime):
    """The SQL condition of a grant that gives rights at ``now`` (the same as ``Grant.is_active``): accepted,
    not revoked, not expired, on the portfolio of an account that is not suspended, and not one of a minor's
    grants to outsiders waiting for a guardian's consent (``minors.grants_waiting_for_consent``)."""
    # Not correlated on purpose: the callers' own queries may join users or portfolios.
    suspended = (select(Portfolio.id).join(User, User.id == Portfolio.owner_id)
                 .where(User.suspended_at.is_not(None)).correlate(None))
    from app.services.minors import grants_waiting_for_consent  # noqa: PLC0415 - the services import policy

    return and_(Grant.accepted_at.is_not(None), Grant.revoked_at.is_(None),
                or_(Grant.expires_at.is_(None), Grant.expires_at > now), Grant.portfolio_id.not_in(suspended),
                Grant.id.not_in(grants_waiting_for_consent(now.date())))


def reaches_clause(user: User):
    """The SQL condition of a grant that names ``user``: accepted by them, or made to the staff of a group
    where they hold the role the grant names (any staff role when it names none) while they are still
    on the staff of that group's institution, the group is not archived (app/models/institutions.py) and
    the institution is approved and not closed."""
    return or_(Grant.grantee_id == user.id, and_(Grant.group_id.is_not(None), exists().where(
        GroupStaff.group_id == Grant.group_id, GroupStaff.user_id == user.id,
        or_(Grant.group_role.is_(None), GroupStaff.role == Grant.group_role),
        Group.id == GroupStaff.group_id, Group.archived_at.is_(None),
        Membership.organisation_id == Group.organisation_id, Membership.user_id == user.id,
        Membership.role.in_(STAFF_ROLES), Membership.accepted_at.is_not(None),  # accepted by them (issue 13)
        # and the institution is approved and open: a closed or refused one's staff reach nothing (review 14, L8)
        Organisation.id == Group.organisation_id, Organisation.status == "approved",
        Organisation.closed_at.is_(None))))


def active_grants(user, portfolio) -> list[Grant]:
    """The user's grants on ``portfolio`` (an object or its id) that give rights now: accepted, not
    revoked, not expired. Empty for anyone not signed in, and for the owner (who needs none)."""
    if not isinstance(user, User) or not getattr(user, "is_authenticated", False):
        return []
    portfolio_id = getattr(portfolio, "id", portfolio)
    return list(db.session.scalars(select(Grant).where(
        reaches_clause(user), Grant.portfolio_id == portfolio_id, active_clause(utcnow()))))


def _granted(user: User, action: str, portfolio_id, kind: str, object_id) -> bool:
    for grant in active_grants(user, portfolio_id):
        if not grant_allows(grant.role, kind, action):
            continue
        if kind == "portfolio":
            return True  # every active grant opens the portfolio itself (its name, its shared sections)
        selection = scope_selection(grant, kind)
        if selection is ALL or object_id in selection:
            return True
    return False


def shared_filter(grants: list[Grant], model, action: str = READ):
    """The SQL condition for the items of ``model`` that ``grants`` give ``action`` on: the same
    decision as ``can`` for each row, so that lists, counts and searches agree with single reads."""
    kind = KIND_OF_SHARED[model]
    clauses = []
    for grant in grants:
        if not grant_allows(grant.role, kind, action):
            continue
        selection = scope_selection(grant, kind)
        in_portfolio = model.portfolio_id == grant.portfolio_id
        if selection is ALL:
            clauses.append(in_portfolio)
        elif selection:
            clauses.append(and_(in_portfolio, model.id.in_(sorted(selection, key=str))))
    if not clauses:
        return false()
    condition = or_(*clauses)
    if model in (Credential, ExternalCredential):  # hidden by the owner: shown to nobody
        condition = and_(condition, model.hidden.is_(False))
    return condition


# Actions on a grant itself: the owner manages it; the invitee reads it and accepts it while pending.
# Accepting needs the account's address to be the invited one: by the e-mailed link (``accept_by_link``,
# the token proving the mailbox), or by id from the API (``accept``), then only from a verified address,
# since anyone may sign up with an address they do not hold. The owner never accepts their own.
GRANT_OWNER_ACTIONS = frozenset({READ, UPDATE, DELETE})


def _can_grant(user: User, action: str, grant: Grant) -> bool:
    if _owns_portfolio(user, grant.portfolio_id):
        return action in GRANT_OWNER_ACTIONS
    if action == READ:
        return grant.grantee_id == user.id or (
            grant.grantee_id is None and grant.email == (user.email or "").lower() and user.is_verified)
    if action in ("accept", "accept_by_link"):
        return (grant.status == "pending" and grant.grantee_id is None
                and grant.email == (user.email or "").lower()
                and (action == "accept_by_link" or user.is_verified))
    return False


def parse_id(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def get_or_404(model: type[T], object_id, user, action: str = READ) -> T:
    """Load ``model`` by its public id if ``user`` may ``action`` it; else 404 (never 403: no leak)."""
    key = parse_id(object_id)
    obj = db.session.get(model, key) if key is not None else None
    if obj is None or not can(user, action, obj):
        abort(404)
    return obj


# --- working together: comments, message threads, proposals (issue 9, collab) ---------------------------
# Built on the grants' rules above: ``can(user, COMMENT, item)`` and ``can(user, PROPOSE, portfolio)``
# say what an invited person may do; the owner may always comment on (reply about) their own items and
# read every thread of their portfolio. A thread is open to the invited person only while their grant is
# active (``Grant.is_active``); the owner keeps reading it after a revocation but can no longer write to
# someone who lost access.

def owns_portfolio(user, portfolio_id) -> bool:
    return isinstance(user, User) and user.is_authenticated and _owns_portfolio(user, portfolio_id)


def may_comment(user, item) -> bool:
    """Comments are a conversation between the owner and the people who may comment on the item (its
    contributors): they read and write them; a viewer, guardian or certifier sees none of them (the
    grant shares the item, not what others said about it)."""
    return owns_portfolio(user, item.portfolio_id) or can(user, COMMENT, item)


def may_read_thread(user, grant) -> bool:
    """The owner always (the history stays theirs); the grantee while the grant is active."""
    if owns_portfolio(user, grant.portfolio_id):
        return True
    return isinstance(user, User) and grant.grantee_id == user.id and grant.is_active()


def may_write_thread(user, grant) -> bool:
    """Both parties, while the grant is active: nobody writes to a person who lost access."""
    return grant.is_active() and may_read_thread(user, grant)


# --- career hypotheses and action plans (issue 12, path) ------------------------------------------------
# The owner does anything to their hypotheses and plans. An invited counsellor (a grant with the
# ``counsellor`` role, the role exists for this) reads every hypothesis and plan of the portfolio, and
# takes part in the plan (``PLAN``: proposes goals, writes appointment notes, comments), whatever the
# grant's scope, which decides the portfolio's items only (the gap analysis a counsellor sees is computed
# from the skills in that scope: ``app.services.path``). Other roles see no plan. Nobody but the author
# changes a plan item's words; whose words they are is ``PlanItem.author_role``; ``app.services.path``
# applies it. Nothing of a plan is ever deleted but the whole hypothesis, by its owner.
PATH_ROLE_ACTIONS: dict[str, frozenset[str]] = {"counsellor": frozenset({READ, PLAN})}
PATH_OWNER_ACTIONS = frozenset({READ, UPDATE, DELETE, PLAN})


def _can_path(user, action: str, obj) -> bool:
    if not isinstance(user, User):
        return False
    if _owns_portfolio(user, obj.portfolio_id):
        return action in PATH_OWNER_ACTIONS
    return any(action in PATH_ROLE_ACTIONS.get(grant.role, ()) for grant in active_grants(user, obj.portfolio_id))


def path_role(user, portfolio_id) -> str | None:
    """``owner``, ``counsellor`` (an active counsellor grant), or None: who the user is to a plan."""
    if owns_portfolio(user, portfolio_id):
        return "owner"
    if any(PLAN in PATH_ROLE_ACTIONS.get(grant.role, ()) for grant in active_grants(user, portfolio_id)):
        return "counsellor"
    return None


# --- pages and share links ---------------------------------------------------------------------------
# A page and a share link belong to the portfolio they name: only its owner reads, changes, deletes them.
# Visitors of ``/s/<token>`` are no principal here: the link itself is their right, checked by
# ``app.services.share_links.open`` (state, password), and it reaches exactly the page it names.
def _can_sharing(user, action: str, obj) -> bool:
    return isinstance(user, User) and action in (READ, UPDATE, DELETE) and _owns_portfolio(user, obj.portfolio_id)


# --- S'informer: events and offers (issue 12, feed) -----------------------------------------------------
# Everyone signed in reads a published event; its publisher (the organisation's members who may publish,
# or any platform admin for the platform's own events) also reads a withdrawn one, changes and withdraws
# it. Publishing is organisation data (``ORG_RULES["publish"]``); the platform's events need an admin.
def may_publish(user, organisation: Organisation | None) -> bool:
    if organisation is None:
        return isinstance(user, User) and user.is_authenticated and user.is_admin
    return can(user, "publish", organisation)


def _can_event(user, action: str, event: Event) -> bool:
    if action == READ and event.status == PUBLISHED:
        return True
    if action in (READ, UPDATE, "withdraw"):
        return may_publish(user, event.organisation)
    return False
