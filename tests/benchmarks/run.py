"""`make bench`: throughput and latency of the main routes with 10,000 accounts in the database.

1. a temporary instance (SQLite by default; pass --database-url for PostgreSQL) is migrated and seeded
   with `sillage demo --accounts N` (about 20 items per account);
2. `sillage serve` (gunicorn, default workers) listens on a free loopback port;
3. a random sample of the accounts signs in through the login form (session cookies) and gets API
   tokens (POST /api/v1/tokens);
4. each route is loaded for a bounded time by the same client: GET /healthz (the trivial route: no
   session, one `SELECT 1`), GET /timeline of random owners, GET /api/v1/experiences of random owners;
5. a table gives requests per second, p50 and p95 latency, and each route's throughput as a ratio of
   the trivial route's. Aim: at least half the trivial route's throughput;
6. then, unless --skip-credentials is given, the credential benchmark (tests/benchmarks/
   bench_credentials.py --count 1000: signing and verifying Open Badges 3.0 credentials, beside
   Node.js's reference libraries when Node is installed);
6b. then, unless --skip-bulk is given, the bulk award (tests/benchmarks/bench_bulk_award.py: 5,000
   credentials from one CSV file, total time and credentials per second beside the signing-only rate);
7. then, unless --skip-vault is given, the vault cipher benchmark (tests/benchmarks/bench_vault.py: raw
   AES-256-GCM of `cryptography` beside the streamed encryption and decryption of 200 MiB, MiB/s and
   peak memory), and the vault through the app (tests/benchmarks/bench_vault_app.py: a 200 MiB upload
   and download over HTTP, MiB/s and the worker's peak memory over rest, beside the raw cipher);
8. then, unless --skip-cv is given, CV generation (tests/benchmarks/bench_cv.py: DOCX and PDF of a
   40-experience portfolio, ranking 500 items against a 5 KB offer);
9. then, unless --skip-frameworks is given, reference frameworks (tests/benchmarks/bench_frameworks.py:
   import of a generated ESCO download of 15,000 skills, 3,000 occupations and 100,000 relations, then
   the median concept search), and the writing aid on the same generated framework
   (tests/benchmarks/bench_skill_suggestions.py: the median time of an experience's skill suggestions);
10. then, unless --skip-path is given, the gap analysis of career hypotheses (tests/benchmarks/bench_path.py:
   median over a generated 15,000-skill, 3,000-occupation, 100,000-relation ESCO framework);
11. then, unless --skip-roster is given, rosters (tests/benchmarks/bench_roster.py: preview and import of
   5,000 pupils, letters for a class of 35; times and peak memory);
12. then, unless --skip-indicators is given, the indicators page with 100,000 accounts
   (tests/benchmarks/bench_indicators.py).

Rate limits are switched off in the benchmark instance (every request comes from 127.0.0.1). The exit
status is non-zero if a request failed or the setup did not work; a ratio below the aim is reported,
not failed, unless --strict is given (the figures depend on the machine).
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import Client, measure, process_tree_cpu  # noqa: E402  (a sibling module of this script)

ROOT = Path(__file__).resolve().parents[2]
SILLAGE = [sys.executable, "-c", "from app.cli import main; main()"]
BENCH_PASSWORD = "bench-password-sillage"  # app.demo.BENCH_PASSWORD; the seed command prints it too
AIM = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000, help="synthetic accounts (default 10000)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per route (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--sessions", type=int, default=40, help="accounts signed in through the form")
    parser.add_argument("--tokens", type=int, default=40, help="accounts given an API token")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: serve's)")
    parser.add_argument("--compare-workers", type=lambda text: [int(n) for n in text.split(",")], default=None,
                        metavar="N,N,...", help="serve with each of these worker counts in turn and compare")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --compare-workers (default 3)")
    parser.add_argument("--database-url", default=None, help="SILLAGE_DATABASE_URL (default: SQLite)")
    parser.add_argument("--strict", action="store_true", help="fail when a route is below the aim")
    parser.add_argument("--skip-credentials", action="store_true",
                        help="do not run the credential benchmark after the HTTP one")
    parser.add_argument("--skip-bulk", action="store_true",
                        help="do not run the bulk award benchmark (tests/benchmarks/bench_bulk_award.py)")
    parser.add_argument("--skip-vault", action="store_true",
                        help="do not run the vault cipher benchmark (tests/benchmarks/bench_vault.py)")
    parser.add_argument("--skip-roster", action="store_true",
                        help="do not run the roster benchmark (tests/benchmarks/bench_roster.py)")
    parser.add_argument("--skip-indicators", action="store_true",
                        help="do not run the indicators benchmark (tests/benchmarks/bench_indicators.py)")
    parser.add_argument("--skip-cv", action="store_true",
                        help="do not run the CV benchmark (tests/benchmarks/bench_cv.py)")
    parser.add_argument("--skip-frameworks", action="store_true",
                        help="do not run the frameworks benchmark (tests/benchmarks/bench_frameworks.py)")
    parser.add_argument("--skip-path", action="store_true",
                        help="do not run the gap analysis benchmark (tests/benchmarks/bench_path.py)")
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sillage(env: dict, *args: str) -> str:
    done = subprocess.run([*SILLAGE, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"sillage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server did not answer within 60 s:\n{log.read_text()[-3000:]}")


# (the --skip-X flag, what it measures, its script with arguments): each runs in its own process, in turn.
FOLLOWERS = (
    ("credentials", "Credentials: signing and verifying", ["bench_credentials.py", "--count", "1000"]),
    ("bulk", "Bulk award: 5,000 credentials from a CSV file", ["bench_bulk_award.py", "--breakdown"]),
    ("vault", "Vault cipher: raw AES-256-GCM beside streamed encryption", ["bench_vault.py"]),
    ("vault", "Vault through the app: 200 MiB up and down over HTTP", ["bench_vault_app.py"]),
    ("cv", "CVs: DOCX, PDF and relevance ranking", ["bench_cv.py"]),
    ("frameworks", "Reference frameworks: import and search", ["bench_frameworks.py"]),
    ("frameworks", "Writing aid: skill suggestions on the same generated framework", ["bench_skill_suggestions.py"]),
    ("path", "Career hypotheses: gap analysis", ["bench_path.py"]),
    ("roster", "Rosters: 5,000 pupils previewed and imported, letters for 35", ["bench_roster.py"]),
    ("roster", "Rosters: the first letters a fresh server prints, beside the second", ["bench_first_letters.py"]),
    ("indicators", "Indicators page with 100,000 accounts", ["bench_indicators.py"]),
)


def main(argv=None) -> int:
    args = parse_args(argv)
    status = run_http(args)
    for flag, title, (script, *script_args) in FOLLOWERS:
        if getattr(args, f"skip_{flag}"):
            continue
        print(f"\n{title} (tests/benchmarks/{script}) ...", flush=True)
        try:
            subprocess.run([sys.executable, str(ROOT / "tests/benchmarks" / script), *script_args], cwd=ROOT,
                           check=True)
        except subprocess.CalledProcessError as exc:
            print(f"{script} failed or missed an aim it enforces (exit status {exc.returncode})")
            status = 1
    return status


def run_http(args: argparse.Namespace) -> int:
    """Steps 1 to 5: seed, serve, sign in, measure, report (the server is always stopped).

    With --compare-workers, the same instance and signed-in accounts are served with each worker count
    in turn, --rounds times (interleaved, so that a burst of other work on the machine hits every
    count alike), and the medians are compared."""
    with tempfile.TemporaryDirectory(prefix="sillage-bench-") as folder:
        instance = Path(folder) / "instance"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
        env.update(SILLAGE_INSTANCE_PATH=str(instance), SILLAGE_RATE_LIMITS="off")
        if args.database_url:
            env["SILLAGE_DATABASE_URL"] = args.database_url

        print(f"Seeding {args.accounts} accounts in {instance} ...", flush=True)
        started = time.perf_counter()
        sillage(env, "db", "upgrade")
        print("  " + sillage(env, "demo", "--accounts", str(args.accounts)).strip().replace("\n", "\n  "))
        print(f"  migrations and seeding: {time.perf_counter() - started:.1f} s", flush=True)

        counts = args.compare_workers or [args.workers]
        signed_in = None
        runs: dict = {}
        for _round in range(args.rounds if args.compare_workers else 1):
            for workers in counts:
                port = free_port()
                server_env = dict(env, SILLAGE_BASE_URL=f"http://127.0.0.1:{port}")
                if workers:
                    server_env["SILLAGE_WORKERS"] = str(workers)
                with serving(server_env, port, Path(folder) / "server.log") as pid:
                    if signed_in is None:
                        signed_in = sign_in(args, port)
                    runs.setdefault(workers, []).append(run_load(args, port, pid, *signed_in))
        if not args.compare_workers:
            return report(runs[args.workers][0], args)
        return report_workers(runs, args)


class serving:
    """``sillage serve`` on ``port`` for the time of a ``with`` block (its process id as target)."""

    def __init__(self, env: dict, port: int, log: Path):
        self.env, self.port, self.log = env, port, log

    def __enter__(self) -> int:
        with self.log.open("w") as log_file:
            self.server = subprocess.Popen([*SILLAGE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                           env=self.env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"http://127.0.0.1:{self.port}", self.server, self.log)
        except BaseException:
            self.__exit__()
            raise
        print(self.log.read_text().splitlines()[0], flush=True)
        return self.server.pid

    def __exit__(self, *_exc) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()


def sign_in(args: argparse.Namespace, port: int) -> tuple[list[str], list[str]]:
    """Session cookies (through the login form) and API tokens of random accounts."""
    rng = random.Random(2026)
    owners = rng.sample(range(1, args.accounts + 1), min(args.accounts, max(args.sessions, args.tokens)))
    started = time.perf_counter()

    def session_of(n: int) -> str:
        client = Client(port)
        client.login(f"bench-{n}@example.org", BENCH_PASSWORD)
        client.close()
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    def token_of(n: int) -> str:
        client = Client(port)
        token = client.create_token(f"bench-{n}@example.org", BENCH_PASSWORD)
        client.close()
        return token

    # Each sign-in costs a password hash check (Argon2): a few at a time, as real people would.
    with ThreadPoolExecutor(max_workers=4) as pool:
        cookies = list(pool.map(session_of, owners[:args.sessions]))
        tokens = list(pool.map(token_of, owners[:args.tokens]))
    print(f"Signed in {len(cookies)} random accounts and created {len(tokens)} API tokens "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return cookies, tokens


def run_load(args: argparse.Namespace, port: int, server_pid: int, cookies: list[str], tokens: list[str]):
    routes = [
        ("GET /healthz", lambda r: "/healthz", lambda r: {}),
        ("GET /timeline", lambda r: "/timeline", lambda r: {"Cookie": r.choice(cookies)}),
        ("GET /api/v1/experiences", lambda r: "/api/v1/experiences",
         lambda r: {"Authorization": f"Bearer {r.choice(tokens)}"}),
    ]
    print(f"Measuring each route for {args.duration:g} s with {args.concurrency} concurrent clients ...",
          flush=True)
    return [measure(name, port, path_for, headers_for, duration=args.duration,
                    concurrency=args.concurrency, seed=i + 1,
                    cpu_probe=lambda: process_tree_cpu(server_pid))
            for i, (name, path_for, headers_for) in enumerate(routes)]


def report_workers(runs: dict, args) -> int:
    """Per worker count: the median over the rounds of each route's req/s, ratio and server CPU."""
    print(f"\nWorker counts compared ({args.rounds} interleaved rounds; medians; {os.cpu_count()} CPUs, "
          f"{args.concurrency} clients, {args.duration:g} s per route, {args.accounts} accounts)")
    print(f"{'workers':<9}{'route':<26}{'req/s':>9}{'p95 ms':>9}{'ratio':>8}{'CPU ms/req':>12}")
    failed = False
    for workers, rounds in runs.items():
        for index, name in enumerate(result.name for result in rounds[0]):
            rps = statistics.median(results[index].rps for results in rounds)
            p95 = statistics.median(results[index].percentile(95) for results in rounds)
            ratio = statistics.median(results[index].rps / (results[0].rps or 1.0) for results in rounds)
            cpus = [results[index].server_ms_per_request for results in rounds]
            cpu = "-" if None in cpus else format(statistics.median(cpus), ".2f")
            print(f"{workers:<9}{name:<26}{rps:>9.1f}{p95:>9.1f}{ratio:>8.2f}{cpu:>12}")
            failed |= any(results[index].errors for results in rounds)
    return 1 if failed else 0


def report(results, args) -> int:
    trivial = results[0].rps or 1.0
    print()
    print(f"{'route':<26}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'ratio':>8}"
          f"{'server CPU ms/req':>19}")
    for result in results:
        cpu = result.server_ms_per_request
        print(f"{result.name:<26}{result.requests:>10}{result.rps:>10.1f}{result.percentile(50):>9.1f}"
              f"{result.percentile(95):>9.1f}{sum(result.errors.values()):>8}{result.rps / trivial:>8.2f}"
              f"{'-' if cpu is None else format(cpu, '.2f'):>19}")
    print(f"\nAim: at least half the trivial route's throughput (ratio >= {AIM}).")
    print("Server CPU ms/req: the server's (gunicorn master and workers) CPU time per request, less moved "
          "than req/s by\nother work on the machine; the client's own share of the CPU is not in it.")
    failed = False
    for result in results[1:]:
        ratio = result.rps / trivial
        verdict = "meets the aim" if ratio >= AIM else "BELOW the aim"
        print(f"  {result.name}: {ratio:.2f} of GET /healthz, {verdict}")
        failed |= args.strict and ratio < AIM
    for result in results:
        if result.errors:
            print(f"  {result.name}: failed requests by status {dict(sorted(result.errors.items()))}")
            failed = True
    print(f"({args.accounts} accounts, {os.cpu_count()} CPUs, {args.concurrency} clients, "
          f"{args.duration:g} s per route)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
