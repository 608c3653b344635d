"""Where the time of one ``GET /timeline`` goes, measured in-process through the test client.

    python tests/benchmarks/profile_timeline.py [--requests 300] [--owners 40] [--pyinstrument]

A temporary SQLite instance gets the real migrations and ``sillage demo --accounts N`` content (the
same synthetic accounts as ``make bench``); ``--owners`` of them sign in through the login form, then
``--requests`` timeline requests cycle through them (``--no-cache``: each one renders afresh, as the
first view after a change does; otherwise all but the first of each owner come from the cache). It prints the process CPU time per request
(``time.process_time``: hardly moved by the other work on a shared machine, unlike requests per
second) for ``/timeline`` and ``/healthz`` side by side, then, with ``--pyinstrument`` (or
``--cprofile``), the profile of the timeline requests. No server and no network: this measures the
application's own work, not gunicorn's.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402  (after the path is set, when run as a script)
from app.demo import BENCH_PASSWORD, bench_email, load  # noqa: E402
from app.extensions import db  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build(folder: Path, accounts: int, cache: bool = True):
    from flask_migrate import upgrade

    instance = folder / "instance"
    instance.mkdir()
    app = create_app({
        "INSTANCE_PATH": str(instance), "SECRET_KEY": "profile", "MASTER_KEY": "profile-master-key-0123456789",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'sillage.db'}", "STORAGE_URL": f"file://{instance}",
        "BASE_URL": "http://localhost", "RATELIMIT_ENABLED": False, "SMTP_URL": None,
        **({} if cache else {"FRAGMENT_CACHE_BYTES": 0}),
    })
    with app.app_context():
        upgrade()
        load(db.session, extra_accounts=accounts)
        db.session.commit()
    return app


def signed_in(app, owners: int):
    clients = []
    for n in range(1, owners + 1):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"email": bench_email(n), "password": BENCH_PASSWORD,
                                               "csrf_token": CSRF.search(page).group(1)})
        assert response.status_code == 302 and "/login" not in response.location, response.status
        clients.append(client)
    return clients


def cpu_per_request(clients, path: str, requests: int) -> float:
    """Milliseconds of this process's CPU time per request (after one warm-up round)."""
    for client in clients:
        assert client.get(path).status_code == 200
    started = time.process_time()
    for i in range(requests):
        response = clients[i % len(clients)].get(path)
        assert response.status_code == 200, response.status_code
    return 1000 * (time.process_time() - started) / requests


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200, help="synthetic accounts (default 200)")
    parser.add_argument("--owners", type=int, default=40, help="accounts signed in and cycled through")
    parser.add_argument("--requests", type=int, default=400, help="timeline requests measured")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each route (best kept)")
    parser.add_argument("--no-cache", action="store_true",
                        help="turn the timeline's fragment cache off (every request renders, as after a change)")
    parser.add_argument("--pyinstrument", action="store_true", help="print a pyinstrument profile")
    parser.add_argument("--cprofile", action="store_true", help="print the top of a cProfile profile")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sillage-profile-") as folder:
        app = build(Path(folder), args.accounts, cache=not args.no_cache)
        clients = signed_in(app, min(args.owners, args.accounts))
        gc.collect()
        if hasattr(gc, "freeze"):
            gc.freeze()  # as each gunicorn worker does after building the application
        results = {}
        for path in ("/healthz", "/timeline"):
            results[path] = min(cpu_per_request(clients, path, args.requests) for _ in range(args.rounds))
        print(f"CPU ms per request (best of {args.rounds} x {args.requests}, {args.accounts} accounts, "
              f"pid {os.getpid()}):")
        for path, ms in results.items():
            print(f"  GET {path:<10} {ms:7.2f}")
        print(f"  timeline / healthz CPU: {results['/timeline'] / results['/healthz']:.2f}")
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            with profiler:
                cpu_per_request(clients, "/timeline", args.requests)
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.cprofile:
            profile = cProfile.Profile()
            profile.enable()
            cpu_per_request(clients, "/timeline", args.requests)
            profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
