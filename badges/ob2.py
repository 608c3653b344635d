"""Open Badges 2.0 hosted documents, for backpacks that predate OB 3.0.

Three JSON-LD documents, each served at its own public URL (the app chooses the URLs under
``/ob2/...`` and passes them in; this module never builds a URL):

* Issuer (``Profile``): required ``id``, ``type``, ``name``, ``url``, ``email`` for an issuer;
* BadgeClass: required ``id``, ``type``, ``name``, ``description``, ``image``, ``criteria``,
  ``issuer`` (the issuer document's URL);
* Assertion: required ``id``, ``type``, ``recipient`` (e-mail, hashed with a salt),
  ``badge`` (the BadgeClass URL), ``verification`` ``{"type": "hosted"}``, ``issuedOn``.

Hosted verification means a verifier fetches the assertion at its ``id`` and checks that the
``badge`` and issuer it names are served from the same origin: there is no signature, so no
JSON-LD canonicalization is needed. Revocation is expressed by serving the stripped-down
``{"id", "type", "revoked": true}`` document at the same URL (``revoked_assertion_document``).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from . import values
from .errors import InvalidValue
from .identity import identity_hash, new_salt
from .ob3 import Alignment, Evidence, _evidence, _many, _put

CONTEXT = "https://w3id.org/openbadges/v2"
URL_SCHEMES = ("https", "http")
IMAGE_SCHEMES = ("https", "http", "data")


def issuer_document(*, issuer_url: str, name: str, url: str, email: str,
                    description: str | None = None, image: str | None = None) -> dict:
    """The hosted issuer ``Profile`` (type ``Issuer``)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": values.iri("issuer_url", issuer_url, schemes=URL_SCHEMES),
        "name": values.text("name", name, max_length=500),
        "url": values.iri("url", url, schemes=URL_SCHEMES),
        "email": values.email("email", email),
    }
    _put(doc, "description", values.text("description", description, required=False))
    _put(doc, "image", values.iri("image", image, required=False, schemes=IMAGE_SCHEMES))
    return doc


def _alignment(field: str, alignment: Alignment) -> dict:
    doc: dict[str, Any] = {
        "targetName": values.text(f"{field}.target_name", alignment.target_name, max_length=500),
        "targetUrl": values.iri(f"{field}.target_url", alignment.target_url, schemes=URL_SCHEMES),
    }
    _put(doc, "targetDescription", values.text(f"{field}.target_description", alignment.target_description,
                                               required=False))
    _put(doc, "targetFramework", values.text(f"{field}.target_framework", alignment.target_framework,
                                             required=False, max_length=500))
    _put(doc, "targetCode", values.text(f"{field}.target_code", alignment.target_code, required=False,
                                        max_length=200))
    return doc


def badge_class_document(*, badge_url: str, issuer_url: str, name: str, description: str, image: str,
                         criteria_url: str | None = None, criteria_narrative: str | None = None,
                         alignments: Iterable[Alignment | Mapping] = (), tags: Iterable[str] = ()) -> dict:
    """The hosted ``BadgeClass``; ``issuer`` is the URL of ``issuer_document``."""
    narrative = values.text("criteria_narrative", criteria_narrative, required=False)
    criteria_id = values.iri("criteria_url", criteria_url, required=False, schemes=URL_SCHEMES)
    if not narrative and not criteria_id:
        raise InvalidValue("criteria_narrative", "criteria need a narrative or a URL")
    criteria: dict[str, Any] = {}
    _put(criteria, "id", criteria_id)
    _put(criteria, "narrative", narrative)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": values.iri("badge_url", badge_url, schemes=URL_SCHEMES),
        "name": values.text("name", name, max_length=500),
        "description": values.text("description", description),
        "image": values.iri("image", image, schemes=IMAGE_SCHEMES),
        "criteria": criteria,
        "issuer": values.iri("issuer_url", issuer_url, schemes=URL_SCHEMES),
    }
    _put(doc, "alignment", [_alignment(f"alignments[{i}]", a)
                            for i, a in enumerate(_many(Alignment, alignments, "alignments"))])
    _put(doc, "tags", [values.text(f"tags[{i}]", t, max_length=200) for i, t in enumerate(tags or ())])
    return doc


_HASH = re.compile(r"sha256\$[0-9a-f]{64}")


def recipient(email: str | None, salt: str | None = None, *, hashed_identity: str | None = None) -> dict:
    """An OB 2.0 ``IdentityObject`` for an e-mail, hashed (``sha256$``) with a (fresh) salt.

    ``hashed_identity``: the hash already made (``sha256$<hex>`` of the address and ``salt``), served
    as it is, with no address at all. Why: an issuer keeps serving a hosted assertion after it forgot the
    address (its holder erased their account): OB 2.0's ``identity`` is "the hash of the identity", and
    ``salt`` "the string used to salt the hash", so the original pair still lets the holder's backpack
    match it, where a hash of anything else (of an empty address) would name nobody."""
    if hashed_identity is not None:
        if not isinstance(hashed_identity, str) or not _HASH.fullmatch(hashed_identity):
            raise InvalidValue("hashed_identity", "must be sha256$ followed by 64 lower-case hex digits")
        salt = values.text("salt", salt, max_length=200)
        return {"type": "email", "hashed": True, "salt": salt, "identity": hashed_identity}
    address = values.email("email", email)
    salt = values.text("salt", salt, required=False, max_length=200) or new_salt()
    return {"type": "email", "hashed": True, "salt": salt, "identity": identity_hash(address, salt)}


def assertion_document(*, assertion_url: str, badge_url: str, email: str | None, issued_on: datetime,
                       salt: str | None = None, image: str | None = None,
                       evidence: Iterable[Evidence | Mapping] = (), narrative: str | None = None,
                       expires: datetime | None = None, hashed_identity: str | None = None) -> dict:
    """The hosted ``Assertion``: ``id`` is where it is served, ``badge`` the BadgeClass URL. The recipient
    is ``email`` hashed with ``salt``, or ``hashed_identity`` with ``salt`` (``recipient``).

    ``image`` (optional) is the URL of the baked image: unlike a BadgeClass or issuer image, an
    Assertion's image may not be a data URI. OB 2.0 wants it "prepared via the Baking specification"
    (an image that carries this assertion), and 1EdTech's validator refuses a data URI there
    ("Image in node ... may not be a data URI", tests/badges/test_ob2_validator.py).
    """
    issued = values.timestamp("issued_on", issued_on)
    expiry = values.timestamp("expires", expires, required=False)
    if expires is not None and expires <= issued_on:
        raise InvalidValue("expires", "must be after issued_on")
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": values.iri("assertion_url", assertion_url, schemes=URL_SCHEMES),
        "recipient": recipient(email, salt, hashed_identity=hashed_identity),
        "badge": values.iri("badge_url", badge_url, schemes=URL_SCHEMES),
        "verification": {"type": "hosted"},
        "issuedOn": issued,
    }
    _put(doc, "image", values.iri("image", image, required=False, schemes=URL_SCHEMES))
    _put(doc, "evidence", [_evidence(f"evidence[{i}]", e, "Evidence")
                           for i, e in enumerate(_many(Evidence, evidence, "evidence"))])
    _put(doc, "narrative", values.text("narrative", narrative, required=False))
    _put(doc, "expires", expiry)
    return doc


def revoked_assertion_document(*, assertion_url: str, reason: str | None = None) -> dict:
    """What a revoked hosted assertion's URL serves (OB 2.0: only ``id`` and ``revoked`` required)."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": values.iri("assertion_url", assertion_url, schemes=URL_SCHEMES),
        "revoked": True,
    }
    _put(doc, "revocationReason", values.text("reason", reason, required=False, max_length=1000))
    return doc


__all__ = ["CONTEXT", "assertion_document", "badge_class_document", "issuer_document", "recipient",
           "revoked_assertion_document"]
