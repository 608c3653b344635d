"""A small, bounded HTTP load generator (standard library only, loopback only).

Why not wrk or locust: the benchmark must run anywhere `make bench` runs, with nothing to install, and
its numbers are read as ratios between routes measured by the same client in the same run, so the
client's own overhead cancels out. Threads are enough: each request waits on the server's socket, which
releases the GIL.
"""
from __future__ import annotations

import http.client
import json
import os
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """One HTTP connection to 127.0.0.1:port with a cookie jar of one cookie per name (enough here)."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, ConnectionError):
            # The server closed a kept-alive connection (gunicorn's sync workers do): retry once, fresh.
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def login(self, email: str, password: str) -> None:
        """Sign in through the real login form, keeping the session cookie."""
        status, _, page = self.request("GET", "/login")
        match = CSRF.search(page.decode("utf-8", "replace"))
        if status != 200 or not match:
            raise RuntimeError(f"GET /login answered {status} without a CSRF token")
        form = urlencode({"email": email, "password": password, "csrf_token": match.group(1)}).encode()
        status, headers, _ = self.request("POST", "/login", form,
                                          {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "/login" in headers.get("location", ""):
            raise RuntimeError(f"login of {email} failed ({status})")

    def create_token(self, email: str, password: str) -> str:
        body = json.dumps({"email": email, "password": password, "name": "benchmark"}).encode()
        status, _, data = self.request("POST", "/api/v1/tokens", body, {"Content-Type": "application/json"})
        if status != 201:
            raise RuntimeError(f"POST /api/v1/tokens for {email} answered {status}: {data[:200]!r}")
        return json.loads(data)["token"]

    def close(self) -> None:
        self.connection.close()


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: dict[int, int] = field(default_factory=dict)  # status (0: connection error) -> count
    elapsed: float = 0.0
    server_cpu: float | None = None  # CPU seconds the server used while measured, when known

    @property
    def server_ms_per_request(self) -> float | None:
        """Server CPU time per request: unlike req/s, hardly moved by what else runs on the machine."""
        if self.server_cpu is None or not self.requests:
            return None
        return 1000 * self.server_cpu / self.requests

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (0 when nothing succeeded)."""
        if len(self.latencies) < 2:
            return 1000 * (self.latencies[0] if self.latencies else 0.0)
        return 1000 * statistics.quantiles(self.latencies, n=100, method="inclusive")[int(p) - 1]


def measure(name: str, port: int, path_for, headers_for, *, duration: float, concurrency: int,
            warmup: float = 1.0, seed: int = 1, cpu_probe=None) -> Result:
    """Send requests from ``concurrency`` threads for ``warmup`` + ``duration`` seconds; measure the
    latter part only. ``path_for(rng)`` and ``headers_for(rng)`` pick what each request asks for and as
    whom (a random owner's session cookie or token). ``cpu_probe()``, if given, returns the server's
    CPU seconds so far: it is read when the measured part starts and ends."""
    result = Result(name)
    lock = threading.Lock()
    start_at = time.perf_counter() + warmup
    stop_at = start_at + duration
    probe_thread = None
    if cpu_probe is not None:
        def probe() -> None:
            time.sleep(max(0.0, start_at - time.perf_counter()))
            first = cpu_probe()
            time.sleep(max(0.0, stop_at - time.perf_counter()))
            last = cpu_probe()
            if first is not None and last is not None:
                result.server_cpu = last - first

        probe_thread = threading.Thread(target=probe, daemon=True)
        probe_thread.start()

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        client = Client(port)
        latencies, errors = [], {}
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            headers = headers_for(rng)
            try:
                status, _, _ = _request(client, path_for(rng), headers)
            except (OSError, http.client.HTTPException):
                status = 0  # counted as a failed request
            ended = time.perf_counter()
            if began < start_at:
                continue  # warm-up: connections, worker imports, caches
            if status == 200:
                latencies.append(ended - began)
            else:
                errors[status] = errors.get(status, 0) + 1
        client.close()
        with lock:
            result.latencies.extend(latencies)
            for status, count in errors.items():
                result.errors[status] = result.errors.get(status, 0) + count

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if probe_thread is not None:
        probe_thread.join()
    result.elapsed = duration
    return result


def process_tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (gunicorn's master
    and workers), read from Linux's /proc; None elsewhere."""
    def cpu_and_parent(stat: str) -> tuple[float, int]:
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks, int(fields[1])

    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    cpu, parent = cpu_and_parent(fh.read())
            except OSError:  # the process ended meanwhile
                continue
            if int(entry) == pid or parent == pid:
                total += cpu
        return total
    except (OSError, ValueError):
        return None


def _request(client: Client, path: str, headers: dict[str, str]):
    """A request that carries exactly the given credentials (not the client's own cookie jar)."""
    client.cookies.clear()
    return client.request("GET", path, headers=headers)
