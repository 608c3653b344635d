"""My path in a real browser against the real server (demo data): Claire, Inès's counsellor, finds her
on "Shared with me", opens the hypothesis with its gap analysis and proposes a goal; Inès accepts it,
marks it done, reads the history, then creates a second hypothesis through the occupation autocomplete.
The demo accounts read French: the steps find things by their structure, and check French words."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e


def sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def sign_out(page) -> None:
    page.locator("form.logout-form [type=submit]").click()
    page.wait_for_load_state()


def test_counsellor_proposes_owner_accepts_and_plans(page, live_server):
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    live_server.run("demo")

    sign_in(page, "claire.dubois@example.org", "claire-demo-conseil")
    page.goto("/shared")
    summary = page.locator("[data-path-summary]")
    assert "1 hypothèse" in summary.inner_text()
    page.locator("a[href$='/path']", has_text="Hypothèses de parcours").click()
    page.get_by_role("link", name="Réceptionniste d'hôtel").click()
    page.wait_for_url(re.compile(r"/path/[0-9a-f-]{36}$"))
    hypothesis_url = page.url
    assert page.locator(".path-have li").count() >= 3  # her three linked skills (and any the frameworks demo links)
    assert page.locator(".path-missing li").count() >= 3
    assert page.locator("[data-training]").count() >= 2
    page.locator("summary", has_text="Proposer un objectif").click()
    page.locator("input[name=goal-title]").fill("Préparer un CV en anglais")
    page.get_by_role("button", name="Ajouter comme objectif").click()
    page.wait_for_url(re.compile(r"/path/[0-9a-f-]{36}#plan$"))
    assert page.locator(".plan-proposal", has_text="Préparer un CV en anglais").count() == 1
    assert page.locator(".plan-proposal form[action$='/accept']").count() == 0  # the owner decides
    sign_out(page)

    sign_in(page, "ines.martin@example.org", "ines-demo-portfolio")
    page.goto(hypothesis_url)
    proposal = page.locator(".plan-proposal", has_text="Préparer un CV en anglais")
    proposal.locator("form[action$='/accept'] button").click()
    goal = page.locator(".plan-goal", has_text="Préparer un CV en anglais")
    goal.get_by_role("button", name="Marquer comme fait").click()
    assert page.locator(".plan-done", has_text="Préparer un CV en anglais").count() == 1
    page.get_by_role("link", name="Historique").click()
    assert page.locator("tr[data-event=accepted]").count() == 1

    page.goto("/path")  # the autocomplete (the search form without JavaScript is tested in test_path_pages)
    page.locator("#concept-search").fill("aide soig")
    page.locator("#concept-search-options [role=option]", has_text="Aide-soignant").first.click()
    assert page.locator("input[name=title]").input_value() == "Aide-soignant / aide-soignante"
    page.get_by_role("button", name="Ajouter cette hypothèse").click()
    page.wait_for_url(re.compile(r"/path/[0-9a-f-]{36}$"))
    assert page.get_by_role("heading", name="Aide-soignant / aide-soignante").count() == 1
    assert page.locator(".path-missing li").count() > 0
    assert problems == []
