"""QR codes pointing at verification pages (segno: pure Python, SVG and PNG without Pillow)."""

from __future__ import annotations

import io
from functools import lru_cache

import segno


# A verification URL's code never changes, and choosing the best mask is most of segno's time (≈10 ms a
# code): each is made once per process.
@lru_cache(maxsize=1024)
def svg(url: str) -> str:
    """An inline ``<svg>`` element (no XML declaration), sized by CSS."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=2, border=1, omitsize=True)


@lru_cache(maxsize=1024)
def png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=4, border=1)
    return out.getvalue()
