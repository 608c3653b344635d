"""The `sillage` commands: `users create` (password from standard input) and `demo --accounts N`."""
from __future__ import annotations

from sqlalchemy import func, select

from app import demo
from app.extensions import db
from app.models import Diploma, Experience, JournalEntry, Portfolio, Skill, User
from app.models.portfolio import experience_skills
from tests.conftest import PASSWORD, login


def invoke(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def find_user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == email)).first()


def test_users_create_admin_reads_the_password_from_stdin(app, client):
    result = invoke(app, "users", "create", "Admin@Example.org", "--admin", "--name", "Ada Admin",
                    input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "admin@example.org" in result.output
    user = find_user("admin@example.org")
    assert user.is_admin and user.is_verified
    assert user.portfolio.display_name == "Ada Admin"
    assert PASSWORD not in result.output and PASSWORD not in user.password_hash
    assert login(client, "admin@example.org", PASSWORD).status_code == 302


def test_users_create_without_admin_flag_is_a_plain_verified_account(app):
    assert invoke(app, "users", "create", "plain@example.org", input=PASSWORD + "\n").exit_code == 0
    user = find_user("plain@example.org")
    assert user.is_verified and not user.is_admin


def test_users_create_refuses_a_weak_password(app):
    for weak in ("short", "", "password1234"):
        result = invoke(app, "users", "create", "weak@example.org", "--admin", input=weak + "\n")
        assert result.exit_code != 0, weak
        assert "Error" in result.output
        assert find_user("weak@example.org") is None


def test_users_create_refuses_a_taken_address_and_a_bad_one(app, user):
    result = invoke(app, "users", "create", user.email, input="another long passphrase\n")
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert invoke(app, "users", "create", "not-an-address", input=PASSWORD + "\n").exit_code != 0


def test_demo_accounts_generates_synthetic_portfolios(app, client):
    result = invoke(app, "demo", "--accounts", "50")
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "50 created" in result.output
    bench = db.session.scalars(select(User).where(User.email.like("bench-%@example.org"))).all()
    assert len(bench) == 50
    assert {u.email for u in bench} == {f"bench-{n}@example.org" for n in range(1, 51)}
    assert all(u.is_verified for u in bench)

    portfolio_ids = [u.portfolio.id for u in bench]
    per_account = {pid: 0 for pid in portfolio_ids}
    for model in (Experience, Diploma, Skill, JournalEntry):
        for pid, n in db.session.execute(select(model.portfolio_id, func.count())
                                         .where(model.portfolio_id.in_(portfolio_ids))
                                         .group_by(model.portfolio_id)):
            per_account[pid] += n
    assert all(15 <= n <= 25 for n in per_account.values()), per_account
    kinds = db.session.scalars(select(Experience.kind).distinct()
                               .join(Portfolio).where(Portfolio.id.in_(portfolio_ids))).all()
    assert len(kinds) >= 5, "experiences of mixed kinds"
    assert db.session.scalar(select(func.count()).select_from(experience_skills)) >= 50

    # Every synthetic account can sign in with the printed password and sees its own timeline.
    assert demo.BENCH_PASSWORD in result.output
    assert login(client, "bench-37@example.org", demo.BENCH_PASSWORD).status_code == 302
    assert client.get("/timeline").status_code == 200


def test_demo_accounts_is_idempotent_and_extends(app):
    assert invoke(app, "demo", "--accounts", "10").exit_code == 0
    experiences = db.session.scalar(select(func.count()).select_from(Experience))
    again = invoke(app, "demo", "--accounts", "10")
    assert again.exit_code == 0 and "0 created" in again.output
    assert db.session.scalar(select(func.count()).select_from(Experience)) == experiences
    more = invoke(app, "demo", "--accounts", "12")
    assert "2 created" in more.output and "10 already there" in more.output
    assert db.session.scalar(select(func.count()).select_from(User).where(
        User.email.like("bench-%@example.org"))) == 12


def test_synthetic_content_is_deterministic(app):
    """Account n gets the same content whichever run creates it (seeded per account)."""
    invoke(app, "demo", "--accounts", "3")
    first = find_user("bench-3@example.org").portfolio
    snapshot = (first.display_name, sorted(e.title for e in first.experiences))
    db.session.delete(find_user("bench-3@example.org"))
    db.session.commit()
    invoke(app, "demo", "--accounts", "3")
    again = find_user("bench-3@example.org").portfolio
    assert (again.display_name, sorted(e.title for e in again.experiences)) == snapshot
