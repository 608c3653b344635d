"""Pillow helpers shared by every place that re-draws an untrusted image from its pixels: profile
photos (app/services/photos.py) and badge artwork (:mod:`badges.artwork`).

The re-drawn image keeps no metadata of the original, so what the metadata *meant* for the pixels has to be
applied first: the EXIF orientation, and the colours of an embedded ICC profile converted to sRGB.
"""
from __future__ import annotations

import io
import struct

from PIL import ExifTags, Image, ImageCms

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


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF (or XMP) orientation to the pixels.

    Not ``ImageOps.exif_transpose``: it also rewrites the EXIF block for the new image, and a damaged
    block that we could read the orientation from can still fail to re-encode (``struct.error``). We
    drop all metadata anyway, so only the transposition is needed. When the metadata cannot be read
    at all, the pixels are fine: the image is kept as stored, unrotated, rather than refused.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except DECODER_ERRORS:
        return image
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def to_srgb(image: Image.Image) -> Image.Image:
    """Convert colours from an embedded ICC profile to sRGB, so dropping the profile keeps the colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except (ImageCms.PyCMSError, *DECODER_ERRORS):
        return image  # a broken profile: keep the raw values rather than refuse the image
