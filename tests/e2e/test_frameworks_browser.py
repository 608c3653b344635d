"""Reference frameworks in a real browser against the real server: Inès (demo data, which loads the
bundled frameworks) adds a skill by typing a few letters in the skill form's concept picker, chooses a
suggestion with the keyboard (the form's framework, concept and name fill in), saves, and the skill
points at the concept; then she searches the concept browser and opens an occupation with its
essential skills. No script errors or CSP refusals on the way."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

INES, PASSWORD = "ines.martin@example.org", "ines-demo-portfolio"
CONCEPT = "https://w3id.org/sillage/frameworks/sample/skill/ecoute-bienveillante"


def test_pick_a_concept_for_a_skill_and_browse_an_occupation(page, live_server):
    live_server.run("demo")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(INES)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")

    page.goto("/skills/new")
    search = page.get_by_role("combobox", name="Trouver la compétence dans un référentiel")
    search.press_sequentially("écou", delay=30)
    option = page.get_by_role("option", name=re.compile("^Écouter avec bienveillance"))
    option.wait_for()
    search.press("ArrowDown")
    search.press("Enter")
    assert page.locator("input[name=concept_uri]").input_value() == CONCEPT
    assert page.locator("input[name=name]").input_value() == "Écouter avec bienveillance"
    assert "chantillon" in page.locator("input[name=framework]").input_value()
    page.locator("input[name=level][value='3']").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r"/skills/[0-9a-f-]{36}$"))
    assert page.get_by_role("link", name=CONCEPT).is_visible()

    page.get_by_role("navigation", name="Menu principal").locator("summary", has_text="Mon portfolio").click()  # a group of the menu (the current one)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Référentiels").click()
    page.get_by_label("Rechercher").fill("infirmiere")
    page.get_by_role("button", name="Rechercher").click()
    page.get_by_role("link", name="Infirmier / infirmière").click()
    page.wait_for_url(re.compile(r"/concepts/[0-9a-f-]{36}$"))
    assert page.get_by_role("heading", name=re.compile("^Compétence essentielle")).is_visible()
    assert page.get_by_role("link", name="Administrer des médicaments").is_visible()
    assert not problems, problems
