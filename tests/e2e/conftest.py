"""Browser tests: the real server (`sillage serve`, gunicorn) in a temporary instance, driven by Debian's
chromium through Playwright.

Playwright never downloads a browser here (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1`` in the Makefile and
CI): it launches ``/usr/bin/chromium``. Without that browser the tests are skipped on a developer's
machine, but they FAIL in CI (``CI`` set), so that a broken CI image can never pass silently.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SILLAGE = [sys.executable, "-c", "from app.cli import main; main()"]
# Seconds for `sillage serve` to answer /healthz: generous, as a loaded CI machine made 30 s fail runs.
START_TIMEOUT = float(os.environ.get("SILLAGE_E2E_START_TIMEOUT", "120"))


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e carries the ``e2e`` marker (so `-m "not e2e"` leaves them out)."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; browser tests must run in CI (install Debian's chromium)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A `sillage serve` process on a free loopback port, with its own instance folder."""

    def __init__(self, instance: Path):
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = instance.parent / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
        self.env.update(SILLAGE_INSTANCE_PATH=str(instance), SILLAGE_BASE_URL=self.url,
                        SILLAGE_WORKERS="2", SILLAGE_ACCESS_LOG="-")
        self.process: subprocess.Popen | None = None

    def run(self, *args: str) -> str:
        done = subprocess.run([*SILLAGE, *args], env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"sillage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self) -> None:
        """Migrate, start ``sillage serve`` and wait for ``/healthz``.

        The wait is generous (``START_TIMEOUT``): on a loaded CI machine a cold start (imports, pyld,
        the consumer) took over 30 s and failed runs that had nothing wrong. When it does give up, the
        error says what was slow: the migration's time, the last answer or error of ``/healthz``, the
        machine's load, and the server's log."""
        began = time.monotonic()
        self.run("db", "upgrade")
        upgraded = time.monotonic() - began
        log = self.log_path.open("w")
        self.process = subprocess.Popen([*SILLAGE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT)
        started = time.monotonic()
        deadline = started + START_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {self.process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read(500)!r}"
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(
            f"the server did not answer /healthz within {START_TIMEOUT:g} s "
            f"(db upgrade took {upgraded:.1f} s; last /healthz attempt: {last}; "
            f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores)."
            f"\nServer log:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("e2e") / "instance")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, request, tmp_path):
    """A fresh browser context (no cookies) on the live server; a screenshot and the server log are
    attached to the failure report when a test fails."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nPage {page.url} (screenshot: {shot}):\n{page.content()[:3000]}")
        print(f"\nServer log:\n{live_server.log()}")
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
