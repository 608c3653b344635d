"""Per-owner vault data keys, wrapped by the instance master key; crypto-shred; master-key rotation.

Envelope encryption (DESIGN.md "The vault", ``certs.vault``): each owner gets a random data key with the
account (older accounts: migration f1a2b3c4d901), stored only wrapped (``VaultKey``). Deleting that row (``shred``) makes every copy of the owner's
encrypted documents unreadable, wherever it lies (storage replicas, backups of the blobs). Database
backups still hold the wrapped key until they age out: the shred is complete when they do.

Master keys (the keyring). The key that wraps a row is named by ``VaultKey.master_key_id``; the ring
holds every key the instance can reach, and a row is unwrapped with the key its id names:
- the current key: ``<instance>/master_key``, re-read when it changes (so that running workers follow a
  finished rotation without a restart), or the configured ``SILLAGE_MASTER_KEY``;
- during a rotation, the new key in ``<instance>/master_key.next``, which also wraps every key created
  meanwhile, so that the rotation converges;
- after a rotation, the previous key in ``<instance>/master_key.old``, until the operator removes it.

Rotation (``sillage keys rotate-master``, ``app.cli``): ``begin_rotation`` writes the new key to
``master_key.next`` (or finds it there: resuming), ``rewrap_batch`` re-wraps rows not yet under it (the
command commits after each batch, so an interruption loses at most a batch, and running the command again
continues), ``finish_rotation`` keeps the old key as ``master_key.old`` and moves ``master_key.next`` into
place with an atomic rename. Documents are untouched: they are encrypted with the data keys.

With ``SILLAGE_MASTER_KEY`` (no key file), the new key still goes through ``master_key.next`` (that is
how this instance reads both keys while rotating), and nothing is swapped at the end: the operator sets
``SILLAGE_MASTER_KEY`` to the new key, restarts, then removes ``master_key.next``. The new key is never
printed (terminal output ends up in logs); it is generated into that file, or read from
``--new-key-file``. Several hosts sharing one database must each see the new key before any row moves
to it: write it into ``master_key.next`` on every host first (the keyring reads it at once, no restart),
then run the command on one host, which takes the key it finds there.
"""
from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Export, PlatformKey, SigningKey, User, VaultKey
from certs.errors import SealError
from certs.keys import seal, unseal
from certs.vault import VaultError, generate_data_key, master_key_id, unwrap_data_key, wrap_data_key

NEXT, OLD = "master_key.next", "master_key.old"
# How ``app.services.orgs`` seals organisation signing keys (defined here, where rotation re-seals them).
SIGNING_PURPOSE = "org-signing-key"
SIGNING_AAD = b"sillage/org-signing-key/v1\x00"
# How ``app.services.attestations`` seals the platform's attestation key (``PlatformKey``).
PLATFORM_PURPOSE = "platform-attestation-key"
PLATFORM_AAD = b"sillage/platform-attestation-key/v1\x00"
# How ``app.services.exports`` seals a passphrase-derived export key until its job has run.
EXPORT_PURPOSE = "export-passphrase-key"
EXPORT_AAD = b"sillage/export-key/v1\x00"
MIN_KEY_LENGTH = 32

_file_cache: dict[str, tuple[tuple, str | None]] = {}


class RotationRefused(Exception):
    """The rotation cannot start or finish as things are; the message says what the operator should do."""


def _read_key(path: Path) -> str | None:
    """The key in *path* (stripped), or None if there is none; cached while the file is unchanged."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _file_cache.get(str(path))
    if cached is None or cached[0] != signature:
        cached = (signature, path.read_text().strip() or None)
        _file_cache[str(path)] = cached
    return cached[1]


@dataclass
class Keyring:
    """The master keys this instance can reach: ``wrapping`` wraps new keys, ``keys`` unwraps by id."""

    wrapping: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def wrapping_id(self) -> str:
        return master_key_id(self.wrapping)

    def unwrap(self, row: VaultKey) -> bytes:
        master = self.keys.get(row.master_key_id)
        if master is None:
            raise VaultError(f"the data key of {row.user_id} is wrapped by master key {row.master_key_id}, "
                             "which this instance does not have", "vault_master_key_missing")
        return unwrap_data_key(row.wrapped_key, master, row.user_id)


def current_master_key(config: Mapping) -> str | None:
    """The key in ``<instance>/master_key`` when the configuration came from there, else the configured
    one."""
    path = config.get("MASTER_KEY_FILE")
    return (_read_key(Path(path)) if path else None) or config.get("MASTER_KEY") or None


def keyring(config: Mapping | None = None) -> Keyring:
    config = current_app.config if config is None else config
    folder = Path(config["INSTANCE_PATH"])
    current, upcoming = current_master_key(config), _read_key(folder / NEXT)
    if not (upcoming or current):
        raise VaultError("this instance has no master key", "vault_master_key_missing")
    candidates = (current, upcoming, config.get("MASTER_KEY"), _read_key(folder / OLD))
    return Keyring(wrapping=upcoming or current,
                   keys={master_key_id(key): key for key in candidates if key})


# --- data keys ---------------------------------------------------------------------------------------------

def data_key_for(session: Session, user: User, ring: Keyring | None = None) -> bytes:
    """The owner's data key, created (and its wrapped form flushed) on first use.

    Two first uses at once (two uploads in two workers) both try to insert: the insert does nothing on a
    conflict with the unique owner (``ON CONFLICT DO NOTHING``, SQLite and PostgreSQL), and the row read
    back is the winner's, so an owner never ends up with two keys nor sees an integrity error.
    """
    ring = ring or keyring()
    row = session.scalars(select(VaultKey).where(VaultKey.user_id == user.id)).first()
    if row is None:
        dialect = session.get_bind().dialect.name
        insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}.get(dialect)
        if insert is None:
            raise NotImplementedError(f"vault keys need SQLite or PostgreSQL, not {dialect}")
        session.execute(insert(VaultKey).values(
            id=uuid.uuid4(), user_id=user.id, master_key_id=ring.wrapping_id, created_at=utcnow(),
            wrapped_key=wrap_data_key(generate_data_key(), ring.wrapping, user.id),
        ).on_conflict_do_nothing(index_elements=["user_id"]))
        row = session.scalars(select(VaultKey).where(VaultKey.user_id == user.id)).one()
    return ring.unwrap(row)


def shred(session: Session, user: User) -> bool:
    """Destroy the owner's wrapped data key (crypto-shred); True if there was one. Flush only: the
    caller commits, and deletes the blobs after (``accounts.delete_account``)."""
    result = session.execute(delete(VaultKey).where(VaultKey.user_id == user.id)
                             .execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount > 0


# --- master-key rotation ---------------------------------------------------------------------------------

def _write_private(path: Path, value: str, *, replace: bool) -> None:
    """Write *value* whole to a 0600 temporary file, then link it into place (or atomically replace)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_new_key(value: str) -> str:
    value = value.strip()
    if len(value) < MIN_KEY_LENGTH or any(ch.isspace() for ch in value):
        raise RotationRefused(f"a master key is at least {MIN_KEY_LENGTH} characters with no spaces "
                              "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return value


def begin_rotation(config: Mapping, new_key: str | None = None) -> tuple[Keyring, bool]:
    """Start a rotation (write ``master_key.next``) or find the one in progress; return the ring and
    whether it is a resumption. Refusals (``RotationRefused``) leave every file as it was."""
    folder = Path(config["INSTANCE_PATH"])
    key_file = config.get("MASTER_KEY_FILE")
    current = current_master_key(config)
    if not current or (key_file and not Path(key_file).exists()):
        raise RotationRefused(f"this instance has no master key ({key_file or 'SILLAGE_MASTER_KEY'}): "
                              "there is nothing to rotate. Restore the key from a backup first.")
    upcoming = _read_key(folder / NEXT)
    if upcoming is not None and upcoming == current:
        raise RotationRefused(f"{folder / NEXT} holds the master key already in use (a rotation finished "
                              "under SILLAGE_MASTER_KEY): remove it, then run the command again to rotate "
                              "anew.")
    if upcoming is None and (folder / OLD).exists():
        raise RotationRefused(f"{folder / OLD} is still there from the last rotation. Once your backups hold "
                              f"the current master key, remove it, then run the command again.")
    if new_key is not None:
        new_key = _check_new_key(new_key)
        if new_key == current:
            raise RotationRefused("the new master key is the one in use")
        if upcoming is not None and new_key != upcoming:
            raise RotationRefused(f"a rotation to another key is in progress ({folder / NEXT}): run the "
                                  "command without --new-key-file to finish it first")
    resuming = upcoming is not None
    if not resuming:
        _write_private(folder / NEXT, new_key or secrets.token_urlsafe(32), replace=False)
    return keyring(config), resuming


def pending(session: Session, ring: Keyring) -> int:
    """Keys not yet wrapped by the ring's wrapping key: vault data keys, organisation signing keys and
    the platform's attestation keys."""
    return sum(session.scalar(select(func.count()).select_from(model)
                              .where(model.master_key_id != ring.wrapping_id))
               for model in (VaultKey, SigningKey, PlatformKey, Export))


def rewrap_batch(session: Session, ring: Keyring, size: int = 500) -> int:
    """Re-wrap up to *size* data keys not yet under the ring's wrapping key; flush; return how many.

    Each key is unwrapped with the master key its row names, so rows under either key are fine; a row
    under a key the ring lacks raises VaultError and stops the rotation (nothing in that batch is kept
    once the caller rolls back)."""
    target, target_id, now = ring.wrapping, ring.wrapping_id, utcnow()
    rows = session.scalars(select(VaultKey).where(VaultKey.master_key_id != target_id)
                           .order_by(VaultKey.id).limit(size)).all()
    for row in rows:
        row.wrapped_key = wrap_data_key(ring.unwrap(row), target, row.user_id)
        row.master_key_id, row.rotated_at = target_id, now
    # Then the sealed signing keys (``app.services.orgs``, ``app.services.attestations``), same master key.
    for model, aad_prefix, purpose in ((SigningKey, SIGNING_AAD, SIGNING_PURPOSE),
                                       (PlatformKey, PLATFORM_AAD, PLATFORM_PURPOSE),
                                       (Export, EXPORT_AAD, EXPORT_PURPOSE)):
        if len(rows) >= size:
            break
        sealed = session.scalars(select(model).where(model.master_key_id != target_id)
                                 .order_by(model.id).limit(size - len(rows))).all()
        for row in sealed:
            master = ring.keys.get(row.master_key_id)
            if master is None:
                raise VaultError(f"signing key {row.id} is sealed by master key {row.master_key_id}, which "
                                 "this instance does not have", "vault_master_key_missing")
            aad = aad_prefix + str(row.id).encode("ascii")
            try:
                seed = unseal(row.sealed_private_key, master.encode("utf-8"), aad, purpose=purpose)
            except SealError as error:
                raise VaultError(f"signing key {row.id} does not open: {error}", "vault_key_unwrap") from None
            row.sealed_private_key = seal(seed, target.encode("utf-8"), aad, purpose=purpose)
            row.master_key_id, row.rotated_at = target_id, now
        rows = [*rows, *sealed]
    session.flush()
    return len(rows)


def finish_rotation(config: Mapping) -> str:
    """Once no row is left under the old key: with a key file, keep the old key as ``master_key.old``
    and rename ``master_key.next`` over ``master_key`` (atomic); return what the operator does next."""
    folder = Path(config["INSTANCE_PATH"])
    key_file = config.get("MASTER_KEY_FILE")
    if not key_file:
        return (f"Every data key is now wrapped by the new master key in {folder / NEXT}. Set "
                "SILLAGE_MASTER_KEY to the content of that file, restart Sillage, then remove the file "
                "(until then, this instance reads both keys).")
    path = Path(key_file)
    _write_private(folder / OLD, path.read_text().strip(), replace=True)
    os.replace(folder / NEXT, path)
    _sync_folder(folder)
    return (f"{path} now holds the new master key; the previous one is kept in {folder / OLD}. Restart "
            f"the workers of other hosts if any, back up the new key, then remove {folder / OLD}.")
