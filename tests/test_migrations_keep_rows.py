"""Migrating never loses rows (migrations/env.py ``_foreign_keys``).

On SQLite, a batch operation that adds a foreign key or drops a column copies the table and drops the old
one; with foreign keys on, the DROP TABLE cascaded into every table pointing at it: upgrading past the
institutions migration (``grants.group_id``) emptied the message threads of every grant, and downgrading
past ``users.birth_date`` deleted every portfolio. Both directions are walked here over rows that point
at the rebuilt tables.
"""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from app.extensions import db
from app.models import Message, Portfolio
from app.services import collab
from tests.collab_helpers import accepted_grant

BEFORE_INSTITUTIONS = "b1c2d3e4f106"  # the head before grants.group_id and users.birth_date


def _counts():
    return (db.session.scalar(select(func.count()).select_from(Message)),
            db.session.scalar(select(func.count()).select_from(Portfolio)))


def test_a_downgrade_and_upgrade_through_rebuilt_tables_keep_every_row(app, make_user):
    owner = make_user("owner@example.org")
    teacher = make_user("teacher@example.org")
    grant = accepted_grant(owner, teacher)
    collab.post_message(db.session, owner, grant, "Bonjour, voici mon portfolio.")
    collab.post_message(db.session, teacher, grant, "Merci, je le lis.")
    db.session.commit()
    before = _counts()
    assert before == (2, 2)
    db.session.remove()
    downgrade(revision=BEFORE_INSTITUTIONS)
    try:
        assert _counts() == before  # users rebuilt without birth_date: portfolios and threads stay
    finally:
        db.session.remove()
        upgrade()
    assert _counts() == before  # grants rebuilt with group_id: the threads stay
