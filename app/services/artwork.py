"""Images of organisations (logos) and achievements: the one door every uploaded image goes through.

An upload is untrusted: another badge platform had stored XSS through badge SVGs. Until the dedicated
``badges.artwork`` (branch badge-art) lands, ``badges.images.safe_image`` does the job: raster images are
decoded by Pillow with a pixel bound and re-encoded as a fresh PNG; an SVG is rewritten from an
allow-list (defusedxml, no script, handler, foreign object, external reference). Without an upload, a
default image is drawn from the name, so every achievement has an image at its public URL.
"""
from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from flask_babel import lazy_gettext as _l

from app.services.errors import ValidationFailed
from badges.images import MAX_IMAGE_BYTES, ImageRefused, safe_image

MAX_UPLOAD = MAX_IMAGE_BYTES
_PALETTE = ("#1f6f8b", "#7a4988", "#2e7d4f", "#b5562a", "#3d5a98", "#8a6d1d", "#9c2f4d", "#2f6d6d")


def prepare_image(data: bytes, filename: str = "", field: str = "image") -> tuple[bytes, str]:
    """``(bytes, media type)`` safe to store and serve, or ``ValidationFailed`` naming *field*."""
    if not data:
        message = _l("This file is empty.")
    elif len(data) > MAX_UPLOAD:
        message = _l("This image is too large (at most %(n)d KB).", n=MAX_UPLOAD // 1024)
    else:
        try:
            media_type, clean = safe_image(data)
            return clean, media_type
        except ImageRefused:
            message = _l("This file is not a PNG, JPEG, GIF, WebP or SVG image that we can accept.")
    raise ValidationFailed(str(message), code="invalid_image", fields={field: str(message)})


def default_image(name: str, kind: str, seed: str) -> tuple[bytes, str]:
    """A plain deterministic SVG medal: a coloured disc (colour from *seed*) with the name's initials."""
    colour = _PALETTE[hashlib.sha256(seed.encode("utf-8")).digest()[0] % len(_PALETTE)]
    initials = "".join(word[0] for word in name.split()[:3] if word[:1].isalnum()).upper() or "★"
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512" role="img">'
        f'<title>{escape(name)}</title>'
        f'<circle cx="256" cy="256" r="240" fill="{colour}"/>'
        '<circle cx="256" cy="256" r="200" fill="none" stroke="#ffffff" stroke-width="12" opacity="0.8"/>'
        '<text x="256" y="300" font-family="sans-serif" font-size="140" font-weight="bold" fill="#ffffff" '
        f'text-anchor="middle">{escape(initials)}</text>'
        f'<text x="256" y="380" font-family="sans-serif" font-size="30" fill="#ffffff" '
        f'text-anchor="middle">{escape(kind[:24])}</text></svg>')
    return svg.encode("utf-8"), "image/svg+xml"
