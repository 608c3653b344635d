"""The writing aid in a real browser against the real server (bundled frameworks loaded): typing an
experience brings skill suggestions (the script, under the site's CSP), one is ticked with a level and
added on save, another dismissed on the experience's page; then a CV aimed at an occupation chosen in the
picker puts that skill first and says why."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_cv import sign_in

pytestmark = pytest.mark.e2e

SERVICE = re.compile(r"Assurer le service en salle|Serve at table")
MISE = re.compile(r"Réaliser la mise en place|Set up the dining room")


def test_suggestions_while_typing_then_a_cv_aimed_at_an_occupation(page, live_server):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    live_server.run("frameworks", "load-bundled")
    sign_in(page, live_server)

    page.goto("/experiences/new")
    form = page.locator("main form:has(input[name=title])")
    form.locator("select[name=kind]").select_option("job")
    form.locator("input[name=title]").fill("Serveuse")
    form.locator("input[name=start_date]").fill("2022-06-01")
    form.locator("textarea[name=description]").fill("Service en salle et mise en place de la salle.")
    suggestion = page.locator("#suggestions li.suggestion").filter(has_text=SERVICE)
    suggestion.wait_for()  # fetched while typing, no save yet
    assert page.locator("#suggestions li.suggestion").filter(has_text=MISE).count() == 1
    suggestion.locator("input[name=suggested]").check()
    suggestion.locator("select").select_option("3")
    form.locator("[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/experiences/[0-9a-f-]{36}$"))
    assert SERVICE.search(page.locator("main article").inner_text())  # now among the skills shown

    panel = page.locator("section#suggestions")
    assert panel.locator("li.suggestion").filter(has_text=SERVICE).count() == 0  # confirmed: not offered
    panel.locator("li.suggestion").filter(has_text=MISE).locator("form").nth(1).locator("button").click()
    page.wait_for_url(re.compile(r"/experiences/[0-9a-f-]{36}"))
    assert page.locator("li.suggestion").filter(has_text=MISE).count() == 0

    page.goto("/cvs")
    form = page.locator("main form:has(input[name=name])")
    form.locator("input[name=name]").fill("Brasserie du port")
    form.locator("input[name=occupation]").press_sequentially("serveu", delay=50)
    option = page.locator("#occupation-options [role=option]").filter(has_text=re.compile("Serveur|Waiter"))
    option.first.click()
    assert form.locator("input[name=target_occupation]").input_value().endswith("/occupation/serveur")
    form.locator("[type=submit]").click()
    page.wait_for_url(re.compile(r"/cvs/[0-9a-f-]{36}$"))
    first_row = page.locator("table.cv-ranking tbody tr").first
    assert SERVICE.search(first_row.inner_text())
    assert re.search(r"essential skill|compétence essentielle", first_row.inner_text())
    assert not problems, problems
