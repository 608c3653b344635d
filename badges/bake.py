"""Baking badges into PNG and SVG images, and reading them back.

A tiny facade that dispatches twice: on the image's magic bytes (PNG signature / SVG text) and on
the credential's version.

* OB 3.0 (1EdTech OB 3.0, "Baked Badge"): PNG, an uncompressed ``iTXt`` chunk with keyword
  ``openbadgecredential`` whose text is the credential JSON (or the compact JWS of a VC-JWT);
  SVG, an ``<openbadges:credential>`` element directly after ``<svg>``, namespace
  ``https://purl.imsglobal.org/ob/v3p0``, JSON in CDATA (or the JWS in a ``verify`` attribute).
  Written by hand here: openbadges-bakery knows OB 2.0 only.
* OB 2.0 (Open Badges Baking 2.0): keyword ``openbadges`` / ``<openbadges:assertion>``, written by
  openbadges-bakery.

An image carries one badge: baking first removes any badge chunk or element already present,
whatever its version, and reading refuses an image with two (``multiple_badges``) or with a
compressed badge chunk (``compressed_badge``), both forbidden by the baking specifications. Reading is defensive because images come from strangers: sizes are bounded,
every PNG chunk CRC is checked, a truncated file is refused, and SVG is parsed with defusedxml only
(entity expansion, external entities refused).
"""
from __future__ import annotations

import io
import struct
import zlib
from typing import Any
from xml.dom import Node

from defusedxml import DefusedXmlException
from defusedxml.minidom import parseString
from openbadges_bakery import png_bakery, svg_bakery

from .errors import (COMPRESSED_BADGE, INVALID_CREDENTIAL, INVALID_IMAGE, MULTIPLE_BADGES, NO_BADGE, TOO_LARGE,
                     UNSUPPORTED_IMAGE, BadgeError)
from .formats import MAX_PAYLOAD_BYTES, credential_version, looks_like_jws, parse_json, serialize

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PNG_CHUNKS = 20_000  # real images have a few hundred at most; bounds the work on hostile ones
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OB3_KEYWORD = b"openbadgecredential"
OB2_KEYWORD = b"openbadges"
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_NAMESPACE = "http://openbadges.org"
XMLNS = "http://www.w3.org/2000/xmlns/"
_TEXT_CHUNKS = (b"iTXt", b"tEXt", b"zTXt")


# --------------------------------------------------------------------------- image type

def image_format(image_bytes: bytes) -> str:
    """``"png"`` or ``"svg"`` from the content (never from a file name)."""
    if not isinstance(image_bytes, (bytes, bytearray)):
        raise BadgeError(UNSUPPORTED_IMAGE, "an image must be given as bytes")
    if len(image_bytes) > MAX_IMAGE_BYTES:
        raise BadgeError(TOO_LARGE, f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    if image_bytes.startswith(PNG_SIGNATURE):
        return "png"
    head = bytes(image_bytes[:65536]).lstrip(b"\xef\xbb\xbf \t\r\n")  # room for comments, DOCTYPE
    if head.startswith(b"<") and b"<svg" in head:
        return "svg"
    raise BadgeError(UNSUPPORTED_IMAGE, "the image is neither a PNG nor an SVG")


# --------------------------------------------------------------------------- PNG

def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """Every chunk as (type, body, start, end) up to IEND, checking lengths and CRCs."""
    if not data.startswith(PNG_SIGNATURE):
        raise BadgeError(INVALID_IMAGE, "not a PNG file")
    chunks = []
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise BadgeError(INVALID_IMAGE, "the PNG file is truncated")
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise BadgeError(INVALID_IMAGE, "the PNG file is truncated")
        if not kind.isalpha() or not kind.isascii():
            raise BadgeError(INVALID_IMAGE, "the PNG file has an invalid chunk type")
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise BadgeError(INVALID_IMAGE, f"the PNG chunk {kind.decode('ascii')} has a bad CRC")
        if not chunks and kind != b"IHDR":
            raise BadgeError(INVALID_IMAGE, "the PNG file does not start with IHDR")
        chunks.append((kind, body, pos, end))
        if len(chunks) > MAX_PNG_CHUNKS:
            raise BadgeError(INVALID_IMAGE, "the PNG file has too many chunks")
        pos = end
        if kind == b"IEND":
            return chunks


def _chunk_keyword(kind: bytes, body: bytes) -> bytes | None:
    if kind not in _TEXT_CHUNKS:
        return None
    keyword, sep, _ = body.partition(b"\x00")
    return keyword if sep else None


def _itxt_text(body: bytes) -> str:
    """The text of an uncompressed iTXt chunk.

    Both baking specifications say "Compression MUST NOT be used" (OB 3.0 "Baked Badge", Open Badges
    Baking 2.0): a compressed badge chunk is refused rather than inflated, since no conformant baker
    writes one and every reader that follows the rule would see no badge at all.
    """
    try:
        _keyword, rest = body.split(b"\x00", 1)
        flag, method, rest = rest[0], rest[1], rest[2:]
        _language, rest = rest.split(b"\x00", 1)
        _translated, text = rest.split(b"\x00", 1)
    except (ValueError, IndexError):
        raise BadgeError(INVALID_IMAGE, "the badge iTXt chunk is malformed") from None
    if flag != 0 or method != 0:
        raise BadgeError(COMPRESSED_BADGE, "the badge iTXt chunk is compressed, which baking forbids")
    if len(text) > MAX_PAYLOAD_BYTES:
        raise BadgeError(TOO_LARGE, "the embedded badge is larger than 1 MB")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise BadgeError(INVALID_CREDENTIAL, "the embedded badge is not UTF-8 text") from None


def _kept_chunks(data: bytes) -> list[bytes]:
    """The PNG's raw chunks (IEND last) without any openbadges / openbadgecredential text chunk."""
    return [data[start:end] for kind, body, start, end in _png_chunks(data)
            if _chunk_keyword(kind, body) not in (OB2_KEYWORD, OB3_KEYWORD)]


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _bake_png_ob3(data: bytes, text: str) -> bytes:
    chunks = _kept_chunks(data)
    # keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translation NUL, text
    body = OB3_KEYWORD + b"\x00" + b"\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    return PNG_SIGNATURE + b"".join(chunks[:-1]) + _chunk(b"iTXt", body) + chunks[-1]


def _bake_png_ob2(data: bytes, text: str) -> bytes:
    clean = PNG_SIGNATURE + b"".join(_kept_chunks(data))
    out = io.BytesIO()
    png_bakery.bake(io.BytesIO(clean), text, out)
    return out.getvalue()


def _unbake_png(data: bytes) -> tuple[str, str]:
    """The one badge chunk of a PNG.

    Both baking specifications allow one badge chunk per image and tell readers to take the first;
    an image with two would be judged here on one while another reader shows the other, so it is
    refused (an ``openbadges`` and an ``openbadgecredential`` chunk together are just as ambiguous).
    """
    found = [(kind, keyword, body) for kind, body, _start, _end in _png_chunks(data)
             if (keyword := _chunk_keyword(kind, body)) in (OB3_KEYWORD, OB2_KEYWORD)]
    if not found:
        raise BadgeError(NO_BADGE, "the image carries no badge")
    if len(found) > 1:
        raise BadgeError(MULTIPLE_BADGES, f"the image carries {len(found)} badge chunks; baking allows one")
    kind, keyword, body = found[0]
    version = "3.0" if keyword == OB3_KEYWORD else "2.0"
    if kind == b"zTXt":
        raise BadgeError(COMPRESSED_BADGE, "the badge is in a compressed zTXt chunk, which baking forbids")
    if kind == b"iTXt":
        return version, _itxt_text(body)
    if keyword == OB2_KEYWORD:  # legacy tEXt chunk: the hosted assertion URL
        return "2.0", body.split(b"\x00", 1)[1].decode("latin-1")
    raise BadgeError(INVALID_IMAGE, "an Open Badges 3.0 badge must be baked in an iTXt chunk, not tEXt")


# --------------------------------------------------------------------------- SVG

def _parse_svg(data: bytes):
    try:
        doc = parseString(bytes(data), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BadgeError(INVALID_IMAGE, "the SVG declares entities or external resources (refused)") from None
    except Exception as exc:  # expat's ExpatError, ValueError on encodings, ...
        raise BadgeError(INVALID_IMAGE, f"the SVG is not well-formed XML ({type(exc).__name__})") from None
    root = doc.documentElement
    if root is None or root.localName != "svg":
        raise BadgeError(INVALID_IMAGE, "the XML document is not an SVG image")
    return doc


def _badge_elements(doc):
    """Badge elements in document order, as (version, element)."""
    found = []
    for element in doc.getElementsByTagName("*"):
        name = (element.namespaceURI, element.localName)
        if name == (OB3_NAMESPACE, "credential") or element.tagName == "openbadges:credential":
            found.append(("3.0", element))
        elif name == (OB2_NAMESPACE, "assertion") or element.tagName == "openbadges:assertion":
            found.append(("2.0", element))
    return found


def _strip_svg_badges(doc) -> None:
    for _version, element in _badge_elements(doc):
        element.parentNode.removeChild(element)
    root = doc.documentElement
    if root.hasAttribute("xmlns:openbadges"):
        root.removeAttribute("xmlns:openbadges")


def _bake_svg_ob3(data: bytes, text: str, jws: bool) -> bytes:
    doc = _parse_svg(data)
    _strip_svg_badges(doc)
    root = doc.documentElement
    root.setAttributeNS(XMLNS, "xmlns:openbadges", OB3_NAMESPACE)
    element = doc.createElementNS(OB3_NAMESPACE, "openbadges:credential")
    if jws:
        element.setAttribute("verify", text)
    else:
        element.appendChild(doc.createCDATASection(text))
    root.insertBefore(element, root.firstChild)
    return doc.toxml("utf-8")


def _bake_svg_ob2(data: bytes, text: str) -> bytes:
    doc = _parse_svg(data)
    _strip_svg_badges(doc)
    out = io.BytesIO()
    svg_bakery.bake(io.BytesIO(doc.toxml("utf-8")), text, out)
    return out.getvalue()


def _element_text(element) -> str:
    parts = [node.data for node in element.childNodes
             if node.nodeType in (Node.CDATA_SECTION_NODE, Node.TEXT_NODE)]
    return "".join(parts).strip()


def _unbake_svg(data: bytes) -> tuple[str, str]:
    found = _badge_elements(_parse_svg(data))
    if not found:
        raise BadgeError(NO_BADGE, "the image carries no badge")
    if len(found) > 1:  # "There MUST be only one <openbadges:credential> tag in an SVG" (and assertion)
        raise BadgeError(MULTIPLE_BADGES, f"the image carries {len(found)} badge elements; baking allows one")
    version, element = found[0]
    body = _element_text(element)
    verify = element.getAttribute("verify").strip()
    if version == "3.0":
        text = verify or body  # VC-JWT in verify=, embedded proof JSON in the body
    else:
        text = body or verify  # the bakery puts the assertion JSON in the body, its URL in verify=
    if not text:
        raise BadgeError(INVALID_CREDENTIAL, "the badge element of the SVG is empty")
    if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise BadgeError(TOO_LARGE, "the embedded badge is larger than 1 MB")
    return version, text


# --------------------------------------------------------------------------- facade

def bake(image_bytes: bytes, credential: dict | str) -> bytes:
    """Return a copy of the PNG or SVG image with ``credential`` baked in (replacing any badge).

    ``credential``: an OB 3.0 credential (dict, or compact JWS of a VC-JWT) or an OB 2.0
    assertion (dict, signed JWS, or hosted URL). Raises ``BadgeError``.
    """
    kind = image_format(image_bytes)
    version = credential_version(credential)
    text = serialize(credential)
    data = bytes(image_bytes)
    if kind == "png":
        baked = _bake_png_ob3(data, text) if version == "3.0" else _bake_png_ob2(data, text)
    else:
        jws = isinstance(credential, str) and looks_like_jws(text)
        baked = _bake_svg_ob3(data, text, jws) if version == "3.0" else _bake_svg_ob2(data, text)
    if len(baked) > MAX_IMAGE_BYTES:
        raise BadgeError(TOO_LARGE, "the baked image would be larger than 10 MB")
    return baked


def extract(image_bytes: bytes) -> tuple[str, str, str]:
    """The badge text baked into an image, verbatim: (version, text, "png"|"svg")."""
    kind = image_format(image_bytes)
    data = bytes(image_bytes)
    version, text = _unbake_png(data) if kind == "png" else _unbake_svg(data)
    return version, text.strip(), kind


def unbake(image_bytes: bytes) -> dict[str, Any]:
    """Read the badge baked into a PNG or SVG.

    Returns ``{"version": "3.0"|"2.0", "credential": dict|str, "format": "png"|"svg"}``: a dict
    for embedded JSON, a string for a compact JWS or (OB 2.0) a hosted assertion URL.
    Raises ``BadgeError`` with code ``no_badge`` when the image carries none.
    """
    version, text, kind = extract(image_bytes)
    credential: dict | str
    if text.startswith("{"):
        parsed = parse_json(text)
        if not isinstance(parsed, dict):
            raise BadgeError(INVALID_CREDENTIAL, "the embedded badge is not a JSON object")
        credential = parsed
    elif looks_like_jws(text) or (version == "2.0" and text.lower().startswith(("https://", "http://"))):
        credential = text
    else:
        raise BadgeError(INVALID_CREDENTIAL, "the embedded badge is neither JSON nor a compact JWS")
    return {"version": version, "credential": credential, "format": kind}
