"""Settings, read from ``SILLAGE_*`` environment variables with embedded defaults.

The embedded default needs no setting at all: SQLite (WAL) and files in the instance folder, mail
written to ``instance/outbox/``, jobs queued in ``instance/jobs.db``, and secrets generated into the
instance folder on first start. At scale, the same code points at PostgreSQL, Redis and an SMTP relay
through the variables below.
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



def default_workers() -> int:
    """CPUs + 1 gunicorn workers, as measured by `make bench` with `--compare-workers 2,3,5` (README,
    "Performance"): on 2 CPUs, 3 workers served the timeline and the API best (or within noise of the
    best) with less memory than 5, the classic 2 x CPUs + 1, which won only the trivial route, by 5 %;
    2 leave a CPU idle while a worker waits for the database."""
    return (os.cpu_count() or 1) + 1


def _redis_options() -> dict:
    """Flask-Limiter's Redis client options: the timeouts of every Redis client (``app.redis_clients``)."""
    from app.redis_clients import options  # noqa: PLC0415 - only with SILLAGE_REDIS_URL

    return options()


def _flag(value: str | None) -> bool | None:
    """An on/off setting; None when unset, so that the code can choose its own default."""
    return None if value in (None, "") else value.strip().lower() in {"1", "true", "on", "yes"}


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


def _absolute_sqlite(database_url: str, folder: Path) -> str:
    """A relative SQLite path made absolute under the instance folder, as Flask-SQLAlchemy reads it, so
    that the checks made here (``_holds_data``) and the rate-limit storage open the same file."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:") or Path(url.database).is_absolute():
        return database_url
    return url.set(database=str(folder / url.database)).render_as_string(hide_password=False)


def _holds_data(database_url: str) -> bool:
    """Whether the database already holds accounts, hence data that the master key protects.

    "New instance" means: no database yet (an SQLite file that does not exist), no ``users`` table
    (migrations not run), or no row in it. Every key the master key seals (vault data keys, signing
    keys) belongs to an account or to an organisation that accounts run, so no account means nothing
    a new master key could orphan. A database that cannot be read counts as holding data: the start
    stops with that error rather than generate a key that might replace one in use.
    """
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"
                                               or not Path(url.database).exists()):
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("users"):
                return False
            return connection.execute(text("SELECT 1 FROM users LIMIT 1")).first() is not None
    finally:
        engine.dispose()


def _master_key(folder: Path, database_url: str) -> str:
    """The instance master key from ``<instance>/master_key``, generated only for a new instance.

    An empty file always stops the start (``_secret_from_instance``); so does a missing one once the
    database holds accounts (``_holds_data``): generating a new key then would silently make every
    sealed key and vault document unreadable.
    """
    path = folder / "master_key"
    if not path.exists() and _holds_data(database_url):
        raise RuntimeError(
            f"{path} is missing, but the database already holds accounts whose keys it protects. "
            f"Sillage will not generate a new one (that would make their sealed keys and vault documents "
            f"unreadable): restore it from a backup into {path} (mode 0600), or set SILLAGE_MASTER_KEY.")
    return _secret_from_instance(folder, "master_key", 32)


def load(env=os.environ, overrides: Mapping | None = None) -> dict:
    """Build the Flask configuration mapping from the environment, then ``overrides`` (tests).

    Secrets are only read or generated when neither the overrides nor the environment give them; the
    master key is generated for a new instance only (``_master_key``).
    """
    overrides = dict(overrides or {})
    folder = Path(overrides["INSTANCE_PATH"]).resolve() if "INSTANCE_PATH" in overrides else instance_path(env)
    get = lambda name, default=None: env.get(ENV_PREFIX + name, default)  # noqa: E731
    database_url = _absolute_sqlite(overrides.get("SQLALCHEMY_DATABASE_URI") or get("DATABASE_URL")
                                    or f"sqlite:///{folder / 'sillage.db'}", folder)

    def secret(name: str, nbytes: int) -> str:
        key = name.upper()
        return overrides.get(key) or get(key) or _secret_from_instance(folder, name, nbytes)


    given_master_key = overrides.get("MASTER_KEY") or get("MASTER_KEY")
    redis_url = get("REDIS_URL")
    base_url = (get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    settings = {
        "INSTANCE_PATH": str(folder),
        "BASE_URL": base_url,
        "SECRET_KEY": secret("secret_key", 48),
        "MASTER_KEY": given_master_key or _master_key(folder, database_url),
        # Where the master key came from, when from the instance folder: ``app.services.vault_keys``
        # re-reads it there, so that workers follow ``sillage keys rotate-master`` without a restart.
        "MASTER_KEY_FILE": None if given_master_key else str(folder / "master_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True} if not database_url.startswith("sqlite") else {},
        "STORAGE_URL": get("STORAGE_URL") or f"file://{folder}",
        # S3-compatible storage (``app.storage``): unset credentials fall back to boto3's usual chain.
        "S3_ENDPOINT_URL": get("S3_ENDPOINT_URL"),
        "S3_REGION": get("S3_REGION"),
        "S3_ACCESS_KEY_ID": get("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": get("S3_SECRET_ACCESS_KEY"),
        "REDIS_URL": redis_url,
        # Background jobs (``app.jobs``): Huey on Redis when REDIS_URL is set, else ``<instance>/jobs.db``;
        # immediate (tasks run in the caller) when set here, or by default in tests. JOBS_IMPORTS: extra
        # modules that consumers import (their tasks and batch handlers). A batch whose consumer
        # stopped answering is taken over after JOBS_LEASE_SECONDS (``app.services.batches``).
        "JOBS_IMMEDIATE": _flag(get("JOBS_IMMEDIATE")),
        "JOBS_QUEUE": get("JOBS_QUEUE", "sillage"),
        "JOBS_IMPORTS": tuple(filter(None, (name.strip() for name in get("JOBS_IMPORTS", "").split(",")))),
        "JOBS_LEASE_SECONDS": int(get("JOBS_LEASE_SECONDS", "60")),
        # Bulk awards (``app.services.bulk_awards``): a CSV file beyond these is refused as a whole.
        "BULK_AWARD_MAX_ROWS": int(get("BULK_AWARD_MAX_ROWS") or 20_000),
        "BULK_AWARD_MAX_BYTES": int(get("BULK_AWARD_MAX_BYTES") or 16 * 1024 * 1024),
        # Processes that sign a bulk award's rows (``app.services.bulk_awards.signers``): default (None)
        # one per core; 0 signs in the consumer itself.
        "BULK_AWARD_SIGNERS": int(get("BULK_AWARD_SIGNERS")) if get("BULK_AWARD_SIGNERS") else None,
        # A previewed file never confirmed is deleted after this many days.
        "BULK_AWARD_PREVIEW_DAYS": int(get("BULK_AWARD_PREVIEW_DAYS") or 2),
        "SMTP_URL": get("SMTP_URL"),
        "MAIL_SENDER": get("MAIL_SENDER", "Sillage <no-reply@localhost>"),
        # Whom people write to about their account (shown to a suspended person who gave the right password).
        "CONTACT_EMAIL": get("CONTACT_EMAIL", ""),
        # Server-side sessions: logout and password changes end sessions for real.
        "SESSION_TYPE": "redis" if redis_url else "sqlalchemy",
        "SESSION_PERMANENT": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        # An absolute 14-day lifetime: no write to the session store on every request, only on change.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "SESSION_COOKIE_NAME": "sillage_session",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        # Counters shared by every worker: Redis when configured, else the database (``app.ratelimits``).
        "RATELIMIT_STORAGE_URI": redis_url or "sillage-db://",
        # On Redis, with the timeouts of every Redis client (``app.redis_clients``).
        "RATELIMIT_STORAGE_OPTIONS": _redis_options() if redis_url else {"database_url": database_url},
        "RATELIMIT_ENABLED": get("RATE_LIMITS", "on") != "off",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATE_LIMIT_LOGIN": get("RATE_LIMIT_LOGIN", "20/minute;200/hour"),
        "RATE_LIMIT_VERIFY": get("RATE_LIMIT_VERIFY", "60/minute"),
        "RATE_LIMIT_ISSUE": get("RATE_LIMIT_ISSUE", "300/minute"),  # VC-API issuer, per organisation token
        # Share links (app/pages/public.py): unknown tokens and wrong passwords per address.
        "RATE_LIMIT_SHARE": get("RATE_LIMIT_SHARE", "20/minute;200/hour"),
        # ... and wrong passwords per link, whatever the address (a leaked link tried from many addresses).
        "RATE_LIMIT_SHARE_PASSWORD": get("RATE_LIMIT_SHARE_PASSWORD", "50/hour;200/day"),
        # Activation codes (app/institutions/guard.py): attempts per address (an IPv6 /64), failed codes
        # per signed-in account, failed codes for the whole platform.
        "RATE_LIMIT_CODES": get("RATE_LIMIT_CODES", "10/minute;100/day"),
        "RATE_LIMIT_CODES_ACCOUNT": get("RATE_LIMIT_CODES_ACCOUNT", "10/hour;30/day"),
        "RATE_LIMIT_CODES_TOTAL": get("RATE_LIMIT_CODES_TOTAL", "1000/hour"),
        # Roster previews (page and API) per head: each reads a file of up to 5 MB and checks its addresses.
        "RATE_LIMIT_ROSTER_PREVIEW": get("RATE_LIMIT_ROSTER_PREVIEW", "30/hour"),
        # Verifications running at once on this host (``app.verification.runner``): half the request
        # capacity of ``sillage serve``, so that slow ones never hold every worker.
        "VERIFY_SLOTS": int(get("VERIFY_SLOTS") or max(1, int(get("WORKERS") or default_workers())
                                                     * int(get("THREADS") or 1) // 2)),
        # Tests only: lets the verifier fetch from loopback over http (never in production).
        "VERIFY_ALLOW_LOOPBACK": get("VERIFY_ALLOW_LOOPBACK", "off").lower() in {"1", "true", "on", "yes"},
        "MAX_CONTENT_LENGTH": int(get("MAX_UPLOAD_BYTES", str(25 * 1024 * 1024))),
        "PHOTO_MAX_BYTES": 8 * 1024 * 1024,
        # The vault (app/services/documents.py): quota per owner and largest file, in bytes.
        "VAULT_QUOTA_BYTES": int(get("VAULT_QUOTA") or get("VAULT_QUOTA_BYTES") or 1024**3),
        "VAULT_MAX_FILE_BYTES": int(get("VAULT_MAX_FILE") or 500 * 1024**2),
        # Memory per worker for rendered page parts (the timeline's content); 0 turns the cache off.
        "FRAGMENT_CACHE_BYTES": int(get("FRAGMENT_CACHE_BYTES", str(16 * 1024 * 1024))),
        # Language of visitors whose browser asks for none Sillage speaks, and of the CLI (app/i18n.py).
        "BABEL_DEFAULT_LOCALE": get("DEFAULT_LANGUAGE", "fr"),
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "LANGUAGES": ("fr", "en"),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session, which expires on its own
        "HTTPS": base_url.startswith("https://"),
        # Reverse proxies in front of Sillage whose X-Forwarded-* headers are trusted (0: none, so a
        # client cannot forge its address to escape the per-IP limits when gunicorn faces the network).
        "PROXY_HOPS": int(get("PROXY_HOPS", "0")),
        "TOKEN_TTL_VERIFY": timedelta(days=3),
        "TOKEN_TTL_RESET": timedelta(hours=1),
        # The owner's access log (app/services/access_log.py) keeps this many days, then a job prunes it.
        "ACCESS_LOG_DAYS": int(get("ACCESS_LOG_DAYS") or 365),
        "EXPORT_LINK_HOURS": int(get("EXPORT_LINK_HOURS") or 72),  # issue 11: an export's download link
        # Single sign-on (app/sso): a JSON list of OpenID Connect providers, else <instance>/oidc_providers.json.
        "OIDC_PROVIDERS": get("OIDC_PROVIDERS"),
    }
    settings.update(overrides)
    return settings
