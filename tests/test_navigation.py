"""The grouped navigation: which links each kind of person sees, that each answers 200 for them, that the
pages it hides really refuse them, and the markup that makes it work without JavaScript."""
from __future__ import annotations

import re
from datetime import date

import pytest

from app.extensions import db
from app.models.institutions import Enrolment
from app.services import guardians, institutions
from app.services import grants as grant_service
from tests.conftest import login
from tests.test_institutions import school

# Every link of the former flat menu: none may be lost (plain signed-in adult).
EVERYONE = ["/dashboard", "/timeline", "/experiences", "/diplomas", "/skills", "/journal", "/path", "/frameworks",
            "/profile", "/vault", "/portfolio/credentials", "/portfolio/backpack/add", "/portfolio/attestations",
            "/organisations", "/portfolio/sharing", "/pages", "/cvs", "/shared", "/portfolio/inbox", "/feed"]
PLATFORM_ADMIN = ["/admin/organisations", "/admin/indicators", "/admin/audit", "/admin/accounts",
                  "/admin/frameworks"]


def nav_links(client, url="/dashboard") -> list[str]:
    page = client.get(url)
    assert page.status_code == 200
    nav = re.search(r'<nav class="main-nav".*?</nav>', page.get_data(as_text=True), re.S)
    assert nav, "no main menu"
    return re.findall(r'<a href="([^"]+)"', nav.group(0))


def years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


@pytest.fixture
def people(app, make_user):
    """A school with a head, a teacher of 4e B, an enrolled 13-year-old pupil, their guardian, a plain adult
    and a platform admin."""
    org, head = school(make_user, "Collège Nav")
    group = institutions.create_group(db.session, org, name="4e B")
    teacher = make_user("teacher@college.example")
    institutions.add_staff(db.session, org, group, email=teacher.email, role="teacher")
    pupil = make_user("pupil@eleve.example")
    pupil.birth_date = years_ago(13)
    db.session.add(Enrolment(organisation_id=org.id, group_id=group.id, family_name="Élève", given_name="Léa",
                             birth_date=pupil.birth_date, user_id=pupil.id, guardian_emails=["parent@example.org"]))
    guardian = make_user("parent@example.org")
    _grant, raw = guardians.invite(db.session, pupil, guardian.email)
    grant_service.accept_by_link(db.session, guardian, raw)
    adult = make_user("adult@example.org")
    admin = make_user("admin@example.org")
    admin.is_admin = True
    db.session.commit()
    return dict(org=org, group=group, head=head, teacher=teacher, pupil=pupil, guardian=guardian, adult=adult,
                admin=admin)


def test_each_kind_of_person_sees_the_links_they_may_use_and_each_answers_200(app, people):
    org = people["org"]
    head_pages = [f"/institutions/{org.id}", f"/organisations/{org.id}/indicators"]
    expected = {
        "adult": (EVERYONE, ["/institutions", "/guardians", *PLATFORM_ADMIN, *head_pages]),
        "pupil": (EVERYONE + ["/institutions", "/guardians"], [*PLATFORM_ADMIN, *head_pages]),
        "guardian": (EVERYONE + ["/guardians"], ["/institutions", *PLATFORM_ADMIN, *head_pages]),
        "teacher": (EVERYONE + ["/institutions"], ["/guardians", *PLATFORM_ADMIN, *head_pages]),
        "head": (EVERYONE + ["/institutions", *head_pages], ["/guardians", *PLATFORM_ADMIN]),
        "admin": (EVERYONE + PLATFORM_ADMIN, ["/institutions", "/guardians", *head_pages]),
    }
    for kind, (shown, hidden) in expected.items():
        client = app.test_client()
        assert login(client, people[kind].email).status_code == 302
        links = nav_links(client)
        for url in shown:
            assert url in links, f"{kind} should see {url}"
            assert client.get(url).status_code == 200, f"{kind}: {url}"
        for url in hidden:
            assert url not in links, f"{kind} should not see {url}"
        assert len(links) == len(set(links)), f"{kind}: a link appears twice"


def test_hidden_pages_really_refuse_those_who_do_not_see_them(client, people):
    """The menu hides exactly what the pages refuse: the adult gets 404 on the admin and head pages."""
    org = people["org"]
    login(client, people["teacher"].email)
    for url in [*PLATFORM_ADMIN, f"/institutions/{org.id}", f"/organisations/{org.id}/indicators"]:
        assert client.get(url).status_code == 404, url


def test_groups_are_details_with_the_current_page_and_section_marked(client, people):
    people["head"].locale = "en"
    db.session.commit()
    login(client, people["head"].email)
    page = client.get("/experiences/new").get_data(as_text=True)
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S).group(0)
    assert nav.count("<details") >= 4 and nav.count("<summary") == nav.count("<details")
    # The section holding the page is marked, and the Experiences link says it is the current section.
    assert re.search(r'<summary class="nav-here">My portfolio<span class="visually-hidden"> \(current section\)', nav)
    assert '<a href="/experiences" aria-current="true">Experiences</a>' in nav
    assert nav.count("nav-here") == 1
    group_page = client.get(f"/institutions/{people['org'].id}/groups/{people['group'].id}").get_data(as_text=True)
    assert f'<a href="/institutions/{people["org"].id}" aria-current="true">Collège Nav</a>' in group_page
    assert '<summary class="nav-here">Administration' in group_page
    on_page = client.get("/timeline").get_data(as_text=True)
    assert '<a href="/timeline" aria-current="page">Timeline</a>' in on_page
    assert "nav.js" in on_page


def test_menu_is_french_for_french_readers(client, people):
    login(client, people["pupil"].email)
    page = client.get("/dashboard", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    nav = re.search(r'<nav class="main-nav".*?</nav>', page, re.S).group(0)
    for label in ("Mon portfolio", "Coffre et preuves", "Partager", "Établissements", "Responsables légaux"):
        assert label in nav, label


def test_visitors_have_no_main_menu(client, people):
    page = client.get("/").get_data(as_text=True)
    assert 'class="main-nav"' not in page and "nav.js" not in page


def test_landing_page_describes_issue_13_and_no_sign_in_service_when_none_is_configured(client, app):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/").get_data(as_text=True)
    for title in ("Arrive with your school", "Parents stay informed", "Figures, never content"):
        assert title in page, title
    assert not app.config.get("OIDC_PROVIDERS")
    assert "Sign in with your school&#39;s account" not in page and "Sign in with your school's account" not in page
