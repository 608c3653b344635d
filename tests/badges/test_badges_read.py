"""Reading external badges: JSON, compact JWS, baked images, hosted URLs through an injected fetch."""
from __future__ import annotations

import base64
import json

import pytest

from badges import BadgeError, bake, read_badge, read_text
from badges.read import OB2_ASSERTION, OB2_SIGNED, OB3_CREDENTIAL, OB3_JWT, VC_CREDENTIAL, read_url
from tests.badges.factories import SVG, assertion, credential, png_bytes


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jws(payload: dict, header: dict | None = None) -> str:
    header = header or {"alg": "EdDSA", "kid": "did:web:x.example#key-1", "typ": "JWT"}
    parts = (json.dumps(header).encode(), json.dumps(payload).encode(), b"\x02" * 64)
    return ".".join(_b64(part) for part in parts)


def test_reads_ob3_json_verbatim():
    doc = credential()
    text = json.dumps(doc, indent=2)
    read = read_badge(text)
    assert (read.kind, read.version, read.source) == (OB3_CREDENTIAL, "3.0", "json")
    assert read.document == doc and read.raw == text.strip()
    assert read_badge(text.encode("utf-8")).document == doc  # uploaded .json file
    assert read_badge(b"\xef\xbb\xbf" + text.encode()).document == doc  # with a BOM


def test_reads_the_1edtech_signed_example(signed_vector):
    read = read_text(json.dumps(signed_vector))
    assert read.kind == OB3_CREDENTIAL and read.document["proof"]["cryptosuite"] == "eddsa-rdfc-2022"


def test_reads_ob2_assertion_json():
    read = read_text(json.dumps(assertion()))
    assert (read.kind, read.version) == (OB2_ASSERTION, "2.0")


def test_reads_a_vc_jwt_without_verifying_it():
    doc = credential()
    token = _jws(dict(doc, iss=doc["issuer"]["id"], jti=doc["id"], nbf=1715938212))
    read = read_text(token)
    assert (read.kind, read.version, read.source) == (OB3_JWT, "3.0", "jws")
    assert read.header["alg"] == "EdDSA" and read.is_jws
    assert read.document["credentialSubject"] == doc["credentialSubject"] and read.raw == token
    # VC 1.1 style: the credential in the "vc" claim
    legacy = read_text(_jws({"iss": "did:web:x.example", "vc": doc}))
    assert legacy.kind == OB3_JWT and legacy.document == doc


def test_reads_an_ob2_signed_assertion_and_a_plain_vc():
    assert read_text(_jws(assertion(), {"alg": "RS256"})).kind == OB2_SIGNED
    vc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
          "issuer": "did:web:x.example", "credentialSubject": {"id": "did:example:1"}}
    read = read_text(json.dumps(vc))
    assert read.kind == VC_CREDENTIAL and read.version is None


@pytest.mark.parametrize("image", [png_bytes(), SVG])
def test_reads_baked_images(image):
    doc = credential()
    read = read_badge(bake(image, doc))
    assert read.kind == OB3_CREDENTIAL and read.document == doc
    assert read.source == ("png" if image.startswith(b"\x89PNG") else "svg")
    assert json.loads(read.raw) == doc
    ob2_read = read_badge(bake(image, assertion()))
    assert ob2_read.kind == OB2_ASSERTION
    token = _jws(dict(doc, iss="x"))
    assert read_badge(bake(image, token)).kind == OB3_JWT


def test_reads_a_hosted_assertion_through_the_injected_fetch():
    doc = assertion()
    calls = []

    def fetch(url):
        calls.append(url)
        return doc

    read = read_text(doc["id"], fetch)
    assert calls == [doc["id"]]
    assert (read.kind, read.source, read.url) == (OB2_ASSERTION, "url", doc["id"])
    assert read.document == doc
    # bytes / text bodies work too
    assert read_url(doc["id"], lambda url: json.dumps(doc).encode()).document == doc

    class Result:
        body = json.dumps(doc).encode()
    assert read_url(doc["id"], lambda url: Result()).document == doc


def test_legacy_baked_url_is_fetched():
    png = png_bytes()
    import struct
    import zlib
    body = b"openbadges\x00https://old.example/assertion/1"
    chunk = struct.pack(">I", len(body)) + b"tEXt" + body + struct.pack(">I", zlib.crc32(b"tEXt" + body))
    legacy = png[:33] + chunk + png[33:]
    doc = assertion(assertion_url="https://old.example/assertion/1")
    read = read_badge(legacy, lambda url: doc)
    assert read.kind == OB2_ASSERTION and read.source == "png" and read.notes == ("baked_url",)
    with pytest.raises(BadgeError) as caught:
        read_badge(legacy)
    assert caught.value.code == "fetch_required"


def test_fetch_errors_keep_their_code():
    class FetchError(Exception):
        code = "fetch_refused"

    def refuse(url):
        raise FetchError("private address")

    with pytest.raises(BadgeError) as caught:
        read_text("https://10.0.0.1/assertion", refuse)
    assert caught.value.code == "fetch_refused"

    def broken(url):
        raise OSError("boom")

    with pytest.raises(BadgeError) as caught:
        read_text("https://x.example/a", broken)
    assert caught.value.code == "fetch_failed"
    with pytest.raises(BadgeError) as caught:
        read_text("https://x.example/a", lambda url: ["not", "an", "object"])
    assert caught.value.code == "invalid_credential"


@pytest.mark.parametrize("data,code", [
    ("", "invalid_credential"),
    ("hello", "invalid_credential"),
    ("{not json", "invalid_credential"),
    ('{"a": 1, "a": 2}', "duplicate_key"),
    ('{"value": NaN}', "invalid_credential"),
    ('{"hello": "world"}', "unsupported_document"),
    ("[1, 2, 3]", "invalid_credential"),
    ("a.b", "invalid_credential"),
    ("eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", "invalid_credential"),  # payload is not JSON
    ("e30.e30.c2ln", "invalid_credential"),  # header without alg
    ("[" * 100_000 + "]" * 100_000, "invalid_credential"),
    ('{"a":' * 65 + "1" + "}" * 65, "too_deep"),
    ('{"a":' * 100_000 + "1" + "}" * 100_000, "too_deep"),
    ('{"a": "\\ud800"}', "invalid_credential"),  # a lone surrogate is no text
    (b"\xff\xfe\x00garbage", "unsupported_image"),
    ("x" * (1024 * 1024 + 1), "too_large"),
    (b"{" + b" " * (11 * 1024 * 1024) + b"}", "too_large"),
    (png_bytes(), "no_badge"),
])
def test_unreadable_inputs_give_clean_errors(data, code):
    with pytest.raises(BadgeError) as caught:
        read_badge(data)
    assert caught.value.code == code


def test_one_strict_parser_for_every_source():
    """formats.parse_json serves the reader, the baker, the verifier and the fetcher: the same bounds."""
    from badges.formats import check_json_value, parse_json

    with pytest.raises(BadgeError) as caught:
        parse_json('{"a": 1, "a": 2}')
    assert caught.value.code == "duplicate_key" and caught.value.params == {"key": "a"}
    with pytest.raises(BadgeError) as caught:
        parse_json(b'{"a": "\xff"}')
    assert caught.value.code == "invalid_credential" and caught.value.params["reason"] == "not UTF-8 text"
    assert parse_json('{"a": [1, {"b": "\u00e9"}]}') == {"a": [1, {"b": "é"}]}
    nested: dict = {}
    node = nested
    for _ in range(70):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(BadgeError) as caught:
        check_json_value(nested)
    assert caught.value.code == "too_deep"
    with pytest.raises(BadgeError) as caught:
        check_json_value({"\ud800": 1})
    assert caught.value.code == "invalid_credential"
    check_json_value({"a": [1, 2.5, None, True, "é"]})
