"""Baking and unbaking PNG and SVG, OB 3.0 and OB 2.0, and refusing hostile images cleanly."""
from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import openbadges_bakery
import pytest
from defusedxml.minidom import parseString
from PIL import Image as PILImage

from badges import BadgeError, bake, unbake
from badges.bake import MAX_IMAGE_BYTES, OB3_NAMESPACE, _png_chunks
from badges.formats import MAX_PAYLOAD_BYTES
from tests.badges.factories import SVG, assertion, credential, png_bytes


def _jws(payload: dict) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    header = b'{"alg":"EdDSA","typ":"JWT"}'
    return ".".join([part(header), part(json.dumps(payload).encode()), part(b"\x01" * 64)])


def _itxt_chunks(png: bytes) -> list[bytes]:
    return [body for kind, body, _s, _e in _png_chunks(png) if kind == b"iTXt"]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


# -- round trips ------------------------------------------------------------------------

def test_png_ob3_round_trip_keeps_a_valid_image():
    doc = credential()
    baked = bake(png_bytes(), doc)
    assert unbake(baked) == {"version": "3.0", "credential": doc, "format": "png"}
    image = PILImage.open(io.BytesIO(baked))
    image.load()
    assert image.size == (16, 16)
    [body] = _itxt_chunks(baked)
    # keyword, NUL, compression flag 0, method 0, empty language, empty translation, UTF-8 JSON
    assert body.startswith(b"openbadgecredential\x00\x00\x00\x00\x00{")
    assert _png_chunks(baked)[-1][0] == b"IEND"
    assert _png_chunks(baked)[-2][0] == b"iTXt"  # inserted before IEND


def test_svg_ob3_round_trip_follows_the_spec():
    doc = credential(description="x]]>y <b>&amp;</b>")
    baked = bake(SVG, doc)
    assert unbake(baked) == {"version": "3.0", "credential": doc, "format": "svg"}
    root = parseString(baked).documentElement
    assert root.getAttribute("xmlns:openbadges") == OB3_NAMESPACE
    first = root.firstChild
    assert first.namespaceURI == OB3_NAMESPACE and first.localName == "credential"
    assert not first.hasAttribute("verify")
    assert root.getElementsByTagName("circle")  # the picture is still there


def test_vc_jwt_is_baked_as_text_in_png_and_verify_attribute_in_svg():
    token = _jws({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential",
                                                                               "OpenBadgeCredential"]})
    assert unbake(bake(png_bytes(), token)) == {"version": "3.0", "credential": token, "format": "png"}
    baked_svg = bake(SVG, token)
    element = parseString(baked_svg).getElementsByTagNameNS(OB3_NAMESPACE, "credential")[0]
    assert element.getAttribute("verify") == token
    assert unbake(baked_svg)["credential"] == token


def test_png_ob2_round_trip_and_bakery_compatibility():
    doc = assertion()
    baked = bake(png_bytes(), doc)
    assert unbake(baked) == {"version": "2.0", "credential": doc, "format": "png"}
    assert json.loads(openbadges_bakery.unbake(io.BytesIO(baked))) == doc
    assert [b.split(b"\x00", 1)[0] for b in _itxt_chunks(baked)] == [b"openbadges"]


def test_svg_ob2_round_trip_and_bakery_compatibility():
    doc = assertion()
    baked = bake(SVG, doc)
    assert unbake(baked) == {"version": "2.0", "credential": doc, "format": "svg"}
    # the bakery reads the hosted assertion URL from verify=
    assert openbadges_bakery.unbake(io.BytesIO(baked)) == doc["id"]


def test_reads_images_baked_by_openbadges_bakery():
    doc = assertion()
    out = io.BytesIO()
    openbadges_bakery.bake(io.BytesIO(png_bytes()), json.dumps(doc), out)
    assert unbake(out.getvalue())["credential"] == doc


def test_baking_again_replaces_the_badge_whatever_its_version():
    first = credential()
    second = credential()
    png = bake(bake(png_bytes(), first), second)
    assert len(_itxt_chunks(png)) == 1 and unbake(png)["credential"] == second
    png = bake(png, assertion())
    assert len(_itxt_chunks(png)) == 1 and unbake(png)["version"] == "2.0"
    png = bake(png, first)
    assert len(_itxt_chunks(png)) == 1 and unbake(png)["credential"] == first

    svg = bake(bake(SVG, first), second)
    assert svg.count(b"<openbadges:credential") == 1 and unbake(svg)["credential"] == second
    svg = bake(svg, assertion())
    assert b"openbadges:credential" not in svg and svg.count(b"<openbadges:assertion") == 1
    assert unbake(bake(svg, first))["version"] == "3.0"


def test_first_chunk_wins_and_legacy_text_chunk_is_read():
    png = png_bytes()
    legacy = png[:33] + _chunk(b"tEXt", b"openbadges\x00https://old.example/assertion/1") + png[33:]
    assert unbake(legacy) == {"version": "2.0", "credential": "https://old.example/assertion/1",
                              "format": "png"}


def _with_chunks(*chunks: bytes) -> bytes:
    png = png_bytes()
    return png[:-12] + b"".join(chunks) + png[-12:]  # before IEND


def _ob3_itxt(text: str, flag: int = 0) -> bytes:
    payload = zlib.compress(text.encode()) if flag else text.encode()
    return _chunk(b"iTXt", b"openbadgecredential\x00" + bytes([flag]) + b"\x00\x00\x00" + payload)


# -- refusals ---------------------------------------------------------------------------

def test_two_badge_chunks_are_refused_not_judged_on_the_first():
    genuine, forged = credential(), credential(name="Forged")
    png = _with_chunks(_ob3_itxt(json.dumps(genuine)), _ob3_itxt(json.dumps(forged)))
    with pytest.raises(BadgeError) as caught:
        unbake(png)
    assert caught.value.code == "multiple_badges"
    # an OB 3.0 chunk next to an OB 2.0 one is as ambiguous (an OB 2.0 reader shows the other one)
    ob2 = _chunk(b"iTXt", b"openbadges\x00\x00\x00\x00\x00" + json.dumps(assertion()).encode())
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(_ob3_itxt(json.dumps(genuine)), ob2))
    assert caught.value.code == "multiple_badges"
    legacy = _chunk(b"tEXt", b"openbadges\x00https://old.example/assertion/1")
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(legacy, ob2))
    assert caught.value.code == "multiple_badges"
    # other text chunks are no badge and do not count
    other = _chunk(b"iTXt", b"Comment\x00\x00\x00\x00\x00made by hand")
    assert unbake(_with_chunks(other, _ob3_itxt(json.dumps(genuine))))["credential"] == genuine


def test_compressed_badge_chunks_are_refused():
    doc = credential()
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(_ob3_itxt(json.dumps(doc), flag=1)))
    assert caught.value.code == "compressed_badge"
    bomb = _ob3_itxt(" " * (MAX_PAYLOAD_BYTES + 10), flag=1)  # refused without being inflated
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(bomb))
    assert caught.value.code == "compressed_badge"
    ztxt = _chunk(b"zTXt", b"openbadges\x00\x00" + zlib.compress(json.dumps(assertion()).encode()))
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(ztxt))
    assert caught.value.code == "compressed_badge"
    # the uncompressed chunk of the same credential is read
    assert unbake(_with_chunks(_ob3_itxt(json.dumps(doc))))["credential"] == doc


def test_an_ob3_badge_in_a_text_chunk_is_refused():
    text = _chunk(b"tEXt", b"openbadgecredential\x00" + json.dumps(credential()).encode())
    with pytest.raises(BadgeError) as caught:
        unbake(_with_chunks(text))
    assert caught.value.code == "invalid_image"


def test_two_badge_elements_in_an_svg_are_refused():
    genuine = bake(SVG, credential())
    element = (b'<openbadges:credential><![CDATA[' + json.dumps(credential(name="Forged")).encode()
               + b']]></openbadges:credential>')
    doubled = genuine.replace(b"</svg>", element + b"</svg>")
    assert doubled.count(b"<openbadges:credential") == 2
    with pytest.raises(BadgeError) as caught:
        unbake(doubled)
    assert caught.value.code == "multiple_badges"
    mixed = genuine.replace(b"</svg>", b'<openbadges:assertion xmlns:openbadges="http://openbadges.org" '
                                       b'verify="https://old.example/assertion/1"/></svg>')
    with pytest.raises(BadgeError) as caught:
        unbake(mixed)
    assert caught.value.code == "multiple_badges"


def test_image_without_badge():
    for image in (png_bytes(), SVG):
        with pytest.raises(BadgeError) as caught:
            unbake(image)
        assert caught.value.code == "no_badge"


def test_truncated_png():
    baked = bake(png_bytes(), credential())
    for cut in (len(baked) - 5, len(baked) // 2, 20):
        with pytest.raises(BadgeError) as caught:
            unbake(baked[:cut])
        assert caught.value.code == "invalid_image"
        assert "truncated" in caught.value.message


def test_png_with_a_bad_crc():
    baked = bytearray(bake(png_bytes(), credential()))
    index = baked.index(b"openbadgecredential") + 40  # a byte inside the credential text
    baked[index] ^= 0x01
    with pytest.raises(BadgeError) as caught:
        unbake(bytes(baked))
    assert caught.value.code == "invalid_image" and "CRC" in caught.value.message
    with pytest.raises(BadgeError):
        bake(bytes(baked), credential())


def test_huge_payloads_and_images_are_refused():
    doc = credential(description="x" * 19_000)
    huge = dict(doc, evidence=[{"type": ["Evidence"], "narrative": "y" * 20_000}] * 60)
    with pytest.raises(BadgeError) as caught:
        bake(png_bytes(), huge)
    assert caught.value.code == "too_large"
    body = b"openbadgecredential\x00\x00\x00\x00\x00" + b"{" + b" " * MAX_PAYLOAD_BYTES + b"}"
    png = png_bytes()
    with pytest.raises(BadgeError) as caught:
        unbake(png[:-12] + _chunk(b"iTXt", body) + png[-12:])
    assert caught.value.code == "too_large"
    with pytest.raises(BadgeError) as caught:
        unbake(png + b"\x00" * MAX_IMAGE_BYTES)
    assert caught.value.code == "too_large"
    big_svg = SVG.replace(b"</svg>", b"<openbadges:credential xmlns:openbadges='" + OB3_NAMESPACE.encode()
                          + b"'>" + b"x" * (MAX_PAYLOAD_BYTES + 1) + b"</openbadges:credential></svg>")
    with pytest.raises(BadgeError) as caught:
        unbake(big_svg)
    assert caught.value.code == "too_large"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<svg xmlns="http://www.w3.org/2000/svg">
<openbadges:credential xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">&lol9;</openbadges:credential>
</svg>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&xxe;</text></svg>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_svg_entity_attacks_are_refused(hostile):
    for action in (unbake, lambda image: bake(image, credential())):
        with pytest.raises(BadgeError) as caught:
            action(hostile)
        assert caught.value.code == "invalid_image"


def test_svg_with_a_doctype_but_no_entities_is_fine():
    svg = (b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
           b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' + SVG.split(b"\n", 1)[1])
    doc = credential()
    assert unbake(bake(svg, doc))["credential"] == doc


@pytest.mark.parametrize("image,code", [
    (b"GIF89a....", "unsupported_image"),
    (b"<html><body>no</body></html>", "unsupported_image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>", "invalid_image"),
    (b"<?xml version='1.0'?><html><svg/></html>", "invalid_image"),
    (b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"a\x00b"), "invalid_image"),  # no IHDR first
    ("not bytes", "unsupported_image"),
])
def test_unreadable_images(image, code):
    with pytest.raises(BadgeError) as caught:
        unbake(image)
    assert caught.value.code == code


def test_a_png_made_of_countless_empty_chunks_is_refused_quickly():
    png = png_bytes()
    hostile = png[:33] + _chunk(b"tEXt", b"") * 30_000 + png[33:]
    with pytest.raises(BadgeError) as caught:
        unbake(hostile)
    assert caught.value.code == "invalid_image" and "too many chunks" in caught.value.message


def test_embedded_garbage_is_reported():
    png = png_bytes()
    for text in (b"{not json", b"hello", b"[1, 2]", b'{"a": 1, "a": 2}'):
        body = b"openbadgecredential\x00\x00\x00\x00\x00" + text
        with pytest.raises(BadgeError) as caught:
            unbake(png[:-12] + _chunk(b"iTXt", body) + png[-12:])
        assert caught.value.code in ("invalid_credential", "duplicate_key")


def test_only_badges_can_be_baked():
    for thing in ({"hello": "world"}, "just text", 42):
        with pytest.raises(BadgeError) as caught:
            bake(png_bytes(), thing)
        assert caught.value.code == "invalid_credential"
