"""Open Badges 2.0 hosted assertions: the hosted copy is the authority, BadgeClass and Issuer must be
served and consistent, and revocation is honoured."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from badges.bake import bake
from badges.verify import verify
from tests.verify.credentials import NOW, Web, check, failed_codes

OB2 = "https://w3id.org/openbadges/v2"
ASSERTION = "https://badges.example/ob2/assertions/7f3c"
BADGE = "https://badges.example/ob2/badges/first-aid"
ISSUER = "https://badges.example/ob2/issuers/croix"


def documents() -> dict:
    return {
        ASSERTION: {
            "@context": OB2, "type": "Assertion", "id": ASSERTION,
            "recipient": {"type": "email", "hashed": True, "salt": "s4lt",
                          "identity": "sha256$c7ef86405ba71b85acd8e2e95166c4b111448089f2e1599f42fe1bba46e865c5"},
            "badge": BADGE, "verification": {"type": "hosted"}, "issuedOn": "2024-05-01T10:00:00Z",
        },
        BADGE: {"@context": OB2, "type": "BadgeClass", "id": BADGE, "name": "Premiers secours",
                "description": "PSC1", "image": "https://badges.example/ob2/badges/first-aid.png",
                "criteria": {"narrative": "7 heures"}, "issuer": ISSUER},
        ISSUER: {"@context": OB2, "type": "Issuer", "id": ISSUER, "name": "Croix Test",
                 "url": "https://badges.example", "email": "contact@badges.example"},
    }


@pytest.fixture
def web():
    served = Web()
    served.documents.update(documents())
    return served


def presented() -> dict:
    return documents()[ASSERTION]


def test_hosted_assertion_verifies(web):
    result = verify(presented(), fetch=web, now=NOW)
    assert result["verified"] is True, result
    assert [c["name"] for c in result["checks"]] == ["parse", "hosted", "badge_class", "issuer", "validity", "status"]
    assert ASSERTION in web.requests and BADGE in web.requests and ISSUER in web.requests


def test_assertion_url_alone_verifies(web):
    assert verify(ASSERTION, fetch=web, now=NOW)["verified"] is True


def test_baked_png_with_a_hosted_url_verifies(web):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    assert verify(bake(buffer.getvalue(), ASSERTION), fetch=web, now=NOW)["verified"] is True
    assert verify(bake(buffer.getvalue(), presented()), fetch=web, now=NOW)["verified"] is True


def test_presented_copy_that_differs_from_the_hosted_one_is_refused(web):
    forged = presented()
    forged["recipient"] = dict(forged["recipient"], identity="sha256$" + "0" * 64)
    result = verify(forged, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "hosted")["code"] == "hosted_mismatch"


@pytest.mark.parametrize("field, value", [
    ("narrative", "Secouriste en chef"),                 # a field the issuer never hosted
    ("evidence", [{"id": "https://attacker.example/e"}]),
    ("issuedOn", "2023-05-01T10:00:00Z"),
    ("badge", "https://badges.example/ob2/badges/surgery"),
    ("verification", {"type": "signed"}),
    ("@context", "https://w3id.org/openbadges/v1"),
])
def test_every_presented_field_must_be_the_hosted_one(web, field, value):
    forged = dict(presented(), **{field: value})
    result = verify(forged, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "hosted")["code"] in ("hosted_mismatch", "unsupported_format")


def test_a_copy_may_leave_fields_out(web):
    partial = {key: value for key, value in presented().items() if key not in ("issuedOn", "verification")}
    assert verify(partial, fetch=web, now=NOW)["verified"] is True


def test_an_embedded_badge_class_must_be_the_hosted_one(web):
    embedded = dict(presented(), badge=documents()[BADGE])
    assert verify(embedded, fetch=web, now=NOW)["verified"] is True, "an exact embedded copy verifies"
    forged = dict(presented(), badge=dict(documents()[BADGE], name="Chirurgie"))
    result = verify(forged, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "badge_class")["code"] == "hosted_mismatch"
    assert "badge.name" in check(result, "badge_class")["detail"]


def test_an_embedded_issuer_must_be_the_hosted_one(web):
    badge = dict(documents()[BADGE], issuer=documents()[ISSUER])
    assert verify(dict(presented(), badge=badge), fetch=web, now=NOW)["verified"] is True
    badge = dict(documents()[BADGE], issuer=dict(documents()[ISSUER], name="Université Prestigieuse"))
    result = verify(dict(presented(), badge=badge), fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "issuer")["code"] == "hosted_mismatch"


def test_assertion_issued_in_the_future_is_refused(web):
    web.documents[ASSERTION]["issuedOn"] = "2025-06-02T12:00:00Z"
    result = verify(ASSERTION, fetch=web, now=NOW)
    assert check(result, "validity")["code"] == "not_yet_valid" and result["verified"] is False


def test_revoked_hosted_assertion_is_refused(web):
    web.documents[ASSERTION] = {"@context": OB2, "type": "Assertion", "id": ASSERTION, "revoked": True,
                                "revocationReason": "error"}
    result = verify(presented(), fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "revoked"


def test_issuer_revocation_list_is_honoured(web):
    web.documents[ISSUER]["revocationList"] = "https://badges.example/ob2/revocations"
    web.documents["https://badges.example/ob2/revocations"] = {
        "@context": OB2, "type": "RevocationList", "id": "https://badges.example/ob2/revocations",
        "revokedAssertions": [{"id": ASSERTION, "revocationReason": "fraud"}]}
    result = verify(presented(), fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "revoked"


def test_assertion_on_another_origin_than_its_issuer_is_refused(web):
    """An attacker hosting an assertion that names a real issuer's badge class."""
    forged_url = "https://attacker.example/a/1"
    forged = dict(presented(), id=forged_url)
    web.documents[forged_url] = forged
    result = verify(forged, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "issuer")["code"] == "ob2_inconsistent"


def test_issuer_may_allow_other_origins(web):
    other_url = "https://cdn.example/a/1"
    web.documents[other_url] = dict(presented(), id=other_url)
    web.documents[ISSUER]["verification"] = {"allowedOrigins": ["cdn.example"]}
    assert verify(other_url, fetch=web, now=NOW)["verified"] is True


@pytest.mark.parametrize("missing, code", [(ASSERTION, "hosted_unavailable"), (BADGE, "badge_class_unavailable"),
                                           (ISSUER, "issuer_unavailable")])
def test_unavailable_documents_are_refused(web, missing, code):
    del web.documents[missing]
    result = verify(presented(), fetch=web, now=NOW)
    assert result["verified"] is False
    assert code in failed_codes(result)


def test_badge_class_of_the_wrong_type_is_refused(web):
    web.documents[BADGE]["type"] = "Issuer"
    assert check(verify(presented(), fetch=web, now=NOW), "badge_class")["code"] == "ob2_inconsistent"


def test_expired_assertion_is_refused(web):
    web.documents[ASSERTION]["expires"] = "2024-06-01T00:00:00Z"
    result = verify(presented() | {"expires": "2024-06-01T00:00:00Z"}, fetch=web, now=NOW)
    assert check(result, "validity")["code"] == "expired" and result["verified"] is False


def test_signed_ob2_is_reported_as_unsupported(web):
    signed = dict(presented(), verification={"type": "signed", "creator": "https://badges.example/key"})
    result = verify(signed, fetch=web, now=NOW)
    assert result["verified"] is False
    assert check(result, "hosted")["code"] == "unsupported_format"


@pytest.mark.parametrize("url", ["https://127.0.0.1/a", "https://169.254.169.254/latest/meta-data/",
                                 "https://10.1.2.3/a", "https://[::ffff:127.0.0.1]/a", "file:///etc/passwd"])
def test_hosted_urls_inside_the_network_are_refused(url):
    """The default fetch is the SSRF guard: these are refused before any connection."""
    result = verify(dict(presented(), id=url), now=NOW)
    assert result["verified"] is False
    assert check(result, "hosted")["code"] in ("fetch_refused", "ob2_invalid")
    result = verify(url, now=NOW)
    assert result["verified"] is False
