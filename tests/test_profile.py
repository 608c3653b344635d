"""The profile page and the profile photo: untrusted images normalised, private to their owner."""
from __future__ import annotations

import io
import random
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from app.extensions import db
from app.models import Portfolio
from app.services import tokens
from app.services.errors import ValidationFailed
from app.services.photos import MAX_SIDE, normalise
from tests.conftest import login
from tests.helpers import csrf_token
from tests.test_portfolio import english  # noqa: F401  (autouse fixture)

ARTIST, SECRET_COMMENT = "Jane Q. Photographer", "secret-comment-4242"


def image_bytes(fmt="PNG", size=(800, 600), mode="RGB", color="red", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x013B] = ARTIST  # Artist
    exif[0x010E] = SECRET_COMMENT  # ImageDescription
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 24.0), "E", (2.0, 21.0, 3.0)
    return exif


def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side pixels: a few kilobytes on disk, 400 million pixels decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def upload(client, data: bytes, filename="photo.png", content_type="image/png"):
    page = client.get("/profile")
    return client.post("/profile/photo", data={"csrf_token": csrf_token(page),
                                               "photo": (io.BytesIO(data), filename, content_type)},
                       content_type="multipart/form-data")


def portfolio_of(user) -> Portfolio:
    db.session.expire_all()
    return db.session.get(Portfolio, user.portfolio.id)


def blobs(app) -> list[Path]:
    root = Path(app.instance_path) / "blobs"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def field_error(response, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>',
                      response.get_data(as_text=True))
    assert match, f"no error shown for {field}"
    return match.group(1)


# --- Profile details ------------------------------------------------------------------------------------


def test_profile_is_saved_and_shown_with_safe_markdown(logged_in, user):
    page = logged_in.get("/profile")
    assert page.status_code == 200 and 'value="Owner Person"' in page.get_data(as_text=True)
    data = {"display_name": "Camille Martin", "headline": "Future nurse", "location": "Brest",
            "bio": "I *love* <script>alert(1)</script> [caring](javascript:alert(2))",
            "contact_email": "Camille@Example.org", "phone": "+33 6 12 34 56 78",
            "website": "https://camille.example"}
    response = logged_in.post("/profile", data={**data, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    portfolio = portfolio_of(user)
    assert portfolio.display_name == "Camille Martin" and portfolio.website == "https://camille.example"
    html = logged_in.get("/profile").get_data(as_text=True)
    assert "<script>alert" not in html  # escaped in the form's textarea, removed from the rendering
    preview = re.search(r'<section[^>]*aria-labelledby="preview".*?</section>', html, re.S).group(0)
    assert "<em>love</em>" in preview and "javascript:" not in preview and "alert(1)" not in preview
    assert '<a href="https://camille.example" rel="nofollow noopener noreferrer">' in preview
    assert "Hello, Camille Martin" in logged_in.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("field, value, message", [
    ("contact_email", "not an address", "Not a valid e-mail address."),
    ("website", "javascript:alert(1)", "Must be a web address starting with https:// or http://."),
    ("display_name", "x" * 121, "At most 120 characters."),
    ("headline", "bad\x00byte", "Contains characters that are not allowed."),
])
def test_bad_profile_values_are_refused_and_nothing_saved(logged_in, user, field, value, message):
    page = logged_in.get("/profile")
    response = logged_in.post("/profile", data={"display_name": "Changed", "headline": "Changed",
                                                field: value, "csrf_token": csrf_token(page)})
    assert response.status_code == 422
    assert field_error(response, field) == message
    portfolio = portfolio_of(user)
    assert portfolio.display_name == "Owner Person" and portfolio.headline == ""


def test_profile_needs_login_and_csrf(client, logged_in):
    anonymous = client.application.test_client()
    for method, url in (("get", "/profile"), ("get", "/profile/photo"), ("post", "/profile/photo"),
                        ("post", "/profile/photo/delete")):
        response = getattr(anonymous, method)(url)
        assert response.status_code in (302, 400), url
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
    assert logged_in.post("/profile", data={"display_name": "No token"}).status_code == 400


# --- Photo upload ---------------------------------------------------------------------------------------


def test_png_is_reencoded_as_small_jpeg_stored_under_the_portfolio(app, logged_in, user):
    response = upload(logged_in, image_bytes("PNG", (2000, 1000)))
    assert response.status_code == 302
    key = portfolio_of(user).photo_key
    assert re.fullmatch(rf"photos/{user.portfolio.id}/[0-9a-f-]{{36}}\.jpg", key)
    assert blobs(app) == [Path(app.instance_path) / "blobs" / key]

    served = logged_in.get("/profile/photo")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "private" in served.headers["Cache-Control"]
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and image.size == (512, 256)
    again = logged_in.get("/profile/photo", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert "/profile/photo?v=" in logged_in.get("/profile").get_data(as_text=True)


def test_exif_and_other_metadata_are_stripped(logged_in, user):
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET_COMMENT)
    for data in (image_bytes("JPEG", (640, 480), exif=exif_with_gps(), comment=SECRET_COMMENT.encode()),
                 image_bytes("PNG", (640, 480), exif=exif_with_gps(), pnginfo=info)):
        assert ARTIST.encode() in data and SECRET_COMMENT.encode() in data
        assert upload(logged_in, data).status_code == 302
        stored = logged_in.get("/profile/photo").data
        for secret in (ARTIST.encode(), SECRET_COMMENT.encode(), b"Exif"):
            assert secret not in stored
        image = Image.open(io.BytesIO(stored))
        assert len(image.getexif()) == 0 and "exif" not in image.info and "comment" not in image.info


def test_exif_orientation_is_applied(logged_in):
    data = image_bytes("JPEG", (300, 100), exif=exif_with_gps(orientation=6))  # "rotate 90° clockwise"
    assert upload(logged_in, data).status_code == 302
    assert Image.open(io.BytesIO(logged_in.get("/profile/photo").data)).size == (100, 300)


@pytest.mark.parametrize("fmt, extra", [("WEBP", {}), ("GIF", {}), ("JPEG", {})])
def test_other_accepted_formats(logged_in, fmt, extra):
    assert upload(logged_in, image_bytes(fmt, (100, 80), **extra), filename="whatever.bin",
                  content_type="application/octet-stream").status_code == 302
    assert Image.open(io.BytesIO(logged_in.get("/profile/photo").data)).size == (100, 80)


def test_animated_gif_keeps_its_first_frame_and_transparency_becomes_white(logged_in):
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert upload(logged_in, out.getvalue()).status_code == 302
    red, green, blue = Image.open(io.BytesIO(logged_in.get("/profile/photo").data)).getpixel((32, 32))
    assert red > 200 and blue < 60

    assert upload(logged_in, image_bytes("PNG", (64, 64), mode="RGBA", color=(0, 0, 0, 0))).status_code == 302
    assert min(Image.open(io.BytesIO(logged_in.get("/profile/photo").data)).getpixel((32, 32))) > 240


def test_replacing_the_photo_deletes_the_old_blob(app, logged_in, user):
    upload(logged_in, image_bytes("PNG", color="red"))
    first = portfolio_of(user).photo_key
    upload(logged_in, image_bytes("PNG", color="blue"))
    second = portfolio_of(user).photo_key
    assert second != first
    assert blobs(app) == [Path(app.instance_path) / "blobs" / second]


def test_remove_photo(app, logged_in, user):
    upload(logged_in, image_bytes())
    page = logged_in.get("/profile")
    assert "Remove the photo" in page.get_data(as_text=True)
    response = logged_in.post("/profile/photo/delete", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert portfolio_of(user).photo_key is None and blobs(app) == []
    assert logged_in.get("/profile/photo").status_code == 404


@pytest.mark.parametrize("data, filename, message", [
    (b"just some text, not a picture\n", "photo.png", "This file is not an image we can read"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "photo.svg",
     "This file is not an image we can read"),
    (image_bytes("BMP", (10, 10)), "photo.png", "This file is not an image we can read"),
    (image_bytes("PNG")[:200], "truncated.png", "This file is not an image we can read"),
    (b"", "empty.png", "Choose an image file to upload."),
    (bomb_png(), "bomb.png", "This image has too many pixels"),
], ids=["text", "svg", "bmp", "truncated", "empty", "bomb"])
def test_bad_uploads_are_refused_and_change_nothing(app, logged_in, user, data, filename, message):
    upload(logged_in, image_bytes())
    before = portfolio_of(user).photo_key
    response = upload(logged_in, data, filename=filename)
    assert response.status_code == 422
    assert field_error(response, "photo").startswith(message)
    assert portfolio_of(user).photo_key == before
    assert blobs(app) == [Path(app.instance_path) / "blobs" / before]


def test_bomb_is_tiny_on_disk():
    assert len(bomb_png()) < 200_000


def test_size_cap(app, logged_in, user):
    data = image_bytes("PNG", (300, 300), mode="RGB", color="red")
    app.config["PHOTO_MAX_BYTES"] = len(data) - 1
    response = upload(logged_in, data)
    assert response.status_code == 422
    assert field_error(response, "photo").startswith("This image is too large")
    assert portfolio_of(user).photo_key is None and blobs(app) == []
    app.config["MAX_CONTENT_LENGTH"] = 10_000  # the request as a whole: refused before it is read
    assert upload(logged_in, b"\0" * 20_000).status_code == 413


def test_nobody_else_can_fetch_the_photo(app, client, logged_in, make_user):
    upload(logged_in, image_bytes())
    assert logged_in.get("/profile/photo").status_code == 200
    other = make_user("other@example.org")
    stranger = app.test_client()
    stranger.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(stranger, other.email)
    assert stranger.get("/profile/photo").status_code == 404  # their own (none), never the owner's
    assert "/profile/photo?v=" not in stranger.get("/profile").get_data(as_text=True)
    anonymous = app.test_client()
    response = anonymous.get("/profile/photo")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- Damaged files: a refusal or a clean JPEG, never a 500 -------------------------------------------------


def broken_exif_webp() -> bytes:
    """A 64x48 WebP whose EXIF block reads (orientation 6) but cannot be written back: the
    ImageDescription entry's tag is changed to one whose type does not match (``struct.error``
    in ``ImageOps.exif_transpose``, a 500 before the fix)."""
    exif = Image.Exif()
    exif[0x0112], exif[0x010E] = 6, "hello"
    data = bytearray(image_bytes("WEBP", (64, 48), exif=exif.tobytes()))
    entry = data.index(b"\x01\x0e\x00\x02")  # big-endian IFD entry: tag 0x010E, type ASCII
    data[entry + 1] = 0x44
    return bytes(data)


def test_broken_exif_keeps_the_pixels_on_the_page(logged_in, user):
    data = broken_exif_webp()
    with pytest.raises(struct.error):  # what Pillow's own transposition does with it
        ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    assert upload(logged_in, data, filename="photo.webp", content_type="image/webp").status_code == 302
    stored = Image.open(io.BytesIO(logged_in.get("/profile/photo").data))
    assert stored.format == "JPEG" and stored.size == (48, 64)  # the readable orientation is applied
    assert len(stored.getexif()) == 0


def test_broken_exif_through_the_api(client, user):
    _, raw = tokens.create_token(db.session, user, "tests")
    db.session.commit()
    response = client.put("/api/v1/profile/photo", data=broken_exif_webp(), content_type="image/webp",
                          headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert portfolio_of(user).photo_key is not None


def test_unreadable_exif_leaves_the_image_unrotated():
    """EXIF that cannot be parsed at all: the pixels are fine, so they are kept as stored."""
    data = bytearray(image_bytes("JPEG", (60, 20), exif=exif_with_gps(orientation=6)))
    header = data.index(b"MM\x00*")
    data[header + 4:header + 8] = b"\xff\xff\xff\xf0"  # first IFD offset far beyond the block
    assert Image.open(io.BytesIO(normalise(bytes(data), 10**6))).size == (60, 20)


def _fixed_icc() -> bytes:
    """An sRGB profile with its creation time zeroed, so that the fuzz inputs are the same every run."""
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = bytes(12)
    return bytes(icc)


def _fuzz_seed(fmt: str) -> bytes:
    """A small image whose bytes are mostly metadata (EXIF, ICC profile), where parsers are weakest."""
    image = Image.new("RGB", (16, 12), "red")
    image.paste((0, 0, 255), (0, 0, 8, 6))
    out = io.BytesIO()
    if fmt == "GIF":  # no EXIF in GIF: two frames and a comment instead
        frame = image.convert("P")
        frame.save(out, "GIF", save_all=True, append_images=[frame], duration=50, comment=b"hello")
    else:
        exif = Image.Exif()
        exif[0x0112], exif[0x010E], exif[0x013B] = 6, "hello", ARTIST
        image.save(out, fmt, exif=exif.tobytes(), icc_profile=_fixed_icc())
    return out.getvalue()


def _png_chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk of a well-formed PNG."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        chunks.append((pos, length))
        pos += 12 + length
    return chunks


def _mutants(data: bytes, fmt: str, rng: random.Random, count: int):
    """``count`` copies of ``data`` with 1-3 bytes replaced, half of them inside the EXIF header and
    first entries. PNG chunks get their CRC recomputed, or nearly every mutant would stop at the CRC
    check and the decoders behind it would never be exercised."""
    tiff = max(data.find(b"MM\x00*"), data.find(b"II*\x00"))
    chunks = _png_chunks(data) if fmt == "PNG" else []
    for _ in range(count):
        mutant = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            exif_hit = tiff >= 0 and rng.random() < 0.75
            mutant[tiff + rng.randrange(46) if exif_hit else rng.randrange(len(mutant))] = rng.randrange(256)
        for pos, length in chunks:
            end = pos + 8 + length
            mutant[end:end + 4] = struct.pack(">I", zlib.crc32(mutant[pos + 4:end]))
        yield bytes(mutant)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_damaged_images_are_refused_or_cleanly_reencoded(fmt):
    """Seeded byte-flip fuzzing of the normaliser: only ValidationFailed or a clean JPEG comes out.

    Before the fix, 300 mutants per format gave a ``struct.error`` (a 500) for PNG, JPEG and WebP.
    """
    rng = random.Random(1234)
    outcomes = {"refused": 0, "accepted": 0}
    for mutant in _mutants(_fuzz_seed(fmt), fmt, rng, 300):
        try:
            jpeg = normalise(mutant, 10**6)
        except ValidationFailed as refusal:
            assert set(refusal.fields) == {"photo"}
            outcomes["refused"] += 1
            continue
        image = Image.open(io.BytesIO(jpeg))
        image.load()
        assert image.format == "JPEG" and max(image.size) <= MAX_SIDE and len(image.getexif()) == 0
        outcomes["accepted"] += 1
    assert outcomes["refused"] and outcomes["accepted"]  # the mutants reach both ends
