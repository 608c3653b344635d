"""The verifier: one function, :func:`verify`, shared by ``sillage verify``, ``POST /api/v1/verify`` and
the public ``/verify`` page.

It reads a credential (a dict, JSON text or bytes, a baked PNG/SVG, or the URL of an OB 2.0 hosted
assertion) and answers ``{"verified", "checks", "errors", "warnings"}``. Each check is named, passes or
fails with a stable ``code``, and explains itself in the reader's language (``badges.messages``).

Rules that matter more than anything else here:

* it NEVER raises for bad input, and NEVER says ``verified: true`` unless every check that applies ran
  and passed (the final verdict also requires the checks the kind of document needs to be present,
  so a bug that skips one cannot turn into a false "verified");
* it never fetches a JSON-LD context (the static loader knows them all); every other fetch (did:web
  documents, https keys, status lists, OB 2.0 hosted documents) goes through the injected ``fetch``
  function, by default :mod:`badges.fetch`'s SSRF guard;
* lax forms that other verifiers accept (base64url ``proofValue``, dates without a time zone) are
  accepted with a warning, since refusing them would call genuine credentials forged.

Checks, in order, for a Verifiable Credential (VC 2.0 or 1.1, Open Badges 3.0 or not):
``parse``, ``jsonld``, ``schema``, ``verification_method``, ``proof``, ``issuer``, ``validity``,
``status``. An Open Badges 3.0 credential of the releases built on VC 1.1 (VC 1.1 context first,
``issuanceDate``) gets an explicit shape check instead of the VC 2.0 OB 3.0 schema, and its validity is
judged on ``issuanceDate`` / ``expirationDate``. For an Open Badges 2.0 hosted assertion: ``parse``,
``hosted``, ``badge_class``, ``issuer``, ``validity``, ``status``.

The package is laid out by stage: :mod:`.reading` (input to document), :mod:`.jsonld` (JSON-LD and
schema), :mod:`.proofs` (proofs, keys, issuer binding), :mod:`.status`, :mod:`.ob2`, the credential
orchestration and validity in :mod:`.credential`, the run in :mod:`.session` and the verdict in
:mod:`.report`. Every name callers used from the former single module is still importable from here.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from .. import messages, summary
from ..fetch import json_fetcher
from .credential import verify_credential
from .jwt import SecuredCredential
from .ob2 import verify_ob2
from .proofs import MAX_PROOFS, resolve_method
from .reading import MAX_IMAGE_BYTES, MAX_JSON_BYTES, check_value, document_kind, is_vc1, parse_json, read
from .report import REQUIRED_CHECKS, Failure, _Report
from .session import (FETCH_BUDGET_SECONDS, MAX_FETCHES, TIME_BUDGET_SECONDS, Fetch, _aware, _Session,
                      parse_datetime)
from .status import MAX_STATUS_ENTRIES, STATUS_ENTRY

log = logging.getLogger(__name__)

__all__ = [
    "FETCH_BUDGET_SECONDS", "MAX_FETCHES", "MAX_IMAGE_BYTES", "MAX_JSON_BYTES", "MAX_PROOFS",
    "MAX_STATUS_ENTRIES", "REQUIRED_CHECKS", "STATUS_ENTRY", "TIME_BUDGET_SECONDS", "Failure", "Fetch",
    "check_value",
    "document_kind", "is_vc1", "parse_datetime", "parse_json", "resolve_method", "verify",
    "verify_credential", "verify_ob2", "_Report", "_Session",
]


def verify(input: Any, *, fetch: Fetch | None = None, now: datetime | None = None,  # noqa: A002
           allow_loopback: bool = False, locale: str = "en", time_budget: float | None = None) -> dict:
    """Verify ``input`` and return ``{"verified", "checks", "errors", "warnings", "verdict"}`` plus
    ``"credential"`` (what it says, :func:`badges.summary.summarise`) when a document was read; never raises.

    ``fetch(url) -> JSON`` gets did:web documents, keys, status lists and OB 2.0 documents (default:
    the SSRF-guarded :func:`badges.fetch.fetch_json`, loopback allowed only with ``allow_loopback``).
    ``now`` (aware datetime, default: the current time) is the moment validity is judged at.
    ``time_budget`` (seconds, default ``TIME_BUDGET_SECONDS``) bounds the whole run: past it, the run
    stops with ``verification_timeout``.
    """
    from certs.canon import deadline  # noqa: PLC0415

    report = _Report(locale)
    fetch = fetch or json_fetcher(allow_loopback=allow_loopback)
    session = _Session(fetch, _aware(now), report, allow_loopback, time_budget)
    kind = None
    try:
        with deadline(session.deadline):
            kind = _run(session, input)
    except Exception:  # noqa: BLE001 - a verifier bug must read as "not verified", never as a crash
        log.exception("verifier failed")
        report.failed("internal", Failure("internal_error"))
    return _for_people(report.result(kind), session)


def _for_people(result: dict, session: _Session) -> dict:
    """Add the ``verdict`` (always) and, when a document was read, the ``credential`` summary
    (:mod:`badges.summary`), from the document the session read and the documents it fetched."""
    locale = session.report.locale
    result["verdict"] = summary.verdict(result, locale)
    document = getattr(session, "document", None)
    if document is not None:
        try:
            credential = summary.summarise(document, locale, kind=session.document_kind,
                                           linked=session._fetched)
        except Exception:  # noqa: BLE001 - a summary is a courtesy: it never costs the verdict
            log.exception("summary failed")
            credential = None
        if credential is not None:
            result["credential"] = credential
    return result


def _run(session: _Session, data: Any) -> str | None:
    """Read the input (the ``parse`` check), then verify it as what it is; returns the kind of run."""
    try:
        document, _via = read(session, data)
        secured = document if isinstance(document, SecuredCredential) else None  # a VC-JWT
        document = secured.credential if secured else document
        kind = document_kind(document)
        if kind is None:
            raise Failure("unsupported_document")
    except Failure as failure:
        session.report.failed("parse", failure)
        return None
    label = messages.kind_label(kind, session.report.locale)
    session.report.passed("parse", kind=f"{label} (VC-JWT)" if secured else label)
    session.document, session.document_kind = document, kind  # what was read, for the summary
    if kind == "ob2":
        verify_ob2(session, document)
        return "ob2"
    verify_credential(session, document, kind, secured=secured)
    return "vc"
