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
import struct
import uuid
import warnings

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import ExifTags, Image, ImageCms
from sqlalchemy.orm import Session

from app import storage
from app.models import Portfolio, User
from app.services.errors import ValidationFailed
from app.services.portfolio import portfolio_of

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
MAX_SIDE = 512
QUALITY = 85
CONTENT_TYPE = "image/jpeg"
# Process-wide Pillow guard (about 7000x5700, more than phone cameras need; the default is 89 million):
# above it Pillow warns, and ``normalise`` turns that warning into a refusal.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# What Pillow's decoders raise on damaged or hostile input, besides their documented OSError: the
# plugins parse headers, chunks and EXIF with struct, indexing and arithmetic, so a flipped byte can
# surface as any of these (UnidentifiedImageError is an OSError). Each is a refusal, never a 500.
DECODER_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, ZeroDivisionError, IndexError,
                  TypeError, KeyError, Image.DecompressionBombError)
# EXIF orientation -> the transposition that puts the pixels upright (as ``ImageOps.exif_transpose``).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _refuse(message) -> ValidationFailed:
    return ValidationFailed(str(message), fields={"photo": str(message)})


def _size(n: int) -> str:
    return str(_l("%(n)d MB", n=n // 2**20) if n >= 2**20 else _l("%(n)d KB", n=max(1, n // 2**10)))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF (or XMP) orientation to the pixels.

    Not ``ImageOps.exif_transpose``: it also rewrites the EXIF block for the new image, and a damaged
    block that we could read the orientation from can still fail to re-encode (``struct.error``). We
    drop all metadata anyway, so only the transposition is needed. When the metadata cannot be read
    at all, the pixels are fine: the photo is kept as stored, unrotated, rather than refused.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except DECODER_ERRORS:
        return image
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert colours from an embedded ICC profile to sRGB, so dropping the profile keeps the colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, *DECODER_ERRORS):
        return image  # a broken profile: keep the raw values rather than refuse the photo


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


def normalise(data: bytes, max_bytes: int, *, max_side: int = MAX_SIDE) -> bytes:
    """Return ``data`` re-encoded as a clean JPEG of at most ``max_side`` pixels a side (512 for
    photos; the vault's thumbnails are smaller), or raise ``ValidationFailed``."""
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
                    original.draft("RGB", (max_side * 2, max_side * 2))
                original.seek(0)  # animated GIF/WebP: the first frame
                original.load()
                image = _to_srgb(_upright(original))
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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
