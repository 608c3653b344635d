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
    # Swagger UI has read the description and shows the operations.
    page.locator(".swagger-ui .info .title").filter(has_text="Sillage").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/profile").first.wait_for()
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
