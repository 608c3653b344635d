"""Achievement images and organisation logos: uploads made safe, and a generated default badge.

An uploaded image ends up in credentials, on public pages and inside baked badges, shown to people who
never chose it. Another badge platform stored XSS through badge SVGs; this module makes sure that what
Sillage keeps is pixels it wrote itself, or an SVG it wrote itself from an allow-list.

* :func:`prepare_upload` decides the type from the content (never the file name). PNG, JPEG and WebP
  are decoded by Pillow under a pixel cap checked *before* decoding (decompression bombs), refused when
  animated or truncated, and re-drawn on a fresh square canvas of at most :data:`MAX_SIDE` pixels: the PNG
  written carries no EXIF (GPS position, camera serial), text chunk, ICC profile (colours are converted
  to sRGB first) or polyglot tail. SVG goes through :func:`sanitise_upload_svg` (see there).
* :func:`default_badge` draws a deterministic badge from the achievement's name, kind and a seed.
* :func:`to_png` gives the PNG that Open Badges 2.0 baking and ``.png`` downloads need.

No renderer: rasterising an SVG needs a rendering engine (CairoSVG needs the system cairo library and
fetched external resources in its CVE-2023-27586), which Sillage does not ship. So an uploaded SVG that
the sanitiser cannot keep faithfully and safely is *refused* (``unsafe_svg``), never rasterised, and
:func:`to_png` of an uploaded SVG raises ``needs_renderer`` (details there). Should uploaded SVGs one day
need PNG copies, resvg (PyPI ``resvg-py``: Rust, wheels, no system library) is the renderer to weigh,
fed only the sanitised document.

Errors are :class:`ArtworkError` with a stable ``code`` and an English message; the app translates by code.
"""
from __future__ import annotations

import base64
import hashlib
import io
import math
import re
import unicodedata
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from xml.dom import Node
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from . import images, pixels

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
# An SVG is kept as text and may be shown by verifiers, ours included, which show images up to this size.
MAX_SVG_BYTES = images.MAX_IMAGE_BYTES
MAX_PIXELS = images.MAX_PIXELS  # checked on the header, before any pixel is decoded
MAX_SIDE = 512
MAX_EMBEDDED_SIDE = 1024  # a raster inside an uploaded SVG keeps more detail: the SVG may be drawn large
PNG_TYPE, SVG_TYPE = "image/png", "image/svg+xml"
_RASTERS = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}

# Stable codes (the app's messages are keyed by them).
EMPTY_FILE = "empty_file"
UNSUPPORTED_TYPE = "unsupported_type"
TOO_LARGE = "too_large"
MALFORMED_IMAGE = "malformed_image"
ANIMATED_IMAGE = "animated_image"
UNSAFE_SVG = "unsafe_svg"
EMPTY_IMAGE = "empty_image"
NEEDS_RENDERER = "needs_renderer"


class ArtworkError(Exception):
    """An image refused; ``code`` is stable, ``message`` plain English for logs, the API and tests."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Artwork:
    """Image bytes Sillage wrote itself: a PNG, or an SVG it generated or sanitised."""

    data: bytes
    media_type: str  # "image/png" or "image/svg+xml"
    filename: str = "badge"

    @property
    def extension(self) -> str:
        return ".svg" if self.media_type == SVG_TYPE else ".png"


# -- uploads ---------------------------------------------------------------------------------------------

def prepare_upload(data: bytes, filename: str) -> Artwork:
    """Check an uploaded badge image and return the copy to store; raise :class:`ArtworkError`.

    ``filename`` names the result (``diploma.svg`` → ``diploma.png`` for a PNG in disguise); it never
    decides the type.
    """
    if not data:
        raise ArtworkError(EMPTY_FILE, "the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ArtworkError(TOO_LARGE, f"the file is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", PurePath(str(filename or "")).stem).strip("-")[:60] or "badge"
    kind = _sniff(bytes(data))
    if kind == "SVG":
        return Artwork(sanitise_upload_svg(bytes(data)), SVG_TYPE, stem + ".svg")
    return Artwork(_encode_png(_decode(bytes(data), kind, MAX_SIDE), square=True), PNG_TYPE, stem + ".png")


def _sniff(data: bytes) -> str:
    for magic, kind in _RASTERS.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "SVG"
    raise ArtworkError(UNSUPPORTED_TYPE, "the file is not a PNG, JPEG, WebP or SVG image")


def _decode(data: bytes, kind: str, max_side: int) -> Image.Image:
    """The image's only frame, upright, in sRGB, as a new RGBA image of at most ``max_side`` pixels a
    side, holding pixels only (no ``info``: no EXIF, ICC profile or text chunk survives)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # damaged metadata, dropped anyway
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            if kind == "PNG":  # walks every chunk to IEND, checking CRCs: a truncated PNG fails here
                with Image.open(io.BytesIO(data), formats=("PNG",)) as probe:
                    _check_header(probe)
                    probe.verify()
            with Image.open(io.BytesIO(data), formats=(kind,)) as image:
                _check_header(image)
                if image.format == "JPEG":  # decode at a reduced scale: faster, far less memory
                    image.draft("RGB", (max_side * 2, max_side * 2))
                image.load()  # raises on a truncated JPEG or WebP
                image = pixels.upright(image)
                if image.mode not in ("RGB", "RGBA", "CMYK", "L"):  # palette, 16-bit…: resized smoothly
                    image = image.convert("RGBA")
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # before copies: less memory
                image = pixels.to_srgb(image).convert("RGBA")
        except ArtworkError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ArtworkError(TOO_LARGE, "the image has too many pixels (a decompression bomb?)") from None
        except pixels.DECODER_ERRORS as exc:
            raise ArtworkError(MALFORMED_IMAGE, f"the image cannot be read ({exc.__class__.__name__}: "
                                                f"truncated or damaged)") from None
    clean = Image.new("RGBA", image.size)
    clean.paste(image)
    return clean


def _check_header(image: Image.Image) -> None:
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise ArtworkError(TOO_LARGE, f"the image is too large ({width}×{height} pixels, at most "
                                      f"{MAX_PIXELS // 1_000_000} million)")
    if image.format in ("PNG", "WEBP") and getattr(image, "is_animated", False):
        raise ArtworkError(ANIMATED_IMAGE, "animated images are not accepted as badge images")


def _encode_png(image: Image.Image, *, square: bool, side: int | None = None) -> bytes:
    """A PNG of ``image``; with ``square``, centred on a transparent square canvas (badge slots are
    square) of ``side`` pixels, the image scaled to fit it (up or down), else of its longer side."""
    if square:
        if side and max(image.size) != side:
            ratio = side / max(image.size)
            image = image.resize((max(1, round(image.width * ratio)), max(1, round(image.height * ratio))),
                                 Image.Resampling.LANCZOS)
        side = side or max(image.size)
        canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        image = canvas
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


# -- SVG -------------------------------------------------------------------------------------------------

_LOCAL_FRAGMENT = re.compile(r"#[A-Za-z_][\w.-]*")
_ACTIVE_ELEMENTS = frozenset(("script", "foreignobject", "iframe", "embed", "object", "handler", "listener",
                              "audio", "video", "canvas"))
_ANIMATIONS = frozenset(("animate", "set", "animatemotion", "animatetransform", "animatecolor", "discard"))
_SCHEMES = re.compile(r"(?:java|vb|live)script:|data:(?!image/(?:png|jpeg);base64,)", re.I)
_DRAWABLE = frozenset("path rect circle ellipse line polyline polygon text image use".split())
_RASTER_URI = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*", re.I)
XHTML_NS = "http://www.w3.org/1999/xhtml"


def sanitise_svg(data: bytes) -> bytes:
    """The allow-list layer alone: a new SVG holding only what :mod:`badges.images` allows (the same rules
    as the verifier's display), plus ``<image>`` elements whose ``data:image/png|jpeg`` bytes are decoded
    and re-encoded here. It never leaves active content, whatever the input; it may silently drop some."""
    return _write(_parse(data))


def sanitise_upload_svg(data: bytes) -> bytes:
    """An uploaded SVG, refused or sanitised.

    Two layers. First a *refusal* of anything active or loading — scripts, ``foreignObject`` and other
    embedded HTML, event handlers, ``javascript:``/``data:`` URLs (but raster ``data:image/png|jpeg``),
    ``href`` to anything but a local ``#id``, animations that target a link or handler, ``url(…)`` other
    than ``url(#id)``, ``@import``, CSS escapes and ``expression()``, ``xml-stylesheet`` instructions — with
    ``unsafe_svg``: a file carrying them was made to attack or depends on things we will not keep, and
    silently dropping them would store a different picture from the one the uploader saw. Then the
    allow-list (:func:`sanitise_svg`) writes the new document: the guarantee, even if the first layer
    missed something. Editors' own namespaces (Inkscape, Illustrator, RDF metadata) are dropped quietly.
    The result must still draw something (``empty_image``) and fit :data:`MAX_SVG_BYTES`.
    """
    if len(data) > MAX_SVG_BYTES:
        raise ArtworkError(TOO_LARGE, f"an SVG image must be at most {MAX_SVG_BYTES // 1024} KB")
    document = _parse(data)
    _refuse_active_content(document)
    out = _write(document)
    if not any(node.localName in _DRAWABLE for node in _elements(_parse(out))):
        raise ArtworkError(EMPTY_IMAGE, "nothing of this SVG can be drawn once sanitised")
    if len(out) > MAX_SVG_BYTES:
        raise ArtworkError(TOO_LARGE, f"an SVG image must be at most {MAX_SVG_BYTES // 1024} KB")
    return out


def _parse(data: bytes):
    try:
        return images.parse_svg(data)
    except images.ImageRefused as exc:
        raise ArtworkError(exc.code, str(exc)) from None


def _write(document) -> bytes:
    try:
        return images.write_svg(document, embedded_raster=_embedded_raster)
    except images.ImageRefused as exc:
        raise ArtworkError(exc.code, str(exc)) from None


def _embedded_raster(data: bytes) -> bytes:
    if len(data) > MAX_SVG_BYTES:
        raise ArtworkError(TOO_LARGE, "an image embedded in the SVG is too large")
    kind = _sniff(data)
    if kind == "SVG":
        raise ArtworkError(UNSAFE_SVG, "the SVG embeds another SVG document")
    return _encode_png(_decode(data, kind, MAX_EMBEDDED_SIDE), square=False)


def _elements(document):
    """Every element, depth first, without recursion (depth and count are bounded as in the writer)."""
    stack = [(document.documentElement, 0)]
    count = 0
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > images.MAX_SVG_DEPTH or count > images.MAX_SVG_NODES:
            raise ArtworkError(TOO_LARGE, "the SVG is nested too deeply or has too many elements")
        yield element
        stack.extend((child, depth + 1) for child in reversed(element.childNodes)
                     if child.nodeType == Node.ELEMENT_NODE)


def _unsafe(reason: str) -> ArtworkError:
    return ArtworkError(UNSAFE_SVG, f"the SVG {reason}; export it again without it")


def _refuse_active_content(document) -> None:
    for node in document.childNodes:
        if node.nodeType == Node.PROCESSING_INSTRUCTION_NODE and node.target.lower() == "xml-stylesheet":
            raise _unsafe("links a style sheet")
    for element in _elements(document):
        name = (element.localName or "").lower()
        if element.namespaceURI == XHTML_NS or name in _ACTIVE_ELEMENTS:
            raise _unsafe(f"contains active content (<{element.localName}>)")
        if name in _ANIMATIONS:
            target = element.getAttribute("attributeName").split(":")[-1].strip().lower()
            if target == "href" or target.startswith("on") or target == "style":
                raise _unsafe(f"animates the attribute {target!r}")
        for attribute in element.attributes.values():
            _check_attribute(name, attribute)
        if name == "style" and element.namespaceURI in (images.SVG_NS, None):
            _check_css("".join(n.data for n in element.childNodes
                               if n.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE)))


def _check_attribute(element: str, attribute) -> None:
    local, value = (attribute.localName or "").lower(), attribute.value
    if attribute.name.startswith("xmlns"):
        return
    if local.startswith("on"):
        raise _unsafe(f"has an event handler ({attribute.name})")
    compact = re.sub(r"[\s\x00-\x1f]+", "", value)
    if local == "href":
        if _LOCAL_FRAGMENT.fullmatch(compact) or (element == "image" and _RASTER_URI.fullmatch(compact)):
            return
        raise _unsafe(f"links to {value[:60]!r} (only #fragments of the image itself are kept)")
    if _SCHEMES.search(compact):
        raise _unsafe(f"has a script or document URL in {attribute.name}")
    if attribute.namespaceURI is None:
        _check_css(value)


def _check_css(text: str) -> None:
    lowered = text.lower()
    if "@import" in lowered or "\\" in text or "expression(" in re.sub(r"\s+", "", lowered) \
            or _SCHEMES.search(re.sub(r"\s+", "", text)):
        raise _unsafe("has a style that imports, escapes or scripts")
    if len(images._URL.findall(text)) != len(images._LOCAL_URL.findall(text)):  # noqa: SLF001 - shared rule
        raise _unsafe("refers to an outside resource with url(…)")


# -- generated default badge -----------------------------------------------------------------------------

BADGE_NS = "urn:x-sillage:badge-art"
VIEW = 512
_CENTRE = VIEW / 2
_FONT_FAMILY = "Aileron, 'Helvetica Neue', Arial, sans-serif"  # Aileron is the font Pillow bundles
_TEXT_COLOUR = "#ffffff"
# (base, accent): deep bases that hold white text above WCAG's 4.5:1, light accents for the ring.
PALETTE = (
    ("#1f4e79", "#f2c14e"), ("#1b6b50", "#f4d35e"), ("#6a2c70", "#f9a8d4"), ("#a4243b", "#f6bd60"),
    ("#0f5f6e", "#9ee7e5"), ("#3d405b", "#e07a5f"), ("#7a4419", "#f2cc8f"), ("#264653", "#e9c46a"),
    ("#4a1d96", "#fbbf24"), ("#2b4162", "#fa9f42"),
)
# Kinds as the app names them (OB 3.0 achievement types: Diploma, BachelorDegree, Certificate, License…)
# or as people write them; matched on lower-case parts.
_SHAPES = (("shield", ("diploma", "diplôme", "degree", "licence", "license", "master", "doctor",
                      "bachelor")),
           ("rosette", ("certific", "award")),
           ("hexagon", ("competen", "compéten", "skill")),
           ("circle", ("participation", "attendance", "event")))
_SMALL_WORDS = frozenset("a à au aux d de des du en et for in l la le les of on the to and".split())
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RIBBON = ((20, 300), (110, 330), (150, 492), (112, 462), (70, 484))


def default_badge(name: str, kind: str, seed: str) -> Artwork:
    """A pleasant badge generated from the achievement: the shape from ``kind`` (shield for diplomas,
    rosette for certificates, hexagon for competencies, circle for participation, octagon otherwise),
    the colours and ornament from ``seed`` (say, the achievement's id: renaming it keeps its look), the
    initials of ``name`` in the centre and ``name`` as the accessible ``<title>``. Same input, same bytes.
    """
    name = _NOT_XML.sub("", str(name)).strip()[:300]  # a control character would make the SVG unreadable
    kind, seed = str(kind).strip().lower(), str(seed)
    head = (f'<svg xmlns="{images.SVG_NS}" xmlns:sillage="{BADGE_NS}" sillage:generator="1" '
            f'viewBox="0 0 {VIEW} {VIEW}" width="{VIEW}" height="{VIEW}" role="img" '
            f'aria-labelledby="badge-title">')
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n', head,
             f'<title id="badge-title">{escape(name or "Badge")}</title>']
    parts += [_svg_item(item) for item in _design(name, kind, seed)]
    parts.append("</svg>\n")
    return Artwork("".join(parts).encode("utf-8"), SVG_TYPE, "badge.svg")


def _design(name: str, kind: str, seed: str) -> list[tuple]:
    """The badge as a list of filled shapes in a 512×512 box: ``("polygon", points, colour)``,
    ``("circle", cx, cy, r, colour)`` and ``("text", label, baseline, size, colour)``. The SVG is written
    from it and :func:`to_png` reads it back from the SVG, so both show the same design."""
    digest = hashlib.sha256(f"{kind}\x00{seed}".encode()).digest()
    base, accent = PALETTE[digest[0] % len(PALETTE)]
    shade, soft = _mix(base, "#000000", 0.3), _mix(base, accent, 0.45)
    shape = _shape(kind)
    ornament, outline, inner = digest[1] % 3, _OUTLINES[shape], _INNER_RADIUS[shape]
    items: list[tuple] = []
    if shape == "rosette":  # two ribbon tails behind the seal
        items += [("polygon", [(256 + side * x, y) for x, y in _RIBBON], shade) for side in (-1, 1)]
    items += [("polygon", outline(k), colour) for k, colour in ((1.0, base), (0.9, accent), (0.84, base))]
    if ornament == 0:  # a ring of dots
        count = 16 + 4 * (digest[2] % 4)
        items += [("circle", x, y, 5, soft) for x, y in _polygon(0.69 * inner, count)]
    elif ornament == 1:  # a darker disc behind the initials
        items.append(("polygon", _polygon(0.62 * inner, 96), shade))
    lift = 20 if ornament == 2 else 0
    if ornament == 2:  # three stars below
        items += [("polygon", _star(256 + dx, 380 - abs(dx) * 0.25, 17), accent) for dx in (-46, 0, 46)]
    label = _initials(name)
    if label:
        size = {1: 210, 2: 170, 3: 130}[len(label)]
        width = _font(size).getlength(label)
        if width > 300:
            size = int(size * 300 / width)
        cap_height = -_font(size).getbbox("H", anchor="ls")[1]
        items.append(("text", label, round(256 + cap_height / 2 - lift, 2), size, _TEXT_COLOUR))
    else:  # no letter the font can draw (a name in another script): an emblem instead
        items.append(("polygon", _star(256, 256 - lift, 96), accent))
    return items


def _shape(kind: str) -> str:
    return next((shape for shape, words in _SHAPES if any(word in kind.lower() for word in words)), "octagon")


def _polygon(radius: float, corners: int, rotation: float = 0.0) -> list:
    angles = (rotation + 2 * math.pi * i / corners for i in range(corners))
    return [(round(_CENTRE + radius * math.sin(a), 2), round(_CENTRE - radius * math.cos(a), 2))
            for a in angles]


def _star(cx: float, cy: float, radius: float) -> list:
    radii = (radius if i % 2 == 0 else radius * 0.45 for i in range(10))
    return [(round(cx + r * math.sin(math.pi * i / 5), 2), round(cy - r * math.cos(math.pi * i / 5), 2))
            for i, r in enumerate(radii)]


def _shield(scale: float) -> list:
    """A heater shield: a gently arched top, straight sides, two curves meeting at the point."""
    top = [(x, 62 + 0.00028 * (x - 256) ** 2) for x in range(60, 453, 24)]
    right = [(452 - 196 * t ** 2, 270 + 206 * t) for t in (i / 16 for i in range(17))]
    left = [(512 - x, y) for x, y in reversed(right)][1:]
    return [(round(256 + (x - 256) * scale, 2), round(268 + (y - 268) * scale, 2))
            for x, y in top + right + left]


def _rosette(scale: float) -> list:
    """A seal with sixteen scallops."""
    angles = [2 * math.pi * i / 192 for i in range(192)]
    return [(round(256 + r * math.sin(a), 2), round(256 - r * math.cos(a), 2))
            for a, r in ((a, scale * (222 + 12 * math.cos(16 * a))) for a in angles)]


_OUTLINES = {
    "shield": _shield,
    "rosette": _rosette,
    "hexagon": lambda k: _polygon(240 * k, 6),
    "circle": lambda k: _polygon(232 * k, 128),
    "octagon": lambda k: _polygon(238 * k, 8, math.pi / 8),
}
_INNER_RADIUS = {"shield": 170, "rosette": 186, "hexagon": 180, "circle": 195, "octagon": 195}


def _mix(one: str, other: str, amount: float) -> str:
    a, b = (tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (one, other))
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b))


def _initials(name: str) -> str:
    """Up to three letters: an acronym of the name (``SQL``) or its words' initials, without the small
    words (``Licence de Mathématiques`` → ``LM``). Only letters the font bundled with Pillow draws (ASCII:
    the same glyphs on every machine, which keeps the PNG deterministic); an accented letter loses its
    accent (``É`` → ``E``), a letter of another script is left out (the full name stays in the title)."""
    found = re.findall(r"[^\W_]+", unicodedata.normalize("NFC", name))
    words = [(raw, "".join(map(_letter, raw))) for raw in found]
    for raw, letters in words:
        if 2 <= len(raw) <= 3 and len(letters) == len(raw) and letters.isupper():
            return letters
    significant = [w for w in words if w[0].lower() not in _SMALL_WORDS] or words
    initials = [letter for raw, _letters in significant[:3] if (letter := _letter(raw[0]))]
    if len(significant) == 1 and len(initials) == 1 and len(significant[0][1]) > 1:
        initials.append(significant[0][1][1])
    return "".join(initials).upper()


def _letter(char: str) -> str:
    """``char`` (or its unaccented base letter) when the bundled font can draw it, else ``""``."""
    for candidate in (char, unicodedata.normalize("NFKD", char)[:1]):
        if _drawable(candidate):
            return candidate
    return ""


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size)


@lru_cache(maxsize=1024)
def _drawable(char: str) -> bool:
    """Whether the bundled font has a glyph for ``char`` (else it draws its 'missing glyph' box)."""
    if len(char) != 1 or not char.isalnum():
        return False
    font, missing = _font(48), "\ufffe"
    return (bytes(font.getmask(char)), font.getbbox(char)) != (bytes(font.getmask(missing)),
                                                               font.getbbox(missing))


def _svg_item(item: tuple) -> str:
    if item[0] == "polygon":
        points = " ".join(f"{x:g},{y:g}" for x, y in item[1])
        return f'<polygon points="{points}" fill="{item[2]}"/>'
    if item[0] == "circle":
        return f'<circle cx="{item[1]:g}" cy="{item[2]:g}" r="{item[3]:g}" fill="{item[4]}"/>'
    _kind, label, baseline, size, colour = item
    width = round(_font(size).getlength(label), 2)  # other fonts are stretched to Aileron's width
    stroke = round(size / 14, 2)  # Aileron is regular; a stroke (half outside) gives it the weight of a badge
    return (f'<text x="256" y="{baseline:g}" text-anchor="middle" font-family="{_FONT_FAMILY}" '
            f'font-size="{size:g}" textLength="{width:g}" lengthAdjust="spacingAndGlyphs" fill="{colour}" '
            f'stroke="{colour}" stroke-width="{stroke:g}" stroke-linejoin="round">{escape(label)}</text>')


def _read_design(data: bytes) -> list[tuple] | None:
    """The design of a badge :func:`default_badge` wrote, read back from its SVG, or None for any other
    SVG: only the generator's marker, its 512 box, and polygons, circles and text filled with plain
    colours are understood (an upload can never carry the marker: the sanitiser drops foreign
    attributes). Reading the SVG, not regenerating it, keeps stored badges drawable when the generator
    or the font metrics change."""
    try:
        root = images.parse_svg(data).documentElement
    except images.ImageRefused:
        return None
    if not root.hasAttributeNS(BADGE_NS, "generator") or root.getAttribute("viewBox") != f"0 0 {VIEW} {VIEW}":
        return None
    design = []
    try:
        for element in (n for n in root.childNodes if n.nodeType == Node.ELEMENT_NODE):
            fill = element.getAttribute("fill")
            if element.localName != "title" and not re.fullmatch(r"#[0-9a-f]{6}", fill):
                return None
            if element.localName == "polygon":
                pairs = [pair.split(",") for pair in element.getAttribute("points").split()]
                if not pairs or any(len(pair) != 2 for pair in pairs):
                    return None
                design.append(("polygon", [(float(x), float(y)) for x, y in pairs], fill))
            elif element.localName == "circle":
                circle = tuple(float(element.getAttribute(key)) for key in ("cx", "cy", "r"))
                design.append(("circle", *circle, fill))
            elif element.localName == "text":
                label = "".join(n.data for n in element.childNodes if n.nodeType == Node.TEXT_NODE)
                size = float(element.getAttribute("font-size"))
                if not 8 <= size <= 512 or element.getAttribute("x") != "256":
                    return None
                design.append(("text", label, float(element.getAttribute("y")), size, fill))
            elif element.localName != "title":
                return None
    except ValueError:
        return None
    return design


def _draw(design: list[tuple], size: int) -> Image.Image:
    """Pillow's drawing of a design, supersampled then scaled down (Pillow does not smooth polygon edges
    itself; 2048 pixels a side at most while drawing)."""
    factor = max(1, min(4, 2048 // size))
    scale = size * factor / VIEW
    canvas = Image.new("RGBA", (size * factor, size * factor), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for item in design:
        if item[0] == "polygon":
            if len(item[1]) >= 2:  # Pillow refuses a polygon of one point
                draw.polygon([(x * scale, y * scale) for x, y in item[1]], fill=item[2])
        elif item[0] == "circle":
            _kind, cx, cy, r, colour = item
            box = ((cx - r) * scale, (cy - r) * scale, (cx + r) * scale, (cy + r) * scale)
            draw.ellipse(box, fill=colour)
        else:
            _kind, label, baseline, font_size, colour = item
            font = _font(round(font_size * scale))
            draw.text((256 * scale, baseline * scale), label, font=font, anchor="ms", fill=colour,
                      stroke_width=round(font_size * scale / 28), stroke_fill=colour)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


# -- PNG for baking --------------------------------------------------------------------------------------

def to_png(artwork: Artwork, size: int = MAX_SIDE) -> bytes:
    """A square PNG of ``size`` pixels, for OB 2.0 baking and ``.png`` downloads.

    * a PNG (always one :func:`prepare_upload` wrote): decoded again under the same guards and scaled;
    * a badge from :func:`default_badge`: its design is read back from the SVG and drawn by Pillow (no SVG
      renderer involved, see :func:`_read_design`);
    * any other SVG (an upload): ``needs_renderer``. Without a renderer we cannot turn arbitrary SVG into
      pixels, and guessing would put a wrong picture in a signed badge. The caller bakes the SVG itself
      (:func:`badges.bake.bake` bakes SVG for OB 2.0 and 3.0 alike) and, where a PNG is unavoidable,
      uses ``to_png(default_badge(...))``.
    """
    if not 16 <= size <= 2048:
        raise ValueError("size must be between 16 and 2048 pixels")
    if artwork.media_type == PNG_TYPE:
        return _encode_png(_decode(artwork.data, "PNG", max(size, MAX_SIDE)), square=True, side=size)
    design = _read_design(artwork.data) if artwork.media_type == SVG_TYPE else None
    if design is None:
        raise ArtworkError(NEEDS_RENDERER, "an uploaded SVG cannot be turned into a PNG without an SVG "
                                           "renderer")
    return _encode_png(_draw(design, size), square=False)


def data_uri(artwork: Artwork) -> str:
    """The artwork as a ``data:`` URI (an OB 3.0 ``image.id`` may be one)."""
    return f"data:{artwork.media_type};base64,{base64.b64encode(artwork.data).decode('ascii')}"
