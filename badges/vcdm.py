"""What makes a document a valid W3C Verifiable Credential 2.0 *before* it is signed.

Sillage signs for other systems through the VC-API issuer route (``POST /issuers/<id>/credentials/issue``).
A signed credential cannot be fixed afterwards, so the route refuses what the VC Data Model 2.0 forbids.
The list is the one the W3C ``vc-data-model-2.0-test-suite`` expects an issuer to refuse (its
``tests/input/credential-*-fail.json``, read at commit 6e07524): each rule below names the section of
the data model it comes from. What needs JSON-LD (an undefined type, a term redefined over a protected
one, an unknown context) is left to certs' canonicalization and :mod:`badges.inline_contexts`, which the
signer runs anyway; this module checks the JSON shape, cheaply and with a precise message.

Pure: no Flask, no app. Raises :class:`VcdmError` (code ``not_vc2``) with the offending property named.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .formats import VC2_CONTEXT, as_list

# A URL as VC 2.0 §4.4 means it (RFC 3986 absolute: a scheme, then no whitespace anywhere).
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
# §4.6: a language value object has these members and no other.
_VALUE_OBJECT_KEYS = {"@value", "@language", "@direction"}
# §4.11 (credentialSchema), §4.10 (credentialStatus), §5.6 (termsOfUse), §5.5 (evidence), §5.4
# (refreshService): each such object MUST have a type.
_TYPED = ("credentialSchema", "credentialStatus", "termsOfUse", "evidence", "refreshService")


class VcdmError(ValueError):
    """The document is not a valid VC 2.0 credential; ``field`` names the property, ``message`` says why."""

    code = "not_vc2"

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_url(value: Any) -> bool:
    return isinstance(value, str) and bool(_URL.match(value))


def _single_url(value: Any, field: str) -> None:
    if not is_url(value):
        raise VcdmError(field, "must be one URL")


def _type_value(value: Any, field: str) -> list[str]:
    types = as_list(value)
    if not types or not all(isinstance(item, str) and item for item in types):
        raise VcdmError(field, "must be one or more type names")
    return types


def _language_text(value: Any, field: str) -> None:
    """§4.6: ``name`` / ``description`` are strings or language value objects (or a list of them)."""
    for item in as_list(value):
        if isinstance(item, str):
            continue
        if not (isinstance(item, Mapping) and isinstance(item.get("@value"), str)
                and set(item) <= _VALUE_OBJECT_KEYS):
            raise VcdmError(field, "must be a text or language value objects (@value, @language, @direction)")


def check_contexts(context: Any) -> None:
    """§4.3: ``@context`` is an ordered set whose first item is the VC 2.0 context; the others are URLs
    or objects."""
    contexts = context if isinstance(context, list) else [context]
    if context is None or not contexts or contexts[0] != VC2_CONTEXT:
        raise VcdmError("@context", f"must start with {VC2_CONTEXT}")
    for item in contexts[1:]:
        if not (is_url(item) or isinstance(item, Mapping)):
            raise VcdmError("@context", "items after the first must be URLs or objects")


def check_credential(credential: Any) -> None:
    """Raise :class:`VcdmError` unless ``credential`` is a well-formed, unsigned VC 2.0 credential with
    its ``issuer`` set."""
    if not isinstance(credential, Mapping):
        raise VcdmError("credential", "must be a JSON object")
    if "@context" not in credential:
        raise VcdmError("@context", "is required")
    check_contexts(credential["@context"])
    if "id" in credential:
        _single_url(credential["id"], "id")  # §4.4
    if "type" not in credential:
        raise VcdmError("type", "is required")
    if "VerifiableCredential" not in _type_value(credential["type"], "type"):  # §4.5
        raise VcdmError("type", "must include VerifiableCredential")
    for name in ("name", "description"):
        if name in credential:
            _language_text(credential[name], name)
    _check_issuer(credential)
    _check_subjects(credential)
    _check_dates(credential)
    for name in _TYPED:
        for item in as_list(credential.get(name)) if name in credential else []:
            _check_typed(item, name)


def _check_issuer(credential: Mapping) -> None:
    """§4.7: a URL, or an object whose ``id`` is a URL."""
    if "issuer" not in credential:
        raise VcdmError("issuer", "is required")
    issuer = credential["issuer"]
    if isinstance(issuer, Mapping):
        _single_url(issuer.get("id"), "issuer.id")
        for name in ("name", "description"):
            if name in issuer:
                _language_text(issuer[name], f"issuer.{name}")
    else:
        _single_url(issuer, "issuer")


def _check_subjects(credential: Mapping) -> None:
    """§4.8: one or more subjects, each an object making at least one claim; an ``id`` is one URL."""
    subjects = as_list(credential.get("credentialSubject"))
    if not subjects:
        raise VcdmError("credentialSubject", "is required")
    for subject in subjects:
        if not isinstance(subject, Mapping) or not subject:
            raise VcdmError("credentialSubject", "must be objects that each make a claim")
        if "id" in subject:
            _single_url(subject["id"], "credentialSubject.id")


def _check_dates(credential: Mapping) -> None:
    """§4.9: ``validFrom`` / ``validUntil`` are XML Schema dateTimeStamps; validUntil is not before
    validFrom."""
    from certs.errors import CertsError  # noqa: PLC0415 - certs is imported late, as badges.signing does
    from certs.proofs import parse_datetime  # noqa: PLC0415

    moments = {}
    for name in ("validFrom", "validUntil"):
        if name in credential:
            try:
                moments[name], has_zone = parse_datetime(credential[name])
            except CertsError:
                raise VcdmError(name, "must be a date-time such as 2026-01-31T12:00:00Z") from None
            if not has_zone:
                raise VcdmError(name, "must carry a time zone (Z or ±hh:mm)")
    if len(moments) == 2 and moments["validUntil"] < moments["validFrom"]:
        raise VcdmError("validUntil", "must not be before validFrom")


def _check_typed(item: Any, name: str) -> None:
    if not isinstance(item, Mapping):
        raise VcdmError(name, "must be objects")
    if "type" not in item:
        raise VcdmError(name, "objects must have a type")
    _type_value(item["type"], f"{name}.type")
    if name == "credentialSchema":
        _single_url(item.get("id"), "credentialSchema.id")  # §4.11: id and type required
    elif "id" in item:
        _single_url(item["id"], f"{name}.id")


_OB_TYPES = {"OpenBadgeCredential", "AchievementCredential", "EndorsementCredential"}


def sign(credential: Mapping[str, Any], key_pair, *, created=None) -> dict:
    """``credential`` checked as VC 2.0 (:func:`check_credential`), then signed ``eddsa-rdfc-2022``.

    An Open Badges credential also gets the Open Badges checks of :func:`badges.signing.sign_credential`
    (its official JSON Schema); any other goes through the same bounds and inline-context checks, then
    certs, whose canonicalization refuses undefined terms, unknown contexts, relative ids and control
    characters. Raises :class:`VcdmError`, ``InvalidValue`` or certs' ``ValueError`` subclasses."""
    import certs  # noqa: PLC0415 - late, as in badges.signing

    from .loader import document_loader  # noqa: PLC0415
    from .signing import check_bounds, check_contexts, sign_credential, time_budget  # noqa: PLC0415

    check_credential(credential)
    if _OB_TYPES & set(as_list(credential.get("type"))):
        return sign_credential(credential, key_pair, created=created)
    check_bounds(credential)
    check_contexts(credential)
    with time_budget():
        return certs.sign(credential, key_pair, document_loader(), created=created)
