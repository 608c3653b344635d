"""The Import page (upload, preview, confirm, cancel) and ``POST /api/v1/imports``, with their refusals."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Experience, Skill
from tests.conftest import PASSWORD
from tests.helpers import csrf_token

DATA = Path(__file__).parent / "data" / "import"


def count(model, user) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.portfolio_id == user.portfolio.id))


def upload(client, data: bytes, name: str, passphrase: str = ""):
    page = client.get("/import")
    # The token first, as the browser sends it (the form's order): the server reads the body as it comes.
    return client.post("/import", data={"csrf_token": csrf_token(page), "passphrase": passphrase,
                                        "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_upload_preview_confirm(logged_in, user):
    response = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "JSON Resume" in text and "Aide-soignante" in text and "Atelier mémoire" in text
    assert count(Experience, user) == 0  # nothing yet
    token = csrf_token(response)
    done = logged_in.post("/import/confirm", data={"csrf_token": token})
    assert done.status_code == 303 and "/import/jobs/" in done.headers["Location"]  # in the background
    done = logged_in.get(done.headers["Location"])
    assert done.status_code == 200 and "import-counts" in done.get_data(as_text=True)
    assert 'value="100"' in done.get_data(as_text=True) and "http-equiv" not in done.get_data(as_text=True)
    assert count(Experience, user) == 3
    # The same file again: everything is already there, and a second confirm finds no pending upload.
    again = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    assert "import-status-existing" in again.get_data(as_text=True)
    assert "import-status-new" not in again.get_data(as_text=True)
    logged_in.post("/import/confirm", data={"csrf_token": csrf_token(again)})
    assert count(Experience, user) == 3
    gone = logged_in.post("/import/confirm", data={"csrf_token": csrf_token(again)})
    assert gone.status_code == 410


def test_cancel_forgets_the_upload(logged_in, user, app):
    response = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    blobs = lambda: [p for p in Path(app.config["INSTANCE_PATH"]).rglob("import-*") if p.is_file()]  # noqa: E731
    assert len(blobs()) == 1  # the pending upload, encrypted
    assert b"Aide-soignante" not in blobs()[0].read_bytes()
    logged_in.post("/import/cancel", data={"csrf_token": csrf_token(response)})
    assert blobs() == []
    assert logged_in.post("/import/confirm", data={"csrf_token": csrf_token(response)}).status_code == 410
    assert count(Experience, user) == 0


def test_page_refusals_are_explained(logged_in, user, app):
    response = upload(logged_in, b"<!DOCTYPE x [<!ENTITY a 'b'>]><feed>&a;</feed>", "evil.xml")
    assert response.status_code == 422 and "DTD" in response.get_data(as_text=True)
    app.config["IMPORT_LIMITS"] = {"upload": 100}
    response = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    assert response.status_code == 413 and ("MiB" in response.get_data(as_text=True)
                                            or "Mio" in response.get_data(as_text=True))
    assert count(Experience, user) == 0


def test_upload_without_csrf_token_is_refused(logged_in, user):
    response = logged_in.post("/import", data={"file": (io.BytesIO(b"{}"), "a.json")},
                              content_type="multipart/form-data")
    assert response.status_code == 400
    assert count(Experience, user) == 0


def test_pages_need_a_signed_in_person(client):
    assert client.get("/import").status_code == 302
    assert client.post("/import/confirm").status_code in (302, 400)


def api_token(client, user) -> str:
    response = client.post("/api/v1/tokens", json={"email": user.email, "password": PASSWORD, "name": "t"})
    return response.get_json()["token"]


def test_api_dry_run_then_import(client, user):
    headers = {"Authorization": f"Bearer {api_token(client, user)}"}
    body = (DATA / "europass-v3.xml").read_bytes()
    dry = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(body), "cv.xml"), "dry_run": "true"})
    assert dry.status_code == 200, dry.get_json()
    result = dry.get_json()
    assert result["dry_run"] is True and result["format"] == "europass"
    assert result["counts"]["experiences"] == {"new": 2, "existing": 0, "invalid": 0}
    assert count(Experience, user) == 0
    done = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(body), "cv.xml")})
    assert done.status_code == 201 and count(Experience, user) == 2 and count(Skill, user) == 5
    again = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                        data={"file": (io.BytesIO(body), "cv.xml")})
    assert again.get_json()["counts"]["experiences"]["existing"] == 2 and count(Experience, user) == 2


def test_api_refusals(client, user, app):
    headers = {"Authorization": f"Bearer {api_token(client, user)}"}
    assert client.post("/api/v1/imports", data={"file": (io.BytesIO(b"{}"), "a.json")},
                       content_type="multipart/form-data").status_code == 401
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("leap2a.xml", b" " * (40 * 1024 * 1024))
    answer = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(bomb.getvalue()), "bomb.zip")})
    assert answer.status_code == 422 and answer.get_json()["error"] == "zip_bomb"
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("../../etc/cron.d/x", b"x")
    answer = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(slip.getvalue()), "slip.zip")})
    assert answer.get_json()["error"] == "unsafe_archive"
    answer = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b'{"version": 7}'), "x.json")})
    assert answer.status_code == 422 and answer.get_json()["error"] == "unknown_format"
    answer = client.post("/api/v1/imports", headers=headers, json={"file": "no"})
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_form"
    answer = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                         data={"dry_run": "true"})
    assert answer.status_code == 422 and "file" in answer.get_json()["fields"]
    app.config["IMPORT_LIMITS"] = {"upload": 1000}
    answer = client.post("/api/v1/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b" " * 5000 + b"{}"), "big.json")})
    assert answer.status_code == 413 and answer.get_json()["error"] == "file_too_large"
    assert count(Experience, user) == 0


def test_openapi_documents_the_route(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/imports" in spec["paths"]
    assert any(tag["name"] == "Import" for tag in spec["tags"])


def test_account_deletion_removes_pending_uploads_and_fingerprints(logged_in, user, app):
    from app.models.imports import ImportFingerprint
    from app.services import accounts, imports

    imports.apply(db.session, user, str(DATA / "resume.json"))
    db.session.commit()
    upload(logged_in, (DATA / "europass-v3.xml").read_bytes(), "cv.xml")  # left pending
    pending = [p for p in Path(app.config["INSTANCE_PATH"]).rglob("import-*") if p.is_file()]
    assert len(pending) == 1 and db.session.scalar(select(func.count()).select_from(ImportFingerprint)) > 0
    accounts.delete_account(db.session, user, PASSWORD)
    db.session.commit()
    assert [p for p in Path(app.config["INSTANCE_PATH"]).rglob("import-*") if p.is_file()] == []
    assert db.session.scalar(select(func.count()).select_from(ImportFingerprint)) == 0


def test_upload_without_csrf_token_keeps_the_pending_import(logged_in, user):
    """A cross-site POST (no token, no file) must not cancel the person's pending import (review 13, L2)."""
    response = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    assert response.status_code == 200
    assert logged_in.post("/import", data={}, content_type="multipart/form-data").status_code == 422
    forged = logged_in.post("/import", data={"file": (io.BytesIO(b"{}"), "a.json")},
                            content_type="multipart/form-data")
    assert forged.status_code == 400
    done = logged_in.post("/import/confirm", data={"csrf_token": csrf_token(response)}, follow_redirects=True)
    assert done.status_code == 200
    assert count(Experience, user) == 3


def test_imports_are_rate_limited(app, client, logged_in, user):
    """Review 13, M3: the page's upload and the API share one limit per address."""
    from app.services import tokens  # noqa: PLC0415

    app.config["IMPORT_LIMIT"] = "2/hour"
    assert upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json").status_code == 200
    _, raw = tokens.create_token(db.session, user, "tests")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    data = lambda: {"file": (io.BytesIO((DATA / "resume.json").read_bytes()), "resume.json"),  # noqa: E731
                    "dry_run": "true"}
    first = logged_in.post("/api/v1/imports", data=data(), headers=headers, content_type="multipart/form-data")
    assert first.status_code == 200
    again = logged_in.post("/api/v1/imports", data=data(), headers=headers, content_type="multipart/form-data")
    assert again.status_code == 429 and again.get_json()["error"]
    assert upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json").status_code == 429


def test_uploads_from_many_sessions_leave_one_pending_file(app, logged_in, user):
    """Review 13, L1: a pending upload abandoned in one session (a new log-in, a lost cookie) was never
    removed; now a person has one pending upload at most, and an older session's one is gone (410)."""
    from tests.conftest import login  # noqa: PLC0415

    blobs = lambda: [p for p in Path(app.config["INSTANCE_PATH"]).rglob("import-*") if p.is_file()]  # noqa: E731
    first = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    other = app.test_client()
    login(other, user.email)
    second = upload(other, (DATA / "resume.json").read_bytes(), "resume.json")
    assert first.status_code == second.status_code == 200
    assert len(blobs()) == 1
    assert logged_in.post("/import/confirm", data={"csrf_token": csrf_token(first)}).status_code == 410
    assert count(Experience, user) == 0
    assert other.post("/import/confirm", data={"csrf_token": csrf_token(second)},
                      follow_redirects=True).status_code == 200
    assert count(Experience, user) == 3 and blobs() == []


def test_background_import_progress_page_and_its_refusals(app, logged_in, user, make_user):
    """The page's import runs as a background job: its progress page refreshes itself (no script) while it
    waits, shows the percentage, then what was done; a job that cannot import says why and leaves the
    person's newer upload alone; another person's job or an unknown one answers 404."""
    from app.services import batches, imports  # noqa: PLC0415

    response = upload(logged_in, (DATA / "resume.json").read_bytes(), "resume.json")
    with logged_in.session_transaction() as browser:
        token = browser["import_pending"]["token"]
    waiting = imports.start_background(db.session, user, token, "resume.json")
    db.session.commit()
    page = logged_in.get(f"/import/jobs/{waiting.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and 'value="0"' in page and 'data-field="percent">0<' in page
    assert count(Experience, user) == 0
    # A stale job (its upload was replaced since): nothing imported, the newer upload stays pending.
    stale = imports.start_background(db.session, user, "0" * 32, "old.json")
    db.session.commit()
    batches.run_batch(str(stale.id))
    failed = logged_in.get(f"/import/jobs/{stale.id}").get_data(as_text=True)
    assert 'data-status="done"' in failed and "http-equiv" not in failed and 'role="alert"' in failed
    assert imports.is_pending(db.session, user, token)
    batches.run_batch(str(waiting.id))
    done = logged_in.get(f"/import/jobs/{waiting.id}").get_data(as_text=True)
    assert 'value="100"' in done and "import-counts" in done and count(Experience, user) == 3
    assert not imports.is_pending(db.session, user, token)  # the upload is consumed
    # Refusals.
    other = app.test_client()
    from tests.conftest import login  # noqa: PLC0415

    make_user("other@example.org")
    login(other, "other@example.org")
    assert other.get(f"/import/jobs/{waiting.id}").status_code == 404
    assert logged_in.get("/import/jobs/00000000-0000-4000-8000-000000000000").status_code == 404
    assert app.test_client().get(f"/import/jobs/{waiting.id}").status_code in (302, 401)
    assert response.status_code == 200


def test_a_failed_background_item_leaves_no_blob(app, user):
    """Work in a batch item's SAVEPOINT that fails: the blobs it wrote go (the outer transaction commits,
    so the end-of-transaction cleanup would never see them)."""
    import pytest  # noqa: PLC0415

    from app import storage  # noqa: PLC0415

    with pytest.raises(RuntimeError):
        with storage.delete_new_blobs_on_error(db.session):
            storage.put_stream("tests/orphan", iter([b"x"]))
            storage.delete_unless_committed(db.session, "tests/orphan")
            raise RuntimeError("the import failed")
    db.session.commit()
    assert not storage.exists("tests/orphan")
    storage.put_stream("tests/kept", iter([b"x"]))
    with storage.delete_new_blobs_on_error(db.session):  # no error: nothing deleted
        storage.delete_unless_committed(db.session, "tests/kept")
    db.session.commit()
    assert storage.exists("tests/kept")
