"""The Open Badges 3.0 contexts of the releases built on VC 1.1 (3.0.1, 3.0.2): bundled byte-exact from
the PyPI wheel openbadgeslib 4.6.3, pinned by SHA-256, served offline under their official URLs; the
unversioned ``context.json`` stays unknown (its bytes changed over time and cannot be pinned)."""
from __future__ import annotations

import hashlib
import json

import certs
import pytest

from badges.loader import CONTEXTS_DIR, context_urls, document_loader

BASE = "https://purl.imsglobal.org/spec/ob/v3p0/"
PINNED = {
    f"{BASE}context-3.0.1.json": "5f3d9dd6288ef437ff8286cf95ffbff609c748a66f24a1e9450c45ca64be1571",
    f"{BASE}context-3.0.2.json": "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
}
VC1 = "https://www.w3.org/2018/credentials/v1"
ED2020 = "https://w3id.org/security/suites/ed25519-2020/v1"


def _manifest() -> dict:
    return json.loads((CONTEXTS_DIR / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("url", sorted(PINNED))
def test_earlier_release_contexts_are_pinned_with_their_provenance(url):
    entry = next(e for e in _manifest()["contexts"] if e["url"] == url)
    assert entry["sha256"] == PINNED[url]
    assert entry["package"] == "openbadgeslib@4.6.3 (PyPI)"
    assert entry["path"] == f"openbadgeslib/ob3/contexts/ob-v3p0-{url.rsplit('/', 1)[1]}"
    raw = (CONTEXTS_DIR / entry["file"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == PINNED[url]
    assert url in context_urls()


@pytest.mark.parametrize("url", sorted(PINNED))
def test_the_loader_serves_them_offline(url):
    terms = document_loader().document(url)["@context"]
    assert terms["OpenBadgeCredential"]["@id"].endswith("#OpenBadgeCredential")
    assert "AchievementSubject" in terms


def test_the_releases_differ_where_the_changelog_says():
    """3.0.2 made the 3.0.1 terms @protected; they are distinct documents, not copies of 3.0.3."""
    loader = document_loader()
    v301, v302, v303 = (loader.document(f"{BASE}context-3.0.{n}.json")["@context"] for n in (1, 2, 3))
    assert "@protected" not in v301 and v302["@protected"] is True
    assert v301 != v302 != v303


def test_the_unversioned_context_is_not_bundled_and_says_why():
    url = f"{BASE}context.json"
    with pytest.raises(certs.UnknownDocumentError):
        document_loader()(url)
    reasons = {entry["url"]: entry["reason"] for entry in _manifest()["not_bundled"]}
    assert url in reasons and "byte-identical to none" in reasons[url]


def test_the_ed25519_2020_context_comes_from_certs():
    """The suite context those credentials carry is certs' (npm ed25519-signature-2020-context@1.1.0),
    not redefined here: badges only adds Open Badges contexts."""
    assert ED2020 in certs.bundled().urls and ED2020 not in context_urls()
    assert VC1 in certs.bundled().urls


def test_a_vc11_open_badge_canonicalizes_with_each_release():
    for version in ("3.0.1", "3.0.2", "3.0.3"):
        document = {
            "@context": [VC1, f"{BASE}context-{version}.json", ED2020],
            "id": "urn:uuid:0c8f7a6e-5d4c-4b3a-9e2f-1a0b9c8d7e6f",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "Issuer"},
            "issuanceDate": "2024-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"],
                                  "achievement": {"id": "urn:uuid:1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                                                  "type": ["Achievement"], "name": "Badge",
                                                  "criteria": {"narrative": "Done."}}},
        }
        assert "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement>" in certs.canonize(
            document, document_loader())
