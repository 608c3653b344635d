"""The profile photo: an upload is decoded, normalised and re-encoded before anything is stored.

Uploaded images are untrusted input. We decide what a file is by its content (Pillow, restricted to
JPEG/PNG/WebP/GIF), never by its name or the browser's content type; we refuse decompression bombs
before decoding them (a 20000x20000 1-bit PNG is a few kilobytes on disk and 400 million pixels in
memory); then we apply the EXIF orientation and re-encode a fresh image of at most 512x512 as JPEG.
The new image is built from pixels only, so no metadata of the original (GPS position, camera serial,
author, comments) survives. Only the re-encoded bytes ever reach storage or another person's browser.
"""
from __future__ import annotations

import io
import uuid
import warnings

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image
from sqlalchemy.orm import Session

from app import storage
from app.models import Portfolio, User
from app.services.errors import ValidationFailed
from app.services.portfolio import portfolio_of
from badges.pixels import DECODER_ERRORS
from badges.pixels import to_srgb as _to_srgb
from badges.pixels import upright as _upright

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_SIDE = 512
QUALITY = 85
CONTENT_TYPE = "image/jpeg"
# Process-wide Pillow guard (about 7000x5700, more than phone cameras need; the default is 89 million):
# above it Pillow warns, and ``normalise`` turns that warning into a refusal.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _refuse(message) -> ValidationFailed:
    return ValidationFailed(str(message), fields={"photo": str(message)})


def _size(n: int) -> str:
    return str(_l("%(n)d MB", n=n // 2**20) if n >= 2**20 else _l("%(n)d KB", n=max(1, n // 2**10)))


def _flatten(image: Image.Image) -> Image.Image:
    """A new RGB image holding only the pixels (transparent areas on white); no ``info`` is carried."""
    if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    rgb = image.convert("RGB")
    flat = Image.new("RGB", rgb.size)
    flat.paste(rgb)
    return flat


def normalise(data: bytes, max_bytes: int) -> bytes:
    """Return ``data`` re-encoded as a clean JPEG of at most 512x512, or raise ``ValidationFailed``."""
    if not data:
        raise _refuse(_l("Choose an image file to upload."))
    if len(data) > max_bytes:
        raise _refuse(_l("This image is too large: at most %(size)s.", size=_size(max_bytes)))
    with warnings.catch_warnings():
        # Pillow's UserWarnings are about damaged metadata ("Corrupt EXIF data"), which is dropped anyway.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as original:
                if original.format == "JPEG":  # decode at a reduced scale: faster, far less memory
                    original.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))
                original.seek(0)  # animated GIF/WebP: the first frame
                original.load()
                image = _to_srgb(_upright(original))
                image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                clean = _flatten(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _refuse(_l("This image has too many pixels (at most %(n)d million).",
                             n=MAX_PIXELS // 1_000_000)) from None
        except DECODER_ERRORS:
            raise _refuse(_l("This file is not an image we can read: use a JPEG, PNG, WebP or GIF "
                             "picture.")) from None
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def set_photo(session: Session, actor: User, data: bytes, *, max_bytes: int | None = None) -> Portfolio:
    """Replace the actor's photo with a normalised copy of ``data``.

    The new blob is removed again if the transaction does not commit; the old one only once it has.
    """
    portfolio = portfolio_of(actor)
    limit = max_bytes if max_bytes is not None else current_app.config["PHOTO_MAX_BYTES"]
    jpeg = normalise(data, limit)
    key = f"photos/{portfolio.id}/{uuid.uuid4()}.jpg"
    storage.put(key, jpeg, CONTENT_TYPE)
    storage.delete_unless_committed(session, key)
    if portfolio.photo_key:
        storage.delete_after_commit(session, portfolio.photo_key)
    portfolio.photo_key = key
    session.flush()
    return portfolio


def remove_photo(session: Session, actor: User) -> Portfolio:
    """Forget the actor's photo; the blob is deleted once the change is committed."""
    portfolio = portfolio_of(actor)
    if portfolio.photo_key:
        storage.delete_after_commit(session, portfolio.photo_key)
        portfolio.photo_key = None
        session.flush()
    return portfolio


def read_photo(actor: User) -> bytes | None:
    """The actor's own photo (JPEG bytes), or None when there is none."""
    portfolio = portfolio_of(actor)
    if not portfolio.photo_key:
        return None
    try:
        return storage.get(portfolio.photo_key)
    except storage.BlobNotFound:
        return None
