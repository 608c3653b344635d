"""Exports (issue 11): the owner's data carried away as one ZIP (docs/export-format.md), optionally
encrypted with a passphrase, built by a background job, downloaded through a link that expires.

- ``request_export`` checks the choice and the passphrase, derives the key at once (Argon2id) and keeps
  only that key, sealed by the master key, on the ``Export`` row: the passphrase is never stored nor
  queued. ``run_export`` (the job) builds the ZIP and stores it; the sealed key goes once it is used.
- Streaming throughout: the ZIP is written entry by entry to a temporary file (a document passes through
  in 64 KiB pieces, decrypted from the vault and hashed on the way), then streamed — encrypted if asked —
  into storage. Nothing is ever whole in memory, whatever the size of the vault.
- ``write_zip`` is shared by the job and ``sillage export`` (which writes to the operator's file).
- ``portfolio.json`` is ``app.services.export_portfolio.build_portfolio`` (re-exported here: the
  contract the import reads).

Like every service: takes the session and the acting user, flushes; the job commits its progress.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs, storage
from app.database import utcnow
from app.extensions import db
from app.models import Document, User
from app.models.exports import Export
from app.services import export_formats
from app.services.errors import Conflict, NotFound, ServiceError
from app.services.export_portfolio import (  # noqa: F401 - the contract others import from here
    FORMAT, ITEM_SECTIONS, PHOTO_PATH, SECTIONS, VERSION, Selection, build_portfolio, clean_selection,
    counts, credential_entries, credential_paths, document_path,
)
from badges.formats import looks_like_jws
from certs import export_cipher, vault
from certs.keys import seal, unseal

log = logging.getLogger(__name__)

PIECE = 1024 * 1024  # bytes read from the temporary file at a time
LINK_HOURS = 72  # default lifetime of a download link (SILLAGE_EXPORT_LINK_HOURS)
KEEP_DAYS = 30  # finished rows (without their file) stay listed this long
IN_PROGRESS = ("queued", "running")
MANIFEST = "manifest.json"
_STORED = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "application/zip",
           "video/mp4", "audio/mpeg"}


def link_lifetime() -> timedelta:
    return timedelta(hours=int(current_app.config.get("EXPORT_LINK_HOURS") or LINK_HOURS))


# --- requesting ----------------------------------------------------------------------------------------

def _seal_key(export: Export, key: bytes) -> None:
    from app.services import vault_keys  # noqa: PLC0415 - vault_keys imports the models, as this does

    ring = vault_keys.keyring()
    export.sealed_private_key = seal(key, ring.wrapping.encode("utf-8"), _aad(export.id),
                                     purpose=vault_keys.EXPORT_PURPOSE)
    export.master_key_id = ring.wrapping_id


def _unseal_key(export: Export) -> bytes:
    from app.services import vault_keys  # noqa: PLC0415

    master = vault_keys.keyring().keys.get(export.master_key_id)
    if master is None or export.sealed_private_key is None:
        raise ServiceError("the export's key is gone", code="export_key_missing", status=500)
    return unseal(export.sealed_private_key, master.encode("utf-8"), _aad(export.id),
                  purpose=vault_keys.EXPORT_PURPOSE)


BLOB_AAD = b"sillage/export-blob/v1\x00"


def _blob_aad(export_id: uuid.UUID) -> bytes:
    return BLOB_AAD + str(export_id).encode("ascii")


def at_rest(export: Export) -> bool:
    """Whether the stored file of ``export`` is sealed with its own key (every export without a
    passphrase since review 13: it holds the vault's documents decrypted, and lies outside the owner's
    vault prefix, so the vault's crypto-shredding does not reach it). The key is ``sealed_private_key``
    (sealed by the master key like a passphrase's key, so ``rotate-master`` re-seals it too); it is
    wiped at expiry, failure and account deletion, after which any copy left in storage is unreadable.
    An export with a passphrase needs no second layer: its key is wiped once the file is written."""
    return not export.encrypted and export.sealed_private_key is not None


def _aad(export_id: uuid.UUID) -> bytes:
    from app.services.vault_keys import EXPORT_AAD  # noqa: PLC0415

    return EXPORT_AAD + str(export_id).encode("ascii")


def request_export(session: Session, user: User, *, selection=None, passphrase: str | None = None) -> Export:
    """A new export of ``user``'s data (``selection``: see ``clean_selection``), to be run by
    ``enqueue`` once committed. One at a time per person: another one still queued or running is a
    ``Conflict`` (``export_in_progress``). A passphrase shorter than 8 characters is refused
    (``weak_passphrase``, 422). Flushes."""
    chosen = clean_selection(selection)
    if passphrase is not None and passphrase != "":
        try:
            export_cipher.check_passphrase(passphrase)
        except export_cipher.ExportCipherError:
            raise ServiceError(str(_l("The passphrase must have 8 to 1,024 characters.")), code="weak_passphrase",
                               status=422, fields={"passphrase": str(_l("8 to 1,024 characters."))}) from None
    else:
        passphrase = None
    busy = session.scalar(select(Export.id).where(Export.user_id == user.id, Export.status.in_(IN_PROGRESS)))
    if busy is not None:
        raise Conflict(str(_l("An export is already being prepared; wait for it to finish.")),
                       code="export_in_progress")
    export = Export(id=uuid.uuid4(), user_id=user.id, selection=chosen, encrypted=passphrase is not None,
                    status="queued", progress=0, created_at=utcnow())
    if passphrase is not None:
        export.header, key = export_cipher.derive(passphrase)
        _seal_key(export, key)
    session.add(export)
    session.flush()
    return export


def enqueue(export: Export) -> None:
    """Hand the export to the job queue (after the commit that stored it)."""
    run_export(str(export.id))


def list_for(session: Session, user: User) -> list[Export]:
    return list(session.scalars(select(Export).where(Export.user_id == user.id)
                                .order_by(Export.created_at.desc(), Export.id).limit(20)))


def get(session: Session, user: User, export_id) -> Export:
    """``user``'s export, or ``NotFound`` (another person's id answers as a missing one)."""
    try:
        ident = export_id if isinstance(export_id, uuid.UUID) else uuid.UUID(str(export_id))
    except ValueError:
        ident = None
    export = session.get(Export, ident) if ident else None
    if export is None or export.user_id != user.id:
        raise NotFound(str(_l("This export does not exist or is not yours.")))
    return export


class ExportGone(ServiceError):
    status = 410
    code = "export_expired"


def download(user: User, export: Export) -> tuple[Iterator[bytes], str]:
    """The stored file's bytes (lazily) and its download name; ``ExportGone`` (410) once the link ended,
    ``Conflict`` (``export_not_ready``) while it is being made or if it failed."""
    if export.status == "done" and (export.expired or not export.storage_key):
        raise ExportGone(str(_l("This download link has expired. Ask for a new export.")))
    if export.status != "done":
        raise Conflict(str(_l("This export is not ready.")), code="export_not_ready")
    day = export.created_at.astimezone(timezone.utc).date().isoformat()
    name = f"sillage-export-{day}.zip" + (".enc" if export.encrypted else "")

    try:  # opened now, in the request: the response reads it after the view has returned
        handle = storage.open(export.storage_key)
    except storage.BlobNotFound:
        raise ExportGone(str(_l("This download link has expired. Ask for a new export."))) from None

    def chunks() -> Iterator[bytes]:
        with handle:
            while piece := handle.read(PIECE):
                yield piece

    if at_rest(export):
        return vault.decrypt_stream(_unseal_key(export), chunks(), _blob_aad(export.id)), name
    return chunks(), name


# --- writing the ZIP -----------------------------------------------------------------------------------

@dataclass
class Written:
    """What ``write_zip`` put in the file: the manifest's ``files`` (path, size, sha256) and counts."""

    files: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)


class _Zip:
    def __init__(self, target: IO[bytes], when: datetime):
        self.zip = zipfile.ZipFile(target, "w", allowZip64=True)
        self.date_time = when.astimezone(timezone.utc).timetuple()[:6]
        self.written = Written()
        self.names: set[str] = set()

    def add(self, path: str, chunks: Iterable[bytes], media_type: str = "application/json") -> None:
        if path in self.names:  # two documents cannot share a path (the id is in it); refuse a bug loudly
            raise ValueError(f"duplicate path in export: {path}")
        self.names.add(path)
        info = zipfile.ZipInfo(path, self.date_time)
        info.compress_type = zipfile.ZIP_STORED if media_type in _STORED else zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16  # a regular file, readable by its owner only
        digest, size = hashlib.sha256(), 0
        with self.zip.open(info, "w", force_zip64=True) as entry:
            for piece in chunks:
                digest.update(piece)
                size += len(piece)
                entry.write(piece)
        self.written.files.append({"path": path, "size": size, "sha256": digest.hexdigest()})

    def close(self, manifest: dict) -> None:
        self.add(MANIFEST, [json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")])
        self.zip.close()


def _json_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def _resume(session: Session, user: User, chosen: Selection) -> dict:
    """JSON Resume of what was chosen: ``app.services.cvs``' whole-profile export, on the chosen items."""
    from app.services import cvs  # noqa: PLC0415

    if chosen.everything:
        return cvs.profile_json_resume(session, user)
    portfolio = user.portfolio
    pairs = [(kind, item) for (kind, item_id), item in cvs._items(session, portfolio.id).items()  # noqa: SLF001
             if chosen.keep(ITEM_SECTIONS[kind], item_id)]
    return cvs._resume(session, portfolio, pairs, summary=portfolio.bio if chosen.wants("profile") else "",  # noqa: SLF001
                       language=user.locale or "fr", canonical=None)


def _credential_files(entry) -> tuple[bytes, bytes | None]:
    """The signed document as this site serves it (``/credentials/<id>.json``: the same bytes) and its
    baked PNG."""
    from app.credentials import documents as issued  # noqa: PLC0415
    from app.credentials.endorse import baked  # noqa: PLC0415

    if entry.kind == "external":  # a badge brought from elsewhere: the bytes as imported, and its image
        return entry.row.original, entry.row.image
    if entry.kind == "endorsement":  # ``/endorsements/<id>.json`` writes it indented (app.api.endorsements)
        document = json.dumps(entry.document, ensure_ascii=False, indent=2).encode("utf-8")
    else:
        document = current_app.json.response(entry.document).get_data()
    if entry.kind == "credential":
        image = issued.baked_png(entry.row)
    elif entry.kind in ("attestation", "endorsement"):
        image = baked(entry.row)
    else:
        image = getattr(entry, "image", None)
    return document, image


def write_zip(session: Session, user: User, target: IO[bytes], selection: list[dict] | None = None, *,
              on_progress: Callable[[int], None] = lambda percent: None) -> Written:
    """Write the export ZIP of ``user`` (or of the ``selection``) into ``target``, entry by entry.

    ``on_progress`` gets a percentage after each step (a document, a credential, a file). Raises
    ``DocumentError`` if a vault document cannot be read (the export is then incomplete: the caller
    drops the file), ``StorageUnavailable`` if storage does not answer.
    """
    chosen = Selection(selection)
    data = build_portfolio(session, user, selection)
    entries = credential_entries(session, user, chosen) if chosen.wants("credentials") else []
    rows = {str(d.id): d for d in session.scalars(select(Document).where(
        Document.portfolio_id == user.portfolio.id))}
    steps = 6 + len(data["documents"]) + len(entries)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        on_progress(min(99, done * 100 // steps))

    archive = _Zip(target, utcnow())
    try:
        clr = _write_entries(session, user, archive, data, entries, rows, chosen, step)
    except BaseException:
        archive.zip.close()  # never left for the garbage collector to close on a closed file
        raise
    archive.written.counts = counts(data)
    archive.close({"format": FORMAT, "version": VERSION, "created_at": data["exported_at"],
                   "generator": "Sillage", "selection": selection, "counts": archive.written.counts,
                   "files": list(archive.written.files), "clr": clr})
    on_progress(100)
    return archive.written


def _write_entries(session: Session, user: User, archive: _Zip, data: dict, entries: list, rows: dict,
                   chosen: Selection, step: Callable[[], None]) -> dict:
    from app.services import documents, photos  # noqa: PLC0415
    from app.services.attestations import platform_key, platform_profile  # noqa: PLC0415

    archive.add("portfolio.json", [_json_bytes(data)])
    step()
    if data["profile"] and data["profile"]["photo"]:
        photo = photos.read_photo(user)
        if photo is not None:
            archive.add(PHOTO_PATH, [photo], "image/jpeg")
    step()
    for item in data["documents"]:
        document = rows[item["id"]]
        archive.add(item["file"], documents.read(user, document), document.content_type)
        step()
    files = {item["id"]: item["files"] for item in data["credentials"]}
    for entry in entries:
        paths = files[str(entry.id)]
        document, image = _credential_files(entry)
        archive.add(paths["json"], [document], "application/octet-stream")
        image_path = paths.get("png") or paths.get("svg")
        if image is not None and image_path:
            archive.add(image_path, [image], "image/png" if image_path.endswith(".png") else "image/svg+xml")
        step()
    archive.add("resume.json", [_json_bytes(_resume(session, user, chosen))])
    step()
    archive.add("leap2a.xml", [export_formats.leap2a(data)], "application/xml")
    step()
    jws = {str(e.id): e.row.original.decode("ascii") for e in entries
           if e.kind == "external" and looks_like_jws(e.row.original.decode("utf-8", "replace").strip())}
    clr, left_out = export_formats.clr_credential(data, issuer=platform_profile(),
                                                  clr_id=f"urn:uuid:{uuid.uuid4()}", jws=jws)
    unsigned = None
    if clr is not None:
        clr, unsigned = export_formats.sign_clr(clr, platform_key(session))
        archive.add("clr.json", [_json_bytes(clr)])
    step()
    # Told in the manifest: a CLR the platform could not sign, and badges it could not hold verifiably.
    return {"file": "clr.json" if clr is not None else None, "signed": clr is not None and unsigned is None,
            "unsigned_reason": unsigned, "left_out": left_out}


def temporary_file() -> IO[bytes]:
    """A temporary file in the instance folder (same disk as the database and blobs, never /tmp's RAM
    disk), readable by this process only, deleted when closed."""
    folder = Path(current_app.config["INSTANCE_PATH"]) / "tmp"
    folder.mkdir(mode=0o700, exist_ok=True)
    return tempfile.TemporaryFile(dir=folder)


def _pieces(handle: IO[bytes]) -> Iterator[bytes]:
    handle.seek(0)
    while piece := handle.read(PIECE):
        yield piece


def _hashed(pieces: Iterable[bytes], digest) -> Iterator[bytes]:
    for piece in pieces:
        digest.update(piece)
        yield piece


# --- the job -------------------------------------------------------------------------------------------

def _fail(session: Session, export: Export, code: str) -> None:
    export.status, export.error, export.finished_at = "failed", code, utcnow()
    export.sealed_private_key = export.master_key_id = export.header = None
    session.commit()


def build(session: Session, export_id) -> None:
    """Make the export ``export_id`` if it is still queued: write, encrypt if asked, store, record.

    Idempotent: an export already running, done or failed is left alone (the queue may deliver twice).
    Progress is committed as it goes so that the page and the API can show it. Any failure ends in
    ``failed`` with a stable code, never half-stored: the blob is only recorded once wholly written.
    """
    from app.services.documents import DocumentError  # noqa: PLC0415

    export = session.get(Export, uuid.UUID(str(export_id)))
    if export is None or export.status != "queued":
        return
    user = session.get(User, export.user_id)
    export.status, export.started_at = "running", utcnow()
    session.commit()
    last = [0]

    def progress(percent: int) -> None:
        if percent >= last[0] + 5 or percent == 100:
            last[0] = percent
            export.progress = percent
            session.commit()

    key = f"exports/{export.id}"
    if not export.encrypted:  # sealed at rest with a key of its own (``at_rest``), kept in the row first
        _seal_key(export, vault.generate_data_key())
        session.commit()
    try:
        with temporary_file() as handle:
            write_zip(session, user, handle, export.selection, on_progress=progress)
            digest = hashlib.sha256()  # of the file as downloaded
            if export.encrypted:
                pieces = _hashed(export_cipher.encrypt_with(export.header, _unseal_key(export), _pieces(handle)),
                                 digest)
            else:
                pieces = vault.encrypt_stream(_unseal_key(export), _hashed(_pieces(handle), digest),
                                              _blob_aad(export.id))
            stored = storage.put_stream(key, pieces, "application/octet-stream")
            size = stored if export.encrypted else handle.seek(0, os.SEEK_END)
    except DocumentError as error:
        log.warning("Export %s failed: a document could not be read (%s)", export.id, error.code)
        session.rollback()
        _fail(session, export, "document_unreadable")
        return
    except storage.StorageUnavailable:
        log.warning("Export %s failed: storage unavailable", export.id, exc_info=True)
        session.rollback()
        _fail(session, export, "storage_unavailable")
        return
    except Exception:
        log.exception("Export %s failed", export.id)
        session.rollback()
        _fail(session, export, "export_failed")
        raise
    # The row again, locked: the account may have been deleted meanwhile (the row went with it), or the
    # sweep may have failed a build it thought lost. Then the file just written belongs to nobody: it goes.
    still = session.scalar(select(Export.status).where(Export.id == export.id).with_for_update())
    if still != "running":
        session.rollback()
        storage.delete(key)
        log.warning("Export %s was %s while its file was written: file removed", export.id, still or "deleted")
        return
    now = utcnow()
    export.status, export.progress, export.finished_at = "done", 100, now
    export.storage_key, export.size, export.sha256 = key, size, digest.hexdigest()
    export.expires_at = now + link_lifetime()
    if export.encrypted:
        export.sealed_private_key = export.master_key_id = None
    export.header = None
    session.commit()


@jobs.task()
def run_export(export_id: str) -> None:
    """The background job of one export (``build``)."""
    build(db.session, export_id)


STALLED = timedelta(hours=2)  # an export running this long lost its consumer (the largest take minutes)
REQUEUE = timedelta(minutes=10)  # a queued export this old lost its queue message


def sweep(session: Session, now: datetime | None = None) -> tuple[int, list]:
    """Housekeeping, as Huey may lose a message with a killed consumer: remove the files of exports whose
    link ended and the rows older than ``KEEP_DAYS``; fail the exports stuck ``running`` (so their owner
    may ask again); return how many files went and the ids of the exports still queued after
    ``REQUEUE``, for the caller to enqueue again (``build`` runs a queued export once)."""
    now = now or utcnow()
    removed = 0
    for export in session.scalars(select(Export).where(Export.storage_key.is_not(None), Export.expires_at <= now)):
        storage.delete_after_commit(session, export.storage_key)
        export.storage_key = None
        export.sealed_private_key = export.master_key_id = None  # a copy left anywhere is unreadable
        removed += 1
    for export in session.scalars(select(Export).where(Export.status == "running", Export.started_at <= now - STALLED)):
        export.status, export.error, export.finished_at = "failed", "export_interrupted", now
        export.sealed_private_key = export.master_key_id = export.header = None
        # A consumer killed during the upload may have left part of the file (``storage_key`` is only
        # set on success); a slow build that ends later finds its row failed and removes its own.
        storage.delete_after_commit(session, f"exports/{export.id}")
    for export in session.scalars(select(Export).where(Export.created_at <= now - timedelta(days=KEEP_DAYS),
                                                      Export.storage_key.is_(None))):
        session.delete(export)
    waiting = list(session.scalars(select(Export.id).where(Export.status == "queued",
                                                          Export.created_at <= now - REQUEUE)))
    session.flush()
    return removed, waiting


@jobs.periodic_task(jobs.crontab(minute="*/10"))
def sweep_exports() -> None:
    """Every ten minutes: expired export files leave storage, lost exports are queued again (``sweep``)."""
    removed, waiting = sweep(db.session)
    db.session.commit()
    if removed:
        log.info("Removed %s expired export file(s)", removed)
    for export_id in waiting:
        run_export(str(export_id))


def erase_for(session: Session, user: User) -> None:
    """Account deletion: every export file of ``user`` leaves storage once the deletion commits (the rows
    go with the account, ON DELETE CASCADE, and their at-rest keys with them), including the partial file
    of one failed or still being written (a build finishing later removes its own: see ``build``)."""
    for export_id, key in session.execute(select(Export.id, Export.storage_key).where(Export.user_id == user.id)):
        storage.delete_after_commit(session, key or f"exports/{export_id}")


def export_to_file(session: Session, user: User, path: str | os.PathLike, *, selection=None,
                   passphrase: str | None = None) -> tuple[int, str]:
    """``sillage export``: write the export straight to ``path`` (through a temporary file beside it,
    renamed at the end, so a crash never leaves a half-written export under the final name). Returns
    the file's size and SHA-256."""
    chosen = clean_selection(selection)
    if passphrase is not None:
        export_cipher.check_passphrase(passphrase)
    target = Path(path)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with temporary_file() as handle:
            write_zip(session, user, handle, chosen)
            pieces = _pieces(handle)
            if passphrase is not None:
                pieces = export_cipher.encrypt(pieces, passphrase)
            with open(partial, "xb") as out:
                for piece in pieces:
                    digest.update(piece)
                    size += len(piece)
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return size, digest.hexdigest()
