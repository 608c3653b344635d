"""The one place that decides who may do what to which object. Default: deny.

Views and API routes never compare owners themselves: they call ``can`` or ``get_or_404``. Another
person's object answers 404, exactly as a missing one, so that ids reveal nothing.
"""
from __future__ import annotations

import uuid
from typing import TypeVar

from flask import abort

from app.extensions import db
from app.models import Diploma, Document, Experience, JournalEntry, Portfolio, Skill, User

T = TypeVar("T")

READ, UPDATE, DELETE = "read", "update", "delete"
PORTFOLIO_ITEMS = (Experience, Diploma, Skill, JournalEntry, Document)


def _owns_portfolio(user: User, portfolio_id) -> bool:
    portfolio = user.portfolio
    return portfolio is not None and portfolio.id == portfolio_id


def can(user, action: str, obj) -> bool:
    """May ``user`` perform ``action`` on ``obj``? Anything not explicitly allowed is refused."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if isinstance(obj, Portfolio):
        return obj.owner_id == user.id
    if isinstance(obj, PORTFOLIO_ITEMS):
        return _owns_portfolio(user, obj.portfolio_id)
    if isinstance(obj, User):
        return obj.id == user.id
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
