"""The meaning of a credential: JSON-LD (every term defined by a pinned context, absolute ids, no control
characters) and its shape (the Open Badges 3.0 JSON Schema, or an explicit check for the releases built
on VC 1.1 and for plain Verifiable Credentials)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import BadgeError
from ..formats import OB3_CONTEXT_PREFIX, OB3_TYPES, as_list, check_complexity
from ..inline_contexts import UnsafeContext, inline_contexts
from .proofs import MAX_PROOFS
from .reading import _id_of, is_vc1
from .report import Failure
from .session import _Session, _loader


def _check_jsonld(session: _Session, document: dict):
    """The document must mean exactly what it says: bounded work first (``too_complex``), no inline
    context that could hide content from the signature (``unsafe_context``; any inline context is a
    warning, see :mod:`badges.inline_contexts`), then canonicalizing what each proof signs (the document
    without its proofs, and the proof's configuration) applies certs' strict checks (unknown context,
    undefined term, relative id, control character). The results stay in the session's memo, so the
    proof check reuses them instead of canonicalizing the same documents again."""
    from certs.errors import CertsError  # noqa: PLC0415
    from certs.proofs import proof_configuration  # noqa: PLC0415

    if "@context" not in document:
        raise Failure("no_context")
    try:
        check_complexity(document)  # before any JSON-LD work: pyld's node map is quadratic
    except BadgeError as error:
        raise Failure(error.code, **error.params) from None
    try:
        _urls, inline = inline_contexts(document)
    except UnsafeContext as unsafe:
        raise Failure("unsafe_context", reason=unsafe.reason) from None
    if inline:
        session.report.warn("inline_context")
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
        if exc.code == "timeout":
            raise Failure("verification_timeout") from None
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


MAX_SCHEMA_REMARKS = 5


def _check_schema(session: _Session, document: dict, kind: str):
    """Conformance, as Open Badges 3.0 section 9.1 step 1 defines it for OB credentials.

    * ``credentialSubject`` must be identified by ``id`` and/or ``identifier``;
    * each ``credentialSchema`` of type ``1EdTechJsonSchemaValidator2019`` that Sillage bundles decides:
      a document that does not conform to it fails. Format deviations are annotations (Draft 2019-09):
      warnings, never failures;
    * a declared schema that is not bundled cannot be checked, since schemas are never fetched. Section
      9.1 makes non-conformance, not the absence of a check, the failure, and the specification's own
      complete example declares a second, issuer-hosted schema: it is reported as a warning
      (``schema_not_checked``) rather than failing a genuine credential;
    * with no declared schema, the official AchievementCredential schema is still applied, its findings
      as warnings only (``schema_warning``).

    An OB 3.0 credential of the releases built on VC 1.1 named the same ``json/`` schema URL when that URL
    served a VC 1.1 schema (until April 2024, SOURCES.md): the bundled VC 2.0 schemas are not what it
    declared, so it gets the explicit shape check and its declared schemas are reported as not checked.
    """
    from ..schema import ACHIEVEMENT_CREDENTIAL, check, declared_schemas, is_bundled  # noqa: PLC0415

    report = session.report
    vc1 = is_vc1(document)
    if kind == "ob3":
        _check_subject_identified(document)
    decided = []
    for schema_id in declared_schemas(document):
        if vc1 or not is_bundled(schema_id):
            report.warn("schema_not_checked", url=schema_id if isinstance(schema_id, str) else "?")
            continue
        findings = check(document, schema_id)
        _format_remarks(session, findings.warnings)
        if findings.errors:
            raise Failure("schema_invalid", reason=_first(findings.errors))
        decided.append(schema_id)
    if kind == "ob3" and vc1:
        _check_ob3_vc1_shape(document)
        return "schema_ob3_vc1", {}
    if kind == "ob3":
        if decided:
            return "schema", {"schema": "Open Badges 3.0"}
        findings = check(document, ACHIEVEMENT_CREDENTIAL)
        _format_remarks(session, findings.warnings)
        if findings.errors:
            report.warn("schema_warning", reason=_first(findings.errors))
        return "schema_undeclared", {}
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
    if decided:
        return "schema", {"schema": "1EdTech"}
    return "schema_generic", {}


def _first(problems: list[str]) -> str:
    return problems[0] + (f" (+{len(problems) - 1})" if len(problems) > 1 else "")


def _format_remarks(session: _Session, warnings: list[str]) -> None:
    for text in warnings[:MAX_SCHEMA_REMARKS]:
        session.report.warn("schema_format", reason=text)


def _check_subject_identified(document: dict) -> None:
    """OB 3.0 section 9.1: the ``credentialSubject`` must be identified by an ``id`` and/or an
    ``identifier``; if neither is present, the credential does not conform to the specification."""
    subjects = as_list(document.get("credentialSubject"))
    if not subjects or not all(isinstance(subject, Mapping) for subject in subjects):
        raise Failure("schema_invalid", reason="credentialSubject is required")
    for subject in subjects:
        if subject.get("id") is None and not as_list(subject.get("identifier")):
            raise Failure("subject_unidentified")


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
