"""In a real browser: the API reference renders from this site only under the site's CSP; the visitors'
language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e


def test_api_reference_renders_with_local_assets_and_no_csp_violation(page, live_server):
    requests, problems = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    response = page.goto("/api/v1/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI has read the description and lists every tag, folded; each opens on a click.
    page.locator(".swagger-ui .info .title").filter(has_text="Sillage").wait_for()
    tags = page.locator(".opblock-tag")
    tags.filter(has_text="Grants").first.wait_for()
    assert tags.count() >= 20
    for tag in ("Profile", "Grants", "CVs"):
        tags.filter(has_text=tag).first.click()
    page.locator(".opblock-summary-path", has_text="/api/v1/profile").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/cvs").first.wait_for()
    assert page.locator(".opblock").count() >= 10

    origin = urlsplit(live_server.url).netloc
    elsewhere = [url for url in requests if urlsplit(url).scheme in {"http", "https"}
                 and urlsplit(url).netloc != origin]
    assert not elsewhere, elsewhere
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems


def test_footer_and_tokens_page_link_to_the_api_reference(page):
    page.goto("/")
    page.locator("footer").get_by_role("link", name="API reference").click()
    page.wait_for_url("**/api/v1/docs")


def test_visitor_switches_language_in_the_header_and_it_is_remembered(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "en"  # the browser asks for en-GB
    page.locator("header").get_by_role("link", name="Français").click()
    page.wait_for_url("**/?lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.locator("header").get_by_role("link", name="Se connecter").click()
    page.wait_for_url("**/login")
    assert page.locator("html").get_attribute("lang") == "fr"  # no ?lang= any more: the cookie
    assert page.locator("h1").inner_text() == "Se connecter"


def test_new_api_token_is_shown_once_and_copied(page, live_server):
    import subprocess

    from tests.e2e.conftest import SILLAGE

    address, password = "tokens@example.org", "a token for the nightly backup"
    subprocess.run([*SILLAGE, "users", "create", address], input=password + "\n", env=live_server.env,
                   check=True, capture_output=True, text=True, timeout=120)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/login")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=email]").fill(address)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").first.click()
    page.wait_for_url("**/dashboard")

    page.goto("/settings/tokens")
    page.locator("input[name=name]").fill("backup")
    page.get_by_role("button", name="Create the token").click()
    page.wait_for_url("**/settings/tokens")
    secret = page.locator("#new-token").input_value()
    assert secret.startswith("sil_")
    page.get_by_role("button", name="Copy the token").click()  # hidden unless the nonce'd script ran
    page.locator("#copy-token-status", has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert page.locator("tbody code").inner_text() == secret[:12] + "…"

    page.reload()  # neither a second token nor the secret again
    assert page.locator("#new-token").count() == 0
    assert page.locator("tbody tr").count() == 1
