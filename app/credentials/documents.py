"""The public documents of an issued credential: OB 2.0 hosted assertion, badge class and issuer, baked
images, and the ``fetch`` that lets the credential page verify against this site's own documents.

OB 2.0 documents are built on each request from the stored credential and the organisation (they carry
no signature: hosted verification trusts the URL), with the recipient hashed with the same salt as the
OB 3.0 credential. A revoked credential's assertion URL serves the stripped revoked document.
"""
from __future__ import annotations

import re

from flask import current_app

from app.models import Achievement, Organisation
from app.models.credentials import Credential, StatusList
from app.policy import parse_id
from app.services import orgs, status_lists
from app.credentials import images
from badges import ob2
from badges.bake import bake
from certs.keys import did_web_url


_DID_DOCUMENT = re.compile(r"/issuers/([0-9a-fA-F-]{36})/did\.json$")


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def assertion_url(credential: Credential) -> str:
    return f"{_base()}/ob2/assertions/{credential.id}"


def badge_url(achievement: Achievement) -> str:
    return f"{_base()}/ob2/badges/{achievement.id}"


def issuer_url(organisation: Organisation) -> str:
    return f"{_base()}/ob2/issuers/{organisation.id}"


def ob2_issuer(organisation: Organisation) -> dict:
    return ob2.issuer_document(issuer_url=issuer_url(organisation), name=organisation.name,
                               url=organisation.website or orgs.public_url(organisation),
                               email=organisation.contact_email,
                               description=organisation.description or None)


def ob2_badge_class(achievement: Achievement) -> dict:
    return ob2.badge_class_document(
        badge_url=badge_url(achievement), issuer_url=issuer_url(achievement.organisation),
        name=achievement.name, description=achievement.description, image=f"{badge_url(achievement)}/image",
        criteria_url=achievement.criteria_url, criteria_narrative=achievement.criteria_narrative or None,
        alignments=[{k: v for k, v in a.items()} for a in achievement.alignments or ()],
        tags=achievement.tags or ())


def signed_email_hash(credential: Credential) -> str | None:
    """The recipient's e-mail hash as the signed OB 3.0 credential states it (``identityHash`` of the
    ``emailAddress`` identifier salted with ``recipient_salt``): the same ``sha256$`` of the same address
    and salt as OB 2.0's ``recipient.identity`` (badges/identity.py)."""
    subject = credential.document.get("credentialSubject") if isinstance(credential.document, dict) else None
    identifiers = subject.get("identifier") if isinstance(subject, dict) else None
    for item in identifiers if isinstance(identifiers, list) else [identifiers]:
        if (isinstance(item, dict) and item.get("identityType") == "emailAddress" and item.get("hashed") is True
                and item.get("salt") == credential.recipient_salt and isinstance(item.get("identityHash"), str)):
            return item["identityHash"]
    return None


def ob2_assertion(credential: Credential) -> dict:
    """The hosted assertion, its recipient the very hash the signed credential holds. Why from the
    signature rather than from ``recipient_email``: after the holder erased their account the address is
    gone (``erasure.erase`` blanks it), yet the badge they carried away must still name them; and one
    source for both versions cannot drift. A credential with no such identifier (none is issued here)
    falls back to hashing the stored address."""
    if credential.revoked_at is not None:
        return ob2.revoked_assertion_document(assertion_url=assertion_url(credential),
                                              reason=credential.revocation_reason)
    evidence = [{"id": url} for url in credential.evidence_urls or ()]
    hashed = signed_email_hash(credential)
    return ob2.assertion_document(
        assertion_url=assertion_url(credential), badge_url=badge_url(credential.achievement),
        email=None if hashed else credential.recipient_email, hashed_identity=hashed,
        salt=credential.recipient_salt, issued_on=credential.issued_at,
        image=f"{assertion_url(credential)}.png", evidence=evidence, narrative=credential.narrative,
        expires=credential.valid_until)


def baked_png(credential: Credential) -> bytes:
    """The achievement's PNG with the signed OB 3.0 credential inside (``openbadgecredential`` iTXt)."""
    return bake(images.achievement_png(credential.achievement), credential.document)


def baked_svg(credential: Credential) -> bytes:
    return bake(images.achievement_svg(credential.achievement), credential.document)


def baked_ob2_png(credential: Credential) -> bytes:
    """The achievement's PNG with the OB 2.0 hosted assertion inside (``openbadges`` iTXt)."""
    return bake(images.achievement_png(credential.achievement), ob2_assertion(credential))


def local_fetch(session, fallback):
    """A verifier ``fetch`` that answers this site's own issuer DID documents and status lists from the
    database (the very documents ``/issuers/<id>/did.json`` and ``/status/<id>`` serve), and hands every
    other URL to ``fallback`` (the SSRF-guarded fetch). Why: the credential page's verify button must not
    make the site fetch itself over the network (a reverse proxy, TLS, or a local ``http://127.0.0.1``
    address where did:web says ``https``)."""
    status_prefix = f"{_base()}/status/"

    def fetch(url: str):
        if url.startswith(status_prefix):
            status_list = session.get(StatusList, parse_id(url[len(status_prefix):]))
            if status_list is not None and status_list.document and status_lists.list_url(status_list) == url:
                return status_list.document
        match = _DID_DOCUMENT.search(url)
        organisation = session.get(Organisation, parse_id(match.group(1))) if match else None
        if organisation is not None and organisation.did_method == "web" and did_web_url(organisation.did) == url:
            return orgs.did_document(organisation)
        return fallback(url)

    return fetch
