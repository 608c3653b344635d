"""In a real browser: sign in with the real OpenID provider (npm oidc-provider on 127.0.0.1), whose
login and consent pages the browser fills in, back to Sillage signed in with a new account; then the
settings list the linked account, and unlinking it works."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import LiveServer
from tests.oidc.server import running_provider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-sso")
    server = LiveServer(folder / "instance")
    with running_provider(folder, [f"{server.url}/auth/oidc/test/callback"]) as provider:
        server.env["SILLAGE_OIDC_PROVIDERS"] = json.dumps([{
            "name": "test", "label": "Test ENT", "issuer": provider["issuer"],
            "client_id": provider["client_id"], "client_secret_env": "SILLAGE_TEST_OIDC_SECRET"}])
        server.env["SILLAGE_TEST_OIDC_SECRET"] = provider["secret"]
        server.start()
        try:
            yield server
        finally:
            server.stop()


def test_sign_in_with_the_provider_then_unlink_in_the_settings(browser, sso_server):
    context = browser.new_context(base_url=sso_server.url, locale="en-GB")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_role("link", name="Test ENT").click()
        page.locator('input[name="login"]').fill("newcomer")
        page.locator('input[name="password"]').fill("any password")
        page.get_by_role("button", name="Sign-in").click()
        page.get_by_role("button", name="Continue").click()  # the provider's consent page
        page.wait_for_url(f"{sso_server.url}/**")
        assert "Welcome! Your account was created with Test ENT." in page.content()
        page.goto("/settings")
        page.get_by_role("link", name="Sign-in services").click()
        assert "newcomer.sso@example.org" in page.locator("main").inner_text()
        page.get_by_role("button", name="Unlink").click()
        assert "No account is linked yet." in page.locator("main").inner_text()
    finally:
        context.close()
