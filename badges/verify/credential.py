"""The checks of a Verifiable Credential, in order, and its validity period.

``jsonld``, ``schema``, ``verification_method``, ``proof``, ``issuer``, ``validity``, ``status``: each
one is recorded; later ones run when they can.
"""
from __future__ import annotations

from .jsonld import _check_jsonld, _check_schema
from .jwt import verify_secured
from .proofs import _check_issuer, _check_proofs, _proofs, _resolve_methods
from .reading import is_vc1
from .report import Failure
from .session import _SKEW_SECONDS, _Session, _show, parse_datetime
from .status import _check_status


def verify_credential(session: _Session, document: dict, kind: str, *, check_status: bool = True,
                      secured=None) -> None:
    """The checks of a Verifiable Credential; each one is recorded, later ones run when they can.

    ``secured``: the :class:`jwt.SecuredCredential` the document came in; its JWS signature is then the
    proof (OB 3.0 section 8.2, VC-JOSE-COSE), and the document needs no embedded ``proof``."""
    if not session.step("jsonld", lambda: _check_jsonld(session, document)):
        return  # without a well-defined meaning there is nothing a signature could be checked against
    session.step("schema", lambda: _check_schema(session, document, kind))
    if secured is not None:
        verify_secured(session, secured, kind)
    else:
        proofs = _proofs(session, document)
        methods = _resolve_methods(session, proofs) if proofs else None
        if methods is not None:
            session.step("proof", lambda: _check_proofs(session, document, proofs, methods))
            session.step("issuer", lambda: _check_issuer(document, methods))
    session.step("validity", lambda: _check_validity(session, document, kind))
    if check_status:
        session.step("status", lambda: _check_status(session, document))


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

