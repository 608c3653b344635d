"""Issue 10: CVs in non-Latin scripts print real glyphs in the PDF, not empty boxes.

DejaVu (the designs' first font) has no Chinese, Japanese, Korean, Devanagari or Thai glyphs; the designs
name Noto fonts after it (installed by ``make system-libs`` and ``.ci/run``). The test reads back, for
each character of the line, the font the PDF drew it with: a glyph missing from every font would still
extract as text (its Unicode is kept) but be drawn with a font that lacks it.
"""

from __future__ import annotations

import ctypes

import pytest

from app.extensions import db
from app.models import Experience
from app.services import cvs, portfolio as items
from cv_templates import designs, pdf as pdf_renderer
from tests.cv_helpers import needs_pdf

LINES = {
    "zh": ("软件工程师，负责数据平台", "CJK"),
    "ja": ("ソフトウェア開発者として東京で勤務", "CJK"),
    "ko": ("소프트웨어 개발자로 서울에서 근무", "CJK"),
    "hi": ("सॉफ़्टवेयर डेवलपर", "Devanagari"),
    "th": ("นักพัฒนาซอฟต์แวร์", "Thai"),
}


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def _fonts_by_character(pdf: bytes) -> list[tuple[str, str]]:
    """(character, font name) for every character of the PDF's pages, in content order."""
    import pypdfium2  # noqa: PLC0415
    import pypdfium2.raw as raw  # noqa: PLC0415

    document = pypdfium2.PdfDocument(pdf)
    found = []
    buffer, flags = ctypes.create_string_buffer(256), ctypes.c_int()
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            for char in range(textpage.count_chars()):
                code = raw.FPDFText_GetUnicode(textpage.raw, char)
                raw.FPDFText_GetFontInfo(textpage.raw, char, buffer, len(buffer), ctypes.byref(flags))
                found.append((chr(code), buffer.value.decode("latin-1")))
            textpage.close()
            page.close()
    finally:
        document.close()
    return found


@pytest.mark.parametrize("design", sorted(designs()))
def test_cjk_and_other_scripts_are_drawn_with_fonts_that_have_them(make_user, design):
    needs_pdf()
    owner = make_user("mei@example.org", display_name="王美")
    for language, (line, _) in LINES.items():
        items.create_item(
            db.session,
            owner,
            Experience,
            {"kind": "job", "title": line, "organisation": language, "start_date": "2022-01-01"},
        )
    db.session.commit()
    cv = cvs.create(db.session, owner, {"name": "多语言", "template": design, "language": "en"})
    cv.selection = [{"type": "experience", "id": str(e.id)} for e in owner.portfolio.experiences]
    db.session.commit()

    pdf = cvs.render_pdf(db.session, cv)
    text = pdf_renderer.text_of(pdf)
    for line, _ in LINES.values():
        assert line in text, line  # extracted whole, in order (what an applicant-tracking system reads)
    assert "王美" in text

    drawn = _fonts_by_character(pdf)
    for line, family in LINES.values():
        for character in set(line) - {" ", "，"}:
            fonts = {font for char, font in drawn if char == character}
            assert fonts and all("Noto" in font and family in font for font in fonts), (character, fonts)
