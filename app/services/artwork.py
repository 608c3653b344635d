"""Images of organisations (logos) and achievements: the one door every uploaded image goes through.

An upload is untrusted: another badge platform had stored XSS through badge SVGs. ``badges.artwork``
checks it: raster images are decoded under a pixel bound and re-drawn as a fresh PNG of at most 512
pixels; an SVG is rewritten from an allow-list (no script, handler, foreign object, external
reference). Without an upload, a default badge is drawn from the name and kind, so that every
achievement has an image at its public URL. Refusals carry ``badges.artwork``'s stable code, with a
message in the person's language.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.services.errors import ValidationFailed
from badges import artwork

MAX_UPLOAD = artwork.MAX_UPLOAD_BYTES
_MESSAGES = {
    artwork.EMPTY_FILE: _l("This file is empty."),
    artwork.TOO_LARGE: _l("This image is too large."),
    artwork.UNSUPPORTED_TYPE: _l("This file is not a PNG, JPEG or SVG image that we can accept."),
    artwork.MALFORMED_IMAGE: _l("This image is damaged or unreadable."),
    artwork.ANIMATED_IMAGE: _l("Animated images are not accepted."),
    artwork.UNSAFE_SVG: _l("This SVG image contains something that is not allowed (scripts, links to other "
                           "sites…)."),
    artwork.EMPTY_IMAGE: _l("This image draws nothing."),
}
# The default badge's shape follows the kind: OB 3.0 achievement types mapped to its families.
_SHAPE_OF = {"CertificateOfCompletion": "participation", "CoCurricular": "participation",
             "CommunityService": "participation", "Membership": "participation", "Course": "participation"}


def prepare_image(data: bytes, filename: str = "", field: str = "image") -> tuple[bytes, str]:
    """``(bytes, media type)`` safe to store and serve, or ``ValidationFailed`` naming *field*."""
    if len(data) > MAX_UPLOAD:
        code, message = artwork.TOO_LARGE, _MESSAGES[artwork.TOO_LARGE]
    else:
        try:
            prepared = artwork.prepare_upload(data, filename)
            return prepared.data, prepared.media_type
        except artwork.ArtworkError as exc:
            code = exc.code
            message = _MESSAGES.get(exc.code, _MESSAGES[artwork.UNSUPPORTED_TYPE])
    raise ValidationFailed(str(message), code="invalid_image", fields={field: f"{message} ({code})"})


def default_image(name: str, kind: str, seed: str) -> tuple[bytes, str]:
    """The generated badge for an achievement without an uploaded image (deterministic: same bytes)."""
    badge = artwork.default_badge(name, _SHAPE_OF.get(kind, kind), seed)
    return badge.data, badge.media_type
