"""The owner's access log: what is recorded, truncated IPs, the owner's own reads, retention."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.database import utcnow
from app.extensions import db
from app.models import AccessEvent
from app.services import access_log


@pytest.mark.parametrize("raw, expected", [
    ("203.0.113.77", "203.0.113.0/24"),
    ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
    ("::ffff:198.51.100.9", "198.51.100.0/24"),
    ("not an address", ""),
    (None, ""),
    ("", ""),
])
def test_ip_addresses_are_truncated(raw, expected):
    assert access_log.truncate_ip(raw) == expected


def test_a_reader_is_recorded_by_name_and_a_link_by_its_label(app, user, make_user):
    reader = make_user("reader@example.org", display_name="Camille Conseil")

    class Link:  # what the pages branch's ShareLink offers: an id and a label
        id = __import__("uuid").uuid4()
        label = "Recruiter at ACME"

    access_log.record(db.session, user.portfolio.id, action="view", actor=reader, ip="203.0.113.77")
    access_log.record(db.session, user.portfolio.id, action="download", object_type="document",
                      object_id=Link.id, share_link=Link(), ip="2001:db8:1:2::3")
    db.session.commit()

    newest, oldest = access_log.events(db.session, user.portfolio.id)
    assert (oldest.actor_label, oldest.actor_id, oldest.ip) == (
        "Camille Conseil <reader@example.org>", reader.id, "203.0.113.0/24")
    assert (newest.share_link_label, newest.share_link_id, newest.actor_id) == ("Recruiter at ACME", Link.id, None)
    assert newest.ip == "2001:db8:1::/48" and newest.object_type == "document"


def test_the_owner_reading_their_own_portfolio_is_not_an_access(app, user):
    assert access_log.record(db.session, user.portfolio.id, action="view", actor=user) is None
    assert access_log.count(db.session, user.portfolio.id) == 0


def test_an_unknown_action_is_refused(app, user):
    with pytest.raises(ValueError):
        access_log.record(db.session, user.portfolio.id, action="edit")


def test_events_older_than_the_retention_period_are_pruned(app, user, make_user):
    reader = make_user("reader@example.org")
    app.config["ACCESS_LOG_DAYS"] = 30
    old = access_log.record(db.session, user.portfolio.id, action="view", actor=reader)
    old.created_at = utcnow() - timedelta(days=31)
    recent = access_log.record(db.session, user.portfolio.id, action="view", actor=reader)
    recent.created_at = utcnow() - timedelta(days=29)
    db.session.commit()

    assert access_log.prune(db.session) == 1
    db.session.commit()
    assert [event.id for event in db.session.query(AccessEvent)] == [recent.id]
    access_log.prune_access_log.call_local()  # the nightly job: nothing more to delete, no error
    assert access_log.count(db.session, user.portfolio.id) == 1


def test_the_retention_defaults_to_twelve_months(app):
    assert app.config["ACCESS_LOG_DAYS"] == 365


def test_the_prune_command(app, user, make_user):
    reader = make_user("reader@example.org")
    old = access_log.record(db.session, user.portfolio.id, action="view", actor=reader)
    old.created_at = utcnow() - timedelta(days=400)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["access-log", "prune"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "1"
    assert access_log.count(db.session, user.portfolio.id) == 0


def test_deleting_accounts_keeps_the_log_lines_anonymous_and_ends_their_grants(app, user, make_user):
    """The owner still sees that someone read their portfolio then; the deleted reader's name and address go
    (issue 11's erasure: nothing that names the person stays)."""
    from sqlalchemy import select

    from app.models import Grant
    from app.services import accounts, grants
    from tests.conftest import PASSWORD

    reader = make_user("reader@example.org", display_name="Camille Conseil")
    grant, raw = grants.invite(db.session, user, email=reader.email, role="viewer")
    grants.accept_by_link(db.session, reader, raw)
    grants.shared_items(db.session, reader, grant, ip="198.51.100.7")
    db.session.commit()
    accounts.delete_account(db.session, reader, PASSWORD)
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(select(Grant)).all() == []
    (event,) = access_log.events(db.session, user.portfolio.id)
    assert (event.actor_id, event.actor_label, event.ip) == (None, "", "198.51.100.0/24")
    accounts.delete_account(db.session, user, PASSWORD)  # the owner's log goes with the portfolio
    db.session.commit()
    assert db.session.scalars(select(AccessEvent)).all() == []
