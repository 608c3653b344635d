"""An HTTP GET that a verifier may point at any URL an untrusted credential names, without SSRF.

A credential chooses the URLs we fetch (its did:web issuer, its status list, its OB 2.0 hosted
assertion), so every fetch is a request made *on behalf of a stranger* from inside our network. The
guard therefore:

* accepts ``https`` only (``http`` only to a loopback address, and only when the caller passes
  ``allow_loopback=True``, which tests and local demos do through ``SILLAGE_VERIFY_ALLOW_LOOPBACK``);
* resolves the host name once with ``getaddrinfo`` and refuses unless EVERY address is public (not
  private, loopback, link-local, multicast, reserved, unspecified, CGNAT, documentation, benchmark,
  nor an IPv6 form that embeds one of those: IPv4-mapped, NAT64, 6to4, Teredo);
* connects to the address it checked (pinned), not to the name again, so a DNS answer that changes
  between the check and the connection (DNS rebinding) cannot redirect the request; TLS still sends
  the name as SNI and verifies the certificate for the name, and ``Host`` carries the name;
* refuses redirects (a redirect would be a second, unchecked request), credentials in the URL and
  any status but 200, and 410 Gone whose body is an object with ``"revoked": true``: that is how
  OB 2.0 ("Revoking Hosted Assertions") serves a revoked hosted assertion, and the verifier must read
  it as revoked rather than unreachable (``fetch_json`` refuses any other 410);
* bounds time (2 s to connect, 5 s in all) and size (256 KB, read in chunks and stopped at the cap).

Failures raise :class:`FetchError` with a stable ``code`` that the verifier reports as is.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import BadgeError
from .formats import parse_json

GONE = 410  # a revoked OB 2.0 hosted assertion (see the module docstring)

CONNECT_TIMEOUT = 2.0
TOTAL_TIMEOUT = 5.0
MAX_BYTES = 256 * 1024
ACCEPT_JSON = ("application/ld+json, application/json;q=0.9, application/did+ld+json;q=0.9, "
               "application/did+json;q=0.9")
USER_AGENT = "Sillage-verifier/1"
_CHUNK = 16 * 1024

# Ranges that ipaddress does not flag everywhere, or flags only in some Python versions.
_EXTRA_BLOCKED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "fec0::/10",
    "ff00::/8",
)]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class FetchError(Exception):
    """A refused or failed fetch. ``code`` is stable: fetch_refused, fetch_failed, fetch_timeout,
    too_large, invalid_json."""

    def __init__(self, code: str, message: str, url: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.url = url


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content_type: str
    body: bytes


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for an address on the public internet (and not one hidden inside an IPv6 form)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in _NAT64_LOCAL:
            return False
        if ip.sixtofour is not None:
            return is_public_address(ip.sixtofour)
        if ip.teredo is not None:
            return all(is_public_address(inner) for inner in ip.teredo)
    if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global):
        return False
    return not any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version)


def _parse(url: str, allow_loopback: bool) -> tuple[str, str, int, str]:
    """Split and check a URL: (scheme, host, port, path-with-query)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise FetchError("fetch_refused", "not a usable URL", str(url)[:200])
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchError("fetch_refused", f"not a usable URL ({exc})", url) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or (scheme == "http" and not allow_loopback):
        raise FetchError("fetch_refused", f"scheme {scheme or '(none)'!r} is not allowed (https only)", url)
    if parts.username is not None or parts.password is not None:
        raise FetchError("fetch_refused", "credentials in a URL are not allowed", url)
    host = parts.hostname
    if not host:
        raise FetchError("fetch_refused", "the URL has no host", url)
    try:
        host = host.encode("idna").decode("ascii") if not _is_ip_literal(host) else host
    except UnicodeError as exc:
        raise FetchError("fetch_refused", "the host name is not valid", url) from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def resolve(host: str, port: int, *, allow_loopback: bool = False, url: str = "") -> list[tuple]:
    """Resolve ``host`` and return its socket addresses, refusing unless every one is allowed.

    Checking every address (not just the first) closes the trick of a name that answers one public
    and one private address and lets the connection pick.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise FetchError("fetch_failed", f"cannot resolve {host}", url) from exc
    if not infos:
        raise FetchError("fetch_failed", f"cannot resolve {host}", url)
    for family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if is_public_address(ip):
            continue
        if allow_loopback and ip.is_loopback:
            continue
        raise FetchError("fetch_refused", f"{host} resolves to a non-public address ({ip})", url)
    return [(family, sockaddr) for family, _t, _p, _n, sockaddr in infos]


def _connect(addresses: list[tuple], deadline: float, url: str) -> socket.socket:
    """Connect to the first reachable checked address (never to the name again)."""
    last: Exception | None = None
    for family, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(min(CONNECT_TIMEOUT, remaining))
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    if isinstance(last, socket.timeout) or time.monotonic() >= deadline:
        raise FetchError("fetch_timeout", "the server did not answer in time", url)
    raise FetchError("fetch_failed", f"cannot connect ({last})", url)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address; ``host`` (for the Host header) stays the name."""

    def __init__(self, host, port, sock_factory):
        super().__init__(host, port)
        self._sock_factory = sock_factory

    def connect(self):
        self.sock = self._sock_factory()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with SNI and certificate verification for the name."""

    def __init__(self, host, port, sock_factory, context):
        super().__init__(host, port, context=context)
        self._sock_factory = sock_factory
        self._tls_context = context

    def connect(self):
        self.sock = self._tls_context.wrap_socket(self._sock_factory(), server_hostname=self.host)


def fetch(url: str, *, allow_loopback: bool = False, accept: str = ACCEPT_JSON,
          max_bytes: int = MAX_BYTES, timeout: float = TOTAL_TIMEOUT,
          ssl_context: ssl.SSLContext | None = None) -> FetchResult:
    """GET ``url`` under the guard and return the whole (bounded) body; raise :class:`FetchError`."""
    scheme, host, port, path = _parse(url, allow_loopback)
    deadline = time.monotonic() + timeout
    addresses = resolve(host, port, allow_loopback=allow_loopback, url=url)
    if scheme == "http" and not all(ipaddress.ip_address(a[1][0].split("%", 1)[0]).is_loopback
                                    for a in addresses):
        raise FetchError("fetch_refused", "plain http is allowed to a loopback test server only", url)

    def sock_factory():
        return _connect(addresses, deadline, url)

    if scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, sock_factory, ssl_context or ssl.create_default_context())
    else:
        conn = _PinnedHTTPConnection(host, port, sock_factory)
    try:
        try:
            conn.putrequest("GET", path, skip_accept_encoding=True)
            conn.putheader("Accept", accept)
            conn.putheader("User-Agent", USER_AGENT)
            conn.putheader("Connection", "close")
            conn.endheaders()
            sock = conn.sock  # kept: http.client drops its reference once the response is open
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            response = conn.getresponse()
        except FetchError:
            raise
        except (socket.timeout, TimeoutError) as exc:
            raise FetchError("fetch_timeout", "the server did not answer in time", url) from exc
        except ssl.SSLError as exc:
            raise FetchError("fetch_failed", f"TLS failed ({exc.reason or exc})", url) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError("fetch_failed", f"the request failed ({exc.__class__.__name__})", url) from exc
        if 300 <= response.status < 400:
            raise FetchError("fetch_refused", f"redirects are not followed (HTTP {response.status})", url)
        if response.status not in (200, GONE):
            raise FetchError("fetch_failed", f"HTTP {response.status}", url)
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > max_bytes:
            raise FetchError("too_large", f"the document is larger than {max_bytes} bytes", url)
        body = _read_bounded(sock, response, deadline, max_bytes, url)
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        return FetchResult(url=url, status=response.status, content_type=content_type, body=body)
    finally:
        conn.close()


def _read_bounded(sock, response, deadline: float, max_bytes: int, url: str) -> bytes:
    """Read chunk by chunk, stopping at the size cap or the deadline (a slow drip counts too)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("fetch_timeout", "the server took too long to send the document", url)
        try:
            sock.settimeout(remaining)
            chunk = response.read1(min(_CHUNK, max_bytes + 1 - size)) if size <= max_bytes else b""
        except (socket.timeout, TimeoutError) as exc:
            raise FetchError("fetch_timeout", "the server took too long to send the document", url) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError("fetch_failed", f"the download failed ({exc.__class__.__name__})", url) from exc
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("too_large", f"the document is larger than {max_bytes} bytes", url)


def fetch_json(url: str, *, allow_loopback: bool = False) -> dict | list:
    """GET a JSON (or JSON-LD) document under the guard and parse it as strictly as a submitted one
    (:func:`badges.formats.parse_json`: a repeated key in a DID document is as ambiguous as anywhere)."""
    result = fetch(url, allow_loopback=allow_loopback)
    try:
        document = parse_json(result.body)
    except BadgeError as exc:
        if result.status == GONE:
            raise FetchError("fetch_failed", f"HTTP {result.status}", url) from None
        code = exc.code if exc.code == "too_large" else "invalid_json"
        raise FetchError(code, f"the document is not usable JSON ({exc.message})", url) from exc
    if result.status == GONE and not (isinstance(document, dict) and document.get("revoked") is True):
        raise FetchError("fetch_failed", f"HTTP {result.status}", url)
    return document


def json_fetcher(*, allow_loopback: bool = False):
    """A ``fetch(url) -> JSON`` function for the verifier and for reading external badges."""
    def fetch_document(url: str):
        return fetch_json(url, allow_loopback=allow_loopback)
    return fetch_document
