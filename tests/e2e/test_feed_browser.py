"""S'informer in a real browser against the real server: the demo organisation's admin publishes an
event naming one of Inès's skills (chosen with the form's concept picker, times in her zone), then Inès finds
it in her feed with the reason, opens it, downloads its .ics, and creates the private Atom address,
which a feed reader (no cookies) then reads. No script error, no CSP refusal."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.e2e

INES, INES_PASSWORD = "ines.martin@example.org", "ines-demo-portfolio"
PUBLISHER, PUBLISHER_PASSWORD = "direction.trois-rivieres@example.org", "lycee-demo-direction"
SKILL = "https://w3id.org/sillage/frameworks/sample/skill/encaissement"


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    return problems


def _sign_in(page, email: str, password: str) -> None:
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def test_publish_then_read_in_the_feed_and_a_feed_reader(page, browser, live_server):
    live_server.run("demo")
    problems = _watch(page)

    _sign_in(page, PUBLISHER, PUBLISHER_PASSWORD)
    page.goto("/feed")
    page.get_by_role("link", name="Publier des événements").click()
    page.get_by_role("link", name="Publier un événement").click()
    page.get_by_label("Publié par").select_option(label="Lycée professionnel Les Trois-Rivières")
    page.get_by_label("Intitulé").fill("Atelier caisse et paiement sans contact")
    page.get_by_label("Début", exact=True).fill("2031-03-12T14:00")
    page.get_by_label("Fin (ou date de clôture d’une offre)").fill("2031-03-12T16:30")
    page.get_by_label("Lieu", exact=True).fill("Rezé")
    page.get_by_role("combobox", name="Ajouter une compétence des référentiels").fill("encaisser")
    page.get_by_role("option", name=re.compile("^Encaisser un paiement")).click()
    assert page.get_by_label("Compétences concernées").input_value() == SKILL
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))
    assert "Publié par Lycée professionnel Les Trois-Rivières" in page.locator("main").inner_text(), page.locator("main").inner_text()
    page.context.clear_cookies()

    _sign_in(page, INES, INES_PASSWORD)
    page.get_by_role("navigation", name="Menu principal").get_by_text("Partager", exact=True).click()  # a group of the menu
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="S’informer").click()
    page.wait_for_url("**/feed")
    card = page.locator("li.card", has_text="Atelier caisse et paiement sans contact")
    card.get_by_text("Pourquoi vous voyez ceci").click()
    assert "Il concerne votre compétence" in card.inner_text()
    card.get_by_role("link", name="Atelier caisse et paiement sans contact").click()
    page.wait_for_url(re.compile(r"/events/[0-9a-f-]{36}$"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Ajouter à mon agenda (.ics)").click()
    ics = open(download.value.path(), "rb").read()
    assert b"DTSTART:20310312T130000Z\r\n" in ics  # 14:00 in Paris, winter time

    page.goto("/feed")
    page.get_by_role("button", name="Créer mes adresses privées").click()
    atom_url = page.locator("#atom-url").input_value()
    reader = browser.new_context()  # a feed reader: no session
    answer = reader.request.get(atom_url)
    assert answer.status == 200 and "Atelier caisse et paiement sans contact" in answer.text()
    reader.close()
    assert problems == []
