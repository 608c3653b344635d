"""1EdTech's Open Badges 2.0 validator (validator-core, PyPI ``openbadges``), run offline from the tests.

The validator pins libraries from 2017-2020, so it lives in a virtualenv of its own
(``.venv-ob2validator``, made by ``make ob2validator`` from ``tests/ob2validator-requirements.txt``) and
runs as a subprocess: ``tests/ob2validator_shim.py`` (which says why a shim) prints its JSON report.

It fetches what it validates over HTTP, as a backpack would: serve the hosted assertion, badge class,
issuer and images on 127.0.0.1 (``StaticSite`` / the ``ob2_site`` fixture for files, ``LiveApp`` for the
app's own routes) and give it the assertion URL or a baked image. Nothing leaves the machine: the JSON-LD
context comes from the validator's own copy, loopback is reached directly, and every other address goes
to a closed local proxy port, so a document naming an outside URL fails instead of reaching out.

Use from any test module::

    from tests import ob2validator

    ob2_site = ob2validator.ob2_site  # pytest fixtures
    ob2_validator = ob2validator.ob2_validator

    def test_x(ob2_site, ob2_validator):
        url = ob2_site.put("/ob2/assertions/1", assertion_document)
        ok, report = ob2_validator(url, recipient="alice@example.org")
        assert ok, report["errors"]

For web-issued assertions, serve the app itself: ``with LiveApp() as live:`` set the app's ``BASE_URL``
to ``live.base_url``, build the app, ``live.app = app``, then validate ``live.base_url + "/ob2/..."``.

Outside CI the fixture skips (with the reason) when the venv is absent; in CI (``CI=true``) that is a
failure, like the Node.js interoperability tests.
"""
from __future__ import annotations

import json
import mimetypes
import os
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("SILLAGE_OB2VALIDATOR_VENV", ROOT / ".venv-ob2validator"))
PYTHON = VENV / "bin" / "python"
SHIM = Path(__file__).with_name("ob2validator_shim.py")
LOOPBACK = "127.0.0.1,localhost,::1"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, a request is refused at once


class ValidatorUnavailable(RuntimeError):
    pass


def available() -> bool:
    return PYTHON.exists()


def _environment() -> dict:
    env = {key: value for key, value in os.environ.items()
           if key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "pythonpath")}
    env.update(HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, http_proxy=DEAD_PROXY, https_proxy=DEAD_PROXY,
               NO_PROXY=LOOPBACK, no_proxy=LOOPBACK, PYTHONDONTWRITEBYTECODE="1")
    return env


def _revoked(graph: list) -> list[str]:
    """Assertions of the fetched graph that say ``revoked: true``.

    validator-core 1.1.2 checks revocation lists of signed badges only: a hosted assertion still complete
    but marked ``revoked`` passes it. OB 2.0 ("Revoking Hosted Assertions") says such an assertion "should
    be treated as revoked and thus invalid", so the harness adds that check (labelled as its own).
    """
    return [node.get("id", "?") for node in graph
            if node.get("type") == "Assertion" and node.get("revoked") in (True, "true")]


def validate(target: str | os.PathLike | bytes, *, recipient: str | None = None,
             timeout: float = 120) -> tuple[bool, dict]:
    """Run the validator on a hosted assertion URL, or a baked PNG or SVG (its path or its bytes).

    ``recipient``: an e-mail the assertion must be awarded to (its salted hash is checked; the validator
    hashes the address exactly as given, so pass it lower-cased as Sillage hashes it).

    Returns ``(ok, report)``: ``ok`` is the validator's own verdict and no error; ``report`` has
    ``valid`` (the validator's verdict), ``errors`` and ``warnings`` (message texts), ``messages`` (the
    validator's message objects), ``graph`` (the documents it fetched, compacted) and ``raw`` (its whole
    JSON answer). Raises ``ValidatorUnavailable`` when its venv is missing or it crashed.
    """
    if not available():
        raise ValidatorUnavailable(f"the OB 2.0 validator's venv is missing ({VENV}): "
                                   "run `make ob2validator`")
    with tempfile.TemporaryDirectory(prefix="sillage-ob2v-") as workdir:
        if isinstance(target, (bytes, bytearray)):
            image = Path(workdir) / "baked-image"  # the validator's bakery tells PNG from SVG by content
            image.write_bytes(bytes(target))
            argument = str(image)
        elif isinstance(target, str) and target.startswith(("http://", "https://")):
            argument = target
        else:
            argument = str(Path(target).resolve())
        command = [str(PYTHON), str(SHIM), argument]
        if recipient:
            command += ["--recipient", recipient]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir,
                                env=_environment())
    if result.returncode != 0:
        raise ValidatorUnavailable(f"the OB 2.0 validator crashed ({result.returncode}): "
                                   f"{result.stderr[-3000:]}")
    raw = json.loads(result.stdout)
    messages = raw["report"].get("messages", [])
    errors = [m["result"] for m in messages if m.get("messageLevel") == "ERROR"]
    warnings = [m["result"] for m in messages if m.get("messageLevel") == "WARNING"]
    revoked = _revoked(raw.get("graph", []))
    errors += [f"{node} is marked revoked (checked by tests/ob2validator.py, not by validator-core)"
               for node in revoked]
    valid = bool(raw["report"].get("valid"))
    report = {"valid": valid, "errors": errors, "warnings": warnings, "messages": messages,
              "graph": raw.get("graph", []), "raw": raw}
    return valid and not errors, report


# --------------------------------------------------------------------------- a static site on 127.0.0.1

_SNIFFED = ((b"\x89PNG", "image/png"), (b"{", "application/ld+json"), (b"<", "image/svg+xml"))


class StaticSite:
    """Documents and images served over HTTP on 127.0.0.1 (a free port), for the validator to fetch.

    ``put(path, content, status=200, content_type=None)`` publishes a document (a dict is sent as JSON)
    at any URL path, extension or not (``/ob2/badges/1d2e`` and ``/ob2/badges/1d2e/image.png`` side by
    side), and returns its URL; ``remove(path)`` takes it down. ``status`` lets a document answer
    ``410 Gone`` (a revoked hosted assertion). Files written under ``root`` are served too, at their
    relative path. The type comes from ``content_type``, else the extension, else the content. Other
    paths answer 404. Use as a context manager, or ``start()`` / ``stop()``.
    """

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root).resolve() if root is not None else None
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        self._documents: dict[str, tuple[int, str | None, bytes]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.requests: list[str] = []  # paths asked for, in order

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the site is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    @staticmethod
    def _key(path: str) -> str:
        return "/" + unquote(urlsplit(path).path).lstrip("/")

    def put(self, path: str, content: dict | bytes | str, *, status: int = 200,
            content_type: str | None = None) -> str:
        if isinstance(content, dict):
            content = json.dumps(content, ensure_ascii=False)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        with self._lock:
            self._documents[self._key(path)] = (status, content_type, data)
        return self.url(path)

    def remove(self, path: str) -> None:
        with self._lock:
            del self._documents[self._key(path)]

    def _from_root(self, key: str) -> bytes | None:
        if self.root is None:
            return None
        candidate = (self.root / key.lstrip("/")).resolve()
        if self.root not in candidate.parents or not candidate.is_file():
            return None  # missing, a folder, or outside the root (../)
        return candidate.read_bytes()

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        key = self._key(path)
        with self._lock:
            self.requests.append(key)
            found = self._documents.get(key)
        if found is None:
            data = self._from_root(key)
            if data is None:
                return 404, "text/plain; charset=utf-8", b"not found"
            found = (200, None, data)
        status, content_type, data = found
        if content_type is None:
            content_type = mimetypes.guess_type(key)[0]
            if content_type in (None, "application/json"):
                content_type = next((kind for magic, kind in _SNIFFED if data.lstrip().startswith(magic)),
                                    "application/octet-stream")
        return status, content_type, data

    def start(self) -> StaticSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                status, content_type, data = site._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="ob2-static-site", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StaticSite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LiveApp:
    """A WSGI application (a Sillage app) served on 127.0.0.1 by werkzeug in a thread, so that the validator
    fetches its ``/ob2/...`` URLs from the real routes.

    The port is chosen at ``start()``, before the application exists, because the app's ``BASE_URL`` must
    name it (the documents' ids are URLs under it): start, set ``BASE_URL`` to ``base_url``, build the app,
    then assign ``live.app``. Until then every request answers 503.
    """

    def __init__(self, app=None):
        self.app = app
        self._server = None

    def __call__(self, environ, start_response):
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no application yet"]
        return self.app(environ, start_response)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> LiveApp:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, name="ob2-live-app", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LiveApp:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def ob2_site(tmp_path):
    """A ``StaticSite`` serving a fresh directory on 127.0.0.1."""
    with StaticSite(tmp_path / "ob2-site") as site:
        yield site


@pytest.fixture(scope="session")
def ob2_validator():
    """``validate``; skips with the reason when the validator's venv is absent, except in CI (a failure)."""
    if not available():
        message = f"1EdTech's OB 2.0 validator is not installed ({VENV}): run `make ob2validator`"
        if os.environ.get("CI"):
            pytest.fail(message + " (in CI it must run)")
        pytest.skip(message)
    return validate
