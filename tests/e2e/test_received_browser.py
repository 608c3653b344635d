"""In a real browser, on the real server with the demo data (its accounts speak French, so do the pages): Inès asks Claire to endorse a skill, Claire
follows the e-mailed link signed in and endorses it; Inès's Credentials section then lists her credential,
her attestation and the endorsements, each verified by the verifier; she re-checks one, hides and shows
one, downloads the JSON, copies a share link, shows her credential on a skill's page and unlinks it."""
from __future__ import annotations

import email
import email.policy
import json
import re
import time
from pathlib import Path

import pytest

from app.demo import DEMO_ACCOUNTS

pytestmark = pytest.mark.e2e
ENDORSE_LINK = re.compile(r"https?://[^\s\"'<>]+/endorse/[A-Za-z0-9_\-]+")


def sign_in(page, account) -> None:
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(account.email)
    form.locator("input[name=password]").fill(account.password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def endorse_link(outbox: Path, address: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            match = ENDORSE_LINK.search(message.get_body(("plain",)).get_content())
            if address in str(message["To"]) and match:
                return match.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no endorsement request to {address} in {outbox} after {timeout} s")


def test_endorse_then_manage_the_credentials_section(browser, live_server):
    live_server.run("demo")
    ines_account, claire_account = DEMO_ACCOUNTS[0], DEMO_ACCOUNTS[1]
    contexts = [browser.new_context(base_url=live_server.url, locale="en-GB") for _ in range(2)]
    contexts[0].grant_permissions(["clipboard-read", "clipboard-write"])
    ines, claire = (context.new_page() for context in contexts)
    for one in (ines, claire):
        one.set_default_timeout(15_000)

    # Inès asks Claire to endorse one of her skills (the last in the list: the demo endorsed the first).
    sign_in(ines, ines_account)
    ines.goto("/skills")
    skill_links = ines.locator("main a[href^='/skills/']:not([href$='/new'])")
    skill_href = skill_links.last.get_attribute("href")
    ines.goto(skill_href)
    ines.get_by_role("link", name="Demander une recommandation").click()
    ines.get_by_label("Nom de la personne sollicitée").fill("Claire Dubois")
    ines.get_by_label("Adresse e-mail de la personne sollicitée").fill(claire_account.email)
    ines.get_by_label("Lien avec vous (par exemple : tuteur, collègue, entraîneur)").fill("conseillère")
    ines.get_by_role("button", name="Envoyer la demande").click()
    ines.wait_for_url("**/portfolio/attestations")

    # Claire follows the link; signed out she is asked to sign in, then she endorses.
    link = endorse_link(live_server.instance / "outbox", claire_account.email)
    claire.goto(link)
    assert claire.locator("main a[href^='/login?next=']").count() == 1  # signed out: the page speaks the browser's English
    sign_in(claire, claire_account)
    claire.goto(link)
    claire.get_by_label("Ce que vous recommandez, et pourquoi").fill("Inès explique clairement et sait écouter.")
    claire.get_by_role("button", name="Recommander", exact=True).click()
    claire.get_by_role("link", name="Voir la recommandation").click()
    assert "Inès explique clairement et sait écouter." in claire.content()

    # The skill's page shows the endorsement.
    ines.goto(skill_href)
    ines.locator(".item-endorsement", has_text="Inès explique clairement").wait_for()

    # The section: a credential, an attestation, two endorsements, each verified on this first view, and
    # the demo's badge earned elsewhere (verified when it was added to the backpack).
    ines.goto("/portfolio/credentials")
    cards = ines.locator(".received-list > li")
    assert cards.count() == 5
    kinds = sorted(cards.nth(i).get_attribute("data-kind") for i in range(5))
    assert kinds == ["attestation", "credential", "endorsement", "endorsement", "external"]
    assert ines.locator(".received-list > li[data-verdict='verified']").count() == 4  # three checks per view
    ines.reload()
    assert ines.locator(".received-list > li[data-verdict='verified']").count() == 5

    credential = ines.locator(".received-list > li[data-kind='credential']")
    credential.get_by_role("button", name="Vérifier à nouveau").click()
    ines.locator(".flash", has_text="Vérifié à nouveau").wait_for()
    assert ines.locator(".received-list > li[data-kind='credential']").get_attribute("data-verdict") == "verified"

    # Download the JSON: it is the signed credential.
    with ines.expect_download() as download:
        ines.locator(".received-list > li[data-kind='credential']").get_by_role("link", name="Télécharger (JSON)").click()
    document = json.loads(Path(download.value.path()).read_text())
    assert "OpenBadgeCredential" in document["type"] and document["proof"]

    # Copy the share link.
    attestation = ines.locator(".received-list > li[data-kind='attestation']")
    attestation.get_by_role("button", name="Copier").click()
    copied = ines.evaluate("navigator.clipboard.readText()")
    assert re.search(r"/attestations/[0-9a-f-]{36}$", copied)
    assert attestation.get_by_role("link", name="Ajouter à LinkedIn").get_attribute("href").startswith(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME")

    # Hide, then show again.
    attestation.get_by_role("button", name="Masquer de mon portfolio").click()
    ines.locator(".flash", has_text="Masqué dans votre portfolio").wait_for()
    attestation = ines.locator(".received-list > li[data-kind='attestation']")
    assert "card-muted" in attestation.get_attribute("class")
    attestation.get_by_role("button", name="Afficher dans mon portfolio").click()
    ines.locator(".flash", has_text="De nouveau affiché").wait_for()

    # Show the credential on the skill's page, then unlink it there.
    ines.goto(skill_href)
    section = ines.locator(".item-credentials")
    section.get_by_label("Afficher ici un titre reçu").select_option(index=0)
    section.get_by_role("button", name="Lier", exact=True).click()
    ines.locator(".flash", has_text="Lié").wait_for()
    linked = ines.locator(".item-credentials .item-credential")
    assert linked.count() == 1 and "Valide" in linked.inner_text()
    linked.get_by_role("button", name="Retirer le lien").click()
    ines.locator(".flash", has_text="Lien retiré").wait_for()
    assert ines.url.endswith(skill_href) and ines.locator(".item-credentials .item-credential").count() == 0
    for context in contexts:
        context.close()
