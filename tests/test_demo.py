"""`sillage demo`: the demo story loads, loads only once, and its printed logins work."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from app import demo
from app.extensions import db
from app.models import EXPERIENCE_KINDS, Diploma, Experience, JournalEntry, Portfolio, Skill, User
from tests.conftest import login

LOGIN_LINE = re.compile(r"^\s+(\S+@\S+)\s+password: (\S+)", re.MULTILINE)


def run_demo(app, *args: str):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Portfolio, Experience, Diploma, Skill, JournalEntry)}


def portfolio_of(email: str) -> Portfolio:
    return db.session.scalars(select(Portfolio).join(User).where(User.email == email)).one()


def test_demo_tells_a_rich_story(app):
    output = run_demo(app)
    assert "Demo logins:" in output
    ines = portfolio_of("ines.martin@example.org")
    assert ines.display_name == "Inès Martin" and ines.bio
    kinds = {e.kind for e in ines.experiences}
    assert {"internship", "job", "volunteering", "family", "sport", "culture", "education"} <= kinds
    assert kinds <= set(EXPERIENCE_KINDS)
    assert sum(e.kind == "internship" for e in ines.experiences) >= 3
    assert len(ines.diplomas) >= 3
    assert 8 <= len(ines.skills) <= 12
    assert all(skill.experiences for skill in ines.skills), "every skill is backed by an experience"
    assert all(1 <= skill.level <= 4 for skill in ines.skills)
    assert any(skill.framework.startswith("ESCO") for skill in ines.skills)
    assert 3 <= len(ines.journal_entries) <= 4
    # Journal entries were written over time, so the journal reads in order.
    assert len({entry.created_at for entry in ines.journal_entries}) == len(ines.journal_entries)

    counsellor = db.session.scalars(select(User).where(User.email == "claire.dubois@example.org")).one()
    assert counsellor.role == "counsellor" and counsellor.is_verified and not counsellor.is_admin
    assert counsellor.portfolio.experiences and counsellor.portfolio.skills


def test_demo_is_idempotent(app):
    first_output = run_demo(app)
    first = counts()
    second_output = run_demo(app)
    assert counts() == first
    assert second_output == first_output


def test_demo_keeps_an_existing_account_untouched(app):
    run_demo(app)
    ines = portfolio_of("ines.martin@example.org")
    ines.headline = "Changed by Inès herself"
    db.session.commit()
    run_demo(app)
    db.session.expire_all()
    assert portfolio_of("ines.martin@example.org").headline == "Changed by Inès herself"


def test_printed_demo_logins_work(app):
    logins = LOGIN_LINE.findall(run_demo(app))
    assert {email for email, _ in logins} == {a.email for a in demo.DEMO_ACCOUNTS}
    for email, password in logins + [(logins[0][0], "not-the-demo-password")]:
        # A fresh application context per visitor: Flask-Login caches the signed-in user on ``g``.
        with app.app_context():
            client = app.test_client()
            response = login(client, email, password)
            if password == "not-the-demo-password":
                assert response.status_code != 302
            else:
                assert response.status_code == 302, (email, response.data[:300])
                assert client.get("/dashboard").status_code == 200


def test_demo_portfolio_is_shown_on_the_timeline(app, client):
    run_demo(app)
    account = demo.DEMO_ACCOUNTS[0]
    assert login(client, account.email, account.password).status_code == 302
    page = client.get("/timeline")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Boulangerie Le Fournil d&#39;Anna" in text or "Boulangerie Le Fournil d'Anna" in text
    assert "Erasmus+" in text



def test_demo_imports_martines_resume_once(app):
    """Issue 11's import in the demo: Martine's JSON Resume, through the import service, idempotent."""
    run_demo(app)
    martine = portfolio_of("martine.leclerc@example.org")
    assert sorted(e.title for e in martine.experiences) == ["Responsable de magasin", "Vendeuse"]
    assert {s.name for s in martine.skills} == {"Tutorat de stagiaires", "Gestion des stocks"}
    assert martine.headline == "Responsable de magasin, tutrice de stagiaires"
    from app.models.imports import ImportFingerprint

    made = db.session.scalar(select(func.count()).select_from(ImportFingerprint)
                             .where(ImportFingerprint.portfolio_id == martine.id))
    assert made >= 5  # recorded as an import: a second import of the file finds everything there
    run_demo(app)
    assert db.session.scalar(select(func.count()).select_from(ImportFingerprint)
                             .where(ImportFingerprint.portfolio_id == martine.id)) == made
    assert len(portfolio_of("martine.leclerc@example.org").experiences) == 2


def test_the_demo_has_a_platform_admin_who_reaches_the_indicators(app):
    """Audit 15, #20: `/admin/indicators` can be tried from `sillage demo` (README's demo accounts name it)."""
    run_demo(app)
    admins = db.session.scalars(select(User).where(User.is_admin.is_(True))).all()
    assert [u.email for u in admins] == ["admin.plateforme@example.org"]
    account = next(a for a in demo.DEMO_ACCOUNTS if a.email == "admin.plateforme@example.org")
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"`{account.email}` | `{account.password}`" in readme
    client = app.test_client()
    assert login(client, account.email, account.password).status_code == 302
    page = client.get("/admin/indicators")
    assert page.status_code == 200 and "Lycée professionnel Les Trois-Rivières" in page.get_data(as_text=True)
    ines = next(a for a in demo.DEMO_ACCOUNTS if a.email == "ines.martin@example.org")
    with app.app_context():
        other = app.test_client()
        login(other, ines.email, ines.password)
        assert other.get("/admin/indicators").status_code == 404
