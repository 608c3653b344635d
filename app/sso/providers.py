"""The operator's OpenID Connect providers, read from configuration, and their discovery documents.

``SILLAGE_OIDC_PROVIDERS`` holds a JSON list (or ``<instance>/oidc_providers.json`` does), each entry::

    {"name": "ent", "label": "ENT de l'académie", "issuer": "https://ent.example/oidc",
     "discovery_url": "https://ent.example/oidc/.well-known/openid-configuration",   # optional
     "client_id": "sillage", "client_secret_env": "SILLAGE_OIDC_ENT_SECRET",         # or client_secret_file
     "scopes": ["openid", "email", "profile"], "create_accounts": true}

The secret is never in the list itself (``client_secret`` is accepted for tests only, from the
application's config overrides). Discovery documents and key sets are cached per process for an hour;
an unknown ``kid`` makes the key set be fetched again once (key rotation at the provider).
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from flask import current_app
from flask_babel import gettext as _

from app.sso.errors import SsoError

HTTP_TIMEOUT = 10
CACHE_SECONDS = 3600
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_cache: dict[str, tuple[float, dict]] = {}
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


def _secret(entry: dict) -> str:
    if entry.get("client_secret_env"):
        return os.environ.get(entry["client_secret_env"], "")
    if entry.get("client_secret_file"):
        return Path(entry["client_secret_file"]).read_text().strip()
    return str(entry.get("client_secret", ""))


def parse(raw) -> list[Provider]:
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
        names.add(name)
        providers.append(Provider(
            name=name, label=str(entry.get("label") or name), issuer=str(entry["issuer"]),
            discovery_url=entry.get("discovery_url") or issuer + "/.well-known/openid-configuration",
            client_id=str(entry["client_id"]), client_secret=_secret(entry), scopes=scopes,
            create_accounts=bool(entry.get("create_accounts", True))))
    return providers


def configured() -> list[Provider]:
    raw = current_app.config.get("OIDC_PROVIDERS")
    if raw is None:
        path = Path(current_app.config["INSTANCE_PATH"]) / "oidc_providers.json"
        raw = path.read_text() if path.is_file() else "[]"
    return parse(raw)


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
    return document


def key_set(provider: Provider, refresh: bool = False) -> dict:
    return _cached(metadata(provider)["jwks_uri"], "keys", refresh=refresh)
