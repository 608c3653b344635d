"""In a real browser, on the real server with the demo data (Inès's account speaks French): Inès finds her
demo badge from elsewhere in her Credentials section, adds another badge earned elsewhere as a baked PNG
(checked first, then added, verified), opens its page and verifies it there, then tries a tampered one,
which is refused with the verifier's reason."""
from __future__ import annotations

import json

import pytest

from app.demo import DEMO_ACCOUNTS
from badges.artwork import default_badge, to_png
from badges.bake import bake
from badges.identity import identity_hash
from badges.loader import document_loader
from certs.keys import KeyPair
from certs.proofs import sign

pytestmark = pytest.mark.e2e


def baked(email: str, name: str, tamper: bool = False) -> bytes:
    """An OB 3.0 badge from a did:key issuer (verifiable offline, as on any machine), baked in a PNG."""
    key = KeyPair.generate()
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "id": "urn:uuid:3e0d1b6a-8f2c-4b7e-9a15-6c4d2e8f1a03",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": key.controller, "type": ["Profile"], "name": "MOOC Numérique (test)"},
        "validFrom": "2025-03-01T10:00:00Z",
        "credentialSubject": {"type": ["AchievementSubject"], "identifier": [{
            "type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
            "identityHash": identity_hash(email, "e2e"), "salt": "e2e"}],
            "achievement": {"id": "urn:uuid:7a1c2e3d-4b5f-4a6e-8d9c-0b1a2c3d4e5f", "type": ["Achievement"],
                            "name": name, "description": "Les bases du numérique.",
                            "criteria": {"narrative": "Quiz final réussi."}}},
    }
    signed = sign(document, key, document_loader())
    if tamper:
        signed = json.loads(json.dumps(signed))
        signed["credentialSubject"]["achievement"]["name"] = name + " (expert)"
    return bake(to_png(default_badge(name, "Badge", name), 128), signed)


def sign_in(page, account) -> None:
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(account.email)
    form.locator("input[name=password]").fill(account.password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def test_add_a_badge_earned_elsewhere(browser, live_server, tmp_path):
    live_server.run("demo")
    account = DEMO_ACCOUNTS[0]
    page = browser.new_context(base_url=live_server.url).new_page()
    page.set_default_timeout(20_000)
    sign_in(page, account)

    page.goto("/portfolio/credentials")
    demo_badge = page.locator("li[data-kind='external']").first
    assert "Prévention et secours civiques" in demo_badge.inner_text()
    assert demo_badge.get_attribute("data-verdict") == "verified"

    good = tmp_path / "numerique.png"
    good.write_bytes(baked(account.email, "Culture numérique"))
    page.get_by_role("link", name="Ajouter un badge obtenu ailleurs").first.click()
    page.get_by_label("Fichier du badge").set_input_files(str(good))
    page.get_by_role("button", name="Vérifier seulement").click()
    preview = page.locator(".backpack-candidate")
    assert preview.get_attribute("data-verdict") == "verified" and "Culture numérique" in preview.inner_text()

    page.get_by_label("Fichier du badge").set_input_files(str(good))
    page.get_by_role("button", name="Ajouter à mon sac à badges").click()
    page.wait_for_url("**/portfolio/credentials*")
    added = page.locator("li[data-kind='external']", has_text="Culture numérique")
    assert added.get_attribute("data-verdict") == "verified"
    assert page.locator(".flash", has_text="Ajouté à votre sac à badges").count() == 1

    added.get_by_role("link", name="Culture numérique").click()
    page.get_by_role("button", name="Vérifier ce badge").click()
    assert page.locator("section.verdict").get_attribute("data-verdict") == "verified"

    forged = tmp_path / "forged.png"
    forged.write_bytes(baked(account.email, "Tableur", tamper=True))
    page.goto("/portfolio/backpack/add")
    page.get_by_label("Fichier du badge").set_input_files(str(forged))
    page.get_by_role("button", name="Ajouter à mon sac à badges").click()
    assert page.locator(".backpack-candidate").get_attribute("data-verdict") == "not_verified"
    assert page.locator(".flash-error").count() == 1
    page.goto("/portfolio/credentials")
    assert page.locator("li[data-kind='external']").count() == 2
