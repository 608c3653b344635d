"""Awarding an achievement in bulk from a CSV file: parse and preview, then one batch of awards.

Shared by the issuer's pages and the API; like every service it flushes and never commits.

The file (``parse``):

- is read in chunks from a seekable binary stream (an upload spooled to disk by werkzeug, or a stored
  blob), never whole in memory; rows are checked one by one and only what the preview and the batch
  need is kept (the valid rows, and the rows in error with their errors);
- is UTF-8 (with or without a BOM, as Excel writes "CSV UTF-8") or else Windows-1252 (Excel's "CSV" on
  a French Windows); a file that is neither is refused as a whole (``bad_encoding``), since guessing
  would put wrong names into signed credentials. Latin-1 is not a fallback: it decodes anything;
- uses ``;`` (the French Excel default) or ``,``, whichever the header line holds more of;
- names its columns in French or English (``HEADERS``); ``email`` is required, the others are optional.

Each row is refused on its own (``invalid_email``, ``missing_value``, ``duplicate_row``, ``too_long``,
``invalid_evidence``, ``too_many_values``), so that the preview lists every problem at once. Beyond
``BULK_AWARD_MAX_ROWS`` rows the whole file is refused (``too_many_rows``) rather than cut: a partial
batch would be ambiguous.

The batch (``start``) holds only the valid rows. Its key derives from the organisation, the achievement
and the SHA-256 of the rows' normalised content (not of the bytes): the same list re-uploaded, even
re-saved in another encoding or separator, is the same batch and issues nothing twice. Each item's key
is the recipient's address: unique in the batch, and the handler refuses to award the same achievement
twice to an address (``already_awarded`` result), so that a corrected file re-uploaded issues only the
rows that are new.
"""
from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO, Iterator

from flask import current_app
from flask_babel import format_number, lazy_gettext as _l
from sqlalchemy import insert, select, update as sql_update
from sqlalchemy.orm import selectinload

from app import policy, storage
from app.database import utcnow
from app.models import Portfolio, User
from app.models.credentials import ClaimToken, Credential
from app.models.issuing import Achievement
from app.models.jobs import Batch
from app.services import accounts, awarding, batches, status_lists
from app.services.errors import NotFound, ServiceError, ValidationFailed
from app.services.validation import CONTROL_CHARS, URL
from badges import awards as badges_awards

log = logging.getLogger(__name__)

KIND = "bulk-award"
CHUNK = 64 * 1024
NAME_MAX = 200
PREVIEW_VALID_ROWS = 100  # the preview lists every row in error, and this many valid rows
# Rows per transaction of the batch: one commit (a disk sync), one lease renewal, one right check, one
# key unsealing and one draw of status indexes per this many rows instead of per row. A crash redoes
# at most this many rows' signing, never issues one twice (their credentials and statuses roll back
# together).
PER_TRANSACTION = 50
# Transactions whose rows are being signed ahead of their write (``AwardPipeline``): enough to keep
# every signing process busy while the consumer writes.
PIPELINE_DEPTH = 4
# The signers canonicalize through ``certs.shapes`` (pyld expands one template per JSON shape of the
# rows, each row's RDF is built by substitution: pyld's bytes, checked by tests/test_shape_canon.py);
# False: through pyld alone (the benchmark's ``--no-fast-path``).
SHAPES = True
MAILS = "bulk_awards.mails"  # session.info key: (credential id, claim token) awaiting the commit
HEADERS = {
    "email": {"email", "e-mail", "mail", "courriel", "adresse e-mail", "adresse electronique"},
    "name": {"name", "nom", "nom complet", "full name"},
    "narrative": {"narrative", "recit", "récit"},
    "evidence": {"evidence", "evidence_url", "evidence url", "preuve", "url de preuve"},
}
ERROR_MESSAGES = {
    "invalid_email": _l("This e-mail address is not valid."),
    "missing_value": _l("The e-mail address is missing."),
    "duplicate_row": _l("This address already appears on row %(row)s."),
    "too_long": _l("%(column)s is too long (%(max)s characters at most)."),
    "invalid_evidence": _l("The evidence must be a web address starting with https:// or http://."),
    "invalid_text": _l("%(column)s contains characters that are not allowed."),
    "too_many_values": _l("This row has more values than the header has columns."),
}


class BulkError(ServiceError):
    """The file as a whole cannot be used (encoding, header, size): nothing is previewed or issued."""

    code = "invalid_csv"
    status = 422


@dataclass
class RowError:
    line: int
    email: str
    errors: list[dict]


@dataclass
class Parsed:
    """What the preview shows and the batch needs: valid rows, rows in error, and the file's facts."""

    encoding: str
    delimiter: str
    columns: list[str]
    ignored_columns: list[str]
    rows: list[dict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    total: int = 0

    @property
    def digest(self) -> str:
        """SHA-256 of the normalised valid rows: the same list whatever the encoding or separator."""
        text = json.dumps(self.rows, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_dict(self, *, rows: bool = False) -> dict:
        data = {"encoding": self.encoding, "delimiter": self.delimiter, "columns": self.columns,
                "ignored_columns": self.ignored_columns, "total_rows": self.total,
                "valid_rows": len(self.rows), "rows_in_error": len(self.errors),
                "errors": [{"line": e.line, "email": e.email, "errors": e.errors} for e in self.errors]}
        if rows:
            data["rows"] = self.rows
        return data


def max_rows() -> int:
    return int(current_app.config.get("BULK_AWARD_MAX_ROWS") or 20_000)


def _detect_encoding(stream: BinaryIO) -> str:
    """``utf-8-sig`` or ``cp1252``, decided by decoding the whole stream chunk by chunk (flat memory)."""
    stream.seek(0)
    head = stream.read(3)
    if head == codecs.BOM_UTF8:
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    for encoding in candidates:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(CHUNK):
                if b"\x00" in chunk:  # UTF-16, a spreadsheet's binary format: not a text CSV
                    break
                decoder.decode(chunk)
            else:
                decoder.decode(b"", final=True)
                return encoding
        except UnicodeDecodeError:
            continue
        break
    raise BulkError(str(_l("The file is neither UTF-8 nor Windows-1252 text: save it again as “CSV UTF-8”.")),
                    code="bad_encoding")


def _header_key(name: str) -> str | None:
    text = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(c for c in text if not unicodedata.combining(c)).replace("_", " ").strip()
    for key, names in HEADERS.items():
        if plain in names or plain.replace(" ", "_") in names or name.strip().lower() in names:
            return key
    return None


def _row_error(code: str, **values) -> dict:
    return {"code": code, "message": str(ERROR_MESSAGES[code] % values) if values else str(ERROR_MESSAGES[code])}


def _check_text(value: str, column: str, max_length: int, errors: list) -> str | None:
    value = value.strip()
    if CONTROL_CHARS.search(value):
        errors.append(_row_error("invalid_text", column=column))
    elif len(value) > max_length:
        errors.append(_row_error("too_long", column=column, max=max_length))
    return value or None


def parse(stream: BinaryIO) -> Parsed:
    """Read and check a CSV file of recipients (see the module docstring); raises ``BulkError`` for a
    file that cannot be used at all."""
    encoding = _detect_encoding(stream)
    stream.seek(0)
    lines = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        return _parse(lines, encoding)
    finally:
        lines.detach()  # leave the caller's stream open


def _parse(lines, encoding: str) -> Parsed:
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise BulkError(str(_l("The file is empty.")), code="empty_file")
    delimiter = ";" if first.count(";") >= first.count(",") and ";" in first else ","
    header = next(csv.reader([first], delimiter=delimiter))
    keys = [_header_key(name) for name in header]
    if "email" not in keys:
        raise BulkError(str(_l("The file has no e-mail column: its first line must name the columns "
                               "(email or courriel; name or nom; narrative or récit; evidence or preuve).")),
                        code="missing_column")
    repeated = {k for k in keys if k and keys.count(k) > 1}
    if repeated:
        raise BulkError(str(_l("A column appears twice: %(names)s.", names=", ".join(sorted(repeated)))),
                        code="duplicate_column")
    parsed = Parsed(encoding="UTF-8" if encoding == "utf-8-sig" else "Windows-1252", delimiter=delimiter,
                    columns=[k for k in keys if k], ignored_columns=[h for h, k in zip(header, keys) if not k])
    seen: dict[str, int] = {}
    limit = max_rows()
    reader = csv.reader(lines, delimiter=delimiter)
    line = 1
    try:
        for values in reader:
            line = reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            parsed.total += 1
            if parsed.total > limit:
                raise BulkError(str(_l("The file has more than %(n)s rows: split it into several files.",
                                       n=format_number(limit))), code="too_many_rows")
            _check_row(parsed, dict(zip(keys, values)), len(values) > len(keys), line, seen)
    except csv.Error as exc:
        raise BulkError(str(_l("Line %(line)s cannot be read as CSV: %(reason)s", line=line, reason=str(exc))),
                        code="malformed_csv") from None
    if parsed.total == 0:
        raise BulkError(str(_l("The file has a header but no rows.")), code="empty_file")
    return parsed


def _check_row(parsed: Parsed, values: dict, extra: bool, line: int, seen: dict[str, int]) -> None:
    errors: list[dict] = []
    raw_email = (values.get("email") or "").strip()
    email = raw_email
    if not raw_email:
        errors.append(_row_error("missing_value"))
    else:
        try:
            email = accounts.normalise_email(raw_email)
        except ValidationFailed:
            errors.append(_row_error("invalid_email"))
    row = {"email": email}
    for key, label, max_length in (("name", _l("The name"), NAME_MAX),
                                   ("narrative", _l("The narrative"), awarding.NARRATIVE_MAX),
                                   ("evidence", _l("The evidence"), awarding.URL_MAX)):
        value = _check_text(values.get(key) or "", str(label), max_length, errors)
        if value:
            row[key] = value
    if row.get("evidence") and not URL.match(row["evidence"]):
        errors.append(_row_error("invalid_evidence"))
    if extra:
        errors.append(_row_error("too_many_values"))
    if email and not any(e["code"] in ("invalid_email", "missing_value") for e in errors):
        if email in seen:
            errors.append(_row_error("duplicate_row", row=seen[email]))
        else:
            seen[email] = line
    if errors:
        parsed.errors.append(RowError(line, raw_email[:254], errors))
    else:
        parsed.rows.append(row)


# --- the file between the preview and the confirmation ---------------------------------------------
#
# A previewed file waits in blob storage for its confirmation, under the UTC day of its upload:
# ``bulk-awards/<YYYYMMDD>/<organisation>/<achievement>/<sha256>.csv``, its upload id being
# ``<YYYYMMDD>-<sha256>``. A preview never confirmed (the issuer closed the tab) must not keep a list of
# addresses for ever, and storage cannot list files by age on every backend (S3 lists by prefix only):
# the day in the key lets ``sweep_previews`` delete a whole day with one ``delete_prefix``, and lets
# ``unstash`` refuse an expired upload even before the sweep. The limit is ``BULK_AWARD_PREVIEW_DAYS``
# (default 2: an upload of Monday can be confirmed until Wednesday's end). The sweep runs daily
# (``app.credentials.bulk``) and each new preview sweeps the day that has just expired.

_UPLOAD_ID = re.compile(r"^(?P<day>\d{8})-(?P<digest>[0-9a-f]{64})$")
STASH_ROOT = "bulk-awards"
SWEEP_LOOKBACK_DAYS = 30  # how far back the daily sweep looks, should it have stopped for a while


def preview_days() -> int:
    return max(0, int(current_app.config.get("BULK_AWARD_PREVIEW_DAYS", 2)))


def _today() -> date:
    return utcnow().date()


def _stash_key(achievement: Achievement, upload_id: str) -> str:
    day, digest = upload_id.split("-", 1)
    return f"{STASH_ROOT}/{day}/{achievement.organisation_id}/{achievement.id}/{digest}.csv"


def _expired(day: date, today: date) -> bool:
    return (today - day).days > preview_days()


def sweep_previews(today: date | None = None, *, lookback: int = SWEEP_LOOKBACK_DAYS) -> int:
    """Delete the previewed files of the days past ``preview_days()`` (and up to ``lookback`` days
    before); return how many files went."""
    today = today or _today()
    first_expired = today - timedelta(days=preview_days() + 1)
    removed = 0
    for back in range(lookback + 1):
        day = first_expired - timedelta(days=back)
        removed += storage.delete_prefix(f"{STASH_ROOT}/{day:%Y%m%d}")
    return removed


def max_bytes() -> int:
    return int(current_app.config.get("BULK_AWARD_MAX_BYTES") or 16 * 1024 * 1024)


def spool(chunks) -> tempfile.SpooledTemporaryFile:
    """Copy an upload into a seekable spool (memory up to 1 MiB, then disk), refusing it beyond
    ``max_bytes()`` as soon as it gets there rather than after reading it all."""
    limit, size = max_bytes(), 0
    spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise BulkError(str(_l("The file is larger than %(n)s MiB.", n=limit // (1024 * 1024))),
                            code="file_too_large", status=413)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def stash(achievement: Achievement, stream: BinaryIO, *, today: date | None = None) -> str:
    """Keep the previewed file in blob storage until it is confirmed; returns its upload id (the day
    and the file's SHA-256), which the confirmation form carries. Stored under the achievement's
    organisation, so that another organisation's confirmation cannot name it. Sweeps the day that has
    just expired (see above)."""
    today = today or _today()
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in read_chunks(stream):
        digest.update(chunk)
    upload_id = f"{today:%Y%m%d}-{digest.hexdigest()}"
    stream.seek(0)
    storage.put_stream(_stash_key(achievement, upload_id), read_chunks(stream), "text/csv")
    sweep_previews(today, lookback=0)
    return upload_id


def unstash(achievement: Achievement, upload_id, *,
            today: date | None = None) -> tempfile.SpooledTemporaryFile:
    """The stashed file (seekable), or ``BulkError(upload_expired)`` (unknown, malformed, already
    issued, or older than ``preview_days()``)."""
    expired = BulkError(
        str(_l("This upload is unknown, too old or was already issued: upload the file again.")),
        code="upload_expired", status=404)
    match = _UPLOAD_ID.match(upload_id) if isinstance(upload_id, str) else None
    try:
        day = datetime.strptime(match["day"], "%Y%m%d").date() if match else None
    except ValueError:
        day = None
    if day is None or _expired(day, today or _today()):
        raise expired
    try:
        with storage.open(_stash_key(achievement, upload_id)) as blob:
            return spool(read_chunks(blob))
    except storage.BlobNotFound:
        raise expired from None


def forget_after_commit(session, achievement: Achievement, upload_id: str) -> None:
    """The recipients' addresses leave storage once their batch is committed."""
    storage.delete_after_commit(session, _stash_key(achievement, upload_id))


# --- the batch ------------------------------------------------------------------------------------

def actor_reference(actor) -> dict:
    """How the batch remembers who asked, so that the job acts as them (and is refused if they lost
    the right meanwhile): a person by id, or an organisation token's organisation."""
    if isinstance(actor, policy.OrganisationPrincipal):
        return {"organisation": str(actor.organisation_id)}
    return {"user": str(actor.id)}


def _actor(session, reference: dict):
    if "organisation" in reference:
        return policy.OrganisationPrincipal(uuid.UUID(reference["organisation"]))
    return session.get(User, uuid.UUID(reference["user"]))


def start(session, actor, achievement: Achievement, parsed: Parsed) -> Batch:
    """The batch awarding ``achievement`` to the valid rows of ``parsed`` (idempotent: see the module
    docstring). Refuses, before anything is written, an actor who may not issue for the organisation,
    and a file without a single valid row. Flushes; the caller commits, then ``batches.run_batch_job``."""
    awarding.check_may_issue(actor, achievement.organisation)
    if not parsed.rows:
        raise BulkError(str(_l("No row can be issued: correct the rows in error and upload the file again.")),
                        code="no_valid_rows")
    key = f"{achievement.organisation_id}:{achievement.id}:{parsed.digest}"
    return batches.create_batch(session, KIND, parsed.rows, key, owner=getattr(actor, "id", None)
                                if isinstance(actor, User) else None,
                                params={"achievement": str(achievement.id), "actor": actor_reference(actor)},
                                item_key=lambda row, _position: row["email"])


def batch_for(session, actor, organisation, batch_id) -> Batch:
    """A bulk-award batch of ``organisation`` that ``actor`` may follow; any other id is not found."""
    key = policy.parse_id(batch_id)
    batch = session.get(Batch, key) if key is not None else None
    if batch is None or batch.kind != KIND or not batch.key.startswith(f"{organisation.id}:"):
        raise NotFound(str(_l("No such batch.")))
    return batch


def signers() -> int:
    """How many processes sign a batch's rows: ``BULK_AWARD_SIGNERS``, by default one per core; 0 signs
    in the consumer's own process (still outside the write transaction)."""
    configured = current_app.config.get("BULK_AWARD_SIGNERS")
    return max(0, int(configured if configured is not None else (os.cpu_count() or 1)))


def _existing(session, achievement: Achievement, emails) -> dict:
    """The addresses among ``emails`` that already hold a live credential of ``achievement``."""
    return dict(session.execute(select(Credential.recipient_email, Credential.id).where(
        Credential.achievement_id == achievement.id, Credential.recipient_email.in_(list(emails)),
        Credential.revoked_at.is_(None))).all())


def _already(credential_id) -> dict:
    return {"credential": str(credential_id), "already_awarded": True}


@dataclass
class Ahead:
    """A transaction's rows, prepared and handed to the signers before its write (``AwardPipeline``):
    for each item position, its outcome already known (a refusal, ``already_awarded``) or its values
    and drawn status slot, and the pending signatures."""

    refusal: Exception | None = None
    known: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # position -> AwardValues
    slots: dict = field(default_factory=dict)  # position -> (StatusList, index)
    job: dict | None = None
    pending: object = None


class AwardPipeline:
    """How a bulk award's rows are done (``batches``' pipelined handler): ``ahead``, outside the write
    transaction, checks the rows, draws their status indexes (read-only, ``status_lists.draw``) and hands
    them to the signing processes (``badges.awards.SignerPool``); ``write``, in the transaction, checks
    the right and the addresses again, then writes the signed rows in a few statements: the
    credentials, their status entries (``status_lists.claim``), the claim links. A slot taken since its
    draw by a concurrent award is drawn again and that row signed again in the transaction."""

    def __init__(self, session, batch):
        self.pool = badges_awards.pool(signers())
        self.held: dict[uuid.UUID, set[int]] = {}  # drawn, not yet claimed: not to be drawn again
        # The unsealed key and the issuer's and achievement's documents, prepared once per run: a key
        # rotated meanwhile leaves the run's credentials verifiable (older keys stay in the DID document).
        self.issuing: awarding.Issuing | None = None

    def ahead(self, session, batch, items) -> Ahead:
        achievement = session.get(Achievement, uuid.UUID(batch.params["achievement"]))
        if achievement is None:
            return Ahead(refusal=batches.ItemFailed("not_found", str(_l("The achievement no longer exists."))))
        actor = _actor(session, batch.params["actor"])
        try:
            if self.issuing is None:
                self.issuing = awarding.prepare_issuing(session, actor, achievement)
            else:  # the key and documents of the run's start; the right as it is now (and again at the write)
                awarding.check_may_issue(actor, achievement.organisation)
        except ServiceError as exc:
            return Ahead(refusal=exc)
        issuing, ahead = self.issuing, Ahead()
        existing = _existing(session, achievement, [item.payload["email"] for item in items])
        now = utcnow().replace(microsecond=0)
        for item in items:
            row = item.payload
            if row["email"] in existing:
                ahead.known[item.position] = _already(existing[row["email"]])
                continue
            try:
                ahead.values[item.position] = awarding.award_values(
                    achievement, row["email"], narrative=row.get("narrative"), recipient_name=row.get("name"),
                    evidence=[row["evidence"]] if row.get("evidence") else [], now=now, email_normalised=True)
            except ServiceError as exc:
                ahead.known[item.position] = exc
        slots = status_lists.draw(session, achievement.organisation, awarding.STATUS_PURPOSE,
                                  len(ahead.values), held=self.held)
        for (position, values), slot in zip(list(ahead.values.items()), slots):
            ahead.slots[position] = slot
            self.held.setdefault(slot[0].id, set()).add(slot[1])
            ahead.values[position] = dataclasses.replace(values, status=status_lists.status_entry(
                status_lists.list_url(slot[0].id), slot[1], awarding.STATUS_PURPOSE))
        if ahead.values:
            ahead.job = {"issuer": issuing.issuer, "achieved": issuing.achieved, "shapes": SHAPES,
                         "key": badges_awards.key_material(issuing.key), "rows": list(ahead.values.values())}
            ahead.pending = self.pool.submit(ahead.job)
        return ahead

    def write(self, session, batch, items, ahead: Ahead) -> list:
        for status_list, index in ahead.slots.values():  # claimed (or given up) in this transaction
            self.held.get(status_list.id, set()).discard(index)
        if ahead.refusal is not None:
            return [ahead.refusal] * len(items)
        achievement = session.get(Achievement, uuid.UUID(batch.params["achievement"]))
        actor = _actor(session, batch.params["actor"])
        try:  # the right as it is now, not as it was when the rows were signed
            awarding.check_may_issue(actor, getattr(achievement, "organisation", None))
        except ServiceError as exc:
            return [exc] * len(items)
        try:
            signed = dict(zip(ahead.values, ahead.pending.result() if ahead.pending else []))
        except badges_awards.SignerLost:
            log.warning("Bulk award %s: a signing process stopped; signing its rows here", batch.id)
            signed = dict(zip(ahead.values, badges_awards.sign_chunk(ahead.job)))
        emails = [values.email for values in ahead.values.values()]
        existing = _existing(session, achievement, emails)  # awarded meanwhile by someone else
        portfolios = dict(session.execute(
            select(User.email, Portfolio.id).join(Portfolio, Portfolio.owner_id == User.id)
            .where(User.email.in_(emails), User.email_verified_at.is_not(None))).all())
        outcomes, credentials, claims, mails, stored = [], [], [], [], []
        for item in items:
            position = item.position
            if position in ahead.known:
                outcomes.append(ahead.known[position])
                continue
            values = ahead.values[position]
            ok, document = signed[position]
            if values.email in existing:
                outcomes.append(_already(existing[values.email]))
            elif not ok:
                outcomes.append(ServiceError(str(_l("This credential could not be signed: %(reason)s",
                                                    reason=document)), code="not_signable", status=422))
            else:
                row = awarding.credential_row(actor, achievement, values, document)
                row["portfolio_id"] = portfolios.get(values.email)
                raw = None
                if row["portfolio_id"] is None:
                    raw, claim = awarding.claim_link(row["id"], values.issued)
                    claims.append(claim)
                credentials.append(row)
                stored.append(position)
                mails.append((str(row["id"]), raw))
                outcomes.append({"credential": str(row["id"]), "delivered": raw is None})
        if credentials:
            session.execute(insert(Credential), credentials)
            taken = status_lists.claim(session, [ahead.slots[p] for p in stored],
                                       [(row["id"], None) for row in credentials])
            for position, row, written in zip(stored, credentials, taken):
                if not written:
                    self._sign_again(session, actor, achievement, ahead.values[position], row["id"])
            if claims:
                session.execute(insert(ClaimToken), claims)
        # The recipients' mails cannot share the transaction: they wait in the session until the commit,
        # when ``app.credentials.bulk`` enqueues them (the claim link exists only here, unhashed).
        session.info.setdefault(MAILS, []).extend(mails)
        return outcomes

    @staticmethod
    def _sign_again(session, actor, achievement, values, credential_id) -> None:
        """A slot a concurrent award took between the draw and the claim: a fresh index, signed again."""
        status = status_lists.allocate(session, achievement.organisation, credential_id, awarding.STATUS_PURPOSE)
        document = awarding.prepare_issuing(session, actor, achievement).sign(
            dataclasses.replace(values, status=status))
        session.execute(sql_update(Credential).where(Credential.id == credential_id).values(document=document)
                        .execution_options(synchronize_session=False))

    def close(self) -> None:
        self.pool.abandon()


@dataclass
class Chunk:
    """What the rows of one transaction share when they are done one by one (``prepare_chunk``, the
    fallback of a pipelined transaction that failed): the achievement and the acting principal's
    ``awarding.Issuing`` (key unsealed once, right checked once), the addresses that already hold this
    achievement, or the refusal that stops every row."""

    achievement: Achievement | None = None
    actor: object = None
    issuing: awarding.Issuing | None = None
    existing: dict = field(default_factory=dict)
    refusal: Exception | None = None


def prepare_chunk(session, batch, items) -> Chunk:
    """Once per transaction of rows: one lookup of the addresses already awarded, one right check, one
    key unsealing, one lookup of the recipients."""
    achievement = session.get(Achievement, uuid.UUID(batch.params["achievement"]))
    if achievement is None:
        return Chunk(refusal=batches.ItemFailed("not_found", str(_l("The achievement no longer exists."))))
    actor = _actor(session, batch.params["actor"])
    emails = [item.payload["email"] for item in items]
    existing = _existing(session, achievement, emails)
    try:
        issuing = awarding.prepare_issuing(session, actor, achievement)
    except ServiceError as exc:
        return Chunk(achievement, actor, refusal=exc)
    issuing.canonizer = badges_awards.canonizer().canonize if SHAPES else None
    issuing.recipients = {user.email: user for user in session.scalars(
        select(User).options(selectinload(User.portfolio))
        .where(User.email.in_(sorted(set(emails) - set(existing))), User.email_verified_at.is_not(None)))}
    return Chunk(achievement, actor, issuing, existing)


@batches.handler(KIND, per_transaction=PER_TRANSACTION, prepare=prepare_chunk, pipeline=AwardPipeline,
                 depth=PIPELINE_DEPTH)
def award_row(session, batch, item, chunk: Chunk) -> dict:
    """Award one row through ``awarding.award`` (same checks, signing and delivery as a single award),
    with what its transaction's rows share (``prepare_chunk``): the path of a transaction whose
    pipelined write failed, each row in its savepoint.

    Idempotent on (achievement, address) beyond the batch's own guarantee: an address that already
    holds a live credential of this achievement is not awarded again (``already_awarded``), so that a
    corrected file, whose key differs, never issues twice to the same person."""
    if chunk.refusal is not None:
        raise chunk.refusal
    row = item.payload
    existing = chunk.existing.get(row["email"])
    if existing is not None:
        return _already(existing)
    awarded = awarding.award(session, chunk.actor, chunk.achievement, row["email"],
                             narrative=row.get("narrative"), recipient_name=row.get("name"),
                             evidence=[row["evidence"]] if row.get("evidence") else [], issuing=chunk.issuing)
    session.info.setdefault(MAILS, []).append((str(awarded.credential.id), awarded.claim_token))
    return {"credential": str(awarded.credential.id), "delivered": awarded.recipient is not None}
