"""PDF from the HTML rendering (WeasyPrint) and a PNG of its first page (pypdfium2).

Why WeasyPrint: it installs from PyPI (its system needs are Pango and HarfBuzz, Debian packages that
``.ci/run`` installs), prints the very HTML and CSS that the share link serves (one design, two outputs),
writes real text in reading order with embedded fonts (what applicant-tracking systems need) and runs
about 130 ms for a two-page CV here. wkhtmltopdf is unmaintained and needs a binary download; ReportLab
would mean a second layout for every design. WeasyPrint has no image output, so the first-page preview
is rasterised by pypdfium2 (PDFium, shipped inside its wheel).

Without Pango, ``import weasyprint`` raises ``OSError``: ``available()`` says so, and the application
answers a clear "PDF unavailable on this server" instead of failing.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache

log = logging.getLogger(__name__)


def _weasyprint():
    """``import weasyprint``, undoing its one global side effect: on import it sets Pillow's
    ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` for the whole process, which would make every later image
    check of ours (profile photos, vault thumbnails, badge images) accept truncated files. The photos a CV
    embeds were checked whole at upload, so WeasyPrint does not need it."""
    from PIL import ImageFile  # noqa: PLC0415

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint  # noqa: PLC0415
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


@lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when PDFs can be made; else why not (a missing package or system library)."""
    try:
        _weasyprint()
    except (ImportError, OSError) as exc:  # OSError: Pango/HarfBuzz libraries missing
        log.warning("PDF output disabled: %s", exc)
        return str(exc).splitlines()[0][:300]
    return None


def available() -> bool:
    return unavailable_reason() is None


# What the activation letters use (app/institutions/templates/institutions/letters.html): both DejaVu faces,
# bold, and a PNG (the QR code), so that the warm-up loads the same fonts and image path.
WARM_UP_HTML = ('<html><body style="font-family: \'DejaVu Sans\'"><p>Sillage <b>é</b></p>'
                '<p style="font-family: \'DejaVu Sans Mono\'">ABCDE-FGHJK</p><img src="data:image/png;base64,'
                'iVBORw0KGgoAAAANSUhEUgAAABEAAAARAQAAAAATFnpXAAAAR0lEQVR42g2JIRJAUBQA93iOJG4VjQsYkSwogqSqGum7gjHzvLBhd4kQR1'
                'mLDE/yJnd6l72X2GVppEwyH3Je0m7y1dJU+cMfkish3vrEdqMAAAAASUVORK5CYII=" width="40"></body></html>')


def warm_up() -> bool:
    """Import WeasyPrint and print a one-line page with the letters' fonts and a PNG: the process's first
    PDF paid about 1.3 s more for that (the import, Pango's and fontconfig's first font lookups). The server
    calls this in a background thread of each worker (``sillage serve``); tests and the command line never
    do, as most of them print nothing. Returns whether PDFs can be made here."""
    if not available():
        return False
    render_pdf(WARM_UP_HTML)
    return True


def render_pdf(html: str) -> bytes:
    """The PDF of a standalone HTML page (no network: every style and image is inline, as ``data:`` URLs).

    WeasyPrint 70 takes a ``URLFetcher`` (a plain function, the earlier API, now fails at the first image
    with an AttributeError); ``allowed_protocols`` limits it to ``data:``, so a CV or a letter never
    loads anything from elsewhere: any other URL is refused and the resource left out. setup.cfg pins
    WeasyPrint's major version for that reason."""
    weasyprint = _weasyprint()
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def first_page_png(pdf: bytes, width: int = 800) -> bytes:
    import pypdfium2  # noqa: PLC0415

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        try:
            image = page.render(scale=width / page.get_width()).to_pil()
        finally:
            page.close()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()
    finally:
        document.close()


def text_of(pdf: bytes) -> str:
    """The PDF's text, page by page, in content order (what an applicant-tracking system extracts)."""
    import pypdfium2  # noqa: PLC0415

    document = pypdfium2.PdfDocument(pdf)
    parts = []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            parts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(parts)
    finally:
        document.close()
