"""Open Badges for Sillage, independent of Flask: OB 3.0 and OB 2.0 documents, baking and reading
badge images, reading external badges, and the bundled JSON-LD contexts and JSON Schema.

Dependencies point one way: ``app`` -> ``badges`` -> ``certs``. Signing and verifying proofs is
``certs``' job; this package builds and reads the documents and hands ``certs`` the loader
(:func:`badges.loader.document_loader`) that knows the Open Badges contexts.
"""
from __future__ import annotations

from .bake import bake, extract, image_format, unbake
from .errors import BadgeError, InvalidValue
from .identity import identity_hash, new_salt
from .ob2 import assertion_document, badge_class_document, issuer_document, revoked_assertion_document
from .ob3 import (Achievement, Alignment, Evidence, Image, Profile, Result, ResultDescription,
                  build_credential, matches_identity, new_credential_id)
from .read import BadgeDocument, read_badge, read_text, read_url
from .schema import validate_ob3
from .signing import sign_credential

__all__ = [
    "Achievement", "Alignment", "BadgeDocument", "BadgeError", "Evidence", "Image", "InvalidValue",
    "Profile", "Result", "ResultDescription", "assertion_document", "badge_class_document", "bake",
    "build_credential", "extract", "identity_hash", "image_format", "issuer_document", "matches_identity",
    "new_credential_id", "new_salt", "read_badge", "read_text", "read_url", "revoked_assertion_document",
    "sign_credential", "unbake", "validate_ob3",
]
