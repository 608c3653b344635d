"""QR codes pointing at verification pages (segno: pure Python, SVG and PNG without Pillow)."""
from __future__ import annotations

import io

import segno


def svg(url: str) -> str:
    """An inline ``<svg>`` element (no XML declaration), sized by CSS."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=2, border=1, omitsize=True)


def png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=4, border=1)
    return out.getvalue()
