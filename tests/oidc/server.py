"""Start and drive the real OpenID provider of tests/oidc/provider.js (npm oidc-provider) on 127.0.0.1.

``running_provider`` writes its configuration (clients, test accounts, a signing key generated here so
that tests can also sign tokens with the provider's own key) and starts node; it skips with the reason
when node or tests/oidc/node_modules are missing, except in CI (``CI=true``), where `.ci/run` installs
them and a missing provider fails the tests. ``sign_in_over_http`` fills in the provider's login and
consent pages like a person would, and returns the URL the provider sends the browser back to.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from authlib.jose import JsonWebKey

HERE = Path(__file__).parent
SECRET = "sillage-test-client-secret-0123456789"
ACCOUNTS = {
    "ines": {"email": "ines.sso@example.org", "email_verified": True, "name": "Inès Martin"},
    "newcomer": {"email": "newcomer.sso@example.org", "email_verified": True, "name": "New Comer"},
    "unverified": {"email": "owner@example.org", "email_verified": False, "name": "Not Verified"},
}


def node_binary() -> str | None:
    """The project's pinned Node (`make node`, .node/bin) when installed, else the one on PATH: the provider
    needs Node >= 20.18 (Debian 12's 18.20 lacks URL.parse), and the pinned one is what CI runs."""
    pinned = HERE.parent.parent / ".node" / "bin" / "node"
    return str(pinned) if pinned.is_file() else shutil.which("node")


def _missing() -> str | None:
    if node_binary() is None:
        return "node is not installed (`make node` installs the pinned one; .ci/run does)"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc` (.ci/run does)"
    return None


@contextmanager
def running_provider(tmp_path: Path, redirect_uris: list[str], port: int | None = None):
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the OpenID provider cannot run in CI: {reason}")
        pytest.skip(reason)
    key = JsonWebKey.generate_key("RSA", 2048, {"kid": "test-provider-key", "use": "sig", "alg": "RS256"},
                                  is_private=True)
    config = {"jwks": {"keys": [key.as_dict(is_private=True)]}, "accounts": ACCOUNTS,
              "clients": [{"client_id": "sillage", "client_secret": SECRET, "redirect_uris": redirect_uris,
                           "grant_types": ["authorization_code"], "response_types": ["code"],
                           "id_token_signed_response_alg": "RS256"}]}
    if port:
        config["port"] = port
    path = tmp_path / "oidc-provider.json"
    path.write_text(json.dumps(config))
    log = tmp_path / "oidc-provider.log"
    with log.open("wb") as errors:  # its stderr, shown if it does not start (an unsupported Node, say)
        process = subprocess.Popen([node_binary(), str(HERE / "provider.js"), str(path)],
                                   stdout=subprocess.PIPE, stderr=errors, text=True)
    # Each run is a new provider with a new key under the same kid, on an ephemeral port that a later run
    # may get again: the application's per-process cache of discovery documents and key sets (keyed by
    # URL, an hour long) would then serve the previous provider's key, and the genuine token fails as
    # "bad_signature" (the intermittent test_forged_id_tokens_are_refused[missing_nonce] under load).
    # The cache belongs to the provider that is running: forgotten when one starts and when it stops.
    from app.sso import providers  # noqa: PLC0415
    providers.forget()
    try:
        line = process.stdout.readline()
        match = re.match(r"READY (\S+)", line or "")
        if not match:
            process.wait(10)
            raise RuntimeError(f"the OpenID provider did not start: {line!r}\n{log.read_text()[-2000:]}")
        yield {"issuer": match.group(1), "key": key, "client_id": "sillage", "secret": SECRET}
    finally:
        providers.forget()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def sign_in_over_http(authorization_url: str, login: str, back_to: str = "http://localhost/") -> str:
    """Follow the provider's pages for ``login`` (login form, then consent); the URL sent back to us."""
    browser = requests.Session()
    url, response = authorization_url, None
    for _ in range(12):
        response = browser.get(url, allow_redirects=False, timeout=10)
        while response.status_code in (302, 303):
            location = urljoin(url, response.headers["Location"])
            if location.startswith(back_to):
                return location
            url = location
            response = browser.get(url, allow_redirects=False, timeout=10)
        form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
        assert form and prompt, response.text[:500]
        data = {"prompt": prompt.group(1)}
        if data["prompt"] == "login":
            data.update(login=login, password="any")
        response = browser.post(urljoin(url, unescape(form.group(1))), data=data, allow_redirects=False,
                                timeout=10)
        location = urljoin(url, response.headers["Location"])
        if location.startswith(back_to):
            return location
        url = location
    raise AssertionError("the provider never sent the browser back")
