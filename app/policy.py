"""The one place that decides who may do what to which object. Default: deny.

Views and API routes never compare owners themselves: they call ``can`` or ``get_or_404``. Another
person's object answers 404, exactly as a missing one, so that ids reveal nothing.

Organisations grow by data: ``ORG_RULES`` says which role may do which action, and whether the
organisation must be approved (an unapproved one can do nothing but show its request to its members).
Principals: a ``User`` (by their membership), an ``OrganisationPrincipal`` (an organisation token, for its
own organisation only), the ``OPERATOR`` (the command line). Platform admins decide requests
(``reviews_requests``) and get no member right and no portfolio content.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

from flask import abort
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Achievement, Diploma, Document, Experience, JournalEntry, Membership, Organisation, Portfolio, Skill, User,
)
from app.models.issuing import APPROVED, PENDING
from app.models.pages import Page, ShareLink

T = TypeVar("T")

READ, UPDATE, DELETE = "read", "update", "delete"
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
}
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
    return db.session.scalar(select(Membership.role).where(Membership.organisation_id == organisation.id,
                                                           Membership.user_id == user.id))


def reviews_requests(user) -> bool:
    """Platform admins (and the operator) see and decide organisation requests, and nothing inside them."""
    return isinstance(user, Operator) or (isinstance(user, User) and user.is_authenticated and user.is_admin)


def _can_organisation(user, action: str, organisation: Organisation) -> bool:
    rule = ORG_RULES.get(action)
    if rule is None:
        return False
    roles, needs_approval = rule
    if needs_approval and organisation.status != APPROVED:
        return False
    if action == "decide" and organisation.status != PENDING:
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
        return obj.owner_id == user.id
    if isinstance(obj, PORTFOLIO_ITEMS):
        return _owns_portfolio(user, obj.portfolio_id)
    if isinstance(obj, User):
        return obj.id == user.id
    if isinstance(obj, (Page, ShareLink)):
        return _can_sharing(user, action, obj)
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


# --- pages and share links ---------------------------------------------------------------------------
# A page and a share link belong to the portfolio they name: only its owner reads, changes, deletes them.
# Visitors of ``/s/<token>`` are no principal here: the link itself is their right, checked by
# ``app.services.share_links.open`` (state, password), and it reaches exactly the page it names.
def _can_sharing(user, action: str, obj) -> bool:
    return isinstance(user, User) and action in (READ, UPDATE, DELETE) and _owns_portfolio(user, obj.portfolio_id)
