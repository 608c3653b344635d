"""The vault's documents service (``app.services.documents``): store, read, search, update, delete,
limits, names, tags, thumbnails, evidence; every fault of issue 8's "Bad input and faults" list at the
service level (the API's answers are in tests/test_documents_api.py)."""
from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import storage
from app.extensions import db
from app.models import Diploma, Document, DocumentTag, Experience, Portfolio, Skill, User
from app.services import accounts, documents, portfolio, vault_keys
from certs import vault
from tests.conftest import PASSWORD

KiB, MiB = 1024, 1024 * 1024


def pieces(data: bytes, size: int = 10_000):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def blobs(app) -> list[str]:
    """Every file in the instance's blob folder (temporary files included), relative."""
    root = Path(app.config["INSTANCE_PATH"]) / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored(user, name="note.txt", data=b"hello vault", **kwargs) -> Document:
    document = documents.store(db.session, user, name, pieces(data), **kwargs)
    db.session.commit()
    return document


def content(user, document, *args) -> bytes:
    return b"".join(documents.read(user, document, *args))


def png(width=800, height=600, **info) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    exif[0x8825] = {2: (48.0, 51.0, 0.0)}  # GPSInfo, latitude
    image.save(out, "PNG", exif=exif, **info)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x8825] = {2: (48.0, 51.0, 0.0), 4: (2.0, 21.0, 0.0)}
    Image.new("RGB", (1200, 900), (10, 120, 200)).save(out, "JPEG", exif=exif, comment=b"my secret comment")
    return out.getvalue()


# --- storing and reading -------------------------------------------------------------------------------

def test_store_encrypts_under_a_random_key_and_reads_back(app, user):
    data = os.urandom(300 * KiB + 17)
    document = stored(user, "Relevé de notes.pdf", b"%PDF-1.7\n" + data, tags=["Diplôme", " Lycée  2019 "],
                      description="Bac")
    assert document.size == len(data) + 9
    assert document.sha256 == hashlib.sha256(b"%PDF-1.7\n" + data).hexdigest()
    assert document.content_type == "application/pdf"
    assert document.tags == ["diplôme", "lycée 2019"] and document.description == "Bac"
    assert content(user, document) == b"%PDF-1.7\n" + data
    # The key names nothing: the owner's portfolio id and a random id, no name, no extension.
    portfolio_hex = user.portfolio.id.hex
    assert blobs(app) == [document.blob_key]
    prefix, owner, random_part = document.blob_key.split("/")
    assert (prefix, owner) == ("vault", portfolio_hex) and len(random_part) == 32
    assert "Relev" not in document.blob_key and str(document.id) not in document.blob_key
    raw = storage.get(document.blob_key)
    assert b"%PDF" not in raw and data[:64] not in raw
    assert len(raw) == vault.encrypted_size(document.size)


def test_ranges_read_only_what_is_asked(app, user):
    data = os.urandom(200 * KiB)
    document = stored(user, "video.bin", data)
    for start, length in ((0, 1), (65535, 2), (100_000, 100_000), (len(data) - 1, 1), (0, len(data))):
        assert content(user, document, start, length) == data[start:start + length]
    assert content(user, document, 150_000) == data[150_000:]
    for start, length in ((len(data), 1), (-1, 2), (10, len(data))):
        with pytest.raises(ValueError):
            documents.read(user, document, start, length)


def test_type_is_sniffed_from_content_not_name(app, user):
    assert stored(user, "photo.jpg", b"<html><script>alert(1)</script>").content_type == "text/html"
    assert stored(user, "x.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 50).content_type == "image/png"
    assert stored(user, "a.txt", os.urandom(5000) + b"\0").content_type == "application/octet-stream"
    svg = stored(user, "logo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>')
    assert svg.content_type == "image/svg+xml" and documents.served_type(svg) == "application/octet-stream"
    assert documents.sniff("Bonjour à tous\n".encode()) == "text/plain"
    assert documents.sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert documents.sniff(b"\0\0\0\x18ftypmp42") == "video/mp4"


def test_an_image_gets_an_encrypted_thumbnail_without_metadata(app, user):
    document = stored(user, "IMG_0001.jpg", jpeg_with_gps())
    assert document.has_thumbnail and document.content_type == "image/jpeg"
    raw = storage.get(document.thumbnail_key)
    assert b"\xff\xd8" not in raw[:64] and b"SecretCamera" not in raw
    thumb = documents.thumbnail(user, document)
    assert b"SecretCamera" not in thumb and b"my secret comment" not in thumb
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.format == "JPEG" and max(image.size) <= documents.THUMBNAIL_SIDE
        assert not image.getexif() and "comment" not in image.info
    assert not stored(user, "notes.txt", b"plain").has_thumbnail
    assert documents.thumbnail(user, stored(user, "n.txt", b"x")) is None


def test_a_decompression_bomb_is_stored_without_a_thumbnail(app, user):
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # a few KB on disk, 400 million pixels
    document = stored(user, "bomb.png", out.getvalue())
    assert document.content_type == "image/png" and not document.has_thumbnail
    assert content(user, document) == out.getvalue()


def test_a_pixel_flood_under_the_bomb_guard_is_stored_without_a_thumbnail(app, user, monkeypatch):
    """A PNG of 36 million pixels passes the decompression-bomb guard (40 million) but, a few hundred KB
    on the wire, would make each thumbnail decode take about 400 MB: an upload in every thread of every
    worker and the host runs out of memory. Non-JPEG sources above ``THUMBNAIL_MAX_PIXELS`` get no
    thumbnail, and are never decoded (JPEG decodes at a reduced scale, so a large photo keeps one)."""
    decoded = []
    monkeypatch.setattr(documents.photos, "normalise",
                        lambda data, *a, _real=documents.photos.normalise, **k: decoded.append(1) or
                        _real(data, *a, **k))
    out = io.BytesIO()
    Image.new("RGB", (6000, 6000), (1, 2, 3)).save(out, "PNG")
    flood = stored(user, "flood.png", out.getvalue())
    assert flood.content_type == "image/png" and not flood.has_thumbnail and decoded == []
    assert content(user, flood) == out.getvalue()
    out = io.BytesIO()
    Image.new("RGB", (6000, 6000), (1, 2, 3)).save(out, "JPEG")
    assert stored(user, "photo.jpg", out.getvalue()).has_thumbnail  # decoded at 1/8 scale
    assert stored(user, "screen.png", png(3840, 2160)).has_thumbnail  # a 4K screenshot still has one


# --- names and tags ------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\cv.pdf", "cv.pdf"),
    ("/var/tmp/../x.txt", "x.txt"),
    ("bad\x00na\x1bme\r\n.txt", "bad na me .txt"),
    ("invoice\u202egpj.exe", "invoice gpj.exe"),  # the right-to-left override that hides ".exe"
    ("  spaced   out  .pdf ", "spaced out .pdf"),
    ("é" * 300 + ".pdf", "é" * 251 + ".pdf"),
])
def test_names_lose_paths_and_control_characters(app, user, given, kept):
    assert stored(user, given).name == kept
    assert len(kept) <= 255


@pytest.mark.parametrize("bad", ["", "   ", "../", "..", ".", "a/b/", "\x00\x01", "\u202e", None, 42])
def test_empty_names_are_refused_and_nothing_is_stored(app, user, bad):
    with pytest.raises(documents.InvalidName) as refused:
        documents.store(db.session, user, bad, [b"data"])
    assert refused.value.code == "invalid_name"
    db.session.rollback()
    assert blobs(app) == [] and db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_tags_are_normalised_and_bounded(app, user):
    assert documents.clean_tags("École, école ,, CV") == ["cv", "école"]
    with pytest.raises(documents.ValidationFailed):
        documents.clean_tags(["x" * 41])
    with pytest.raises(documents.ValidationFailed):
        documents.clean_tags([f"t{i}" for i in range(21)])
    with pytest.raises(documents.ValidationFailed):
        documents.clean_tags(["bad\x07tag"])
    with pytest.raises(documents.ValidationFailed):
        documents.clean_tags([3])


# --- search, update, delete -----------------------------------------------------------------------------

def test_search_by_name_ignoring_case_and_accents_and_by_tag(app, user, make_user):
    one = stored(user, "Relevé de notes.pdf", b"1", tags=["diplome"])
    two = stored(user, "CV 2024.docx", b"2", tags=["cv", "diplome"])
    stored(user, "100%_sure.txt", b"3")
    other = make_user()
    stored(other, "Relevé secret.pdf", b"4", tags=["diplome"])
    names = lambda found: [d.name for d in found]  # noqa: E731
    assert names(documents.search(db.session, user, q="RELEVE")) == ["Relevé de notes.pdf"]
    assert names(documents.search(db.session, user, tag="Diplome")) == [two.name, one.name]
    assert names(documents.search(db.session, user, q="cv", tag="diplome")) == [two.name]
    assert names(documents.search(db.session, user, q="%")) == ["100%_sure.txt"]
    assert names(documents.search(db.session, user, q="_")) == ["100%_sure.txt"]
    assert len(documents.search(db.session, user)) == 3
    assert documents.all_tags(db.session, user) == [("cv", 1), ("diplome", 2)]


def test_update_renames_describes_retags(app, user):
    document = stored(user, "a.txt", tags=["one"])
    documents.update(db.session, user, document, name="../b.txt", description="About b",
                     tags=["Two", "three"])
    db.session.commit()
    db.session.expire_all()
    assert (document.name, document.description, document.tags) == ("b.txt", "About b", ["three", "two"])
    assert documents.search(db.session, user, q="b.t")[0].id == document.id
    with pytest.raises(documents.InvalidName):
        documents.update(db.session, user, document, name="/", description="changed")
    db.session.rollback()
    assert document.description == "About b"


def test_delete_removes_row_tags_and_blobs_after_commit(app, user):
    document = stored(user, "p.png", png())
    keys = {document.blob_key, document.thumbnail_key}
    assert set(blobs(app)) == keys
    documents.delete(db.session, user, document)
    db.session.rollback()  # not committed: everything stays
    assert set(blobs(app)) == keys
    documents.delete(db.session, user, db.session.get(Document, document.id))
    db.session.commit()
    assert blobs(app) == [] and db.session.scalar(select(func.count()).select_from(DocumentTag)) == 0


# --- someone else's document ------------------------------------------------------------------------------

def test_another_owners_document_is_not_found_everywhere(app, user, make_user):
    other = make_user()
    theirs = stored(other, "theirs.txt", b"secret", tags=["x"])
    mine = stored(user, "mine.txt")
    experience = portfolio.create_item(db.session, user, Experience,
                                       {"kind": "job", "title": "Baker", "start_date": "2020-01-01"})
    their_experience = portfolio.create_item(db.session, other, Experience,
                                             {"kind": "job", "title": "Spy", "start_date": "2020-01-01"})
    db.session.commit()
    with pytest.raises(documents.DocumentNotFound):
        documents.get(db.session, user, theirs.id)
    for call in (lambda: documents.read(user, theirs), lambda: documents.thumbnail(user, theirs),
                 lambda: documents.update(db.session, user, theirs, name="mine now"),
                 lambda: documents.delete(db.session, user, theirs),
                 lambda: documents.link(db.session, user, theirs, experience)):
        with pytest.raises(documents.DocumentNotFound):
            call()
    with pytest.raises(documents.ServiceError) as refused:
        documents.link(db.session, user, mine, their_experience)
    assert refused.value.status == 404
    db.session.rollback()
    assert documents.search(db.session, user, tag="x") == []
    assert documents.get(db.session, other, theirs.id).name == "theirs.txt"
    with pytest.raises(documents.DocumentNotFound):
        documents.get(db.session, user, "not-a-uuid")


# --- evidence -----------------------------------------------------------------------------------------

def test_link_and_unlink_evidence_on_each_kind_of_item(app, user):
    first, second = stored(user, "a.pdf"), stored(user, "b.pdf")
    items = [
        portfolio.create_item(db.session, user, Experience,
                              {"kind": "job", "title": "Baker", "start_date": "2020-01-01"}),
        portfolio.create_item(db.session, user, Diploma, {"title": "CAP"}),
        portfolio.create_item(db.session, user, Skill, {"name": "Kneading", "level": 3}),
    ]
    db.session.commit()
    for item in items:
        documents.link(db.session, user, second, item)
        documents.link(db.session, user, first, item)
        documents.link(db.session, user, first, item)  # twice is once
        db.session.commit()
        assert [d.name for d in documents.evidence(db.session, item)] == ["a.pdf", "b.pdf"]
        assert documents.evidence_ids(db.session, type(item), [item.id]) == {item.id: [first.id, second.id]}
        documents.unlink(db.session, user, first, item)
        documents.unlink(db.session, user, first, item)
        db.session.commit()
        assert documents.evidence(db.session, item) == [second]
    experience = items[0]
    documents.link(db.session, user, first, experience)
    db.session.delete(experience)  # deleting the item removes its links, not the documents
    db.session.commit()
    assert documents.get(db.session, user, first.id) is first
    items = items[1:]
    documents.delete(db.session, user, second)  # deleting the document removes the links
    db.session.commit()
    assert all(documents.evidence(db.session, item) == [] for item in items)
    journal = portfolio.create_item(db.session, user, portfolio.JournalEntry, {"title": "t"})
    with pytest.raises(documents.ServiceError):
        documents.link(db.session, user, first, journal)


def test_attaching_the_same_document_from_two_tabs_at_once(app, user):
    """Both requests load the item's evidence before either writes: the second used to insert the same
    link again and fail on the primary key (a 500 for a double click); it is once, quietly."""
    document = stored(user, "a.pdf")
    skill = portfolio.create_item(db.session, user, Skill, {"name": "Kneading", "level": 3})
    db.session.commit()
    assert documents.evidence(db.session, skill) == [] and list(skill.evidence) == []  # loaded here
    revision = db.session.scalar(select(Portfolio.revision).where(Portfolio.id == skill.portfolio_id))
    with Session(bind=db.engine) as other_tab:
        person = other_tab.get(User, user.id)
        documents.link(other_tab, person, other_tab.get(Document, document.id),
                       other_tab.get(Skill, skill.id))
        other_tab.commit()
    documents.link(db.session, user, document, skill)
    db.session.commit()
    assert documents.evidence(db.session, skill) == [document]
    # The link made counts once in the portfolio's revision (which keys the cached pages).
    after = db.session.scalar(select(Portfolio.revision).where(Portfolio.id == skill.portfolio_id))
    assert after == revision + 1


# --- limits and faults -----------------------------------------------------------------------------------

def test_an_empty_file_is_refused_and_leaves_nothing(app, user):
    with pytest.raises(documents.EmptyFile):
        documents.store(db.session, user, "empty.txt", iter([b"", b""]))
    db.session.rollback()
    assert blobs(app) == [] and documents.usage(db.session, user)[0] == 0


def test_a_file_over_the_limit_stops_while_streaming(app, user):
    app.config["VAULT_MAX_FILE_BYTES"] = 100 * KiB
    read = []

    def body():
        for i in range(50):
            read.append(i)
            yield bytes(10 * KiB)

    with pytest.raises(documents.FileTooLarge) as refused:
        documents.store(db.session, user, "big.bin", body())
    assert refused.value.code == "file_too_large" and refused.value.status == 413
    assert len(read) == 11  # it stopped at the first piece over the limit, not at the end
    with pytest.raises(documents.FileTooLarge):  # announced too large: refused before reading
        documents.store(db.session, user, "big.bin", body(), declared_size=200 * KiB)
    assert len(read) == 11
    db.session.rollback()
    assert blobs(app) == []
    assert stored(user, "just.bin", bytes(100 * KiB)).size == 100 * KiB  # exactly the limit is fine


def test_quota_exceeded_mid_upload_leaves_the_quota_unchanged(app, user):
    app.config["VAULT_QUOTA_BYTES"] = 300 * KiB
    stored(user, "first.bin", bytes(200 * KiB))
    before = blobs(app)
    with pytest.raises(documents.QuotaExceeded) as refused:
        documents.store(db.session, user, "second.bin", pieces(bytes(150 * KiB)))
    assert refused.value.code == "quota_exceeded"
    with pytest.raises(documents.QuotaExceeded):
        documents.store(db.session, user, "second.bin", pieces(b"x"), declared_size=101 * KiB)
    db.session.rollback()
    assert blobs(app) == before and documents.usage(db.session, user) == (200 * KiB, 300 * KiB)
    stored(user, "fits.bin", bytes(100 * KiB))
    assert documents.usage(db.session, user) == (300 * KiB, 300 * KiB)


class ClientGone(OSError):
    """What a request stream raises when the client disconnects."""


def test_a_client_disconnecting_mid_upload_leaves_nothing(app, user):
    def body():
        yield b"%PDF-" + bytes(200 * KiB)
        yield bytes(200 * KiB)
        raise ClientGone("connection reset")

    with pytest.raises(ClientGone):
        documents.store(db.session, user, "half.pdf", body())
    db.session.rollback()
    assert blobs(app) == [] and documents.usage(db.session, user)[0] == 0
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_storage_unavailable_on_upload_changes_nothing(app, user, monkeypatch):
    def down(*args, **kwargs):
        raise storage.StorageUnavailable("disk full")

    monkeypatch.setattr(storage.FileStorage, "put_stream", down)
    with pytest.raises(documents.StorageDown) as refused:
        documents.store(db.session, user, "a.txt", [b"data"])
    assert refused.value.code == "storage_unavailable" and refused.value.status == 503
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_storage_unavailable_on_read_and_delete_is_clear(app, user, monkeypatch):
    document = stored(user, "a.txt", b"data")

    def down(*args, **kwargs):
        raise storage.StorageUnavailable("unreachable")

    monkeypatch.setattr(storage.FileStorage, "size", down)
    with pytest.raises(documents.StorageDown):
        documents.read(user, document)


def _damage(app, document, change) -> None:
    path = Path(app.config["INSTANCE_PATH"]) / "blobs" / document.blob_key
    path.write_bytes(change(path.read_bytes()))


@pytest.mark.parametrize("change", [
    lambda raw: raw[:-1],  # truncated by one byte
    lambda raw: raw[:vault.HEADER_SIZE + vault.SEALED_CHUNK_SIZE],  # cut at a chunk boundary
    lambda raw: raw + b"\0" * 16,  # extended
    lambda raw: raw[:10] + bytes([raw[10] ^ 1]) + raw[11:],  # header altered
    lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:],  # first chunk altered
], ids=["truncated", "cut-at-chunk", "extended", "header", "first-chunk"])
def test_a_damaged_blob_is_refused_before_any_byte(app, user, change):
    document = stored(user, "a.bin", os.urandom(150 * KiB))
    _damage(app, document, change)
    with pytest.raises(documents.DocumentCorrupted) as refused:
        documents.read(user, document)
    assert refused.value.code == "document_corrupted"
    with pytest.raises(documents.DocumentCorrupted):
        documents.read(user, document, 0, 10)


def test_a_chunk_altered_late_fails_the_stream_after_the_good_chunks_only(app, user):
    data = os.urandom(3 * vault.CHUNK_SIZE)
    document = stored(user, "a.bin", data)
    offset = vault.HEADER_SIZE + 2 * vault.SEALED_CHUNK_SIZE + 5
    _damage(app, document, lambda raw: raw[:offset] + bytes([raw[offset] ^ 1]) + raw[offset + 1:])
    received = bytearray()
    with pytest.raises(documents.DocumentCorrupted):
        for piece in documents.read(user, document):
            received += piece
    assert bytes(received) == data[:len(received)] and len(received) < len(data)  # never a wrong byte
    with pytest.raises(documents.DocumentCorrupted):
        content(user, document, 2 * vault.CHUNK_SIZE, 10)
    assert content(user, document, 0, 10) == data[:10]  # the intact chunks still serve a range


def test_a_blob_swapped_for_another_documents_is_refused(app, user):
    one, two = stored(user, "a.bin", b"A" * 1000), stored(user, "b.bin", b"B" * 1000)
    _damage(app, one, lambda raw: storage.get(two.blob_key))
    with pytest.raises(documents.DocumentCorrupted):
        content(user, one)


def test_a_missing_blob_is_a_clear_error(app, user):
    document = stored(user, "a.bin", b"data")
    storage.delete(document.blob_key)
    with pytest.raises(documents.DocumentCorrupted) as refused:
        documents.read(user, document)
    assert refused.value.status == 410


# --- account deletion ------------------------------------------------------------------------------------

def test_deleting_the_account_shreds_the_key_then_deletes_every_blob(app, user, make_user):
    other = make_user()
    keep = stored(other, "kept.txt", b"other's")
    for i in range(3):
        stored(user, f"doc{i}.png", png(50, 50))
    assert len(blobs(app)) == 7
    accounts.delete_account(db.session, user, PASSWORD)
    db.session.commit()
    assert blobs(app) == [keep.blob_key]
    assert db.session.scalar(select(func.count()).select_from(Document)) == 1
    assert db.session.scalar(select(func.count()).select_from(vault_keys.VaultKey)) == 1
    assert content(other, keep) == b"other's"


def test_two_uploads_at_once_cannot_overshoot_the_quota_together(app, user):
    """Both uploads pass the streaming check (each fits alone), then both reach the database: the
    second to flush waits for the first to commit and, counting again, is refused."""
    app.config["VAULT_QUOTA_BYTES"] = 150 * KiB
    both_streamed = threading.Barrier(2, timeout=30)
    outcomes: list = []

    def body():
        yield bytes(100 * KiB)
        both_streamed.wait()  # neither has flushed its row yet

    user_id = user.id  # read here: ``user`` belongs to the test's session, which no thread may touch

    def upload(name):
        """One request: its own application context and its own session, on a connection of its own."""
        with app.app_context(), Session(bind=db.engine) as session:
            try:
                documents.store(session, session.get(User, user_id), name, body())
                session.commit()
                outcomes.append("stored")
            except documents.QuotaExceeded:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=upload, args=(f"{i}.bin",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused", "stored"]
    db.session.expire_all()
    assert documents.usage(db.session, user)[0] == 100 * KiB and len(blobs(app)) == 1
