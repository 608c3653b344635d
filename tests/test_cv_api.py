"""``/api/v1/cvs``: create (ranked), read, PATCH, regenerate, delete, the downloads, and the refusals
(no token, another person's CV or item, bad fields, an unknown target occupation, PDF unavailable)."""

from __future__ import annotations

import io

import pytest
from docx import Document

from app.extensions import db
from app.services import tokens
from cv_templates import pdf as pdf_renderer
from tests.cv_helpers import OFFER, build_portfolio, docx_text, is_docx, needs_pdf


@pytest.fixture
def owner(make_user):
    return make_user("ines@example.org", display_name="Inès Morel")


@pytest.fixture
def made(owner, make_user):
    return build_portfolio(owner, make_user("admin@croix.example"))


def _headers(person) -> dict:
    _, raw = tokens.create_token(db.session, person, "tests")
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def _create(client, headers, **body):
    return client.post("/api/v1/cvs", json={"name": "Acme", "target_text": OFFER, **body}, headers=headers)


def test_create_returns_the_ranked_selection_then_patch_and_download(client, owner, made):
    headers = _headers(owner)
    created = _create(client, headers, template="europass", language="en")
    assert created.status_code == 201, created.data
    data = created.get_json()
    assert data["template"] == "europass" and data["language"] == "en"
    first = data["ranking"][0]
    assert first["id"] == str(made["dev"].id) and "Python" in first["matched"] and first["selected"]
    assert {"type": "experience", "id": str(made["dev"].id)} in data["selection"]
    cv_id = data["id"]

    patched = client.patch(
        f"/api/v1/cvs/{cv_id}",
        headers=headers,
        json={
            "selection": [{"type": "experience", "id": str(made["waiter"].id)}],
            "summary": "Prête à apprendre.",
        },
    )
    assert patched.status_code == 200 and patched.get_json()["summary"] == "Prête à apprendre."
    docx = client.get(f"/api/v1/cvs/{cv_id}/docx", headers=headers)
    assert docx.status_code == 200 and is_docx(docx.data)
    assert "attachment" in docx.headers["Content-Disposition"] and docx.headers["Cache-Control"] == "no-store"
    text = "\n".join(docx_text(docx.data))
    assert "Serveuse" in text and "Stage développeuse" not in text and "Prête à apprendre." in text
    html = client.get(f"/api/v1/cvs/{cv_id}/html", headers=headers)
    assert html.status_code == 200 and html.mimetype == "text/html" and b"Serveuse" in html.data
    resume = client.get(f"/api/v1/cvs/{cv_id}/json-resume", headers=headers).get_json()
    assert [w["position"] for w in resume["work"]] == ["Serveuse"]
    whole = client.get("/api/v1/cvs/json-resume", headers=headers).get_json()
    assert len(whole["work"]) == 2
    listed = client.get("/api/v1/cvs", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [cv_id] and "ranking" not in listed[0]

    regenerated = client.post(f"/api/v1/cvs/{cv_id}/regenerate", headers=headers).get_json()
    assert {"type": "experience", "id": str(made["dev"].id)} in regenerated["selection"]
    assert client.delete(f"/api/v1/cvs/{cv_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/cvs/{cv_id}", headers=headers).status_code == 404


def test_pdf_and_preview(client, owner, made):
    needs_pdf()
    headers = _headers(owner)
    cv_id = _create(client, headers).get_json()["id"]
    pdf = client.get(f"/api/v1/cvs/{cv_id}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert "Stage développeuse Python" in pdf_renderer.text_of(pdf.data)
    preview = client.get(f"/api/v1/cvs/{cv_id}/preview.png", headers=headers)
    assert preview.status_code == 200 and preview.data.startswith(b"\x89PNG")


def test_pdf_unavailable_is_a_clear_503(client, owner, monkeypatch):
    headers = _headers(owner)
    cv_id = _create(client, headers).get_json()["id"]
    monkeypatch.setattr(pdf_renderer, "unavailable_reason", lambda: "cannot load library 'libpango-1.0-0'")
    for path in ("pdf", "preview.png"):
        answer = client.get(f"/api/v1/cvs/{cv_id}/{path}", headers=headers)
        assert answer.status_code == 503 and answer.get_json()["error"] == "pdf_unavailable"
    assert client.get(f"/api/v1/cvs/{cv_id}/docx", headers=headers).status_code == 200


def test_refusals(client, owner, made, make_user):
    headers = _headers(owner)
    assert client.post("/api/v1/cvs", json={"name": "X"}).status_code == 401
    occupation = _create(client, headers, target_occupation="http://data.europa.eu/esco/occupation/x")
    assert occupation.status_code == 422 and occupation.get_json()["error"] == "unknown_occupation"
    bad = _create(client, headers, template="fancy", colour="red")
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"template", "colour"}
    assert client.post("/api/v1/cvs", data="not json", headers=headers).status_code == 415
    assert (
        client.post("/api/v1/cvs", data="[1]", headers=headers, content_type="application/json").status_code
        == 400
    )
    cv_id = _create(client, headers).get_json()["id"]

    stranger = make_user("stranger@example.org")
    theirs = _headers(stranger)
    for method, path in (
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("get", "/docx"),
        ("get", "/html"),
        ("get", "/json-resume"),
        ("post", "/regenerate"),
    ):
        kwargs = {"json": {"name": "Mine"}} if method == "patch" else {}
        answer = getattr(client, method)(f"/api/v1/cvs/{cv_id}{path}", headers=theirs, **kwargs)
        assert answer.status_code == 404, (method, path)
    assert client.get("/api/v1/cvs/not-a-uuid", headers=headers).status_code == 404
    foreign = client.patch(f"/api/v1/cvs/{cv_id}", headers=theirs, json={"selection": []})
    assert foreign.status_code == 404
    own_patch = client.patch(
        f"/api/v1/cvs/{cv_id}",
        headers=headers,
        json={"selection": [{"type": "experience", "id": str(made["dev"].id), "extra": 1}]},
    )
    assert own_patch.status_code == 422 and own_patch.get_json()["error"] == "validation_error"


def test_huge_offer_and_bad_text_give_clear_errors(client, owner, made):
    headers = _headers(owner)
    big = _create(client, headers, target_text="données Python " * 7_000)  # 105 KB
    assert big.status_code == 201 and big.get_json()["ranking"][0]["matched"]
    control = _create(client, headers, name="Bad\x00name")
    assert control.status_code == 422 and "name" in control.get_json()["fields"]
    too_big = client.post("/api/v1/cvs", headers=headers, json={"name": "X", "target_text": "x" * 1_100_000})
    assert too_big.status_code == 413


def test_openapi_describes_the_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/cvs",
        "/api/v1/cvs/{cv_id}",
        "/api/v1/cvs/{cv_id}/docx",
        "/api/v1/cvs/{cv_id}/pdf",
        "/api/v1/cvs/{cv_id}/html",
        "/api/v1/cvs/{cv_id}/json-resume",
        "/api/v1/cvs/json-resume",
    } <= set(paths)


def test_docx_opens_with_a_title_and_language(client, owner, made):
    headers = _headers(owner)
    cv_id = _create(client, headers, language="en").get_json()["id"]
    document = Document(io.BytesIO(client.get(f"/api/v1/cvs/{cv_id}/docx", headers=headers).data))
    assert document.core_properties.title == "CV of Inès Morel" and document.core_properties.language == "en"


def test_renderings_are_rate_limited(app, client, owner):
    app.config["CV_RENDER_LIMIT"] = "2/minute"
    headers = _headers(owner)
    cv_id = _create(client, headers).get_json()["id"]
    answers = [client.get(f"/api/v1/cvs/{cv_id}/html", headers=headers).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert client.get(f"/api/v1/cvs/{cv_id}", headers=headers).status_code == 200  # reading is not limited
