"""The profile page and the profile photo: untrusted images normalised, private to their owner."""
from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from app.extensions import db
from app.models import Portfolio
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
