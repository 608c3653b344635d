"""In a real browser: the platform admin opens the indicators from the menu (SVG charts beside their tables,
CSV export), filters by institution, then suspends an account — whose owner, with the right password, is
told it is suspended — and reinstates it."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.e2e.test_institutions_browser import menu, screenshot
from tests.e2e.test_issuers import PASSWORD, account, sign_in

pytestmark = pytest.mark.e2e

ADMIN, HEAD, PERSON = "root@sillage-e2e.example", "head@lycee-e2e.example", "citizen@e2e.example"
SCHOOL = "Lycée E2E du Port"


def row_value(page, section: str, label: str) -> str:
    return page.locator(f"section[aria-labelledby=h-{section}] tbody tr", has_text=label).locator("td.num").inner_text()


def test_indicators_filter_csv_then_suspend_and_reinstate(browser, live_server):
    account(live_server, ADMIN, "--admin")
    account(live_server, HEAD)
    account(live_server, PERSON)
    live_server.run("orgs", "create", SCHOOL, "--admin", HEAD, "--approve", "--kind", "school")
    admin_context, person_context = (browser.new_context(base_url=live_server.url, locale="en-GB",
                                                         accept_downloads=True) for _ in range(2))
    admin, person = admin_context.new_page(), person_context.new_page()
    try:
        sign_in(admin, ADMIN)
        screenshot(admin, "nav-admin")
        menu(admin).get_by_text("Administration").click()
        screenshot(admin, "nav-admin-open")
        menu(admin).get_by_role("link", name="Indicators", exact=True).click()
        admin.wait_for_url("**/admin/indicators")
        # Each section: a server-drawn SVG chart (titled) beside the table of its numbers.
        sections = admin.locator("main section.indicator")
        assert sections.count() >= 4
        first = sections.first
        assert first.locator("svg.chart[role=img] title").count() == 1
        assert first.locator("svg.chart rect").count() >= 1
        assert row_value(admin, "accounts_by_kind", "Platform admins") == "1"
        assert int(row_value(admin, "accounts_by_kind", "People")) == 3
        with admin.expect_download() as download_info:
            admin.get_by_role("link", name="Export as CSV").click()
        exported = Path(download_info.value.path()).read_text()
        rows = list(csv.reader(io.StringIO(exported)))
        assert any("Platform admins" in row and "1" in row for row in rows), rows[:10]

        admin.get_by_label("Organisation", exact=True).select_option(label=SCHOOL)
        admin.get_by_role("button", name="Show").click()
        admin.wait_for_url(re.compile(r"/admin/indicators\?org=[0-9a-f-]{36}"))
        assert SCHOOL in admin.locator("h1").inner_text()
        # Organisation figures count only the people who activated or joined an enrolment there, never members
        # added without being asked (review 14, M4): this school has a head and no pupil yet.
        assert int(row_value(admin, "accounts_by_kind", "People")) == 0
        assert admin.locator("section[aria-labelledby=h-members_by_role]").count() == 1

        # Suspend, then the person is told (right password) — and reinstate.
        menu(admin).get_by_text("Administration").click()
        menu(admin).get_by_role("link", name="Accounts").click()
        admin.get_by_label("E-mail address").fill(PERSON)
        admin.get_by_role("button", name="Find").click()
        admin.get_by_label("Reason (kept in the audit log)").fill("Reported for spam by the school.")
        admin.get_by_role("button", name="Suspend this account").click()
        assert PERSON in admin.locator("section[aria-labelledby=suspended-heading]").inner_text()

        person.goto("/login")
        form = person.locator("main form:has(input[name=password])")
        form.locator("input[name=email]").fill(PERSON)
        form.locator("input[name=password]").fill("not the password at all")
        form.locator("[type=submit]").first.click()
        assert "The e-mail address or the password is not right." in person.locator("main").inner_text()
        form.locator("input[name=email]").fill(PERSON)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("[type=submit]").first.click()
        assert "Your account is suspended" in person.locator("h1").inner_text()
        assert "spam" not in person.locator("main").inner_text().lower()

        admin.locator("section[aria-labelledby=suspended-heading] tr", has_text=PERSON) \
            .get_by_role("button", name="Reinstate").click()
        assert PERSON not in admin.locator("section[aria-labelledby=suspended-heading]").inner_text()
        sign_in(person, PERSON)
        assert person.url.endswith("/dashboard")
        # A person who is no admin has no Administration menu.
        assert menu(person).get_by_text("Administration").count() == 0
    finally:
        admin_context.close()
        person_context.close()
