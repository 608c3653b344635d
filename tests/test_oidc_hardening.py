"""Review 14, L14 (OIDC configuration hardening) against the real provider of tests/oidc, and the cause of
the intermittent ``test_oidc.py::test_forged_id_tokens_are_refused[missing_nonce]``: https issuers only
(loopback or tests excepted), endpoints pinned to the issuer's origin, an unknown ``kid`` refetching the
key set at most once a minute per provider, ``email`` and ``email_verified`` from one source."""
from __future__ import annotations

import logging
import socket
import time

import pytest
from authlib.jose import JsonWebKey

from app.sso import flow, providers
from app.sso.errors import SsoError
from tests.oidc.server import running_provider, sign_in_over_http
from tests.test_oidc import CALLBACK, _callback, _counts, _forge, _start, app_settings, provider  # noqa: F401


def _entry(issuer, **extra):
    return [{"name": "ent", "issuer": issuer, "client_id": "c", **extra}]


def test_issuers_must_be_https_unless_loopback_or_testing():
    for issuer in ("https://ent.example/oidc", "http://127.0.0.1:8080/oidc", "http://localhost:9000",
                   "http://[::1]:9000"):
        assert providers.parse(_entry(issuer))[0].issuer == issuer
    with pytest.raises(ValueError, match="https://"):
        providers.parse(_entry("http://ent.example/oidc"))
    with pytest.raises(ValueError, match="https://"):   # the discovery document must not travel clear either
        providers.parse(_entry("https://ent.example/oidc", discovery_url="http://ent.example/.well-known/x"))
    with pytest.raises(ValueError, match="endpoint_origins"):
        providers.parse(_entry("https://ent.example", endpoint_origins=["http://keys.example"]))
    assert providers.parse(_entry("http://ent.example/oidc"), testing=True)[0].issuer == "http://ent.example/oidc"


def _document(issuer, **changes):
    return {"issuer": issuer, "authorization_endpoint": issuer + "/auth", "token_endpoint": issuer + "/token",
            "userinfo_endpoint": issuer + "/me", "jwks_uri": issuer + "/jwks", **changes}


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"])
def test_endpoints_on_another_origin_are_refused_with_a_log_line(app, caplog, endpoint):
    issuer = "https://ent.example/oidc"
    plain = providers.parse(_entry(issuer))[0]
    allowed = providers.parse(_entry(issuer, endpoint_origins=["https://keys.example"]))[0]
    providers.forget()
    try:
        providers._cache[plain.discovery_url] = (time.monotonic(), _document(issuer))
        assert providers.metadata(plain)["jwks_uri"] == issuer + "/jwks"        # same origin: fine
        for elsewhere in ("https://keys.example/x", "https://ent.example:8443/x", "http://ent.example/x"):
            providers._cache[plain.discovery_url] = (time.monotonic(), _document(issuer, **{endpoint: elsewhere}))
            with app.test_request_context("/"), caplog.at_level(logging.WARNING, logger="app.sso.providers"):
                with pytest.raises(SsoError) as refused:
                    providers.metadata(plain)
            assert refused.value.code == "endpoint_elsewhere" and refused.value.status == 502
            assert f"OIDC provider ent: {endpoint} '{elsewhere}' is not on the issuer's origin" in caplog.text
        providers._cache[plain.discovery_url] = (time.monotonic(),
                                                 _document(issuer, **{endpoint: "https://keys.example/x"}))
        assert providers.metadata(allowed)[endpoint] == "https://keys.example/x"  # listed by the operator
    finally:
        providers.forget()


def test_an_unknown_kid_refetches_the_key_set_at_most_once_a_minute(client, provider, monkeypatch):
    fetched = []
    real_fetch = providers._fetch_json

    def counting(url, what):
        fetched.append(what)
        return real_fetch(url, what)

    monkeypatch.setattr(providers, "_fetch_json", counting)
    stranger = JsonWebKey.generate_key("RSA", 2048, {"kid": "a-key-nobody-published"}, is_private=True)
    monkeypatch.setattr(flow, "exchange_code", _forge(provider, key=stranger))

    def attempt():
        response = _callback(client, sign_in_over_http(_start(client), "newcomer"))
        assert response.status_code == 400 and 'data-code="bad_signature"' in response.text

    attempt()
    assert fetched.count("keys") == 2          # the first fetch, and one more for the unknown kid
    for _ in range(2):
        attempt()
    assert fetched.count("keys") == 2          # within the minute: not fetched again, still refused
    monkeypatch.setattr(providers, "KEYS_REFRESH_SECONDS", 0)   # a minute later (without waiting one)
    attempt()
    assert fetched.count("keys") == 3


def test_email_and_its_verification_come_from_the_same_source(client, provider, monkeypatch, make_user):
    """An ID token naming another address without ``email_verified`` must not borrow UserInfo's ``true``
    (which is about the provider account's own address): before, this signed in as the victim."""
    victim = make_user("victim@example.org")
    assert victim.is_verified
    monkeypatch.setattr(flow, "exchange_code", _forge(provider, email="victim@example.org"))
    before = _counts()
    response = _callback(client, sign_in_over_http(_start(client), "newcomer"))
    assert response.status_code == 403 and "did not confirm an e-mail address" in response.text
    assert _counts() == before
    assert client.get("/settings").status_code == 302   # nobody signed in, least of all the victim


def test_merge_claims_never_mixes_the_two_sources():
    userinfo = {"sub": "s", "email": "me@idp.example", "email_verified": True, "name": "Me"}
    assert flow.merge_claims({"sub": "s"}, userinfo) == userinfo                   # all from UserInfo
    merged = flow.merge_claims({"sub": "s", "email": "other@example.org"}, userinfo)
    assert merged["email"] == "other@example.org" and "email_verified" not in merged and merged["name"] == "Me"
    merged = flow.merge_claims({"sub": "s", "email": "a@x.example", "email_verified": False}, userinfo)
    assert (merged["email"], merged["email_verified"]) == ("a@x.example", False)
    assert flow.merge_claims({"sub": "s", "email": "a@x.example", "email_verified": True}, {}) \
        == {"sub": "s", "email": "a@x.example", "email_verified": True}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_new_provider_on_a_port_used_before_is_read_afresh(tmp_path):
    """The cause of the intermittent missing_nonce failure: each test starts a new provider (a new key,
    the same kid) on an ephemeral port, which a later test may get again under load; the process-wide
    cache of key sets (keyed by URL) then served the previous provider's key and the genuine token failed
    its signature. ``running_provider`` now forgets the cache when a provider starts and stops."""
    port = _free_port()
    seen = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        with running_provider(tmp_path / run, [CALLBACK], port=port) as running:
            ent = providers.parse([{"name": "test", "issuer": running["issuer"], "client_id": "sillage"}])[0]
            published = providers.key_set(ent)["keys"][0]["n"]
            assert published == running["key"].as_dict()["n"]
            seen.append(published)
    assert seen[0] != seen[1]
