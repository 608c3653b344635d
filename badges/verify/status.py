"""Credential status: Bitstring Status List v1.0 entries, each list verified as a credential of the
credential's own issuer before its bit is read."""
from __future__ import annotations

import re
from collections.abc import Mapping

from ..formats import as_list
from .reading import _id_of, document_kind
from .report import Failure
from .session import _Session

MAX_STATUS_ENTRIES = 4
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
    from .credential import verify_credential  # noqa: PLC0415 - a status list is itself a credential

    kind = document_kind(status_list)
    if kind not in ("vc2", "vc1"):
        raise Failure("status_invalid", reason="the status list is not a verifiable credential")
    child = session.child()
    verify_credential(child, status_list, kind, check_status=False)
    outcome = child.report.result("status_list")
    if not outcome["verified"]:
        if any(error["code"] == "verification_timeout" for error in outcome["errors"]):
            raise Failure("verification_timeout")
        reason = outcome["errors"][0]["message"] if outcome["errors"] else "it could not be verified"
        raise Failure("status_invalid", reason=reason)
    issuer = _id_of(document.get("issuer"))
    if issuer is None or _id_of(status_list.get("issuer")) != issuer:
        raise Failure("status_invalid", reason="the list was issued by someone else")

