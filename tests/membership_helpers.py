"""Tests that add a member and then act need an accepted membership: the person accepts the invitation
as they would on their invitations page (``invitations.accept``), rather than weakening the rule that a
pending membership gives no power (issue 13)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Membership, User
from app.services import invitations


def accepted(membership: Membership) -> Membership:
    """The invited person accepts ``membership`` (an account must hold its address)."""
    person = membership.user or db.session.scalars(select(User).where(User.email == membership.email)).one()
    invitations.accept(db.session, person, membership.id)
    return membership


def accept_all(email: str | None = None) -> int:
    """Every pending invitation (of ``email`` only, if given) is accepted by its person; returns how many.
    For tests that invite through a page or the API."""
    query = select(Membership).where(Membership.accepted_at.is_(None))
    if email is not None:
        query = query.where(Membership.email == email.lower())
    rows = list(db.session.scalars(query))
    for row in rows:
        accepted(row)
    db.session.commit()
    return len(rows)
