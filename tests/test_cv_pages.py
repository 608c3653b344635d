"""The owner's CV pages: create from an offer, see the ranking with matched words, tick and reorder, save,
regenerate, download, delete; CSRF and another person's CV refused."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models.cvs import CvVariant
from tests.conftest import login
from tests.cv_helpers import OFFER, build_portfolio, docx_text, is_docx
from tests.helpers import csrf_token


@pytest.fixture
def made(user, make_user):
    return build_portfolio(user, make_user("admin@croix.example"))


def _create(client, name="Acme"):
    page = client.get("/cvs")
    return client.post(
        "/cvs",
        data={
            "csrf_token": csrf_token(page),
            "name": name,
            "template": "modern",
            "language": "fr",
            "target_text": OFFER,
        },
    )


def test_create_edit_reorder_download_delete(logged_in, made):
    client = logged_in
    assert client.get("/cvs").status_code == 200
    created = _create(client)
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    page = client.get(edit_url)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Stage développeuse Python" in body
    cells = re.findall(r"<td>([^<]*Django[^<]*)</td>", body)  # the matched words are shown
    assert cells and "Python" in cells[0] and "REST" in cells[0]
    cv = db.session.query(CvVariant).one()
    dev, waiter = str(made["dev"].id), str(made["waiter"].id)

    form = {
        "csrf_token": csrf_token(page),
        "name": "Acme (v2)",
        "template": "classic",
        "language": "en",
        "summary": "Hello.",
        "cover_letter": "",
        "consent": "gdpr",
        "consent_text": "",
        "target_text": OFFER,
        "selected": [f"experience:{dev}", f"experience:{waiter}"],
    }
    assert client.post(edit_url, data=form).status_code == 302
    db.session.expire_all()
    assert (
        [ref["id"] for ref in cv.selection] == [dev, waiter] and cv.language == "en" and cv.consent == "gdpr"
    )
    assert client.post(edit_url, data={**form, "move": f"up:experience:{waiter}"}).status_code == 302
    db.session.expire_all()
    assert [ref["id"] for ref in cv.selection] == [waiter, dev]

    docx = client.get(f"/cvs/{cv.id}/docx")
    assert docx.status_code == 200 and is_docx(docx.data)
    lines = docx_text(docx.data)
    assert lines.index("Serveuse — Brasserie du Port") < lines.index("Stage développeuse Python — Acme, Lyon")
    assert client.get(f"/cvs/{cv.id}/html").status_code == 200
    assert client.get(f"/cvs/{cv.id}/json").get_json()["basics"]["name"] == "Inès Morel"
    assert client.get("/cvs/json-resume").status_code == 200

    page = client.get(edit_url)
    assert client.post(f"/cvs/{cv.id}/regenerate", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.post(f"/cvs/{cv.id}/delete", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert db.session.query(CvVariant).count() == 0
    assert client.get(edit_url).status_code == 404


def test_refusals(client, user, made, make_user):
    login(client, user.email)
    _create(client)
    cv = db.session.query(CvVariant).one()
    assert client.post(f"/cvs/{cv.id}", data={"name": "No token"}).status_code == 400  # CSRF
    empty = client.post(
        "/cvs",
        data={
            "csrf_token": csrf_token(client.get("/cvs")),
            "name": "",
            "template": "classic",
            "language": "fr",
        },
    )
    assert empty.status_code == 400
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/cvs"))})
    stranger = make_user("stranger@example.org")
    login(client, stranger.email)
    for path in ("", "/docx", "/pdf", "/html", "/json", "/preview.png"):
        assert client.get(f"/cvs/{cv.id}{path}").status_code == 404, path
    page = client.get("/cvs")
    assert client.post(f"/cvs/{cv.id}/delete", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert db.session.query(CvVariant).count() == 1


def test_signed_out_is_sent_to_sign_in(client):
    assert client.get("/cvs").status_code == 302


def test_without_the_pdf_library_the_page_says_so(logged_in, monkeypatch):
    from cv_templates import pdf as pdf_renderer  # noqa: PLC0415

    monkeypatch.setattr(pdf_renderer, "unavailable_reason", lambda: "cannot load library 'libpango-1.0-0'")
    edit_url = _create(logged_in).headers["Location"]
    body = logged_in.get(edit_url).get_data(as_text=True)
    assert "pas disponible sur ce serveur" in body and "/pdf\"" not in body and "preview.png" not in body
    cv = db.session.query(CvVariant).one()
    answer = logged_in.get(f"/cvs/{cv.id}/pdf")
    assert answer.status_code == 503 and "DOCX ou HTML" in answer.get_data(as_text=True)
    assert logged_in.get(f"/cvs/{cv.id}/docx").status_code == 200
