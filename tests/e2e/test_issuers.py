"""In a real browser, on the real server: a person asks to open an organisation, a platform admin approves
it, its admin defines an achievement and rotates the key; the public profile and the did:web document
(with the port percent-encoded) follow."""
from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import SILLAGE

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough passphrase for e2e"


def account(live_server, address: str, *flags: str) -> None:
    subprocess.run([*SILLAGE, "users", "create", address, *flags], input=PASSWORD + "\n", env=live_server.env,
                   check=True, capture_output=True, text=True, timeout=120)


def sign_in(page, address: str) -> None:
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(address)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")


def test_request_approval_achievement_and_did_web(browser, live_server):
    account(live_server, "head@lycee.example")
    account(live_server, "root@sillage.example", "--admin")
    contexts = [browser.new_context(base_url=live_server.url, locale="en-GB") for _ in range(2)]
    person, admin = (context.new_page() for context in contexts)

    sign_in(person, "head@lycee.example")
    person.get_by_role("navigation", name="Main menu").get_by_text("Vault and proof").click()  # a group of the menu
    person.get_by_role("navigation", name="Main menu").get_by_role("link", name="Organisations", exact=True).click()
    person.get_by_role("link", name="Open an organisation").first.click()
    person.get_by_label("Name").fill("Lycée des Trois-Rivières")
    person.get_by_label("Kind").select_option("school")
    person.get_by_label("Contact e-mail").fill("contact@lycee.example")
    person.get_by_role("button", name="Send the request").click()
    person.locator(".flash", has_text="Your request is sent").wait_for()
    org_url = person.url
    assert "awaits a platform admin" in person.content()

    sign_in(admin, "root@sillage.example")
    admin.goto("/admin/organisations")
    admin.get_by_role("link", name="Lycée des Trois-Rivières").click()
    admin.get_by_role("button", name="Approve").click()
    admin.wait_for_url("**/admin/organisations")

    person.goto(org_url)
    person.get_by_role("link", name="New achievement").click()
    person.get_by_label("Name").fill("Délégué·e de classe")
    person.get_by_label("Kind").select_option("CoCurricular")
    person.get_by_label("Description").fill("Élu·e par sa classe.")
    person.get_by_label("Criteria", exact=True).fill("Avoir siégé aux conseils de classe.")
    person.get_by_role("button", name="Save").click()
    person.locator("#achievements").get_by_role("link", name="Délégué·e de classe", exact=True).wait_for()

    org_id = org_url.rstrip("/").rsplit("/", 1)[-1]
    document = person.request.get(f"/issuers/{org_id}/did.json").json()
    assert document["id"] == f"did:web:127.0.0.1%3A{live_server.port}:issuers:{org_id}"
    assert len(document["verificationMethod"]) == 1
    person.get_by_role("button", name="Rotate the key").click()
    person.locator(".flash", has_text="A new signing key is in use").wait_for()
    assert len(person.request.get(f"/issuers/{org_id}/did.json").json()["verificationMethod"]) == 2

    person.goto(f"/issuers/{org_id}")
    assert person.locator("h1").inner_text().strip() == "Lycée des Trois-Rivières"
    image = person.locator("img[src$='/image']").first
    image.wait_for()
    assert person.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())
    for context in contexts:
        context.close()
