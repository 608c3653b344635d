"""The PDF renderer reads inline ``data:`` images and fetches nothing else (cv_templates/pdf.py).

WeasyPrint 70 changed its URL fetcher's API: the function fetcher of earlier versions failed at the first
image with an AttributeError. A CV with a photo (a ``data:`` URL) must print it; an image pointing
elsewhere must be left out without any request leaving the server.
"""

from __future__ import annotations

import base64
import http.server
import io
import threading

from PIL import Image

from cv_templates import pdf
from tests.cv_helpers import needs_pdf


def _png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (0, 0, 145)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _images_in(data: bytes) -> int:
    import pypdfium2  # noqa: PLC0415
    import pypdfium2.raw as raw  # noqa: PLC0415

    page = pypdfium2.PdfDocument(data)[0]
    return sum(1 for obj in page.get_objects() if obj.type == raw.FPDF_PAGEOBJ_IMAGE)


def test_an_inline_image_is_printed_and_a_remote_one_is_never_fetched():
    needs_pdf()
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = f"http://127.0.0.1:{server.server_address[1]}/photo.png"
        inline = pdf.render_pdf(f'<p>Camille</p><img src="{_png_data_url()}" alt="photo">')
        refused = pdf.render_pdf(f'<p>Camille</p><img src="{remote}" alt="photo">'
                                 f'<link rel="stylesheet" href="{remote}.css">')
    finally:
        server.shutdown()
    assert _images_in(inline) == 1
    assert _images_in(refused) == 0 and "Camille" in pdf.text_of(refused)
    assert requests == []
