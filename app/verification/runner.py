"""Run the verifier with the application's settings and the reader's language, a few at a time.

Slow verifications must not starve the other requests. A verification can keep its worker busy for
seconds (documents fetched from other hosts, JSON-LD processing bounded by the verifier's own limits
and time budget), and anyone can ask for one: a handful sent at once would otherwise occupy every
gunicorn worker, and the whole site (sign-in, portfolios, ``/healthz``) would stop answering.

So at most ``VERIFY_SLOTS`` verifications run at once across all the worker processes of a host. A
slot is an exclusive, non-blocking ``flock`` on one of the files ``<instance>/verify-slots/<n>.lock``:
the kernel shares it between processes and threads, costs well under a millisecond (0.1 to 0.2 ms
measured here, against tens of milliseconds for a verification), and releases it by
itself if a worker dies mid-verification (a counter in a file or a table would leak there). When
every slot is taken, the request is refused at once with 503 and the stable code ``verifier_busy``
(``Retry-After``), instead of waiting in a worker. The default is half the request capacity of
``sillage serve`` (``SILLAGE_WORKERS`` × ``SILLAGE_THREADS`` / 2, at least 1; ``app.config``), so that
the other half always serves everything else. Every HTTP route that verifies goes through ``run``
(or holds ``slot()`` itself); commands (``sillage verify``) are not limited: they run in their own
process, not in a web worker. The instance folder must be on a local file system (the default) for
``flock`` to be shared reliably.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from flask import current_app, g, has_request_context, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from badges.verify import verify

# What a person may upload: a baked image is larger than a credential, but never this large.
MAX_FILE_BYTES = 5 * 1024 * 1024
# A credential sent as JSON (the verifier's own parse cap is the same).
MAX_JSON_BYTES = 1024 * 1024
# Seconds a refused client is asked to wait: about one verification's time budget.
RETRY_AFTER = 5




class VerifierBusy(Exception):
    """Every verification slot is taken: answered 503 ``verifier_busy`` (``handle_busy``)."""


def reader_locale() -> str:
    locale = get_locale()
    return str(locale.language if locale else "en")


@contextlib.contextmanager
def slot():
    """Hold one of the host's ``VERIFY_SLOTS`` verification slots, or raise ``VerifierBusy`` at once.

    Re-entrant within a request: a page that verifies and then prepares the badge image holds one slot
    for both (``g.verify_slot``), never two."""
    if g.get("verify_slot") is not None:
        yield g.verify_slot
        return
    folder = Path(current_app.instance_path) / "verify-slots"
    for number in range(max(1, int(current_app.config.get("VERIFY_SLOTS") or 1))):
        fd = _open_lock(folder / f"{number}.lock")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except BaseException:
            os.close(fd)
            raise
        g.verify_slot = number
        try:
            yield number
        finally:
            g.pop("verify_slot", None)
            os.close(fd)  # closing the file releases the lock
        return
    raise VerifierBusy()


def _open_lock(path: Path) -> int:
    """The slot's lock file (never through a symbolic link); its folder is made again if removed."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o600)


def run(data) -> dict:
    """Verify ``data`` (a dict, JSON text, bytes of JSON or of a baked image, or a badge URL).

    In a request, only while holding a slot (``slot``): ``VerifierBusy`` when there is none."""
    def go() -> dict:
        return verify(data, allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")),
                      locale=reader_locale())

    if not has_request_context():
        return go()
    with slot():
        return go()


def handle_busy(_exc: VerifierBusy):
    """503 with ``Retry-After``: JSON ``{"error": "verifier_busy", ...}``, or a page for a form post."""
    message = _l("Too many verifications are running right now. Please try again in a few seconds.")
    headers = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    form_post = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    if form_post and not request.path.startswith("/api/"):
        page = render_template("errors/error.html", status=503, code="verifier_busy",
                               title=_l("The verifier is busy"), message=message)
        return page, 503, headers
    return jsonify(error="verifier_busy", message=str(message)), 503, headers


def parse_failure(result: dict) -> str | None:
    """The code of a failed ``parse`` check (the input could not be read at all), else None."""
    for check in result["checks"]:
        if check["name"] == "parse" and not check["ok"]:
            return check["code"]
    return None
