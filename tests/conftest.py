"""Test fixtures: a real database built by the real migrations, one fresh database per test.

SQLite (default): the migrations run once into a template file, copied for every test.
PostgreSQL: set ``SILLAGE_TEST_DATABASE_URL``; the migrations run once, tables are emptied after each test.
"""
from __future__ import annotations

import gc
import os
import shutil

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import close_all_sessions

from app import create_app
from app.extensions import db

PG_URL = os.environ.get("SILLAGE_TEST_DATABASE_URL")
PASSWORD = "correct horse battery staple"


# The per-signing JSON-LD time budget (``badges.signing.SIGN_TIME_BUDGET_SECONDS``, 10 s) is a guard against
# hostile documents, not a performance test: on a loaded CI machine a genuine signing once ran past it and
# failed ``test_revocation_needs_a_reason_and_happens_once``. What it signs under that budget is the
# AchievementCredential of its first line (``awarding.award`` -> ``badges.signing.sign_credential``; the
# status list that ``revoke`` re-signs goes through ``certs.sign`` with no budget), often a test's first
# JSON-LD work, so with pyld's cold caches. The suite's signings get a generous budget; the budget's own
# tests set their small values explicitly (tests/verify/test_bounds.py).
SUITE_SIGN_TIME_BUDGET_SECONDS = 300.0


@pytest.fixture(autouse=True, scope="session")
def generous_signing_budget():
    from badges import signing

    default, signing.SIGN_TIME_BUDGET_SECONDS = signing.SIGN_TIME_BUDGET_SECONDS, SUITE_SIGN_TIME_BUDGET_SECONDS
    yield
    signing.SIGN_TIME_BUDGET_SECONDS = default


def _memoise_route_builders() -> None:
    """Werkzeug compiles two URL-builder functions per route (``Rule._compile_builder``: an AST built,
    walked and passed to ``compile``) for every application: about 470 routes, a quarter of
    ``create_app``'s time, spent again for each of the suite's two thousand applications. The function
    it produces depends only on what the key below holds: the rule's text, its parsed parts
    (``_trace``), which arguments have defaults (and, for those in the rule, their value as the
    converter writes it, folded into the code) and ``append_unknown``; it reaches the rule's converters
    at call time through the ``self`` it is bound to (``compile`` binds it to each rule). So the same
    function serves every application's copy of a route, exactly as if it were compiled again.
    Production builds one application and is not concerned. Skipped if Werkzeug's internals change."""
    from werkzeug.routing.rules import Rule

    original = Rule._compile_builder
    if getattr(original, "memoised", False) or not hasattr(Rule, "_get_func_code"):
        return
    cache: dict = {}

    def _compile_builder(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        key = (append_unknown, self.rule, tuple(self._trace),
               tuple((name, self._converters[name].to_url(value) if name in self._converters else None)
                     for name, value in defaults.items()))
        builder = cache.get(key)
        if builder is None:
            builder = cache[key] = original(self, append_unknown)
        return builder

    _compile_builder.memoised = True
    Rule._compile_builder = _compile_builder


_memoise_route_builders()


def _quieter_garbage_collector() -> None:
    """Building an application allocates about a million short-lived objects (flask-smorest deep-copies
    its OpenAPI fragments; Werkzeug compiles routes): with the default thresholds the cyclic collector
    ran through every imported module's objects about once per application. Called before the first
    application is built: the objects alive then (modules, classes, the collected tests) are frozen, out
    of every collection, and the youngest generation is collected less often. Not after: an application
    alive at that moment (Flask-Talisman keeps the last one it was bound to) would stay forever. Full
    collections still run, so released applications are freed (tests/test_app_memory.py checks it).
    Test process only (``sillage serve`` freezes its own imports likewise)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def _settings(instance, database_url: str, **overrides) -> dict:
    settings = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "MASTER_KEY": "test-master-key-not-for-production-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "STORAGE_URL": f"file://{instance}",
        "BASE_URL": "http://localhost",
        # Cheap Argon2 parameters in tests; production keeps the library's defaults (about 50 ms).
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "SMTP_URL": None,
    }
    settings.update(overrides)
    return settings


def _migrate(settings: dict) -> None:
    from flask_migrate import upgrade

    app = create_app(settings)
    with app.app_context():
        if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """Run the real migrations once per session (SQLite: into a template file)."""
    folder = tmp_path_factory.mktemp("template")
    url = PG_URL or f"sqlite:///{folder / 'template.db'}"
    _quieter_garbage_collector()
    _migrate(_settings(folder, url))
    return folder / "template.db"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, template_db):
    """A migrated SQLite file, in the PostgreSQL pass too: for the tests of the embedded default itself
    (a new instance's master key, a live ``sillage serve`` on its own instance folder)."""
    if not PG_URL:
        return template_db
    folder = tmp_path_factory.mktemp("sqlite-template")
    _migrate(_settings(folder, f"sqlite:///{folder / 'template.db'}"))
    return folder / "template.db"


@pytest.fixture
def app_settings(tmp_path, template_db):
    """Per-test settings; tests may change them before asking for ``app``."""
    instance = tmp_path / "instance"
    instance.mkdir()
    if PG_URL:
        url = PG_URL
    else:
        shutil.copy(template_db, instance / "sillage.db")
        url = f"sqlite:///{instance / 'sillage.db'}"
    return _settings(instance, url)


class FreshClient(FlaskClient):
    """A client whose every request runs in its own application context, as in production.

    The ``app`` fixture keeps an application context pushed for the whole test (so tests can query the
    database); without this, requests would reuse it, and with it ``g`` (where Flask-Login caches the
    signed-in user and Flask-WTF the CSRF token) and the database session, from one request or one
    client to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app_settings):
    app = create_app(app_settings)
    app.test_client_class = FreshClient
    with app.app_context():
        yield app
        release_database()


def release_database() -> None:
    """The end of a test's application: on PostgreSQL (one database for every test), empty it.

    Every session still open is closed first, the outer fixtures' included (a test that builds its own
    application inside the ``app`` fixture, whose session is another one): TRUNCATE would otherwise
    wait forever for their transaction. Their objects are detached afterwards: read what you need before."""
    close_all_sessions()
    db.session.remove()
    if PG_URL:
        _empty_postgres_tables()
    db.engine.dispose()


def _empty_postgres_tables() -> None:
    """Leave the PostgreSQL database as the migrations left it: every table empty, every sequence at its
    start.

    TRUNCATE of all ~100 tables took about 0.8 s a test (each table gets a new file), about half of the
    PostgreSQL pass; a test writes to a handful. So one query asks which tables hold rows and only those
    are truncated (CASCADE empties whatever refers to them, as before), and every sequence used since its
    last restart (even by a row inserted then deleted or rolled back, whose table is empty) is restarted:
    the same state as the full TRUNCATE … RESTART IDENTITY gave."""
    tables = [table.name for table in db.metadata.sorted_tables]
    probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
    written = [row[0] for row in db.session.execute(text(probe))]
    used = [row[0] for row in db.session.execute(text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
        "WHERE schemaname = current_schema() AND last_value IS NOT NULL"))]
    if written:
        db.session.execute(text(f"TRUNCATE {', '.join(written)} RESTART IDENTITY CASCADE"))
    for sequence in used:
        db.session.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    """Factory: a verified account with a portfolio, created through the real service."""
    from app.services import accounts

    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = PASSWORD, verified: bool = True, **kwargs):
        email = email or f"person{next(counter)}@example.org"
        user = accounts.create_user(db.session, email=email, password=password, verified=verified, **kwargs)
        db.session.commit()
        return user

    return make


def login(client, email: str, password: str = PASSWORD):
    """Sign in through the real login form (with its CSRF token)."""
    from tests.helpers import csrf_token

    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_token(page)}, follow_redirects=False)


@pytest.fixture
def user(make_user):
    return make_user("owner@example.org", display_name="Owner Person")


@pytest.fixture
def platform_admin(make_user):
    """A platform administrator (organisations, accounts, indicators; no portfolio content)."""
    person = make_user("root@platform.example")
    person.is_admin = True
    db.session.commit()
    return person


@pytest.fixture
def logged_in(client, user):
    """A client signed in as ``user``."""
    response = login(client, user.email)
    assert response.status_code == 302, response.data[:500]
    return client
