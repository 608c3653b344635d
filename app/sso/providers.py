"""The operator's OpenID Connect providers, read from configuration, and their discovery documents.

``SILLAGE_OIDC_PROVIDERS`` holds a JSON list (or ``<instance>/oidc_providers.json`` does), each entry::

    {"name": "ent", "label": "ENT de l'académie", "issuer": "https://ent.example/oidc",
     "discovery_url": "https://ent.example/oidc/.well-known/openid-configuration",   # optional
     "client_id": "sillage", "client_secret_env": "SILLAGE_OIDC_ENT_SECRET",         # or client_secret_file
     "scopes": ["openid", "email", "profile"], "create_accounts": true}

The secret is never in the list itself (``client_secret`` is accepted for tests only, from the
application's config overrides). Discovery documents and key sets are cached per process for an hour;
an unknown ``kid`` makes the key set be fetched again (key rotation at the provider), at most once a
minute per provider, so that forged tokens cannot make us hammer the provider (review 14, L14).

Hardening (review 14, L14): the issuer and the discovery URL must be ``https://`` (``http://`` only on a
loopback host, or under TESTING). The endpoints the discovery document names (authorization, token,
UserInfo, JWKS) must be on the issuer's own origin: a document pointing elsewhere is refused with a log
line naming the endpoint, unless the entry lists that origin in ``"endpoint_origins"`` (some providers,
Google's for one, serve their keys and tokens from other hosts: the operator says so explicitly).
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _

from app.sso.errors import SsoError

HTTP_TIMEOUT = 10
CACHE_SECONDS = 3600
KEYS_REFRESH_SECONDS = 60  # an unknown kid refetches the key set at most this often, per provider
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
log = logging.getLogger(__name__)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_cache: dict[str, tuple[float, dict]] = {}
_refreshed: dict[str, float] = {}  # provider name -> when its key set was last fetched again for a kid
_lock = threading.Lock()


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    create_accounts: bool = True
    endpoint_origins: tuple[str, ...] = ()  # origins besides the issuer's that its endpoints may use


def _secret(entry: dict) -> str:
    if entry.get("client_secret_env"):
        return os.environ.get(entry["client_secret_env"], "")
    if entry.get("client_secret_file"):
        return Path(entry["client_secret_file"]).read_text().strip()
    return str(entry.get("client_secret", ""))


def origin(url: str) -> str:
    """``scheme://host[:port]``, lower-cased: what an endpoint is compared on."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secure_url(url: str, *, testing: bool) -> bool:
    """``https://``, or ``http://`` on a loopback host or in tests: a sign-in answer must not travel clear."""
    if url.startswith("https://"):
        return True
    return url.startswith("http://") and (testing or _loopback(url))


def parse(raw, *, testing: bool = False) -> list[Provider]:
    """Providers from the configuration value (JSON text or an already parsed list); wrong entries
    raise ValueError naming the entry, so that a misconfiguration shows at start-up, not at sign-in."""
    entries = json.loads(raw) if isinstance(raw, str) else list(raw or [])
    providers, names = [], set()
    for index, entry in enumerate(entries):
        name = str(entry.get("name", ""))
        if not NAME.match(name) or name in names:
            raise ValueError(f"OIDC provider #{index}: a unique lower-case name is required, got {name!r}")
        issuer = str(entry.get("issuer", "")).rstrip("/") if entry.get("issuer") else ""
        if not issuer.startswith(("https://", "http://")) or not entry.get("client_id"):
            raise ValueError(f"OIDC provider {name}: issuer (an URL) and client_id are required")
        scopes = tuple(entry.get("scopes") or ("openid", "email", "profile"))
        if "openid" not in scopes:
            scopes = ("openid",) + scopes
        discovery_url = str(entry.get("discovery_url") or issuer + "/.well-known/openid-configuration")
        for what, url in (("issuer", issuer), ("discovery_url", discovery_url)):
            if not _secure_url(url, testing=testing):
                raise ValueError(f"OIDC provider {name}: {what} must be an https:// URL (http:// only on "
                                 f"a loopback host), got {url!r}")
        origins = entry.get("endpoint_origins") or []
        if not isinstance(origins, list) or not all(isinstance(o, str) and _secure_url(o, testing=testing)
                                                    for o in origins):
            raise ValueError(f"OIDC provider {name}: endpoint_origins must be a list of https:// origins")
        names.add(name)
        providers.append(Provider(
            name=name, label=str(entry.get("label") or name), issuer=str(entry["issuer"]),
            discovery_url=discovery_url,
            client_id=str(entry["client_id"]), client_secret=_secret(entry), scopes=scopes,
            create_accounts=bool(entry.get("create_accounts", True)),
            endpoint_origins=tuple(origin(o) for o in origins)))
    return providers


def configured() -> list[Provider]:
    raw = current_app.config.get("OIDC_PROVIDERS")
    if raw is None:
        path = Path(current_app.config["INSTANCE_PATH"]) / "oidc_providers.json"
        raw = path.read_text() if path.is_file() else "[]"
    return parse(raw, testing=bool(current_app.config.get("TESTING")))


def get(name: str) -> Provider:
    for provider in configured():
        if provider.name == name:
            return provider
    raise SsoError("unknown_provider", _("This sign-in service is not configured here."), status=404)


def _fetch_json(url: str, what: str) -> dict:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoError("provider_unreachable",
                       _("The sign-in service did not answer (%(what)s). Try again later.", what=what),
                       status=502) from exc


def _cached(url: str, what: str, refresh: bool = False) -> dict:
    with _lock:
        hit = _cache.get(url)
    if hit and not refresh and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    document = _fetch_json(url, what)
    with _lock:
        _cache[url] = (time.monotonic(), document)
    return document


def metadata(provider: Provider) -> dict:
    """The discovery document, whose ``issuer`` must be exactly the configured one (OpenID Connect
    Discovery 1.0 §4.3): a document naming another issuer is refused, not followed."""
    document = _cached(provider.discovery_url, "discovery")
    if document.get("issuer") != provider.issuer:
        raise SsoError("wrong_issuer", _("The sign-in service presents itself under another name than the "
                                         "one configured: refused."), status=502)
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(key), str):
            raise SsoError("provider_unreachable", _("The sign-in service's description is incomplete."),
                           status=502)
    allowed = {origin(provider.issuer), *provider.endpoint_origins}
    for key in ENDPOINTS:
        url = document.get(key)
        if url is None and key == "userinfo_endpoint":
            continue
        if not isinstance(url, str) or origin(url) not in allowed:
            # Pinned to the issuer's origin: a discovery document (tampered, or a provider compromised)
            # must not send our client secret, codes or key lookups to another host (review 14, L14).
            log.warning("OIDC provider %s: %s %r is not on the issuer's origin %s (nor in endpoint_origins): "
                        "refused", provider.name, key, url, origin(provider.issuer))
            raise SsoError("endpoint_elsewhere", _("The sign-in service's description points to another "
                                                   "site: refused. The administrators have been told."),
                           status=502)
    return document


def key_set(provider: Provider, refresh: bool = False) -> dict:
    """The provider's key set; ``refresh`` (an unknown kid) fetches it again at most once a minute per
    provider, else answers the cached one (the token is then refused for its unknown key)."""
    url = metadata(provider)["jwks_uri"]
    if refresh:
        now = time.monotonic()
        with _lock:
            last = _refreshed.get(provider.name)
            refresh = last is None or now - last >= KEYS_REFRESH_SECONDS
            if refresh:
                _refreshed[provider.name] = now
        if not refresh:
            log.info("OIDC provider %s: unknown key id, key set fetched again less than %s s ago: not "
                     "fetched again", provider.name, KEYS_REFRESH_SECONDS)
    return _cached(url, "keys", refresh=refresh)


def forget() -> None:
    """Drop every cached document and refresh time (a provider replaced at the same address: tests)."""
    with _lock:
        _cache.clear()
        _refreshed.clear()
