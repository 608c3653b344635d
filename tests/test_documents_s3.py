"""The vault on S3-compatible storage (SeaweedFS, which checks signatures; see tests/test_storage.py for
how it is started and found): the same document operations and faults as on local files, through the
application configured with ``STORAGE_URL=s3://bucket/prefix``. Skipped without SeaweedFS, except in CI."""
from __future__ import annotations

import io
import os
import uuid

import pytest
from PIL import Image
from sqlalchemy import func, select

from app import create_app, storage
from app.extensions import db
from app.models import Document
from app.services import accounts, documents
from certs import vault
from tests.conftest import PASSWORD, FreshClient, release_database
from tests.test_storage import BUCKET, S3_KEY, S3_SECRET, S3_URL, _need_s3, s3_client  # noqa: F401

KiB, MiB = 1024, 1024 * 1024


@pytest.fixture
def s3_app(app_settings, s3_client):  # noqa: F811 - the fixture imported above
    prefix = f"t-{uuid.uuid4().hex}"
    app_settings.update(STORAGE_URL=f"s3://{BUCKET}/{prefix}", S3_ENDPOINT_URL=S3_URL, S3_REGION="us-east-1",
                        S3_ACCESS_KEY_ID=S3_KEY, S3_SECRET_ACCESS_KEY=S3_SECRET)
    app = create_app(app_settings)
    app.test_client_class = FreshClient
    with app.app_context():
        yield app
        release_database()
    listing = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    for item in listing.get("Contents", []):
        s3_client.delete_object(Bucket=BUCKET, Key=item["Key"])


@pytest.fixture
def owner(s3_app):
    user = accounts.create_user(db.session, email="s3owner@example.org", password=PASSWORD, verified=True)
    db.session.commit()
    return user


def objects(app, client) -> list[str]:
    """Every object and pending multipart upload under the app's prefix, relative to it."""
    prefix = storage.backend().prefix + "/"
    found = [item["Key"][len(prefix):]
             for item in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    pending = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
    return sorted(found + [f"upload:{item['Key']}" for item in pending])


def generated(size: int, stop_at: int | None = None, error: Exception | None = None):
    block = os.urandom(MiB)
    sent = 0
    while sent < size:
        if stop_at is not None and sent >= stop_at:
            raise error
        piece = block[:min(MiB, size - sent)]
        sent += len(piece)
        yield piece


def test_store_read_range_thumbnail_delete_on_s3(s3_app, owner, s3_client):  # noqa: F811
    data = os.urandom(9 * MiB + 123)  # more than one 8 MiB part: a multipart upload
    document = documents.store(db.session, owner, "scan.pdf", iter([b"%PDF-" + data]), tags=["x"])
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "blue").save(out, "JPEG")
    image = documents.store(db.session, owner, "photo.jpg", [out.getvalue()])
    db.session.commit()
    assert objects(s3_app, s3_client) == sorted([document.blob_key, image.blob_key, image.thumbnail_key])
    assert all("scan" not in key and "photo" not in key for key in objects(s3_app, s3_client))
    assert b"".join(documents.read(owner, document)) == b"%PDF-" + data
    start = 8 * MiB - 3  # across the first part boundary
    assert b"".join(documents.read(owner, document, start, 70_000)) == (b"%PDF-" + data)[start:start + 70_000]
    assert documents.thumbnail(owner, image)[:2] == b"\xff\xd8"
    documents.delete(db.session, owner, document)
    db.session.commit()
    assert objects(s3_app, s3_client) == sorted([image.blob_key, image.thumbnail_key])


@pytest.mark.parametrize("fault", ["client_gone", "quota", "too_large"])
def test_an_upload_stopped_midway_leaves_no_object_nor_pending_upload(
        s3_app, owner, s3_client, fault):  # noqa: F811
    s3_app.config.update(VAULT_QUOTA_BYTES=12 * MiB, VAULT_MAX_FILE_BYTES=20 * MiB)
    if fault == "client_gone":
        chunks = generated(20 * MiB, stop_at=10 * MiB, error=ConnectionResetError())
        expected = ConnectionResetError
    elif fault == "quota":
        chunks, expected = generated(15 * MiB), documents.QuotaExceeded
    else:
        s3_app.config["VAULT_MAX_FILE_BYTES"] = 9 * MiB
        chunks, expected = generated(15 * MiB), documents.FileTooLarge
    with pytest.raises(expected):
        documents.store(db.session, owner, "big.bin", chunks)
    db.session.rollback()
    assert objects(s3_app, s3_client) == []
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert documents.usage(db.session, owner)[0] == 0


@pytest.mark.parametrize("damage", ["truncated", "altered", "missing"])
def test_a_damaged_object_is_refused_before_any_byte(s3_app, owner, s3_client, damage):  # noqa: F811
    document = documents.store(db.session, owner, "a.bin", [os.urandom(200 * KiB)])
    db.session.commit()
    raw = storage.get(document.blob_key)
    if damage == "truncated":
        storage.put(document.blob_key, raw[:-1])
    elif damage == "altered":
        storage.put(document.blob_key, raw[:60] + bytes([raw[60] ^ 4]) + raw[61:])
    else:
        storage.delete(document.blob_key)
    with pytest.raises(documents.DocumentCorrupted) as refused:
        documents.read(owner, document)
    assert refused.value.status == (410 if damage == "missing" else 500)
    assert len(raw) == vault.encrypted_size(document.size)


def test_account_deletion_removes_every_object_of_the_owner(s3_app, owner, s3_client):  # noqa: F811
    other = accounts.create_user(db.session, email="s3other@example.org", password=PASSWORD, verified=True)
    kept = documents.store(db.session, other, "kept.txt", [b"kept"])
    for i in range(3):
        documents.store(db.session, owner, f"{i}.txt", [b"gone %d" % i])
    db.session.commit()
    assert len(objects(s3_app, s3_client)) == 4
    accounts.delete_account(db.session, owner, PASSWORD)
    db.session.commit()
    assert objects(s3_app, s3_client) == [kept.blob_key]


def test_refused_credentials_are_storage_unavailable_and_change_nothing(
        app_settings, s3_client):  # noqa: F811
    app_settings.update(STORAGE_URL=f"s3://{BUCKET}/t-{uuid.uuid4().hex}", S3_ENDPOINT_URL=S3_URL,
                        S3_REGION="us-east-1", S3_ACCESS_KEY_ID=S3_KEY,
                        S3_SECRET_ACCESS_KEY="x" + S3_SECRET[1:])
    app = create_app(app_settings)
    app.test_client_class = FreshClient
    with app.app_context():
        try:
            user = accounts.create_user(db.session, email="s3bad@example.org", password=PASSWORD,
                                        verified=True)
            db.session.commit()
            with pytest.raises(documents.StorageDown):
                documents.store(db.session, user, "a.txt", [b"data"])
            db.session.rollback()
            assert db.session.scalar(select(func.count()).select_from(Document)) == 0
        finally:
            release_database()
