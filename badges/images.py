"""A badge image a page can show, from whatever a credential names: never a way into the page or the network.

A credential is untrusted, and so is its image: a ``data:`` URI or an https URL chosen by a stranger,
possibly an SVG (a document that can carry scripts, event handlers and references to other hosts), a
decompression bomb, or a huge file. :func:`display_image` turns it into a ``data:`` URI the page puts in
an ``<img>`` (the only place it goes: the CSP allows ``img-src 'self' data:``), or None, and the page
then draws a placeholder. It never raises for a bad image.

* **Fetching**: only https (loopback http when the caller allows it, as tests do), through the SSRF
  guard of :mod:`badges.fetch` (public addresses only, pinned, no redirects), with a short deadline
  (:data:`FETCH_TIMEOUT`) and a size cap (:data:`MAX_IMAGE_BYTES`), the same cap as a ``data:`` URI's.
* **Raster images** (PNG, JPEG, GIF, WebP) are decoded by Pillow after a pixel-count check made before
  any decoding (:data:`MAX_PIXELS`), scaled down to :data:`DISPLAY_SIZE` and re-encoded as a fresh PNG:
  what reaches the reader is pixels Sillage wrote, without metadata, baked credentials or polyglot tails.
* **SVG is sanitised with an allow-list, not rasterised.** A rasteriser (CairoSVG) would need the
  system cairo library on every install and has itself fetched external resources in the past (its
  CVE-2023-27586); an allow-list is small, pure Python and keeps the image sharp. The SVG is parsed with
  defusedxml (no DTD, entities or external references), and a NEW document is written with only the
  elements and attributes listed below: no ``script``, ``foreignObject``, ``image``, ``a``, animation or
  ``feImage``; no event handler; ``href`` only to ``#fragments`` of the same image; ``url(…)`` only as
  ``url(#…)``; ``style`` declarations and ``<style>`` sheets only with the properties listed and nothing
  that could load (``@import``, ``url(`` other than local, escapes). The result is then *still* only ever
  shown through ``<img>``, where browsers run no script and load nothing: two independent defences.
  :mod:`badges.artwork` writes uploaded badge SVGs with the same rules (:func:`parse_svg`, :func:`write_svg`),
  keeping also ``<image>`` elements whose ``data:image/png|jpeg`` bytes it re-encodes.
"""
from __future__ import annotations

import base64
import binascii
import io
import re
import warnings
from collections.abc import Callable, Mapping
from urllib.parse import unquote_to_bytes
from xml.sax.saxutils import escape, quoteattr

from .fetch import FetchError, fetch

MAX_IMAGE_BYTES = 512 * 1024
MAX_PIXELS = 4096 * 4096
DISPLAY_SIZE = 256
FETCH_TIMEOUT = 3.0
ACCEPT_IMAGES = "image/png, image/svg+xml;q=0.9, image/jpeg;q=0.8, image/webp;q=0.8, image/gif;q=0.5"
RASTER_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"


class ImageRefused(Exception):
    """An image that will not be shown; the message says why (for logs and tests), ``code`` in a stable
    word that :mod:`badges.artwork` passes on to uploaders (``unsafe_svg``, ``malformed_image``, …)."""

    def __init__(self, message: str, code: str = "malformed_image"):
        super().__init__(message)
        self.code = code


# -- the public entry ------------------------------------------------------------------------------------

def display_image(ref: Mapping | None, *, fetch_bytes: Callable[[str], bytes] | None = None,
                  fallback: bytes | None = None, allow_loopback: bool = False) -> str | None:
    """A safe ``data:`` URI for ``ref`` (``{"data": …}`` or ``{"url": …}``, as in a credential summary),
    else for ``fallback`` (the bytes of an uploaded baked image), else None."""
    sources: list[Callable[[], bytes]] = []
    if isinstance(ref, Mapping) and isinstance(ref.get("data"), str):
        sources.append(lambda: decode_data_uri(ref["data"]))
    if fallback:
        sources.append(lambda: fallback)
    if isinstance(ref, Mapping) and isinstance(ref.get("url"), str):
        getter = fetch_bytes or (lambda url: fetch_image(url, allow_loopback=allow_loopback))
        sources.append(lambda: getter(ref["url"]))
    for source in sources:
        try:
            return as_data_uri(safe_image(source()))
        except (ImageRefused, FetchError):
            continue
    return None


def fetch_image(url: str, *, allow_loopback: bool = False) -> bytes:
    """GET an image under the SSRF guard, within :data:`FETCH_TIMEOUT` and :data:`MAX_IMAGE_BYTES`."""
    return fetch(url, allow_loopback=allow_loopback, accept=ACCEPT_IMAGES, max_bytes=MAX_IMAGE_BYTES,
                 timeout=FETCH_TIMEOUT).body


def decode_data_uri(uri: str) -> bytes:
    """The bytes of a ``data:`` URI (base64 or percent-encoded), refused above the size cap."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.lower().startswith("data:"):
        raise ImageRefused("not a data: URI")
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ImageRefused("the image is too large")
    try:
        data = (base64.b64decode(payload, validate=False) if head.lower().endswith(";base64")
                else unquote_to_bytes(payload))
    except (binascii.Error, ValueError):
        raise ImageRefused("the data: URI is not valid base64") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused("the image is too large")
    return data


def safe_image(data: bytes) -> tuple[str, bytes]:
    """``(media type, bytes)`` safe to show: a re-encoded PNG, or a sanitised SVG."""
    if not data:
        raise ImageRefused("empty image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused("the image is too large")
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "image/svg+xml", sanitize_svg(data)
    return "image/png", reencode_raster(data)


def as_data_uri(image: tuple[str, bytes]) -> str:
    media_type, data = image
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


# -- raster images ---------------------------------------------------------------------------------------

def reencode_raster(data: bytes) -> bytes:
    """Decode with Pillow (size checked before decoding), scale down, write a fresh PNG."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - only pages that show images need it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=RASTER_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    raise ImageRefused(f"the image is too large ({width}×{height} pixels)")
                image.seek(0)
                image.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE))
                frame = image.convert("RGBA")
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("the image is too large (a decompression bomb)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRefused(f"not a readable image ({exc.__class__.__name__})") from None
    out = io.BytesIO()
    frame.save(out, "PNG", optimize=True)
    return out.getvalue()


# -- SVG -------------------------------------------------------------------------------------------------

_ELEMENTS = frozenset("""
svg g defs symbol use title desc path rect circle ellipse line polyline polygon text tspan
linearGradient radialGradient stop clipPath mask pattern marker style
filter feGaussianBlur feOffset feBlend feColorMatrix feFlood feComposite feMerge feMergeNode feDropShadow
""".split())
_TEXT_ELEMENTS = frozenset(("text", "tspan", "title", "desc", "style"))
_ATTRIBUTES = frozenset("""
id class viewBox preserveAspectRatio width height x y x1 y1 x2 y2 cx cy r rx ry fx fy d points
transform gradientTransform gradientUnits spreadMethod offset patternUnits patternContentUnits
patternTransform clipPathUnits maskUnits maskContentUnits markerWidth markerHeight markerUnits refX refY
orient fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap stroke-linejoin
stroke-miterlimit stroke-dasharray stroke-dashoffset opacity color stop-color stop-opacity clip-path
clip-rule mask filter font-family font-size font-weight font-style text-anchor dominant-baseline
letter-spacing dx dy rotate textLength lengthAdjust visibility display style version
in in2 result stdDeviation mode operator k1 k2 k3 k4 values type flood-color flood-opacity
filterUnits primitiveUnits
""".split())
_PROPERTIES = frozenset("""
fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap stroke-linejoin
stroke-miterlimit stroke-dasharray stroke-dashoffset opacity color stop-color stop-opacity clip-path
clip-rule mask filter font-family font-size font-weight font-style text-anchor dominant-baseline
letter-spacing visibility display isolation mix-blend-mode flood-color flood-opacity
""".split())
_URL = re.compile(r"url\s*\(", re.I)
_LOCAL_URL = re.compile(r"url\(\s*['\"]?#[A-Za-z_][\w.-]*['\"]?\s*\)")
_PROPERTY_NAME = re.compile(r"[a-z-]+")
# Style text longer than this is dropped whole: no real badge needs more, and every parse stays linear.
MAX_STYLE_CHARS = 16_384
MAX_SVG_DEPTH = 64
_SELECTOR = re.compile(r"^[\w\s.#,*>:+~()-]*$")
MAX_SVG_NODES = 20_000


def _safe_value(value: str) -> bool:
    """No loading, no escapes, no script-like values: ``url()`` only to a local ``#id``."""
    if "\\" in value or "<" in value or "expression" in value.lower() or "javascript" in value.lower():
        return False
    return len(_URL.findall(value)) == len(_LOCAL_URL.findall(value))


def _safe_declarations(text: str) -> str | None:
    """The allowed ``property: value`` pairs of ``text``. Parsed by splitting, not by a backtracking
    regular expression: a crafted style attribute must cost linear time (a lazy pattern took seconds)."""
    if len(text) > MAX_STYLE_CHARS:
        return None
    kept = []
    for declaration in text.split(";"):
        name, colon, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip()
        if colon and _PROPERTY_NAME.fullmatch(name) and name in _PROPERTIES and _safe_value(value):
            kept.append(f"{name}:{value}")
    return ";".join(kept) or None


def _without_comments(text: str) -> str:
    """``text`` without ``/* … */`` comments, in one linear pass (an unclosed one runs to the end)."""
    parts, position = [], 0
    while (start := text.find("/*", position)) != -1:
        parts.append(text[position:start])
        end = text.find("*/", start + 2)
        position = len(text) if end == -1 else end + 2
    parts.append(text[position:])
    return "".join(parts)


def _safe_sheet(text: str) -> str | None:
    """A ``<style>`` sheet of plain rules (``selector { declarations }``), each declaration allowed; no
    at-rule, escape or nesting. Split on braces in linear time, like the declarations."""
    if len(text) > MAX_STYLE_CHARS or "@" in text or "\\" in text or "<" in text:
        return None
    rules = []
    for rule in _without_comments(text).split("}")[:-1]:
        selector, brace, body = rule.partition("{")
        if not brace or "{" in body or not _SELECTOR.match(selector):
            continue
        declarations = _safe_declarations(body)
        if declarations:
            rules.append(f"{selector.strip()}{{{declarations}}}")
    return "\n".join(rules) or None


_RASTER_DATA_URI = re.compile(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=\s]*)", re.I)


def _attribute(element: str, name: str, namespace: str | None, value: str,
               raster: Callable[[bytes], bytes] | None = None) -> str | None:
    """The attribute's safe value, or None to drop it."""
    if name == "href" and namespace in (None, XLINK_NS):
        if element == "image":
            return _embedded_raster(value, raster)
        return value if element in ("use", "linearGradient", "radialGradient", "pattern") \
            and re.fullmatch(r"#[A-Za-z_][\w.-]*", value) else None
    if namespace is not None or name not in _ATTRIBUTES or len(value) > 100_000:
        return None
    if name == "style":
        return _safe_declarations(value)
    return value if _safe_value(value) else None


def _embedded_raster(value: str, raster: Callable[[bytes], bytes] | None) -> str | None:
    """An ``<image>``'s ``data:image/png|jpeg;base64`` URI with its bytes re-encoded by ``raster`` (which
    raises :class:`ImageRefused` for a bad one); anything else (another document, a URL) is dropped."""
    match = _RASTER_DATA_URI.fullmatch(value.strip()) if raster is not None else None
    if match is None:
        return None
    try:
        data = base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise ImageRefused("an embedded image is not valid base64") from None
    return f"data:image/png;base64,{base64.b64encode(raster(data)).decode('ascii')}"


def parse_svg(data: bytes):
    """The DOM of an SVG document, parsed with defusedxml: no DTD, entity or external reference."""
    from defusedxml import DefusedXmlException  # noqa: PLC0415
    from defusedxml.minidom import parseString  # noqa: PLC0415

    try:
        document = parseString(bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ImageRefused("the SVG declares a DTD, entities or external resources", "unsafe_svg") from None
    except Exception as exc:  # noqa: BLE001 - expat errors, bad encodings
        raise ImageRefused(f"the SVG is not well-formed XML ({exc.__class__.__name__})") from None
    root = document.documentElement
    if root is None or root.localName != "svg" or root.namespaceURI not in (SVG_NS, None):
        raise ImageRefused("not an SVG image", "unsupported_type")
    return document


def sanitize_svg(data: bytes) -> bytes:
    """A new SVG document with only the allowed elements, attributes and styles of ``data``."""
    return write_svg(parse_svg(data))


def write_svg(document, *, embedded_raster: Callable[[bytes], bytes] | None = None) -> bytes:
    """Write the allowed part of a parsed SVG (:func:`parse_svg`) as a new document.

    ``embedded_raster``, when given, also keeps ``<image>`` elements whose ``href`` is a
    ``data:image/png`` or ``data:image/jpeg`` URI, their bytes replaced by ``embedded_raster(bytes)`` (a
    re-encoding: pixels only). Without it, as for the verifier's display, no ``<image>`` is kept.
    """
    out: list[str] = []
    budget = [MAX_SVG_NODES]
    _write(document.documentElement, out, budget, top=True, raster=embedded_raster)
    return "".join(out).encode("utf-8")


def _write(element, out: list[str], budget: list[int], top: bool = False, depth: int = 0,
           raster: Callable[[bytes], bytes] | None = None) -> None:
    from xml.dom import Node  # noqa: PLC0415

    budget[0] -= 1
    if budget[0] < 0:
        raise ImageRefused("the SVG has too many elements", "too_large")
    if depth > MAX_SVG_DEPTH:  # the walk is recursive: a deep document must not exhaust the stack
        raise ImageRefused("the SVG is nested too deeply", "too_large")
    name = element.localName
    attributes = []
    for attribute in element.attributes.values():
        if attribute.name.startswith("xmlns"):
            continue
        value = _attribute(name, attribute.localName, attribute.namespaceURI, attribute.value, raster)
        if value is not None:
            qualified = "xlink:href" if attribute.namespaceURI == XLINK_NS else attribute.localName
            attributes.append(f" {qualified}={quoteattr(value)}")
    if top:
        attributes.insert(0, f' xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"')
    out.append(f"<{name}{''.join(attributes)}>")
    if name == "style":
        sheet = _safe_sheet("".join(n.data for n in element.childNodes
                                    if n.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE)))
        out.append(escape(sheet or ""))
    else:
        for child in element.childNodes:
            if child.nodeType == Node.ELEMENT_NODE:
                if child.namespaceURI in (SVG_NS, None) and (
                        child.localName in _ELEMENTS or (child.localName == "image" and raster is not None)):
                    _write(child, out, budget, depth=depth + 1, raster=raster)
            elif child.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE) and name in _TEXT_ELEMENTS:
                out.append(escape(child.data))
    out.append(f"</{name}>")
