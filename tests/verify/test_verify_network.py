"""The verifier over real HTTP: a did:web issuer and its status list served on 127.0.0.1, fetched
through the SSRF guard (loopback allowed only when the caller says so, as tests do)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from badges.verify import verify
from certs.keys import KeyPair, did_web, did_web_document
from tests.verify.credentials import NOW, check, encode_bitstring, ob3_credential, signed, stamp, status_entry
from tests.verify.servers import Routes, serve, slow_route


@pytest.fixture
def site():
    """A server on 127.0.0.1 with an issuer (did:web on that port), a key and a status list."""
    routes = Routes()
    with serve(routes) as base:
        port = base.rsplit(":", 1)[1]
        did = did_web(f"127.0.0.1:{port}", "issuers", "org-9")
        key = KeyPair.generate(controller=did, key_id=f"{did}#key-1")
        routes.add("/issuers/org-9/did.json", json.dumps(did_web_document(did, [key])))
        status_url = f"{base}/status/1"
        status = signed({
            "@context": ["https://www.w3.org/ns/credentials/v2"], "id": status_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": did,
            "validFrom": stamp(NOW - timedelta(days=3)),
            "credentialSubject": {"id": f"{status_url}#list", "type": "BitstringStatusList",
                                  "statusPurpose": "revocation", "encodedList": encode_bitstring(131072, [3])},
        }, key)
        routes.add("/status/1", json.dumps(status), content_type="application/vc+ld+json")
        yield {"routes": routes, "base": base, "did": did, "key": key, "status_url": status_url}


def _credential(site, index):
    return signed(ob3_credential(site["did"], credentialStatus=status_entry(site["status_url"], index)), site["key"])


def test_did_web_and_status_list_over_http(site):
    result = verify(_credential(site, 1), allow_loopback=True, now=NOW)
    assert result["verified"] is True, result
    paths = [seen["path"] for seen in site["routes"].seen]
    assert paths == ["/issuers/org-9/did.json", "/status/1"]


def test_revoked_over_http(site):
    result = verify(_credential(site, 3), allow_loopback=True, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "revoked"


def test_loopback_is_refused_unless_allowed(site):
    result = verify(_credential(site, 1), now=NOW)
    assert result["verified"] is False
    assert check(result, "verification_method")["code"] == "fetch_refused"
    assert site["routes"].seen == []


def test_slow_status_server_is_not_verified(site):
    site["routes"].routes["/status/1"] = slow_route(8)
    result = verify(_credential(site, 1), allow_loopback=True, now=NOW)
    assert result["verified"] is False
    assert check(result, "status")["code"] == "status_unavailable"


def test_redirecting_controller_document_is_refused(site):
    site["routes"].add("/issuers/org-9/did.json", "", status=302,
                       headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    result = verify(_credential(site, 1), allow_loopback=True, now=NOW)
    assert result["verified"] is False
    assert check(result, "verification_method")["code"] == "fetch_refused"
