"""The SSRF guard of badges.fetch: what it refuses, and that it still works where it should.

Every server here listens on 127.0.0.1; refused targets are refused before any connection is made.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from badges import fetch as guard
from badges.fetch import FetchError, fetch, fetch_json, is_public_address
from tests.verify.servers import Routes, chunked_route, serve, slow_route


@pytest.fixture
def no_connect(monkeypatch):
    """Fail the test if the guard ever opens a socket to a refused target."""
    def refuse(*args, **kwargs):
        raise AssertionError("the guard tried to connect")
    monkeypatch.setattr(guard, "_connect", refuse)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://127.1.2.3/x", "https://[::1]/x", "https://10.0.0.1/x",
    "https://172.16.5.4/x", "https://192.168.1.1/x", "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:127.0.0.1]/x", "https://[::ffff:10.0.0.1]/x", "https://[64:ff9b::a00:1]/x",
    "https://[2002:7f00:1::]/x", "https://[fe80::1]/x", "https://[fc00::1]/x", "https://100.64.0.1/x",
    "https://0.0.0.0/x", "https://0.1.2.3/x", "https://224.0.0.1/x", "https://255.255.255.255/x",
    "https://240.0.0.1/x", "https://[::]/x", "https://localhost/x", "https://localhost.:443/x",
    "https://2130706433/x",
])
def test_refuses_non_public_targets(url, no_connect):
    with pytest.raises(FetchError) as caught:
        fetch(url)
    # Odd spellings may fail to resolve on some systems: refused or unresolvable, never fetched.
    assert caught.value.code in (("fetch_refused", "fetch_failed") if "localhost." in url or "2130706433" in url
                                 else ("fetch_refused",))


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/", "http://example.org/x",
    "https://user:pass@example.org/x", "https:///nohost", "https://example.org:99999/x", "javascript:alert(1)",
    "", "//example.org/x",
])
def test_refuses_bad_schemes_and_urls(url, no_connect):
    with pytest.raises(FetchError) as caught:
        fetch(url)
    assert caught.value.code == "fetch_refused"


def test_loopback_is_refused_even_over_http_unless_allowed(no_connect):
    with pytest.raises(FetchError) as caught:
        fetch("http://127.0.0.1:9/x")
    assert caught.value.code == "fetch_refused"


def test_allow_loopback_does_not_open_private_ranges(no_connect):
    for url in ("https://10.1.1.1/x", "https://169.254.169.254/x", "http://192.168.0.1/x", "http://[fc00::1]/x"):
        with pytest.raises(FetchError) as caught:
            fetch(url, allow_loopback=True)
        assert caught.value.code == "fetch_refused", url


def test_every_resolved_address_must_be_public(monkeypatch, no_connect):
    """A name that answers one public and one private address is refused (no picking)."""
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(FetchError) as caught:
        fetch("https://mixed.example/x")
    assert caught.value.code == "fetch_refused"


def test_public_address_classification():
    public = ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "64:ff9b::808:808"]
    private = ["127.0.0.1", "10.0.0.1", "100.100.1.1", "169.254.1.1", "192.0.2.1", "198.18.0.1", "224.0.0.251",
               "::1", "::ffff:192.168.0.1", "fe80::1", "ff02::1", "2001:db8::1", "64:ff9b:1::1", "::"]
    assert all(is_public_address(ipaddress.ip_address(a)) for a in public)
    assert not any(is_public_address(ipaddress.ip_address(a)) for a in private)


def test_fetches_from_loopback_when_allowed():
    routes = Routes()
    routes.add("/did.json", json.dumps({"id": "did:web:example"}))
    with serve(routes) as base:
        assert fetch_json(base + "/did.json", allow_loopback=True) == {"id": "did:web:example"}
    accept = routes.seen[0]["headers"]["Accept"]
    assert "application/ld+json" in accept and "application/json" in accept
    assert routes.seen[0]["headers"]["Host"].startswith("127.0.0.1")


def test_a_name_resolving_to_loopback_is_refused_but_allowed_in_tests():
    routes = Routes()
    routes.add("/x", "{}")
    with serve(routes) as base:
        url = base.replace("127.0.0.1", "localhost") + "/x"
        with pytest.raises(FetchError) as caught:
            fetch(url)
        assert caught.value.code == "fetch_refused"
        try:
            result = fetch(url, allow_loopback=True)
        except FetchError as exc:  # localhost may also answer ::1, where nothing listens
            assert exc.code == "fetch_failed"
        else:
            assert result.body == b"{}"
            assert routes.seen[-1]["headers"]["Host"].startswith("localhost")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_refused(status):
    routes = Routes()
    routes.add("/moved", "", status=status, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with serve(routes) as base:
        with pytest.raises(FetchError) as caught:
            fetch(base + "/moved", allow_loopback=True)
    assert caught.value.code == "fetch_refused"
    assert [seen["path"] for seen in routes.seen] == ["/moved"]


def test_error_status_is_a_failure():
    with serve(Routes()) as base:
        with pytest.raises(FetchError) as caught:
            fetch(base + "/missing", allow_loopback=True)
    assert caught.value.code == "fetch_failed"


def test_body_over_the_cap_is_refused_by_content_length():
    routes = Routes()
    routes.add("/big", b"x" * (guard.MAX_BYTES + 1))
    with serve(routes) as base:
        with pytest.raises(FetchError) as caught:
            fetch(base + "/big", allow_loopback=True)
    assert caught.value.code == "too_large"


def test_streamed_body_over_the_cap_is_stopped():
    routes = Routes()
    routes.routes["/stream"] = chunked_route(50 * 1024 * 1024)
    with serve(routes) as base:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(base + "/stream", allow_loopback=True)
    assert caught.value.code == "too_large"
    assert time.monotonic() - started < 5


def test_body_at_the_cap_is_accepted():
    routes = Routes()
    routes.add("/exact", b"x" * guard.MAX_BYTES)
    with serve(routes) as base:
        assert len(fetch(base + "/exact", allow_loopback=True).body) == guard.MAX_BYTES


def test_slow_server_times_out():
    routes = Routes()
    routes.routes["/slow"] = slow_route(8)
    with serve(routes) as base:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(base + "/slow", allow_loopback=True, timeout=1.0)
    assert caught.value.code == "fetch_timeout"
    assert time.monotonic() - started < 3


def test_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the TCP connection, never answers
    try:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/x", allow_loopback=True, timeout=1.0)
        assert caught.value.code == "fetch_timeout"
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_invalid_json_has_its_code():
    """A fetched document is parsed as strictly as a submitted one (badges.formats.parse_json)."""
    routes = Routes()
    routes.add("/bad", "{not json")
    routes.add("/twice", '{"id": "did:web:a.example", "id": "did:web:b.example"}')
    routes.add("/deep", '{"a":' * 100 + "1" + "}" * 100)
    routes.add("/good", '{"id": "did:web:a.example"}')
    with serve(routes) as base:
        for path in ("/bad", "/twice", "/deep"):
            with pytest.raises(FetchError) as caught:
                fetch_json(base + path, allow_loopback=True)
            assert caught.value.code == "invalid_json", path
        assert fetch_json(base + "/good", allow_loopback=True) == {"id": "did:web:a.example"}


def _tls_pair(tmp_path, name: str):
    """A throwaway CA and a server certificate for ``name``; returns (server_ctx, client_ctx)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sillage test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    client_ctx = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server_ctx, client_ctx


def _pin_name_to_loopback(monkeypatch, name: str):
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == name else host, port, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_https_connects_to_the_pinned_address_and_checks_the_name(tmp_path, monkeypatch):
    """TLS goes to the checked address, with SNI and certificate checks for the name."""
    server_ctx, client_ctx = _tls_pair(tmp_path, "issuer.sillage.test")
    _pin_name_to_loopback(monkeypatch, "issuer.sillage.test")
    routes = Routes()
    routes.add("/did.json", '{"ok": true}')
    with serve(routes, tls_context=server_ctx) as base:
        port = base.rsplit(":", 1)[1]
        result = fetch(f"https://issuer.sillage.test:{port}/did.json", allow_loopback=True, ssl_context=client_ctx)
    assert json.loads(result.body) == {"ok": True}
    assert routes.seen[0]["headers"]["Host"] == f"issuer.sillage.test:{port}"


def test_https_refuses_a_certificate_for_another_name(tmp_path, monkeypatch):
    server_ctx, client_ctx = _tls_pair(tmp_path, "someone-else.test")
    _pin_name_to_loopback(monkeypatch, "issuer.sillage.test")
    with serve(Routes(), tls_context=server_ctx) as base:
        port = base.rsplit(":", 1)[1]
        with pytest.raises(FetchError) as caught:
            fetch(f"https://issuer.sillage.test:{port}/x", allow_loopback=True, ssl_context=client_ctx)
    assert caught.value.code == "fetch_failed"


def test_https_to_a_name_on_loopback_is_refused_without_the_test_setting(tmp_path, monkeypatch, no_connect):
    _pin_name_to_loopback(monkeypatch, "rebind.sillage.test")
    with pytest.raises(FetchError) as caught:
        fetch("https://rebind.sillage.test/x")
    assert caught.value.code == "fetch_refused"
