"""The vault's pages (``app.vault``): list, search and tags, quota gauge, uploads (plain form and the
raw XHR route), the document page, downloads, thumbnails, deletion, and evidence on experiences,
diplomas and skills. The refusals first: another person's ids, missing CSRF tokens, and every service
error said in plain words."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import storage
from app.extensions import db
from app.models import Diploma, Document, Experience, Skill
from app.services import documents, portfolio
from tests.conftest import login
from tests.helpers import csrf_token

EN = {"Accept-Language": "en"}


def html(response) -> str:
    return response.get_data(as_text=True)


def png_bytes(size=(640, 480), colour=(30, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def store(user, name="note.txt", data=b"hello vault", **kwargs) -> Document:
    document = documents.store(db.session, user, name, [data], **kwargs)
    db.session.commit()
    return document


def token(client, path="/vault") -> str:
    return csrf_token(client.get(path, headers=EN))


@pytest.fixture
def english(app, user):
    user.locale = "en"
    db.session.commit()
    return user


@pytest.fixture
def owner(client, english):
    assert login(client, english.email).status_code == 302
    return client


@pytest.fixture
def stranger(make_user):
    """Another person, with a document and an experience of her own."""
    other = make_user("stranger@example.org")
    document = store(other, "private.pdf", PDF, tags=["secret"])
    experience = portfolio.create_item(db.session, other, Experience, {
        "kind": "job", "title": "Her job", "start_date": "2020-01-01"})
    db.session.commit()
    return other, document, experience


def experience_of(user, title="Internship at the bakery") -> Experience:
    item = portfolio.create_item(db.session, user, Experience, {
        "kind": "internship", "title": title, "start_date": "2025-01-13", "end_date": "2025-02-07"})
    db.session.commit()
    return item


def raw_upload(client, name, data, csrf, **params):
    headers = {"Content-Type": "application/octet-stream"}
    if csrf:
        headers["X-CSRFToken"] = csrf
    return client.post("/vault/upload.json", query_string={"name": name, **params}, data=data,
                       headers=headers)


# --- refusals: signed out, someone else's ids, CSRF -----------------------------------------------------

def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/vault", f"/vault/{'0' * 8}-0000-4000-8000-{'0' * 12}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_persons_document_is_404_on_every_page_route(owner, english, stranger):
    _other, document, _experience = stranger
    mine = experience_of(english)
    csrf = token(owner)
    base = f"/vault/{document.id}"
    answers = [
        owner.get(base), owner.get(f"{base}/download"), owner.get(f"{base}/thumbnail"),
        owner.get(f"{base}/delete"),
        owner.post(base, data={"csrf_token": csrf, "name": "stolen", "description": "", "tags": ""}),
        owner.post(f"{base}/delete", data={"csrf_token": csrf}),
        owner.post(f"{base}/evidence", data={"csrf_token": csrf, "target": f"experience:{mine.id}"}),
        owner.post(f"/vault/evidence/experience/{mine.id}", data={"csrf_token": csrf,
                                                                   "document_id": str(document.id)}),
        owner.post(f"/vault/evidence/experience/{mine.id}/{document.id}/detach", data={"csrf_token": csrf}),
        owner.get("/vault/not-a-uuid"), owner.get("/vault/not-a-uuid/download"),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert "private.pdf" not in "".join(html(r) for r in answers)
    db.session.expire_all()
    kept = db.session.get(Document, document.id)
    assert kept.name == "private.pdf" and kept.experiences == []
    assert "private.pdf" not in html(owner.get("/vault?tag=secret")) and "secret" not in html(owner.get("/vault"))


def test_another_persons_item_is_404_for_attach_upload_and_detach(owner, english, stranger):
    _other, _document, experience = stranger
    mine = store(english, "mine.pdf", PDF)
    csrf = token(owner)
    base = f"/vault/evidence/experience/{experience.id}"
    answers = [
        owner.post(base, data={"csrf_token": csrf, "document_id": str(mine.id)}),
        owner.post(f"{base}/upload", data={"csrf_token": csrf, "file": (io.BytesIO(PDF), "x.pdf")},
                   content_type="multipart/form-data"),
        owner.post(f"{base}/{mine.id}/detach", data={"csrf_token": csrf}),
        owner.post(f"/vault/evidence/journal/{experience.id}", data={"csrf_token": csrf,
                                                                      "document_id": str(mine.id)}),
    ]
    assert [r.status_code for r in answers] == [404] * 4
    assert db.session.scalar(select(func.count()).select_from(Document)) == 2  # nothing uploaded
    db.session.expire_all()
    assert db.session.get(Document, mine.id).experiences == []


def test_every_post_needs_the_csrf_token(owner, english):
    document = store(english, "keep.pdf", PDF)
    item = experience_of(english)
    before = db.session.scalar(select(func.count()).select_from(Document))
    answers = [
        owner.post("/vault/upload", data={"files": (io.BytesIO(PDF), "a.pdf")},
                   content_type="multipart/form-data"),
        raw_upload(owner, "b.pdf", PDF, csrf=None),
        raw_upload(owner, "b.pdf", PDF, csrf="forged-token"),
        owner.post(f"/vault/{document.id}", data={"name": "renamed", "description": "", "tags": ""}),
        owner.post(f"/vault/{document.id}/delete"),
        owner.post(f"/vault/evidence/experience/{item.id}", data={"document_id": str(document.id)}),
        owner.post(f"/vault/evidence/experience/{item.id}/upload", data={"file": (io.BytesIO(PDF), "c.pdf")},
                   content_type="multipart/form-data"),
        owner.post(f"/vault/evidence/experience/{item.id}/{document.id}/detach"),
    ]
    assert [r.status_code for r in answers] == [400] * len(answers)
    assert raw_upload(owner, "b.pdf", PDF, csrf=None).get_json()["error"] == "csrf_failed"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Document)) == before
    assert db.session.get(Document, document.id).name == "keep.pdf"
    assert db.session.get(Document, document.id).experiences == []


# --- the list -------------------------------------------------------------------------------------------

def test_navigation_links_to_the_vault_and_the_empty_list_says_what_it_is_for(owner):
    page = html(owner.get("/dashboard", headers=EN))
    assert 'href="/vault"' in page
    page = html(owner.get("/vault", headers=EN))
    assert "Your vault is empty" in page
    assert re.search(r'<meter id="vault-meter" min="0" max="1073741824" value="0"', page)
    assert "0 bytes used of 1 GB" in page
    assert '<input aria-describedby="files-hint" id="files" multiple name="files" required type="file">' in page
    assert re.search(r'<script src="/static/vault.js" nonce="[^"]+" defer></script>', page)
    assert " style=" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_list_newest_first_with_kind_size_thumbnail_and_gauge(owner, english):
    store(english, "Attestation de stage.pdf", PDF, tags=["stage", "attestation"])
    photo = store(english, "Vitrine de Noël.png", png_bytes(), tags=["stage", "photo"])
    page = html(owner.get("/vault", headers=EN))
    assert page.index("Vitrine de Noël.png") < page.index("Attestation de stage.pdf")
    assert f"PDF document · {len(PDF)} bytes" in page
    assert re.search(r"Image \(PNG\) · [\d.,]+ KB", page)
    assert f'src="/vault/{photo.id}/thumbnail"' in page
    used = len(PDF) + photo.size
    assert f'value="{used}"' in page
    # Tag chips: every tag with its count, each a filter.
    assert re.search(r'href="/vault\?tag=stage">stage <span class="meta-count">\(2\)</span>', page)
    assert re.search(r'href="/vault\?tag=photo">photo <span class="meta-count">\(1\)</span>', page)


def test_search_by_name_and_by_tag(owner, english):
    store(english, "Relevé de notes 2025.pdf", PDF, tags=["lycée"])
    store(english, "Photo du stand.png", png_bytes(), tags=["stage"])
    store(english, "Certificat SST.pdf", PDF, tags=["stage", "secourisme"])
    page = html(owner.get("/vault", query_string={"q": "RELEVE"}, headers=EN))
    assert "Relevé de notes 2025.pdf" in page and "Certificat SST.pdf" not in page
    assert "whose name contains “RELEVE”" in page
    page = html(owner.get("/vault", query_string={"tag": "stage"}, headers=EN))
    assert "Photo du stand.png" in page and "Certificat SST.pdf" in page and "Relevé" not in page
    assert 'href="/vault?tag=stage" aria-current="true"' in page
    page = html(owner.get("/vault", query_string={"tag": "stage", "q": "sst"}, headers=EN))
    assert "Certificat SST.pdf" in page and "Photo du stand.png" not in page
    page = html(owner.get("/vault", query_string={"q": "nothing like this"}, headers=EN))
    assert "No document matches this search." in page


def test_pages_of_documents_follow_each_other(owner, english):
    from app.vault.routes import PAGE_SIZE

    for n in range(PAGE_SIZE + 2):
        store(english, f"scan-{n:02d}.pdf", PDF)
    first = html(owner.get("/vault", headers=EN))
    assert f"scan-{PAGE_SIZE + 1:02d}.pdf" in first and "scan-01.pdf" not in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = html(owner.get(older, headers=EN))
    assert "scan-01.pdf" in second and "scan-00.pdf" in second and f"scan-{PAGE_SIZE + 1:02d}.pdf" not in second
    assert 'rel="next"' not in second and "Back to the newest" in second
    # A cursor that is not one of this person's documents starts at the top again.
    assert f"scan-{PAGE_SIZE + 1:02d}.pdf" in html(owner.get("/vault?after=nonsense", headers=EN))


# --- uploads ------------------------------------------------------------------------------------------

def test_plain_form_uploads_several_files_with_tags(owner, english):
    response = owner.post("/vault/upload", data={
        "csrf_token": token(owner), "tags": "Stage, attestation",
        "files": [(io.BytesIO(PDF), "attestation.pdf"), (io.BytesIO(png_bytes()), "photo.png")]},
        content_type="multipart/form-data", headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/vault")
    names = sorted(db.session.scalars(select(Document.name)))
    assert names == ["attestation.pdf", "photo.png"]
    assert all(d.tags == ["attestation", "stage"] for d in db.session.scalars(select(Document)))
    assert "2 documents added to your vault." in html(owner.get("/vault", headers=EN))


def test_plain_form_says_which_files_were_refused_and_keeps_the_others(owner, english):
    response = owner.post("/vault/upload", data={
        "csrf_token": token(owner),
        "files": [(io.BytesIO(b""), "vide.txt"), (io.BytesIO(PDF), "bon.pdf")]},
        content_type="multipart/form-data", headers=EN)
    page = html(response)
    assert response.status_code == 200
    assert "“vide.txt” is empty (0 bytes): nothing was added." in page
    assert "1 document added to your vault." in page
    assert list(db.session.scalars(select(Document.name))) == ["bon.pdf"]


def test_plain_form_without_a_file_asks_for_one(owner):
    response = owner.post("/vault/upload", data={"csrf_token": token(owner)},
                          content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422 and "Choose at least one file." in html(response)


def test_plain_form_refuses_a_bad_tag_once_next_to_the_field(owner):
    response = owner.post("/vault/upload", data={
        "csrf_token": token(owner), "tags": "x" * 300,
        "files": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PDF), "b.pdf")]},
        content_type="multipart/form-data", headers=EN)
    page = html(response)
    assert response.status_code == 422 and 'id="tags-error"' in page and "A tag has at most" in page
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    response = raw_upload(owner, "a.pdf", PDF, token(owner), tags="y" * 300)
    assert response.status_code == 422 and "A tag has at most" in response.get_json()["message"]


def test_raw_upload_answers_json_and_stores_the_file(owner, english):
    response = raw_upload(owner, "Mon CV.pdf", PDF, token(owner), tags="cv, 2026")
    assert response.status_code == 201
    body = response.get_json()
    document = db.session.get(Document, documents.policy.parse_id(body["id"]))
    assert body == {"id": str(document.id), "name": "Mon CV.pdf", "url": f"/vault/{document.id}"}
    assert document.tags == ["2026", "cv"] and document.content_type == "application/pdf"
    assert b"".join(documents.read(english, document)) == PDF


@pytest.mark.parametrize("setting,value,data,code,words", [
    (None, None, b"", "empty_file", "“upload.bin” is empty (0 bytes)"),
    ("VAULT_MAX_FILE_BYTES", 1024, b"x" * 2048, "file_too_large", "“upload.bin” is too large: a document may be at most 1 KB."),
    ("VAULT_QUOTA_BYTES", 3000, b"y" * 2048, "quota_exceeded", "“upload.bin” does not fit in your vault: 2 KB left of 2.9 KB."),
])
def test_raw_upload_refusals_in_plain_words(app, owner, english, setting, value, data, code, words):
    if code == "quota_exceeded":
        store(english, "first.bin", b"z" * 1000)
    if setting:
        app.config[setting] = value
    before = db.session.scalar(select(func.count()).select_from(Document))
    response = raw_upload(owner, "upload.bin", data, token(owner))
    body = response.get_json()
    assert response.status_code in (413, 422) and body["error"] == code
    assert words in body["message"]
    assert db.session.scalar(select(func.count()).select_from(Document)) == before


def test_raw_upload_takes_files_over_the_sites_general_body_limit(app, owner, english):
    """The vault's own limit applies to its uploads, not MAX_CONTENT_LENGTH (forms, photos, the API)."""
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = raw_upload(owner, "scan.bin", b"s" * 50_000, token(owner))
    assert response.status_code == 201
    assert db.session.scalar(select(Document.size)) == 50_000


def test_bodies_over_the_limit_are_refused_in_plain_words_before_reading(app, owner, english):
    app.config["VAULT_MAX_FILE_BYTES"] = 1000
    response = raw_upload(owner, "big.bin", b"b" * 5000, token(owner))
    assert response.status_code == 413 and response.get_json()["error"] == "file_too_large"
    # The plain form reads each file as it comes: each is refused on its own, in plain words.
    files = [(io.BytesIO(b"f" * 30_000), f"part-{n}.bin") for n in range(3)]
    response = owner.post("/vault/upload", data={"csrf_token": token(owner), "files": files},
                          content_type="multipart/form-data", headers=EN)
    page = html(response)
    assert response.status_code == 422
    assert all(f"“part-{n}.bin” is too large: a document may be at most 1,000 bytes." in page for n in range(3))
    # A body larger than the room left (plus one refused file) is refused before it is read.
    app.config["VAULT_QUOTA_BYTES"] = 50_000
    files = [(io.BytesIO(b"f" * 60_000), f"part-{n}.bin") for n in range(3)]
    response = owner.post("/vault/upload", data={"csrf_token": token(owner), "files": files},
                          content_type="multipart/form-data", headers=EN)
    assert response.status_code == 413
    assert "All together, the files you chose are larger than the 48.8 KB left in your vault." in html(response)
    item = experience_of(english)
    response = owner.post(f"/vault/evidence/experience/{item.id}/upload", data={
        "csrf_token": token(owner), "file": (io.BytesIO(b"g" * 200_000), "big.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert "All together, the files you chose are larger than" in html(owner.get(f"/experiences/{item.id}",
                                                                                    headers=EN))
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_plain_form_streams_without_werkzeug_spooling_the_files(app, owner, english, monkeypatch):
    """Neither the form parser (which spools files to temporary files) nor a temporary file is used."""
    from werkzeug import formparser
    from werkzeug.wrappers import Request

    def refuse(*args, **kwargs):
        raise AssertionError("the form was parsed: its files were spooled")

    monkeypatch.setattr(Request, "_get_file_stream", refuse)
    monkeypatch.setattr(formparser.MultiPartParser, "parse", refuse)
    data = png_bytes((1200, 900))
    response = owner.post("/vault/upload", data={"csrf_token": token(owner), "tags": "photo",
                                                 "files": [(io.BytesIO(data), "a.png"), (io.BytesIO(PDF), "b.pdf")]},
                          content_type="multipart/form-data")
    assert response.status_code == 302
    stored = {d.name: d for d in db.session.scalars(select(Document))}
    assert b"".join(documents.read(english, stored["a.png"])) == data and stored["a.png"].tags == ["photo"]
    assert b"".join(documents.read(english, stored["b.pdf"])) == PDF


def test_a_malformed_or_token_after_file_body_is_refused(owner):
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token(owner)}\r\n"
            f"--{boundary}--\r\n").encode()
    response = owner.post("/vault/upload", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400  # a file before the token: refused before a byte is stored
    response = owner.post("/vault/upload", data=body[:60], content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_upload_with_a_name_that_is_only_dots_is_refused(owner):
    response = raw_upload(owner, "..", PDF, token(owner))
    assert response.status_code == 422 and response.get_json()["error"] == "invalid_name"
    assert "is not a name we can keep" in response.get_json()["message"]


def test_storage_unavailable_on_upload_is_said_plainly(owner, monkeypatch):
    def down(*args, **kwargs):
        raise storage.StorageUnavailable("disk full")

    monkeypatch.setattr(storage.FileStorage, "put_stream", down)
    response = raw_upload(owner, "a.pdf", PDF, token(owner))
    assert response.status_code == 503 and response.get_json()["error"] == "storage_unavailable"
    assert "cannot be reached right now" in response.get_json()["message"]
    response = owner.post("/vault/upload", data={"csrf_token": token(owner), "files": (io.BytesIO(PDF), "a.pdf")},
                          content_type="multipart/form-data", headers=EN)
    assert response.status_code == 422 and "cannot be reached right now" in html(response)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


# --- one document --------------------------------------------------------------------------------------

def test_document_page_shows_details_and_saves_name_description_tags(owner, english):
    document = store(english, "scan.pdf", PDF, tags=["brouillon"])
    page = html(owner.get(f"/vault/{document.id}", headers=EN))
    assert "PDF document" in page and document.sha256 in page and f'href="/vault/{document.id}/download"' in page
    response = owner.post(f"/vault/{document.id}", data={
        "csrf_token": csrf_token(owner.get(f"/vault/{document.id}")), "name": "Attestation PFMP.pdf",
        "description": "Signed by the manager.", "tags": "Stage, attestation"}, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    document = db.session.get(Document, document.id)
    assert (document.name, document.description, document.tags) == (
        "Attestation PFMP.pdf", "Signed by the manager.", ["attestation", "stage"])
    assert "Document saved." in html(owner.get(f"/vault/{document.id}", headers=EN))


def test_document_page_refuses_an_empty_name_and_a_bad_tag_next_to_the_field(owner, english):
    document = store(english, "scan.pdf", PDF)
    csrf = csrf_token(owner.get(f"/vault/{document.id}"))
    response = owner.post(f"/vault/{document.id}", data={"csrf_token": csrf, "name": "  ",
                                                         "description": "", "tags": ""}, headers=EN)
    page = html(response)
    assert response.status_code == 422 and 'id="name-error"' in page and "Give the document a name" in page
    response = owner.post(f"/vault/{document.id}", data={"csrf_token": csrf, "name": "ok.pdf",
                                                         "description": "", "tags": "x" * 200}, headers=EN)
    assert response.status_code == 422 and 'id="tags-error"' in html(response)
    db.session.expire_all()
    assert db.session.get(Document, document.id).name == "scan.pdf"


def test_download_is_an_attachment_that_is_never_rendered(owner, english):
    document = store(english, "Relevé.pdf", PDF)
    response = owner.get(f"/vault/{document.id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"Releve.pdf\"; filename*=UTF-8''Relev%C3%A9.pdf")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.mimetype == "application/pdf" and response.content_length == len(PDF)
    response = owner.get(f"/vault/{document.id}/download", headers={"Range": "bytes=5-9"})
    assert response.status_code == 206 and response.data == PDF[5:10]
    assert response.headers["Content-Range"] == f"bytes 5-9/{len(PDF)}"
    page = store(english, "page.html", b"<!doctype html><script>alert(1)</script>")
    response = owner.get(f"/vault/{page.id}/download")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_a_damaged_or_unreachable_document_is_a_clear_error_page(app, owner, english, monkeypatch):
    document = store(english, "scan.pdf", PDF * 50)
    blob = Path(app.config["INSTANCE_PATH"]) / "blobs" / document.blob_key
    blob.write_bytes(blob.read_bytes()[:-1])
    response = owner.get(f"/vault/{document.id}/download", headers=EN)
    assert response.status_code == 500 and "Content-Disposition" not in response.headers
    assert "The stored copy of “scan.pdf” is damaged or missing" in html(response)
    blob.unlink()
    response = owner.get(f"/vault/{document.id}/download", headers=EN)
    assert response.status_code == 410 and "damaged or missing" in html(response)

    def down(*args, **kwargs):
        raise storage.StorageUnavailable("unreachable")

    monkeypatch.setattr(storage.FileStorage, "size", down)
    response = owner.get(f"/vault/{document.id}/download", headers=EN)
    assert response.status_code == 503 and "cannot be reached right now" in html(response)


def test_thumbnail_is_a_small_jpeg_of_the_image(owner, english):
    photo = store(english, "photo.png", png_bytes((1600, 1200)))
    response = owner.get(f"/vault/{photo.id}/thumbnail")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(response.data)).size) <= 320
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    text = store(english, "note.txt", b"plain words")
    assert owner.get(f"/vault/{text.id}/thumbnail").status_code == 404


def test_delete_asks_first_and_names_what_loses_its_evidence(owner, english):
    document = store(english, "attestation.pdf", PDF)
    item = experience_of(english)
    documents.link(db.session, english, document, item)
    db.session.commit()
    page = html(owner.get(f"/vault/{document.id}/delete", headers=EN))
    assert "Delete “attestation.pdf”?" in page and "Internship at the bakery" in page
    response = owner.post(f"/vault/{document.id}/delete", data={"csrf_token": csrf_token(
        owner.get(f"/vault/{document.id}/delete"))}, headers=EN)
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert "“attestation.pdf” deleted." in html(owner.get("/vault", headers=EN))
    assert owner.get(f"/vault/{document.id}").status_code == 404


def test_delete_during_a_storage_outage_changes_nothing_and_says_so(owner, english, monkeypatch):
    document = store(english, "attestation.pdf", PDF)
    csrf = csrf_token(owner.get(f"/vault/{document.id}/delete"))

    def down(*args, **kwargs):
        raise storage.StorageUnavailable("unreachable")

    monkeypatch.setattr(storage.FileStorage, "exists", down)
    response = owner.post(f"/vault/{document.id}/delete", data={"csrf_token": csrf}, headers=EN)
    assert response.status_code == 503 and "cannot be reached right now" in html(response)
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1


# --- evidence ------------------------------------------------------------------------------------------

def test_attach_a_vault_document_to_an_experience_and_detach_it(owner, english):
    document = store(english, "attestation.pdf", PDF)
    item = experience_of(english)
    page = html(owner.get(f"/experiences/{item.id}", headers=EN))
    assert "No document attached yet." in page and f'<option value="{document.id}">attestation.pdf</option>' in page
    response = owner.post(f"/vault/evidence/experience/{item.id}", data={
        "csrf_token": csrf_token(owner.get(f"/experiences/{item.id}")), "document_id": str(document.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/experiences/{item.id}#evidence")
    page = html(owner.get(f"/experiences/{item.id}", headers=EN))
    assert f'href="/vault/{document.id}">attestation.pdf</a>' in page and "“attestation.pdf” attached." in page
    assert f'<option value="{document.id}">' not in page  # not offered twice
    # The document says what it is evidence for.
    page = html(owner.get(f"/vault/{document.id}", headers=EN))
    assert f'href="/experiences/{item.id}#evidence">Internship at the bakery</a>' in page
    response = owner.post(f"/vault/evidence/experience/{item.id}/{document.id}/detach",
                          data={"csrf_token": csrf_token(owner.get(f"/experiences/{item.id}"))})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Document, document.id).experiences == []
    assert "It stays in your vault." in html(owner.get(f"/experiences/{item.id}", headers=EN))


def test_attach_and_detach_from_the_document_page(owner, english, stranger):
    document = store(english, "attestation.pdf", PDF)
    item = experience_of(english)
    _other, _theirs, their_experience = stranger
    page = html(owner.get(f"/vault/{document.id}", headers=EN))
    assert f'<option value="experience:{item.id}">Internship at the bakery</option>' in page
    assert str(their_experience.id) not in page
    csrf = csrf_token(owner.get(f"/vault/{document.id}"))
    refused = owner.post(f"/vault/{document.id}/evidence", data={
        "csrf_token": csrf, "target": f"experience:{their_experience.id}"})
    assert refused.status_code == 404
    response = owner.post(f"/vault/{document.id}/evidence", data={"csrf_token": csrf,
                                                                   "target": f"experience:{item.id}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/vault/{document.id}#evidence")
    page = html(owner.get(f"/vault/{document.id}", headers=EN))
    assert "“attestation.pdf” attached to “Internship at the bakery”." in page
    assert f'value="experience:{item.id}"' not in page
    response = owner.post(f"/vault/evidence/experience/{item.id}/{document.id}/detach",
                          data={"csrf_token": csrf, "back": "document"})
    assert response.headers["Location"].endswith(f"/vault/{document.id}#evidence")
    db.session.expire_all()
    assert db.session.get(Document, document.id).experiences == []
    assert owner.post(f"/vault/{document.id}/evidence", data={"target": f"experience:{item.id}"}).status_code == 400


def test_upload_and_attach_to_a_diploma_and_a_skill(owner, english):
    diploma = portfolio.create_item(db.session, english, Diploma, {"title": "SST", "awarded_on": "2025-03-21"})
    skill = portfolio.create_item(db.session, english, Skill, {"name": "Porter secours", "level": 3})
    db.session.commit()
    for kind, item, path in (("diploma", diploma, "diplomas"), ("skill", skill, "skills")):
        response = owner.post(f"/vault/evidence/{kind}/{item.id}/upload", data={
            "csrf_token": csrf_token(owner.get(f"/{path}/{item.id}")),
            "file": (io.BytesIO(PDF), f"certificat-{kind}.pdf")}, content_type="multipart/form-data")
        assert response.status_code == 302
        page = html(owner.get(f"/{path}/{item.id}", headers=EN))
        assert f"certificat-{kind}.pdf" in page and "added to your vault and attached" in page
    db.session.expire_all()
    assert [d.name for d in db.session.get(Diploma, diploma.id).evidence] == ["certificat-diploma.pdf"]
    assert [d.name for d in db.session.get(Skill, skill.id).evidence] == ["certificat-skill.pdf"]


def test_upload_and_attach_refused_leaves_nothing_and_says_why(owner, english):
    item = experience_of(english)
    response = owner.post(f"/vault/evidence/experience/{item.id}/upload", data={
        "csrf_token": csrf_token(owner.get(f"/experiences/{item.id}")), "file": (io.BytesIO(b""), "vide.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    assert "“vide.pdf” is empty (0 bytes)" in html(owner.get(f"/experiences/{item.id}", headers=EN))
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_vault_pages_are_in_french(owner, english):
    english.locale = "fr"
    db.session.commit()
    store(english, "photo.png", png_bytes(), tags=["stage"])
    page = html(owner.get("/vault"))
    assert "Mon coffre-fort" in page and "Ajouter des documents" in page and "Image (PNG)" in page
    assert "Ko" in page and "Espace utilisé" in page


# --- demo ----------------------------------------------------------------------------------------------

def test_demo_fills_ines_vault_once_with_real_files_linked_as_evidence(app):
    from app.vault import demo as vault_demo

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    ines = db.session.scalars(select(Document.portfolio_id).limit(1)).first()
    found = {d.name: d for d in db.session.scalars(select(Document).where(Document.portfolio_id == ines))}
    assert len(found) == 3
    certificate = found["Attestation PFMP — Jardinerie Vert Bocage.pdf"]
    photo = found["Îlot de Noël — rayon végétal.png"]
    assert certificate.content_type == "application/pdf" and "pfmp" in certificate.tags
    assert photo.content_type == "image/png" and photo.has_thumbnail
    assert [e.title for e in certificate.experiences] == ["PFMP — conseillère de vente au rayon végétal"]
    assert [s.name for s in photo.skills] == ["Appliquer les techniques de merchandising"]
    sst = found["Certificat SST — Inès Martin.pdf"]
    assert [d.title for d in sst.diplomas] == ["Certificat Sauveteur secouriste du travail (SST)"]
    # A real PDF: header, one page, its text, cross-reference table and trailer where they should be.
    data = vault_demo.pdf("Titre", ["Élève — « stage »"])
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert data[xref:xref + 4] == b"xref" and b"(\xc9l\xe8ve \x97 \xab stage \xbb) Tj" in data
    entries = re.findall(rb"(\d{10}) 00000 n ", data[xref:])
    assert len(entries) == 6
    for number, offset in enumerate(entries, start=1):
        assert data[int(offset):].startswith(b"%d 0 obj" % number)
    length = int(re.search(rb"/Length (\d+)", data).group(1))
    start = data.index(b"stream\n") + len(b"stream\n")
    assert data[start + length:].startswith(b"\nendstream")
    # Idempotent: a second run adds nothing.
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Document)) == 3
