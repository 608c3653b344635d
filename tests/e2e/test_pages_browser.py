"""Public pages in a real browser against the real server: Inès (demo data) restyles her page, creates a
password-protected share link, and a recruiter in another browser opens it, gives the password, sees the
page (photo-less, themed, no CSP errors), clicks "Verify this credential" and reads the verdict; the
printed page hides the buttons. The demo's own link opens too."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

INES, PASSWORD = "ines.martin@example.org", "ines-demo-portfolio"


def _watch(page, expected=()) -> list[str]:
    """Script errors, CSP refusals and failed loads, except the answers the test provokes (``expected``)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.status not in expected else None)
    return problems


def test_compose_share_and_verify_as_a_recruiter(page, browser, live_server, tmp_path):
    demo_output = live_server.run("demo")
    demo_url = re.search(r"Demo page of Inès \(share link\): (\S+)", demo_output).group(1)
    problems = _watch(page)

    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(INES)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")

    page.get_by_role("navigation", name="Menu principal").get_by_text("Partager", exact=True).click()  # a group of the menu
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Pages", exact=True).click()
    page.wait_for_url("**/pages")
    page.get_by_role("link", name="Modifier et partager").first.click()
    page.wait_for_url(re.compile(r"/pages/[0-9a-f-]{36}/edit$"))
    page.get_by_label(re.compile("^Atelier")).check()
    page.get_by_role("button", name="Enregistrer la page").click()
    page.wait_for_url(re.compile(r"/pages/[0-9a-f-]{36}/edit$"))
    assert page.get_by_label(re.compile("^Atelier")).is_checked()

    links = page.locator("form:has(input[name=label])")
    links.locator("input[name=label]").fill("Magasin Vert Bocage")
    links.locator("input[name=password]").fill("bocage-2026")
    links.get_by_role("button", name="Créer un lien de partage").click()
    shared_url = page.locator("#new-share-link").input_value()
    assert shared_url.startswith(live_server.url + "/s/")

    recruiter_context = browser.new_context(locale="en-GB")
    recruiter = recruiter_context.new_page()
    recruiter_problems = _watch(recruiter, expected=(401,))  # the wrong password
    recruiter.goto(shared_url)
    recruiter.get_by_role("textbox", name="Password").fill("not-the-password")
    recruiter.get_by_role("button", name="Open the page").click()
    assert recruiter.locator("#password-error").inner_text() == "This password is not the right one."
    recruiter.get_by_role("textbox", name="Password").fill("bocage-2026")
    recruiter.get_by_role("button", name="Open the page").click()
    recruiter.wait_for_url(shared_url)
    assert recruiter.locator("body.theme-atelier").count() == 1
    assert recruiter.get_by_role("heading", level=1).inner_text() == "Inès Martin"
    assert recruiter.locator("meta[name=robots]").get_attribute("content") == "noindex, nofollow"
    recruiter.screenshot(path=str(tmp_path / "atelier.png"), full_page=True)

    recruiter.get_by_role("button", name="Verify this credential").first.click()
    verdict = recruiter.locator("[data-verdict]").first
    verdict.wait_for()
    assert verdict.get_attribute("data-verdict") == "verified"

    recruiter.emulate_media(media="print")
    assert not recruiter.get_by_role("button", name="Verify this credential").first.is_visible()
    recruiter.emulate_media(media="screen")

    recruiter.goto(demo_url)  # the demo's own link: no password
    assert recruiter.get_by_role("heading", level=1).inner_text() == "Inès Martin"
    recruiter.screenshot(path=str(tmp_path / "horizon.png"), full_page=True)
    recruiter_context.close()
    assert not problems and not recruiter_problems, problems + recruiter_problems
