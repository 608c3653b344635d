"""Bitstring Status List v1.0."""

from __future__ import annotations

import base64
import gzip
from datetime import datetime, timezone

import pytest

import certs
from certs.status import MIN_LENGTH

# Bitstring Status List v1.0 (W3C Recommendation 2025), Example 3: an empty 16 KB list.
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
LIST_URL = "https://sillage.example/status/3f2a"
ISSUER = "did:web:sillage.example:issuers:acme"


def test_spec_example_decodes_to_an_empty_16kb_list():
    status_list = certs.StatusList.decode(SPEC_ENCODED_LIST)
    assert len(status_list) == MIN_LENGTH == 131_072
    assert status_list.to_bytes() == bytes(16 * 1024)


def test_bit_order_index_zero_is_the_left_most_bit():
    status_list = certs.StatusList()
    status_list.set(0)
    status_list.set(7)
    status_list.set(9)
    status_list.set(MIN_LENGTH - 1)
    data = status_list.to_bytes()
    assert data[0] == 0b1000_0001 and data[1] == 0b0100_0000 and data[-1] == 0b0000_0001
    assert [status_list.get(i) for i in (0, 1, 7, 8, 9)] == [True, False, True, False, True]


def test_set_clear_encode_decode_round_trip():
    status_list = certs.StatusList()
    for index in (5, 94567, 131_071):
        status_list.set(index)
    status_list.clear(5)
    encoded = status_list.encode()
    assert encoded.startswith("u") and "=" not in encoded and "+" not in encoded and "/" not in encoded
    decoded = certs.StatusList.decode(encoded)
    assert decoded.to_bytes() == status_list.to_bytes()
    assert not decoded.get(5) and decoded.get(94567) and decoded.get(131_071)
    assert gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "==")) == status_list.to_bytes()
    assert certs.StatusList().encode() == certs.StatusList().encode()  # deterministic (mtime 0)


def test_lists_shorter_than_16kb_are_refused():
    with pytest.raises(certs.StatusListError):
        certs.StatusList(1024)
    short = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(1024))).rstrip(b"=").decode()
    with pytest.raises(certs.StatusListError) as caught:
        certs.StatusList.decode(short)
    assert caught.value.code == "status_list_length_error"


@pytest.mark.parametrize("encoded", [
    "zAAAA", "u", "u!!!!", "uH4sI", SPEC_ENCODED_LIST[:-6], "u" + "A" * 40, SPEC_ENCODED_LIST + "==", 7,
])
def test_bad_encodings_are_refused(encoded):
    with pytest.raises(certs.StatusListError):
        certs.StatusList.decode(encoded)


def test_decompression_bomb_is_refused():
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 * 1024 * 1024))).rstrip(b"=").decode()
    with pytest.raises(certs.StatusListError):
        certs.StatusList.decode(bomb)


@pytest.mark.parametrize("index", [-1, MIN_LENGTH, "3", 1.5, True])
def test_out_of_range_indexes_are_refused(index):
    with pytest.raises(certs.StatusListError):
        certs.StatusList().get(index)


def test_random_indexes_avoid_taken_ones():
    taken = {certs.StatusList.random_index() for _ in range(50)}
    assert len(taken) > 1
    fresh = certs.StatusList.random_index(taken=taken)
    assert fresh not in taken and 0 <= fresh < MIN_LENGTH


def test_entry_uses_a_string_index():
    entry = certs.status_entry(LIST_URL, 94567, "suspension")
    assert entry == {"id": f"{LIST_URL}#94567", "type": "BitstringStatusListEntry",
                     "statusPurpose": "suspension", "statusListIndex": "94567",
                     "statusListCredential": LIST_URL}
    with pytest.raises(certs.StatusListError):
        certs.status_entry(LIST_URL, 1, "refresh-me")
    with pytest.raises(certs.StatusListError):
        certs.status_entry(LIST_URL, -1)


def test_status_list_credential_is_signed_and_checked():
    key = certs.KeyPair.generate(ISSUER)
    resolve = certs.static_resolver({ISSUER: certs.did_web_document(ISSUER, [key])})
    status_list = certs.StatusList()
    status_list.set(94567)
    unsigned = certs.status_list_credential(LIST_URL, ISSUER, "revocation", status_list.encode(),
                                            valid_from=datetime(2025, 4, 5, 14, 27, 40, tzinfo=timezone.utc))
    assert unsigned["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert unsigned["validFrom"] == "2025-04-05T14:27:40Z"
    assert unsigned["credentialSubject"]["type"] == "BitstringStatusList"
    signed = certs.sign(unsigned, key, certs.bundled())  # every term is in the VC 2.0 context
    assert certs.verify(signed, certs.bundled(), resolve).verified

    revoked = certs.status_entry(LIST_URL, 94567)
    valid = certs.status_entry(LIST_URL, 94568)
    assert certs.check_status(revoked, signed) is True
    assert certs.check_status(valid, signed) is False


def test_credential_with_a_status_entry_signs_and_verifies():
    key = certs.KeyPair.generate(ISSUER)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"], "issuer": ISSUER,
        "credentialSubject": {"id": "did:example:alice"},
        "credentialStatus": certs.status_entry(LIST_URL, 12),
    }
    resolve = certs.static_resolver({ISSUER: certs.did_web_document(ISSUER, [key])})
    assert certs.verify(certs.sign(credential, key, certs.bundled()), certs.bundled(), resolve).verified


def test_check_status_refuses_inconsistent_pairs():
    unsigned = certs.status_list_credential(LIST_URL, ISSUER, "revocation", certs.StatusList().encode(),
                                            valid_from=datetime(2025, 1, 1, tzinfo=timezone.utc))
    for entry in (
        certs.status_entry(LIST_URL, 1, "suspension"),                       # purpose differs
        certs.status_entry("https://other.example/status/1", 1),              # another list
        dict(certs.status_entry(LIST_URL, 1), statusListIndex=1),            # not a string
        dict(certs.status_entry(LIST_URL, 1), statusListIndex="\u0663"),    # non-ASCII digit
        dict(certs.status_entry(LIST_URL, 1), statusSize=2),
        dict(certs.status_entry(LIST_URL, 1), type="StatusList2021Entry"),
        certs.status_entry(LIST_URL, MIN_LENGTH),                            # out of range
    ):
        with pytest.raises(certs.StatusListError):
            certs.check_status(entry, unsigned)
    with pytest.raises(certs.StatusListError):
        certs.check_status(certs.status_entry(LIST_URL, 1), dict(unsigned, type=["VerifiableCredential"]))
