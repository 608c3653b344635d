"""Signing an OB 3.0 credential: conformance check, then certs' ``eddsa-rdfc-2022`` proof.

The cryptography is entirely ``certs``'; this adds the Open Badges part. A signed credential cannot be
fixed afterwards, so what would make it non-conforming is refused before signing, with the field named:

* real errors: a ``credentialSubject`` with neither ``id`` nor ``identifier`` (OB 3.0 section 9.1), a
  document the official JSON Schema rejects (a missing required field, a wrong type), and, from certs,
  undefined terms, relative ids and control characters;
* real errors too: an inline ``@context`` that defines ``@vocab``, redefines a term of the pinned contexts
  or aliases a keyword (:mod:`badges.inline_contexts`);
* remarks, returned as warnings and signed anyway: any other inline context, format deviations, which
  Draft 2019-09 makes annotations (an ``activityStartDate`` of ``2025-06-30``, typed ``xsd:date`` by the OB
  context while the schema says ``date-time``: openbadges-specification issue #645), and a declared
  schema that is not bundled (never fetched, so not checked).

The schema that decides is the one the credential declares (``credentialSchema``), else the served
AchievementCredential schema (see :mod:`badges.schema`). certs is given the loader that knows the Open
Badges contexts.

Signing is bounded like verifying: the complexity bounds (``too_complex``, checked before any JSON-LD
work) and a time budget on canonicalization (:func:`time_budget`, code ``timeout``), so that no document
handed to a signing path can hold a worker.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from .errors import BadgeError, InvalidValue
from .formats import check_complexity
from .inline_contexts import UnsafeContext, inline_contexts
from .loader import document_loader
from .schema import ACHIEVEMENT_CREDENTIAL, check, declared_schemas, is_bundled


SIGN_TIME_BUDGET_SECONDS = 10.0


class TooComplex(InvalidValue):
    """The document exceeds the complexity bounds (an ``InvalidValue`` with the stable ``code``)."""

    code = "too_complex"


def check_bounds(credential: Any) -> None:
    """The verifier's complexity bounds, before any JSON-LD work; raises ``TooComplex``."""
    try:
        check_complexity(credential)
    except BadgeError as error:
        raise TooComplex("credential", f"is too complex to sign: {error.message}") from None


@contextmanager
def time_budget(seconds: float | None = None) -> Iterator[None]:
    """Canonicalization inside the block stops after ``seconds`` (default ``SIGN_TIME_BUDGET_SECONDS``;
    certs' ``CanonicalizationError``, code ``timeout``)."""
    from certs.canon import deadline  # noqa: PLC0415

    with deadline(time.monotonic() + (SIGN_TIME_BUDGET_SECONDS if seconds is None else seconds)):
        yield


def check_contexts(credential: Any) -> list[str]:
    """Refuse an inline context that could hide content from the signature (``InvalidValue``); report
    any other inline context (see :mod:`badges.inline_contexts`)."""
    try:
        _urls, inline = inline_contexts(credential)
    except UnsafeContext as unsafe:
        raise InvalidValue("credential", f"has an unsafe inline @context: {unsafe.reason}") from None
    return ["the document defines terms in an inline @context of its own"] if inline else []


def check_signable(credential: Mapping[str, Any]) -> list[str]:
    """The remarks on an OB 3.0 credential about to be signed; raises ``InvalidValue`` (field
    ``credential``) on a real error."""
    if not isinstance(credential, Mapping):
        raise InvalidValue("credential", "must be a JSON object")
    check_bounds(credential)
    warnings: list[str] = check_contexts(credential)
    subjects = credential.get("credentialSubject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if isinstance(subject, Mapping) and subject.get("id") is None and not subject.get("identifier"):
            raise InvalidValue("credential", "credentialSubject needs an id or an identifier "
                                             "(Open Badges 3.0, section 9.1)")
    _check_dates(credential)
    schemas = []
    for schema_id in declared_schemas(credential):
        if is_bundled(schema_id):
            schemas.append(schema_id)
        else:
            warnings.append(f"the declared JSON Schema {schema_id} is not bundled and was not checked")
    for schema_id in schemas or [ACHIEVEMENT_CREDENTIAL]:
        findings = check(credential, schema_id)
        if findings.errors:
            raise InvalidValue("credential", "does not follow the Open Badges 3.0 schema: "
                               + "; ".join(findings.errors))
        warnings.extend(f"format (an annotation, not a requirement): {text}" for text in findings.warnings)
    return list(dict.fromkeys(warnings))


def _check_dates(credential: Mapping[str, Any]) -> None:
    """``validFrom`` / ``validUntil`` decide validity: one that no verifier can read is a real error
    (the schema only annotates their format)."""
    from certs.errors import CertsError  # noqa: PLC0415
    from certs.proofs import parse_datetime  # noqa: PLC0415

    for name in ("validFrom", "validUntil"):
        if name in credential:
            try:
                parse_datetime(credential[name])
            except CertsError:
                raise InvalidValue("credential", f"{name} is not a date-time: {credential[name]!r}") from None


def sign_credential(credential: Mapping[str, Any], key_pair, *, created: datetime | None = None,
                    warnings: list[str] | None = None, memo=None, canonizer=None) -> dict:
    """Return ``credential`` with a DataIntegrityProof (``eddsa-rdfc-2022``) by ``key_pair``.

    ``key_pair`` is a ``certs`` key pair whose ``id`` is the verification method (for Sillage's
    issuers, a key of their did:web document). Raises ``InvalidValue`` (field ``credential``) when
    the credential does not conform (see the module docstring), or certs' ``ValueError`` subclasses when
    it cannot be signed faithfully. The remarks are appended to ``warnings`` when a list is given.
    ``memo`` (``certs.canon.Memo``) and ``canonizer`` (``certs.shapes.ShapeCanonicalizer.canonize``) are
    for a signer of many credentials: see ``certs.proofs.sign``.
    """
    import certs  # late: only issuing needs the signer

    remarks = check_signable(credential)
    if warnings is not None:
        warnings.extend(remarks)
    with time_budget():
        return certs.sign(credential, key_pair, document_loader(), created=created, memo=memo,
                          canonizer=canonizer)
