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
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from . import messages
from .errors import INVALID_CREDENTIAL, BadgeError
from .fetch import FetchError, json_fetcher
from .formats import (MAX_PAYLOAD_BYTES, OB2_CONTEXT, OB3_CONTEXT_PREFIX, OB3_TYPES, VC1_CONTEXT, VC2_CONTEXT,
                      as_list, check_json_value)
from .formats import parse_json as _parse_json

log = logging.getLogger(__name__)

MAX_JSON_BYTES = MAX_PAYLOAD_BYTES
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PROOFS = 4
MAX_STATUS_ENTRIES = 4
# One verification fetches a handful of documents (controller document, status list and its issuer's
# document; OB 2.0 assertion, badge class, issuer, revocation list). A credential that asks for more is
# refused, and all fetches of one run share a time budget, so no request can hold a worker for long.
MAX_FETCHES = 8
FETCH_BUDGET_SECONDS = 15.0

REQUIRED_CHECKS = {
    "vc": ("parse", "jsonld", "schema", "verification_method", "proof", "issuer", "validity", "status"),
    "ob2": ("parse", "hosted", "badge_class", "issuer", "validity", "status"),
    # a status list met while checking a credential's status: a credential itself, minus its own status
    "status_list": ("jsonld", "schema", "verification_method", "proof", "issuer", "validity"),
}

Fetch = Callable[[str], Any]


class Failure(Exception):
    """A check failed: ``code`` is stable, ``params`` fill the message."""

    def __init__(self, code: str, /, **params):
        super().__init__(code)
        self.code = code
        self.params = params


class _Report:
    """Collects checks, errors and warnings in the reader's language."""

    def __init__(self, locale: str):
        self.locale = locale
        self.checks: list[dict] = []
        self.errors: list[dict] = []
        self.warnings: list[dict] = []

    def passed(self, check_name: str, detail_key: str | None = None, /, **params) -> None:
        self.checks.append({"name": check_name, "ok": True, "code": None,
                            "detail": messages.passed(detail_key or check_name, self.locale, **params)})

    def failed(self, check_name: str, failure: Failure, /) -> None:
        text = messages.message(failure.code, self.locale, **failure.params)
        self.checks.append({"name": check_name, "ok": False, "code": failure.code, "detail": text})
        self.errors.append({"code": failure.code, "message": text})

    def warn(self, code: str, /, **params) -> None:
        entry = {"code": code, "message": messages.message(code, self.locale, **params)}
        if entry not in self.warnings:
            self.warnings.append(entry)

    def has_failed(self) -> bool:
        return any(not check["ok"] for check in self.checks)

    def result(self, kind: str | None) -> dict:
        names = {check["name"] for check in self.checks}
        complete = kind in REQUIRED_CHECKS and all(name in names for name in REQUIRED_CHECKS[kind])
        verified = complete and not self.errors and all(check["ok"] is True for check in self.checks)
        return {"verified": verified, "checks": self.checks, "errors": self.errors, "warnings": self.warnings}


def verify(input: Any, *, fetch: Fetch | None = None, now: datetime | None = None,  # noqa: A002
           allow_loopback: bool = False, locale: str = "en") -> dict:
    """Verify ``input`` and return ``{"verified", "checks", "errors", "warnings"}``; never raises.

    ``fetch(url) -> JSON`` gets did:web documents, keys, status lists and OB 2.0 documents (default:
    the SSRF-guarded :func:`badges.fetch.fetch_json`, loopback allowed only with ``allow_loopback``).
    ``now`` (aware datetime, default: the current time) is the moment validity is judged at.
    """
    report = _Report("fr" if str(locale or "").lower().startswith("fr") else "en")
    fetch = fetch or json_fetcher(allow_loopback=allow_loopback)
    session = _Session(fetch, _aware(now), report, allow_loopback)
    kind = None
    try:
        kind = session.run(input)
    except Exception:  # noqa: BLE001 - a verifier bug must read as "not verified", never as a crash
        log.exception("verifier failed")
        report.failed("internal", Failure("internal_error"))
    return report.result(kind)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


# -- parsing ----------------------------------------------------------------------------------------

def _read_failure(error: BadgeError) -> Failure:
    """A reading error of :mod:`badges.formats` as a failed ``parse`` check, in the verifier's codes."""
    code = "invalid_json" if error.code == INVALID_CREDENTIAL else error.code
    return Failure(code, **error.params)


def parse_json(data: bytes | str) -> Any:
    """Strict JSON (badges.formats' one parser: bounded size and depth, no NaN/Infinity, no duplicate
    keys, valid text); raises Failure."""
    try:
        return _parse_json(data)
    except BadgeError as error:
        raise _read_failure(error) from None


def check_value(value: Any) -> None:
    """The same bounds on a value that was not parsed here; raises Failure."""
    try:
        check_json_value(value)
    except BadgeError as error:
        raise _read_failure(error) from None


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def document_kind(document: Mapping) -> str | None:
    """``ob3``, ``vc2``, ``vc1`` or ``ob2`` from the contexts and types; None for anything else."""
    contexts = [c for c in as_list(document.get("@context")) if isinstance(c, str)]
    types = {t for t in as_list(document.get("type")) if isinstance(t, str)}
    if contexts and contexts[0] in (VC2_CONTEXT, VC1_CONTEXT):
        if types & OB3_TYPES:
            return "ob3"
        return "vc2" if contexts[0] == VC2_CONTEXT else "vc1"
    if OB2_CONTEXT in contexts or "Assertion" in types:
        return "ob2"
    return None


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


def _show(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- a verification run ---------------------------------------------------------------------------------

class _Session:
    """One call of :func:`verify`: the report, the fetch function and what it fetched."""

    def __init__(self, fetch: Fetch, now: datetime, report: _Report, allow_loopback: bool = False):
        self.fetch_function = fetch
        self.now = now
        self.report = report
        self.allow_loopback = allow_loopback
        self._fetched: dict[str, Any] = {}
        self._budget = {"fetches": 0, "deadline": time.monotonic() + FETCH_BUDGET_SECONDS}
        self.memo = _memo()

    # -- fetching ----------------------------------------------------------------------------------

    def fetch(self, url: str, code: str) -> Any:
        """Fetch JSON once per run; failures become ``code`` (``fetch_refused`` stays itself)."""
        if url in self._fetched:
            return self._fetched[url]
        self._budget["fetches"] += 1
        if self._budget["fetches"] > MAX_FETCHES:
            raise Failure(code, reason="too many documents to fetch", url=url, method=url)
        if time.monotonic() > self._budget["deadline"]:
            raise Failure(code, reason="the verification took too long", url=url, method=url)
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

    # -- entry -------------------------------------------------------------------------------------

    def run(self, data: Any) -> str | None:
        try:
            document, via = self.read(data)
            kind = document_kind(document)
            if kind is None:
                raise Failure("unsupported_document")
        except Failure as failure:
            self.report.failed("parse", failure)
            return None
        self.report.passed("parse", kind=messages.kind_label(kind, self.report.locale))
        if kind == "ob2":
            verify_ob2(self, document)
            return "ob2"
        verify_credential(self, document, kind)
        return "vc"

    def read(self, data: Any) -> tuple[dict, str]:
        """The document to verify, from whatever was given; raises Failure (``parse``)."""
        if isinstance(data, Mapping):
            check_value(data)
            try:
                size = len(json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            except (TypeError, ValueError, RecursionError):
                raise Failure("invalid_json", reason="not a JSON value") from None
            if size > MAX_JSON_BYTES:
                raise Failure("too_large", limit="1 MB")
            return dict(data), "json"
        if isinstance(data, str):
            stripped = data.strip()
            if stripped.lower().startswith(("https://", "http://")) and len(stripped) < 2048 \
                    and not any(c.isspace() for c in stripped):
                return self._from_url(stripped), "url"
            if len(data) > MAX_JSON_BYTES:
                raise Failure("too_large", limit="1 MB")
            data = data.encode("utf-8", "surrogatepass")
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        if not isinstance(data, bytes):
            raise Failure("unreadable_input")
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if data.startswith(b"\x89PNG") or (head.startswith(b"<") and b"<svg" in head):
            return self._from_image(data), "image"
        if not head:
            raise Failure("invalid_json", reason="empty input")
        if head[:1] not in (b"{", b"["):
            raise Failure("invalid_json", reason="not a JSON object")
        value = parse_json(data)
        if not isinstance(value, dict):
            raise Failure("not_an_object")
        return value, "json"

    def _from_url(self, url: str) -> dict:
        document = self.fetch(url, "hosted_unavailable")
        if not isinstance(document, dict):
            raise Failure("not_an_object")
        return document

    def _from_image(self, data: bytes) -> dict:
        from .bake import unbake  # noqa: PLC0415 - only images need Pillow-free PNG/SVG parsing
        from .errors import BadgeError  # noqa: PLC0415

        if len(data) > MAX_IMAGE_BYTES:
            raise Failure("too_large", limit="5 MB")
        try:
            baked = unbake(data)
        except BadgeError as exc:
            code = exc.code if exc.code in messages.MESSAGES else "invalid_image"
            raise Failure(code, limit="5 MB", reason=exc.message) from None
        credential = baked["credential"]
        if isinstance(credential, dict):
            check_value(credential)
            return credential
        if credential.lower().startswith(("https://", "http://")):
            return self._from_url(credential)
        raise Failure("unsupported_format", format="JWS")

    # -- running one check -------------------------------------------------------------------------

    def step(self, name: str, function: Callable[[], tuple[str | None, dict] | None]) -> bool:
        """Run one check; it returns (detail key, params) when it passes or raises Failure."""
        try:
            outcome = function()
        except Failure as failure:
            self.report.failed(name, failure)
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


# -- Verifiable Credentials -------------------------------------------------------------------------

# certs.proofs codes -> the verifier's codes (documented in badges.messages).
_PROOF_CODES = {
    "missing_proof": "no_proof", "malformed_proof": "malformed_proof",
    "invalid_proof_datetime": "malformed_proof",
    "mismatched_proof_purpose": "wrong_proof_purpose", "unsupported_cryptosuite": "unsupported_cryptosuite",
    "invalid_signature": "bad_signature", "invalid_signature_length": "malformed_proof_value",
    "key_resolution_failed": "method_unresolvable", "invalid_verification_method": "invalid_key",
    "verification_method_revoked": "key_revoked", "verification_method_expired": "key_expired",
    "proof_expired": "proof_expired", "issuer_mismatch": "issuer_mismatch",
    "malformed_document": "not_an_object",
}
_SUPPORTED_SUITES = {("DataIntegrityProof", "eddsa-rdfc-2022"), ("DataIntegrityProof", "ecdsa-rdfc-2019"),
                     ("Ed25519Signature2020", None)}


def _memo():
    from certs.canon import Memo  # noqa: PLC0415 - JSON-LD is only needed to verify credentials

    return Memo()


def _loader():
    from .loader import document_loader  # noqa: PLC0415 - JSON-LD is only needed to verify credentials

    return document_loader()


def verify_credential(session: _Session, document: dict, kind: str, *, check_status: bool = True) -> None:
    """The checks of a Verifiable Credential; each one is recorded, later ones run when they can."""
    if not session.step("jsonld", lambda: _check_jsonld(session, document)):
        return  # without a well-defined meaning there is nothing a signature could be checked against
    session.step("schema", lambda: _check_schema(document, kind))
    proofs = _proofs(session, document)
    methods = _resolve_methods(session, proofs) if proofs else None
    if methods is not None:
        session.step("proof", lambda: _check_proofs(session, document, proofs, methods))
        session.step("issuer", lambda: _check_issuer(document, methods))
    session.step("validity", lambda: _check_validity(session, document, kind))
    if check_status:
        session.step("status", lambda: _check_status(session, document))


def _check_jsonld(session: _Session, document: dict):
    """The document must mean exactly what it says: canonicalizing what each proof signs (the document
    without its proofs, and the proof's configuration) applies certs' strict checks (unknown context,
    undefined term, relative id, control character). The results stay in the session's memo, so the
    proof check reuses them instead of canonicalizing the same documents again."""
    from certs.errors import CertsError  # noqa: PLC0415
    from certs.proofs import proof_configuration  # noqa: PLC0415

    if "@context" not in document:
        raise Failure("no_context")
    unsecured = _unsecured(document)
    try:
        session.memo.canonize(unsecured, _loader())
        for proof in as_list(document.get("proof"))[:MAX_PROOFS]:
            if isinstance(proof, Mapping):
                proof_configuration(unsecured, proof, _loader(), session.memo)
    except CertsError as exc:
        url = _unknown_url(str(exc))
        if exc.code == "unknown_context":
            raise Failure("unknown_context", url=url or "?") from None
        if exc.code == "undefined_term":
            raise Failure("undefined_term", term=_quoted_terms(str(exc))) from None
        raise Failure("invalid_jsonld", reason=str(exc)) from None
    return None


def _unsecured(document: Mapping) -> dict:
    """The document without its proofs, built the way certs.proofs builds it (same key order, so the
    memo recognises it)."""
    return {key: value for key, value in document.items() if key != "proof"}


def _unknown_url(text: str) -> str | None:
    match = re.search(r"'([^']+)'", text)
    return match.group(1) if match else None


def _quoted_terms(text: str) -> str:
    names = re.findall(r"'([^']+)'", text)
    return ", ".join(name.rsplit("/", 1)[-1] for name in names) or text


def is_vc1(document: Mapping) -> bool:
    """Whether the document is a VC 1.1 credential (its first context is the VC 1.1 one): its dates are
    then ``issuanceDate`` / ``expirationDate`` rather than ``validFrom`` / ``validUntil``."""
    contexts = as_list(document.get("@context"))
    return bool(contexts) and contexts[0] == VC1_CONTEXT


def _check_schema(document: dict, kind: str):
    if kind == "ob3" and is_vc1(document):
        _check_ob3_vc1_shape(document)
        return "schema_ob3_vc1", {}
    if kind == "ob3":
        from .schema import validate_ob3  # noqa: PLC0415

        problems = validate_ob3(document)
        if problems:
            more = f" (+{len(problems) - 1})" if len(problems) > 1 else ""
            raise Failure("schema_invalid", reason=problems[0] + more)
        return "schema", {"schema": "Open Badges 3.0"}
    types = as_list(document.get("type"))
    if "VerifiableCredential" not in types:
        raise Failure("not_a_credential", reason="type has no VerifiableCredential")
    if _id_of(document.get("issuer")) is None:
        raise Failure("no_issuer")
    subjects = as_list(document.get("credentialSubject"))
    if not subjects or not all(isinstance(subject, Mapping) for subject in subjects):
        raise Failure("not_a_credential", reason="credentialSubject is missing")
    if kind == "vc1" and "issuanceDate" not in document:
        raise Failure("not_a_credential", reason="a VC 1.1 credential needs issuanceDate")
    return "schema_generic", {}


def _check_ob3_vc1_shape(document: dict) -> None:
    """The shape of an Open Badges 3.0 credential from the releases built on VC 1.1 (context-3.0.1 and
    3.0.2, still produced by many issuers and wallets, often signed with Ed25519Signature2020).

    The bundled OB 3.0 JSON Schema is the VC 2.0 one (``validFrom``, VC 2.0 context first): applying it
    here would call every such credential invalid. No JSON Schema of those releases is bundled (none is
    in a package registry), so this is a small explicit check of what they require; the JSON-LD check has
    already made sure that every term is defined by a pinned context.
    """
    contexts = as_list(document.get("@context"))
    if not any(isinstance(c, str) and c.startswith(OB3_CONTEXT_PREFIX) for c in contexts):
        raise Failure("schema_invalid", reason="@context has no Open Badges 3.0 context")
    types = as_list(document.get("type"))
    if "VerifiableCredential" not in types:
        raise Failure("schema_invalid", reason="type has no VerifiableCredential")
    if not OB3_TYPES & {t for t in types if isinstance(t, str)}:
        raise Failure("schema_invalid",
                      reason="type has neither OpenBadgeCredential nor AchievementCredential")
    if _id_of(document.get("issuer")) is None:
        raise Failure("schema_invalid", reason="issuer has no id")
    if not isinstance(document.get("issuanceDate"), str):
        raise Failure("schema_invalid", reason="issuanceDate is required")
    for name in ("issuanceDate", "expirationDate"):
        if name in document and not _is_datetime(document[name]):
            raise Failure("schema_invalid", reason=f"{name} is not a date-time")
    subjects = as_list(document.get("credentialSubject"))
    if not subjects or not all(isinstance(subject, Mapping) for subject in subjects):
        raise Failure("schema_invalid", reason="credentialSubject is required")
    if not all(isinstance(subject.get("achievement"), Mapping) for subject in subjects):
        raise Failure("schema_invalid", reason="credentialSubject.achievement is required")


def _is_datetime(value: Any) -> bool:
    from certs.errors import CertsError  # noqa: PLC0415
    from certs.proofs import parse_datetime as parse_xsd_datetime  # noqa: PLC0415

    try:
        parse_xsd_datetime(value)
    except CertsError:
        return False
    return True


def _proofs(session: _Session, document: dict) -> list[Mapping] | None:
    """The proofs to check, or None after recording why there are none usable."""
    proofs = document.get("proof")
    try:
        if proofs is None or proofs == []:
            raise Failure("no_proof")
        proofs = as_list(proofs)
        if len(proofs) > MAX_PROOFS or not all(isinstance(proof, Mapping) for proof in proofs):
            raise Failure("malformed_proof", reason="proof must be an object or a short list of objects")
        for proof in proofs:
            is_data_integrity = proof.get("type") == "DataIntegrityProof"
            suite = (proof.get("type"), proof.get("cryptosuite") if is_data_integrity else None)
            if suite not in _SUPPORTED_SUITES:
                raise Failure("unsupported_cryptosuite", suite=" ".join(str(part) for part in suite if part))
            if proof.get("proofPurpose") != "assertionMethod":
                raise Failure("wrong_proof_purpose", purpose=proof.get("proofPurpose"))
            if not isinstance(proof.get("verificationMethod"), str):
                raise Failure("malformed_proof", reason="verificationMethod is missing")
            _check_proof_value(session, proof.get("proofValue"))
    except Failure as failure:
        session.report.failed("proof", failure)
        return None
    return proofs


def _check_proof_value(session: _Session, value: Any) -> None:
    from certs import multibase  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    if not isinstance(value, str) or not value:
        raise Failure("malformed_proof_value", reason="proofValue is missing")
    try:
        prefix, _data = multibase.decode(value)
    except CertsError as exc:
        raise Failure("malformed_proof_value", reason=str(exc)) from None
    if prefix != multibase.BASE58BTC:
        session.report.warn("lax_proof_value")


def _resolve_methods(session: _Session, proofs: list[Mapping]) -> dict | None:
    """Resolve every proof's verification method (recorded as the ``verification_method`` check)."""
    methods: dict = {}

    def resolve_all():
        for proof in proofs:
            vm_id = proof["verificationMethod"]
            if vm_id not in methods:
                methods[vm_id] = resolve_method(session, vm_id)
        first = next(iter(methods.values()))
        short = first.id[len(first.controller):] if first.id.startswith(first.controller + "#") else first.id
        return None, {"method": short, "controller": first.controller}

    return methods if session.step("verification_method", resolve_all) else None


def resolve_method(session: _Session, vm_id: str):
    """Find ``vm_id`` in its controller document and check it may make assertions.

    did:key resolves offline; did:web and https documents are fetched through the session's fetch. The
    controller document's ``id`` must be the DID (or URL) it was fetched for, the method must be listed
    under ``assertionMethod``, and the method's ``controller`` must be that document.
    """
    from certs import keys  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    base = vm_id.split("#", 1)[0]
    expected = base
    if base.startswith("did:key:"):
        try:
            document = keys.did_key_document(base)
        except CertsError as exc:
            raise Failure("invalid_key", reason=str(exc)) from None
    elif base.startswith("did:web:"):
        document = session.fetch(_did_web_url(session, base, vm_id), "method_unresolvable")
    elif base.startswith(("https://", "http://")):
        document, expected = _https_controller(session, vm_id, base)
    else:
        raise Failure("unsupported_method", method=vm_id[:80])
    if not isinstance(document, Mapping):
        raise Failure("method_unresolvable", method=vm_id, reason="not a JSON object")
    controller = document.get("id")
    if controller != expected:
        raise Failure("controller_mismatch", controller=controller)
    document = _absolute_ids(document)
    methods = [m for m in as_list(document.get("verificationMethod")) if isinstance(m, Mapping)]
    authorized = set()
    for entry in as_list(document.get("assertionMethod")):
        if isinstance(entry, str):
            authorized.add(entry)
        elif isinstance(entry, Mapping):
            methods.append(entry)
            authorized.add(entry.get("id"))
    method = next((m for m in methods if m.get("id") == vm_id), None)
    if method is None:
        raise Failure("method_unresolvable", method=vm_id, reason="not in its controller document")
    if vm_id not in authorized:
        raise Failure("method_not_authorized", method=vm_id)
    if method.get("controller") != controller:
        raise Failure("controller_mismatch", controller=method.get("controller"))
    try:
        return keys.method_from_document(document, vm_id)
    except CertsError as exc:
        raise Failure("invalid_key", reason=str(exc)) from None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _did_web_url(session: _Session, did: str, vm_id: str) -> str:
    """The did:web document URL: https, except plain http to a loopback host when the run allows
    loopback (tests and a local instance, whose ids are ``did:web:127.0.0.1%3A5000:...``)."""
    from certs import keys  # noqa: PLC0415
    from certs.errors import CertsError  # noqa: PLC0415

    try:
        url = keys.did_web_url(did)
        host = urlsplit(url).hostname or ""
        if session.allow_loopback and (host in _LOOPBACK_HOSTS or host == "::1"):
            url = keys.did_web_url(did, scheme="http")
        return url
    except CertsError as exc:
        raise Failure("method_unresolvable", method=vm_id, reason=str(exc)) from None


def _https_controller(session: _Session, vm_id: str, base: str) -> tuple[dict, str]:
    """An https key: a controller document holding the key, or a key document naming its controller.

    Returns the controller document (with the key added to its methods if it only references it) and
    the id that document must carry.
    """
    document = session.fetch(base, "method_unresolvable")
    if not isinstance(document, Mapping):
        raise Failure("method_unresolvable", method=vm_id, reason="not a JSON object")
    controller_id = document.get("controller")
    if document.get("id") != vm_id or not isinstance(controller_id, str) or controller_id == base:
        return dict(document), base
    controller_base = controller_id.split("#", 1)[0]
    if controller_base.startswith("did:web:"):
        url = _did_web_url(session, controller_base, vm_id)
    elif controller_base.startswith(("https://", "http://")):
        url = controller_base
    else:
        raise Failure("unsupported_method", method=controller_base[:80])
    controller = session.fetch(url, "method_unresolvable")
    if not isinstance(controller, Mapping):
        raise Failure("method_unresolvable", method=vm_id,
                      reason="the controller document is not a JSON object")
    listed = [m for m in as_list(controller.get("verificationMethod")) if isinstance(m, Mapping)]
    if not any(m.get("id") == vm_id for m in listed):
        listed.append({k: v for k, v in document.items() if k != "@context"})
    return {**controller, "verificationMethod": listed}, controller_base


def _absolute_ids(document: Mapping) -> dict:
    """DID documents may name methods ``#key-1``: make such references absolute."""
    base = document.get("id")
    if not isinstance(base, str):
        return dict(document)

    def fix(value):
        if isinstance(value, str) and value.startswith("#"):
            return base + value
        if isinstance(value, Mapping):
            fixed = dict(value)
            if isinstance(fixed.get("id"), str) and fixed["id"].startswith("#"):
                fixed["id"] = base + fixed["id"]
            return fixed
        return value

    result = dict(document)
    for name in ("verificationMethod", "assertionMethod"):
        if name in result:
            result[name] = [fix(item) for item in as_list(result[name])]
    return result


def _check_proofs(session: _Session, document: dict, proofs: list[Mapping], methods: dict):
    from certs import proofs as data_integrity  # noqa: PLC0415

    outcome = data_integrity.verify(document, _loader(), lambda vm_id: methods[vm_id],
                                    check_issuer=False, now=session.now, memo=session.memo)
    for warning in outcome.warnings:
        if warning.code == "proof_value_base64url":
            session.report.warn("lax_proof_value")
        elif warning.code == "date_without_timezone":
            session.report.warn("date_without_timezone", field=warning.message.split(" ", 1)[0])
    if not outcome.verified:
        problem = outcome.errors[0] if outcome.errors else None
        code = _PROOF_CODES.get(problem.code, problem.code) if problem else "bad_signature"
        if code not in messages.MESSAGES:
            code = "bad_signature" if problem is None else "malformed_proof"
        raise Failure(code, reason=problem.message if problem else "", suite="", purpose="")
    suites = sorted({proof.get("cryptosuite") or proof.get("type") for proof in proofs})
    return None, {"suite": ", ".join(suites)}


def _check_issuer(document: dict, methods: dict):
    issuer = _id_of(document.get("issuer"))
    if issuer is None:
        raise Failure("no_issuer")
    for method in methods.values():
        if method.controller != issuer:
            raise Failure("issuer_mismatch", issuer=issuer, controller=method.controller)
    return None, {"issuer": issuer}


# Clock skew tolerated on "valid from" (a credential signed a moment ago by a server whose clock is ahead).
_SKEW_SECONDS = 300


def _check_validity(session: _Session, document: dict, kind: str):
    # VC 1.1 (a plain credential or an Open Badge of the releases before 3.0.3) names its dates differently.
    names = ("issuanceDate", "expirationDate") if is_vc1(document) else ("validFrom", "validUntil")
    start_field, end_field = names
    start = end = None
    if start_field in document:
        start = parse_datetime(document[start_field], start_field, session.report)
    if end_field in document:
        end = parse_datetime(document[end_field], end_field, session.report)
    if start is not None and (start - session.now).total_seconds() > _SKEW_SECONDS:
        raise Failure("not_yet_valid", date=_show(start))
    if end is not None and end <= session.now:
        raise Failure("expired", date=_show(end))
    return None, {"now": _show(session.now)}


# -- status lists ------------------------------------------------------------------------------------

STATUS_ENTRY = "BitstringStatusListEntry"


def _check_status(session: _Session, document: dict):
    entries = as_list(document.get("credentialStatus"))
    if not entries:
        return "status_none", {}
    if len(entries) > MAX_STATUS_ENTRIES or not all(isinstance(entry, Mapping) for entry in entries):
        raise Failure("status_invalid", reason="credentialStatus must be an object or a short list")
    checked = []
    for entry in entries:
        if entry.get("type") != STATUS_ENTRY:
            raise Failure("unsupported_status", type=entry.get("type"))
        purpose = entry.get("statusPurpose")
        if purpose not in ("revocation", "suspension"):
            session.report.warn("status_not_checked")  # refresh, message: nothing that invalidates
            continue
        checked.append(_check_status_entry(session, document, entry, purpose))
    if not checked:
        return "status_none", {}
    return None, {"list": ", ".join(checked)}


def _check_status_entry(session: _Session, document: dict, entry: Mapping, purpose: str) -> str:
    """Bitstring Status List v1.0 section 3.2, on a status list that verifies as a credential of the same
    issuer; the set bit means revoked or suspended, according to the entry's purpose."""
    from certs.status import StatusListError, check_status  # noqa: PLC0415

    url = entry.get("statusListCredential")
    index = entry.get("statusListIndex")
    if not isinstance(url, str) or not isinstance(index, str) or not re.fullmatch(r"[0-9]+", index):
        raise Failure("status_invalid", reason="statusListCredential or statusListIndex is malformed")
    if entry.get("statusSize", 1) != 1:
        raise Failure("unsupported_status", type=f"{STATUS_ENTRY} statusSize {entry.get('statusSize')}")
    status_list = session.fetch(url, "status_unavailable")
    if not isinstance(status_list, dict):
        raise Failure("status_invalid", reason="the status list is not a JSON object")
    _verify_status_list(session, status_list, document)
    try:
        is_set = check_status(entry, status_list)
    except StatusListError as exc:
        raise Failure("status_invalid", reason=str(exc)) from None
    if is_set:
        raise Failure("revoked" if purpose == "revocation" else "suspended")
    return url


def _verify_status_list(session: _Session, status_list: dict, document: dict) -> None:
    """The list must itself verify, every check of a credential passing (signature by a key of its
    issuer, dates), and come from the credential's own issuer: anyone else's list, however valid, says
    nothing about this credential."""
    kind = document_kind(status_list)
    if kind not in ("vc2", "vc1"):
        raise Failure("status_invalid", reason="the status list is not a verifiable credential")
    child = session.child()
    verify_credential(child, status_list, kind, check_status=False)
    outcome = child.report.result("status_list")
    if not outcome["verified"]:
        reason = outcome["errors"][0]["message"] if outcome["errors"] else "it could not be verified"
        raise Failure("status_invalid", reason=reason)
    issuer = _id_of(document.get("issuer"))
    if issuer is None or _id_of(status_list.get("issuer")) != issuer:
        raise Failure("status_invalid", reason="the list was issued by someone else")


# -- Open Badges 2.0 hosted assertions ---------------------------------------------------------------

_ABSENT = object()


def _differs(presented: Mapping, authority: Mapping, linked: tuple[str, ...] = ()) -> str | None:
    """The first field of ``presented`` that ``authority`` (the document served at its id) does not say
    the same way, or None. Fields named in ``linked`` may carry the linked document itself rather than its
    URL: they are compared by id here, and field by field when that document is fetched."""
    for field, value in presented.items():
        if field in linked:
            if _id_of(value) != _id_of(authority.get(field)):
                return field
        elif authority.get(field, _ABSENT) != value:
            return field
    return None


def verify_ob2(session: _Session, presented: dict) -> None:
    """Hosted verification (OB 2.0 section "Hosted verification"): the assertion served at its ``id`` is
    the authority; it must match what was presented, name a BadgeClass whose issuer Profile is served,
    and live on an origin that issuer allows. There is no signature, so no JSON-LD processing."""
    state: dict[str, Any] = {}
    if not session.step("hosted", lambda: _ob2_hosted(session, presented, state)):
        return
    if state["assertion"].get("revoked") is True:
        session.step("status", lambda: _ob2_status(session, state))  # a revoked stub names nothing else
        return
    if not session.step("badge_class", lambda: _ob2_badge_class(session, state)):
        return
    if not session.step("issuer", lambda: _ob2_issuer(session, state)):
        return
    session.step("validity", lambda: _ob2_validity(session, state["assertion"]))
    session.step("status", lambda: _ob2_status(session, state))


def _https_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("https://", "http://")) and len(value) < 2048


def _ob2_hosted(session: _Session, presented: dict, state: dict):
    verification = presented.get("verification")
    method = verification.get("type") if isinstance(verification, Mapping) else None
    if method not in (None, "hosted", "HostedBadge"):
        raise Failure("unsupported_format", format=f"Open Badges 2.0 {method}")
    url = presented.get("id")
    if not _https_url(url):
        raise Failure("ob2_invalid", reason="the assertion id is not an https URL")
    hosted = session.fetch(url, "hosted_unavailable")
    if not isinstance(hosted, dict):
        raise Failure("hosted_unavailable", reason="not a JSON object")
    if hosted.get("id") != url:
        raise Failure("hosted_mismatch", field="id")
    state["assertion"] = hosted
    state["url"] = url
    if hosted.get("revoked") is True:
        return "hosted", {"url": url}  # the status check reports it; a revoked stub carries nothing else
    # Every field presented must be what the issuer hosts: a copy may leave fields out, never change one
    # (a forged narrative or evidence would otherwise ride along with a genuine assertion).
    field = _differs(presented, hosted, linked=("badge",))
    if field is not None:
        raise Failure("hosted_mismatch", field=field)
    if "badge" not in presented:
        raise Failure("ob2_invalid", reason="the assertion names no badge")
    if isinstance(presented["badge"], Mapping):
        state["presented_badge"] = presented["badge"]
    recipient = hosted.get("recipient")
    if not isinstance(recipient, Mapping) or not recipient.get("identity") or "issuedOn" not in hosted:
        raise Failure("ob2_invalid", reason="recipient and issuedOn are required")
    return "hosted", {"url": url}


def _ob2_badge_class(session: _Session, state: dict):
    assertion = state["assertion"]
    badge_url = _id_of(assertion.get("badge"))
    if not _https_url(badge_url):
        raise Failure("ob2_invalid", reason="the badge is not an https URL")
    badge = session.fetch(badge_url, "badge_class_unavailable")
    if not isinstance(badge, Mapping) or badge.get("id") != badge_url:
        raise Failure("ob2_inconsistent", reason="the badge class is not the one the assertion names")
    if "BadgeClass" not in as_list(badge.get("type")):
        raise Failure("ob2_inconsistent", reason="the badge is not a BadgeClass")
    embedded = state.get("presented_badge")
    if embedded is not None:
        field = _differs(embedded, badge, linked=("issuer",))
        if field is not None:
            raise Failure("hosted_mismatch", field=f"badge.{field}")
        if isinstance(embedded.get("issuer"), Mapping):
            state["presented_issuer"] = embedded["issuer"]
    state["badge"] = badge
    return "badge_class", {"name": badge.get("name") or badge_url}


def _ob2_issuer(session: _Session, state: dict):
    issuer_url = _id_of(state["badge"].get("issuer"))
    if not _https_url(issuer_url):
        raise Failure("ob2_invalid", reason="the badge class names no issuer URL")
    issuer = session.fetch(issuer_url, "issuer_unavailable")
    if not isinstance(issuer, Mapping) or issuer.get("id") != issuer_url:
        raise Failure("ob2_inconsistent", reason="the issuer profile is not the one the badge class names")
    if not {"Issuer", "Profile"} & set(as_list(issuer.get("type"))):
        raise Failure("ob2_inconsistent", reason="the issuer is not a Profile")
    if not _origin_allowed(state["url"], issuer_url, issuer.get("verification")):
        raise Failure("ob2_inconsistent", reason="the assertion is not hosted where its issuer allows")
    embedded = state.get("presented_issuer")
    if embedded is not None:
        field = _differs(embedded, issuer)
        if field is not None:
            raise Failure("hosted_mismatch", field=f"badge.issuer.{field}")
    state["issuer"] = issuer
    return None, {"issuer": issuer.get("name") or issuer_url}


def _origin_allowed(assertion_url: str, issuer_url: str, verification: Any) -> bool:
    """Same origin as the issuer, or an origin / URL prefix the issuer's ``verification`` allows."""
    assertion = urlsplit(assertion_url)
    issuer = urlsplit(issuer_url)
    if isinstance(verification, Mapping):
        starts = [p for p in as_list(verification.get("startsWith")) if isinstance(p, str)]
        origins = [o for o in as_list(verification.get("allowedOrigins")) if isinstance(o, str)]
        if starts:
            return any(assertion_url.startswith(prefix) for prefix in starts)
        if origins:
            return assertion.netloc.lower() in {origin.lower() for origin in origins}
    return (assertion.scheme, assertion.netloc.lower()) == (issuer.scheme, issuer.netloc.lower())


def _ob2_validity(session: _Session, assertion: Mapping):
    issued = parse_datetime(assertion.get("issuedOn"), "issuedOn", session.report)
    if (issued - session.now).total_seconds() > _SKEW_SECONDS:
        raise Failure("not_yet_valid", date=_show(issued))
    if "expires" in assertion:
        expires = parse_datetime(assertion["expires"], "expires", session.report)
        if expires <= session.now:
            raise Failure("expired", date=_show(expires))
    return None, {"now": _show(session.now)}


def _ob2_status(session: _Session, state: dict):
    """``revoked`` on the hosted assertion, and the issuer's revocation list when it publishes one."""
    if state["assertion"].get("revoked") is True:
        raise Failure("revoked")
    list_url = state["issuer"].get("revocationList")
    if list_url is None:
        return "status_none", {}
    if not _https_url(list_url):
        raise Failure("status_invalid", reason="revocationList is not a URL")
    revocations = session.fetch(list_url, "status_unavailable")
    if not isinstance(revocations, Mapping):
        raise Failure("status_invalid", reason="the revocation list is not a JSON object")
    for revoked in as_list(revocations.get("revokedAssertions")):
        if _id_of(revoked) == state["url"]:
            raise Failure("revoked")
    return None, {"list": list_url}
