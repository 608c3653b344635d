"""Settings, read from ``SILLAGE_*`` environment variables with embedded defaults.

The embedded default needs no setting at all: SQLite (WAL) and files in the instance folder, mail
written to ``instance/outbox/``, jobs inline, and secrets generated into the instance folder on first
start. At scale, the same code points at PostgreSQL, Redis and an SMTP relay through the variables below.
"""
from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

log = logging.getLogger(__name__)

ENV_PREFIX = "SILLAGE_"


def instance_path(env=os.environ) -> Path:
    """The instance folder: ``SILLAGE_INSTANCE_PATH`` or ``./instance``, so instances can run side by side."""
    return Path(env.get(ENV_PREFIX + "INSTANCE_PATH") or "instance").resolve()


def _secret_from_instance(folder: Path, name: str, nbytes: int) -> str:
    """Read a secret kept in the instance folder, creating it (mode 0600) on first start.

    Secrets are never committed: they come from the environment or from here. Several workers may
    start at once on a new instance: the secret is written whole to a private temporary file and then
    hard-linked into place, so every process reads the same complete value, whichever won.
    """
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(nbytes))
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, path)
            log.warning("Generated a new %s in %s; keep it safe and back it up.", name, path)
        except FileExistsError:
            pass  # another process was first: use its value
        finally:
            tmp.unlink()
    value = path.read_text().strip()
    if not value:
        raise RuntimeError(f"{path} is empty: restore it from a backup, or set SILLAGE_{name.upper()}.")
    return value


def load(env=os.environ, overrides: Mapping | None = None) -> dict:
    """Build the Flask configuration mapping from the environment, then ``overrides`` (tests).

    Secrets are only read or generated when neither the overrides nor the environment give them.
    """
    overrides = dict(overrides or {})
    folder = Path(overrides["INSTANCE_PATH"]).resolve() if "INSTANCE_PATH" in overrides else instance_path(env)
    get = lambda name, default=None: env.get(ENV_PREFIX + name, default)  # noqa: E731

    def secret(name: str, nbytes: int) -> str:
        key = name.upper()
        return overrides.get(key) or get(key) or _secret_from_instance(folder, name, nbytes)

    database_url = (overrides.get("SQLALCHEMY_DATABASE_URI") or get("DATABASE_URL")
                    or f"sqlite:///{folder / 'sillage.db'}")
    redis_url = get("REDIS_URL")
    base_url = (get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    settings = {
        "INSTANCE_PATH": str(folder),
        "BASE_URL": base_url,
        "SECRET_KEY": secret("secret_key", 48),
        "MASTER_KEY": secret("master_key", 32),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True} if not database_url.startswith("sqlite") else {},
        "STORAGE_URL": get("STORAGE_URL") or f"file://{folder}",
        "REDIS_URL": redis_url,
        "SMTP_URL": get("SMTP_URL"),
        "MAIL_SENDER": get("MAIL_SENDER", "Sillage <no-reply@localhost>"),
        # Server-side sessions: logout and password changes end sessions for real.
        "SESSION_TYPE": "redis" if redis_url else "sqlalchemy",
        "SESSION_SQLALCHEMY_TABLE": "http_sessions",
        "SESSION_PERMANENT": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        # An absolute 14-day lifetime: no write to the session store on every request, only on change.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "SESSION_COOKIE_NAME": "sillage_session",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": get("RATE_LIMITS", "on") != "off",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATE_LIMIT_LOGIN": get("RATE_LIMIT_LOGIN", "20/minute;200/hour"),
        "RATE_LIMIT_VERIFY": get("RATE_LIMIT_VERIFY", "60/minute"),
        # Tests only: lets the verifier fetch from loopback over http (never in production).
        "VERIFY_ALLOW_LOOPBACK": get("VERIFY_ALLOW_LOOPBACK", "off").lower() in {"1", "true", "on", "yes"},
        "MAX_CONTENT_LENGTH": int(get("MAX_UPLOAD_BYTES", str(25 * 1024 * 1024))),
        "PHOTO_MAX_BYTES": 8 * 1024 * 1024,
        "VAULT_QUOTA_BYTES": int(get("VAULT_QUOTA_BYTES", str(1024**3))),
        # Memory per worker for rendered page parts (the timeline's content); 0 turns the cache off.
        "FRAGMENT_CACHE_BYTES": int(get("FRAGMENT_CACHE_BYTES", str(16 * 1024 * 1024))),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session, which expires on its own
        "HTTPS": base_url.startswith("https://"),
        # Reverse proxies in front of Sillage whose X-Forwarded-* headers are trusted (0: none, so a
        # client cannot forge its address to escape the per-IP limits when gunicorn faces the network).
        "PROXY_HOPS": int(get("PROXY_HOPS", "0")),
        "TOKEN_TTL_VERIFY": timedelta(days=3),
        "TOKEN_TTL_RESET": timedelta(hours=1),
    }
    settings.update(overrides)
    return settings
