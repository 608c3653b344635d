"""In a real browser (Debian's chromium): a head imports a roster on the institution page (preview, import,
progress to the end, activation letters as a PDF); a pupil activates their account from the e-mailed code,
shares with their group's teachers, and the teacher reads the shared portfolio; the grouped menu opens with
the keyboard at phone width. Screenshots of the menu land in ``SILLAGE_E2E_SCREENSHOTS`` when it is set."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pypdfium2
import pytest
from playwright.sync_api import expect

from tests.e2e.test_cv import add_experience
from tests.e2e.test_issuers import PASSWORD, account, sign_in
from tests.e2e.test_issuing import mail_link

pytestmark = pytest.mark.e2e

HEAD, TEACHER, PUPIL = "head@college-e2e.example", "teacher@college-e2e.example", "lea@eleve-e2e.example"
SCHOOL = "Collège E2E des Sources"
ROSTER = ("nom;prénom;date_naissance;classe;email;ine;email_responsable\n"
          f"Durand;Léa;12/03/2009;3e A;{PUPIL};;\n"
          "Petit;Tom;05/06/2009;3e A;;;parents.petit@example.org\n")
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4})\b")


def screenshot(page, name: str) -> None:
    folder = os.environ.get("SILLAGE_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def activation_code(outbox: Path, address: str) -> str:
    """The code of the activation e-mail the roster job sent to ``address`` (the job runs in the consumer)."""
    return mail_link(outbox, address, CODE, timeout=60)


def menu(page):
    return page.get_by_role("navigation", name="Main menu")


@pytest.fixture(scope="module")
def school(live_server):
    account(live_server, HEAD)
    account(live_server, TEACHER)
    live_server.run("orgs", "create", SCHOOL, "--admin", HEAD, "--approve", "--kind", "school")
    return live_server


def test_head_imports_a_roster_and_prints_letters_then_a_pupil_shares_with_the_teachers(browser, school,
                                                                                        tmp_path):
    contexts = [browser.new_context(base_url=school.url, locale="en-GB", accept_downloads=True)
                for _ in range(3)]
    for context in contexts:
        context.set_default_timeout(20_000)
    head, pupil, teacher = (context.new_page() for context in contexts)
    try:
        # (a) The head reaches the institution from the menu's Administration group.
        sign_in(head, HEAD)
        menu(head).get_by_text("Administration").click()
        menu(head).get_by_role("link", name=SCHOOL, exact=True).click()
        head.wait_for_url(re.compile(r"/institutions/[0-9a-f-]{36}$"))
        screenshot(head, "nav-head")
        roster = tmp_path / "roster.csv"
        roster.write_bytes(ROSTER.encode("cp1252"))   # Windows-1252, as a spreadsheet saves it
        head.locator("input[name=file]").set_input_files(str(roster))
        head.get_by_role("button", name="Preview").click()
        assert head.locator('[data-count="add"]').inner_text() == "2"
        assert head.locator('[data-count="error"]').inner_text() == "0"
        rows = head.locator("table.roster-preview tbody").inner_text()
        assert "Léa Durand" in rows and "Tom Petit" in rows and "3e A" in rows
        head.get_by_role("button", name="Import").click()
        # The progress page refreshes itself until the job is done.
        head.locator('[data-status="done"]').wait_for(timeout=60_000)
        assert head.locator('[data-action="add"]').get_attribute("data-count") == "2"
        assert head.locator("progress").get_attribute("value") == "100"
        head.get_by_role("link", name="Back to the institution").click()
        head.get_by_role("link", name="3e A").click()
        assert "Léa Durand" in head.locator("main table").inner_text()
        head.get_by_label(re.compile(r"^Their e-mail")).fill(TEACHER)
        head.get_by_label("Role").select_option("teacher")
        head.get_by_role("button", name="Add", exact=True).click()
        assert f"{TEACHER} — Teacher" in head.locator("main").inner_text()
        # The teacher is on the staff only once they accept the invitation (nobody is enrolled without
        # their consent): until then the group's shares reach nobody.
        sign_in(teacher, TEACHER)
        teacher.goto("/organisations")
        teacher.locator("[data-invitation]").get_by_role("button", name=re.compile("^Accept")).click()
        teacher.wait_for_url("**/organisations")
        assert teacher.locator("[data-invitation]").count() == 0
        # (b) Léa activates her account with the e-mailed code, then shares with her group's teachers.
        code = activation_code(school.instance / "outbox", PUPIL)
        # The e-mail's link carries the code in the fragment (never sent to the server): the page's script
        # puts it in the form and drops it from the address bar (review 14, L4).
        pupil.goto(f"/activate#code={code}")
        assert pupil.get_by_label("Activation code").input_value() == code
        assert "#" not in pupil.url
        pupil.get_by_label("Your e-mail address").fill(PUPIL)
        pupil.get_by_label("Choose a password").fill(PASSWORD)
        pupil.get_by_label("The password again").fill(PASSWORD)
        pupil.get_by_role("button", name="Activate").click()
        pupil.wait_for_url("**/login")
        assert "Your account is active" in pupil.locator(".flashes").inner_text()
        form = pupil.locator("main form:has(input[name=password])")
        form.locator("input[name=email]").fill(PUPIL)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("[type=submit]").first.click()
        pupil.wait_for_url(lambda url: "/login" not in url)
        assert pupil.locator("form.logout-form").count() == 1, pupil.locator("main").inner_text()[:500]
        # Letters are printed for the pupils not active yet: Tom only now (new codes each time).
        head.reload()
        with head.expect_download() as download_info:
            head.get_by_role("button", name=re.compile("Print the activation letters")).click()
        letters = Path(download_info.value.path()).read_bytes()
        assert letters.startswith(b"%PDF-")
        pdf = pypdfium2.PdfDocument(letters)
        assert len(pdf) == 1   # one page per pupil not yet active: Léa has activated
        first_page = pdf[0].get_textpage().get_text_range()
        assert "Tom" in first_page and "Léa" not in first_page

        add_experience(pupil, "sport", "Capitaine de l'équipe de hand", "2023-09-01", "Entraînements du mercredi.")
        pupil.goto("/dashboard")
        screenshot(pupil, "nav-pupil")
        menu(pupil).get_by_text("Share", exact=True).click()
        menu(pupil).get_by_role("link", name="Institutions").click()
        pupil.get_by_label("Who").select_option("teacher")
        pupil.get_by_role("button", name="Share", exact=True).click()
        assert f"This reaches: {TEACHER}" in pupil.locator(".flashes").inner_text()

        # The teacher sees the shared portfolio from the institutions page and reads it.
        teacher.goto("/dashboard")
        menu(teacher).get_by_text("Share", exact=True).click()
        menu(teacher).get_by_role("link", name="Institutions").click()
        shared = teacher.locator("main section[aria-labelledby=shared-heading] li a")
        assert shared.count() == 1
        shared.first.click()
        assert "Capitaine de l'équipe de hand" in teacher.locator("main").inner_text()
        # The teacher does not head the school: no Administration group, and its page is refused.
        assert menu(teacher).get_by_text("Administration").count() == 0
        assert teacher.goto(head.url.split("/groups/")[0]).status == 404
    finally:
        for context in contexts:
            context.close()


def test_menu_opens_with_the_keyboard_at_phone_width(browser, school):
    context = browser.new_context(base_url=school.url, locale="en-GB", viewport={"width": 375, "height": 740},
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_in(page, HEAD)
        vault_link = menu(page).get_by_role("link", name="Vault", exact=True)
        expect(vault_link).to_be_hidden()     # groups start closed
        summary = menu(page).locator("summary", has_text="Vault and proof")
        summary.focus()
        page.keyboard.press("Enter")
        expect(vault_link).to_be_visible()
        box, width = vault_link.bounding_box(), page.viewport_size["width"]
        assert box["x"] >= 0 and box["x"] + box["width"] <= width   # inside the phone's width
        # Nothing overflows sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, "nav-phone-open")
        page.keyboard.press("Tab")                # into the open list: its first link
        assert page.evaluate("document.activeElement.textContent") == "Vault"
        page.keyboard.press("Escape")              # closes, focus back on the group's title
        expect(vault_link).to_be_hidden()
        assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
        # Opening another group closes the first one.
        page.keyboard.press("Enter")
        menu(page).locator("summary", has_text="Share").click()
        expect(vault_link).to_be_hidden()
        expect(menu(page).get_by_role("link", name="Shared with me")).to_be_visible()
        menu(page).get_by_role("link", name="Shared with me").click()
        page.wait_for_url("**/shared")
        assert menu(page).locator("summary.nav-here").inner_text().startswith("Share")
    finally:
        context.close()
