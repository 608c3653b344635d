"""The images a credential is baked into: a PNG and an SVG of the achievement's picture.

Behind one function each, because the achievement's image may be an uploaded PNG, JPEG, WebP, GIF or SVG,
or the generated default SVG, while a baked PNG needs PNG bytes: the generated SVG is drawn as a PNG by
``badges.artwork.to_png``; an uploaded SVG, which it cannot draw without an SVG renderer, gets a plain medal
drawn with Pillow instead (deterministic, from the name).
"""
from __future__ import annotations

import base64
import hashlib
import io
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont

from app.services import achievements
from badges import artwork

SIZE = 256
PALETTE = ((31, 111, 139), (122, 73, 136), (46, 125, 79), (181, 86, 42), (61, 90, 152), (138, 109, 29))


def _drawn(name: str, seed: str) -> bytes:
    colour = PALETTE[hashlib.sha256(seed.encode()).digest()[0] % len(PALETTE)]
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=colour + (255,))
    draw.ellipse((28, 28, SIZE - 28, SIZE - 28), outline=(255, 255, 255, 220), width=6)
    initials = "".join(w[0] for w in name.split()[:2] if w[:1].isalnum()).upper() or "*"
    font = ImageFont.load_default(size=88) if hasattr(ImageFont, "load_default") else None
    draw.text((SIZE / 2, SIZE / 2), initials, fill=(255, 255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def achievement_png(achievement) -> bytes:
    """PNG bytes of the achievement's image (uploaded raster images are re-encoded as PNG)."""
    data, media_type = achievements.image_of(achievement)
    if media_type == "image/png":
        return data
    if media_type != "image/svg+xml":
        with Image.open(io.BytesIO(data)) as raster:
            out = io.BytesIO()
            raster.convert("RGBA").save(out, "PNG")
            return out.getvalue()
    try:
        return artwork.to_png(artwork.Artwork(data=data, media_type=media_type), size=SIZE)
    except artwork.ArtworkError:  # an uploaded SVG (needs_renderer): the drawn medal instead
        return _drawn(achievement.name, str(achievement.id))


def achievement_svg(achievement) -> bytes:
    """SVG bytes: the achievement's own SVG, or an SVG showing its PNG."""
    data, media_type = achievements.image_of(achievement)
    if media_type == "image/svg+xml":
        return data
    png = base64.b64encode(achievement_png(achievement)).decode("ascii")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}"><title>{escape(achievement.name)}</title>'
            f'<image width="{SIZE}" height="{SIZE}" xlink:href="data:image/png;base64,{png}"/></svg>').encode()
