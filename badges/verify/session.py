"""One verification run: the fetch function and its budget, the time budget, the clock, the steps and
child sessions.

Every fetch of one run (did:web documents, https keys, status lists, OB 2.0 hosted documents) goes
through :meth:`_Session.fetch`, which caches each URL and shares one budget with the run's child
sessions, so that no credential can make the verifier fetch without end.

The whole run (reading, JSON-LD and canonicalization, schema, proofs, fetches, status lists) has one
time budget: each step checks it before it starts, certs' JSON-LD processing checks it at every node
(``certs.canon.deadline``), and a fetch is not started past it. Past the budget the run stops with the
stable code ``verification_timeout`` rather than holding a worker. The budget is a last guard: the
complexity bounds (``badges.formats.check_complexity``) already refuse what would take long.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..errors import BadgeError
from ..fetch import FetchError
from ..formats import check_json_value
from .report import Failure, _Report

# One verification fetches a handful of documents (controller document, status list and its issuer's
# document; OB 2.0 assertion, badge class, issuer, revocation list). A credential that asks for more is
# refused, and all fetches of one run share a time budget, so no request can hold a worker for long.
MAX_FETCHES = 8
TIME_BUDGET_SECONDS = 15.0
FETCH_BUDGET_SECONDS = TIME_BUDGET_SECONDS  # fetches share the run's budget (the name callers knew)

Fetch = Callable[[str], Any]


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


# -- dates ---------------------------------------------------------------------------------------------

def parse_datetime(value: Any, field: str, report: _Report) -> datetime:
    """An XML Schema dateTime (certs' parser); without a time zone it is read as UTC, with a warning."""
    from certs.errors import CertsError  # noqa: PLC0415
    from certs.proofs import parse_datetime as parse_xsd_datetime  # noqa: PLC0415

    try:
        moment, has_zone = parse_xsd_datetime(value)
    except CertsError:
        raise Failure("invalid_date", field=field, value=value) from None
    if not has_zone:
        report.warn("date_without_timezone", field=field)
    return moment


# Clock skew tolerated on "valid from" (a credential signed a moment ago by a server whose clock is ahead).
_SKEW_SECONDS = 300


def _show(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class _Session:
    """One call of :func:`verify`: the report, the fetch function and what it fetched."""

    def __init__(self, fetch: Fetch, now: datetime, report: _Report, allow_loopback: bool = False,
                 time_budget: float | None = None):
        self.fetch_function = fetch
        self.now = now
        self.report = report
        self.allow_loopback = allow_loopback
        self._fetched: dict[str, Any] = {}
        seconds = TIME_BUDGET_SECONDS if time_budget is None else time_budget
        self._budget = {"fetches": 0, "deadline": time.monotonic() + seconds, "timed_out": False}
        self.memo = _memo()

    @property
    def deadline(self) -> float:
        """The ``time.monotonic()`` past which the run (and its child sessions) stops."""
        return self._budget["deadline"]

    def out_of_time(self) -> bool:
        return time.monotonic() > self._budget["deadline"]

    # -- fetching ----------------------------------------------------------------------------------

    def fetch(self, url: str, code: str) -> Any:
        """Fetch JSON once per run; failures become ``code`` (``fetch_refused`` stays itself)."""
        if url in self._fetched:
            return self._fetched[url]
        self._budget["fetches"] += 1
        if self._budget["fetches"] > MAX_FETCHES:
            raise Failure(code, reason="too many documents to fetch", url=url, method=url)
        if self.out_of_time():
            raise Failure("verification_timeout")
        try:
            document = self.fetch_function(url)
        except FetchError as exc:
            if exc.code == "fetch_refused":
                raise Failure("fetch_refused", url=url, reason=exc.message) from None
            raise Failure(code, reason=exc.message, url=url, method=url) from None
        except Exception as exc:  # noqa: BLE001 - an injected fetch may raise anything
            raise Failure(code, reason=str(exc) or exc.__class__.__name__, url=url, method=url) from None
        try:
            check_json_value(document)
        except BadgeError as error:
            raise Failure(code, reason=error.message, url=url, method=url) from None
        self._fetched[url] = document
        return document

    # -- running one check -------------------------------------------------------------------------

    def step(self, name: str, function: Callable[[], tuple[str | None, dict] | None]) -> bool:
        """Run one check; it returns (detail key, params) when it passes or raises Failure. Past the time
        budget, the first step says so (``verification_timeout``) and the later ones do not run."""
        if self._budget["timed_out"]:
            return False
        try:
            if self.out_of_time():
                raise Failure("verification_timeout")
            outcome = function()
        except Failure as failure:
            self.report.failed(name, failure)
            if failure.code == "verification_timeout":
                self._budget["timed_out"] = True
            return False
        detail_key, params = outcome if outcome else (None, {})
        self.report.passed(name, detail_key, **params)
        return True

    def child(self) -> _Session:
        """A session for a document met on the way (a status list): its own report, shared cache."""
        session = _Session(self.fetch_function, self.now, _Report(self.report.locale), self.allow_loopback)
        session._fetched = self._fetched
        session._budget = self._budget
        session.memo = self.memo
        return session


def _memo():
    from certs.canon import Memo  # noqa: PLC0415 - JSON-LD is only needed to verify credentials

    return Memo()


def _loader():
    from ..loader import document_loader  # noqa: PLC0415 - JSON-LD is only needed to verify credentials

    return document_loader()
