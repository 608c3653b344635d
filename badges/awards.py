"""An awarded OB 3.0 credential, built and signed from plain values, and a pool of signing processes.

Pure (no Flask, no database), so that the same function signs a single award in the web process and the
rows of a bulk award in other processes: :func:`sign_award` is the only place that turns the values of an
award into its signed credential, whichever process runs it.

Why processes: canonicalization and the OB 3.0 checks are pure Python and hold the GIL, so threads would
not use a second core. :class:`SignerPool` keeps a few worker processes fed chunks of rows through their
stdin and stdout (pickled frames). They are plain child processes of the same interpreter
(``subprocess``), not ``multiprocessing``'s: a consumer process has threads and open database connections
that ``fork`` would copy in whatever state they were, and ``spawn``/``forkserver`` re-import the
caller's ``__main__`` (a script, ``python -``, a test runner), which may not be importable. A worker
imports only ``badges`` and ``certs`` and exits when its stdin closes, so a consumer killed mid-batch
leaves no orphan behind; a worker that dies is noticed by the reader (:class:`SignerLost`), which then
signs in its own process. Each worker keeps, for its life, the shape
templates of :mod:`certs.shapes`, the document loader and the JSON schemas (loaded lazily, once per
process), and unseals nothing: the caller hands it the organisation's key for the chunk, over the pipe
to its own child process.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import InvalidValue


def name_identity(name: str, salt: str) -> dict:
    """The recipient's name as a salted, hashed OB 3.0 ``IdentityObject``: ``sha256$`` + hex(SHA-256(NFC
    name + salt)), the form OB 3.0 gives for every identity hash (why hashed: ``app.services.awarding``)."""
    text = unicodedata.normalize("NFC", " ".join(name.split()))
    return {"type": "IdentityObject", "identityType": "name", "hashed": True,
            "identityHash": "sha256$" + hashlib.sha256((text + salt).encode("utf-8")).hexdigest(),
            "salt": salt}


@dataclass(frozen=True)
class AwardValues:
    """Everything one award's signature covers, already checked by the caller (plain, picklable)."""

    credential_id: str  # a UUID, without ``urn:uuid:``
    email: str
    salt: str
    issued: datetime
    valid_until: datetime | None
    status: Mapping | None  # the BitstringStatusListEntry
    narrative: str | None = None
    evidence: tuple[str, ...] = ()
    recipient_name: str | None = None


def unsigned_award(issuer: Mapping, achieved: Mapping, values: AwardValues) -> dict:
    """The unsigned ``OpenBadgeCredential`` of one award, with the organisation's own ``issuer`` and
    ``achievement`` documents (as built and checked by the application). Raises ``InvalidValue``."""
    from .ob3 import build_credential  # noqa: PLC0415 - keep the worker's start light

    evidence = ([{"narrative": values.narrative}] if values.narrative else []) + \
        [{"id": url} for url in values.evidence]
    document = build_credential(
        issuer={"id": issuer["id"], "name": issuer["name"]},
        achievement={"id": achieved["id"], "name": achieved["name"], "description": achieved["description"],
                     "criteria_narrative": "-"},
        valid_from=values.issued, valid_until=values.valid_until,
        credential_id=f"urn:uuid:{values.credential_id}", email=values.email, salt=values.salt,
        credential_status=values.status, evidence=evidence, awarded_date=values.issued)
    # The organisation's own documents, in place of the stand-ins.
    document["issuer"], document["credentialSubject"]["achievement"] = dict(issuer), dict(achieved)
    if values.recipient_name:
        document["credentialSubject"]["identifier"].append(name_identity(values.recipient_name, values.salt))
    return document


def sign_award(issuer: Mapping, achieved: Mapping, values: AwardValues, key, *, memo=None,
               canonizer=None) -> dict:
    """The signed credential of one award (``badges.signing.sign_credential``, created = issued).
    Raises ``InvalidValue`` when it cannot be signed faithfully (certs' refusals included)."""
    from certs.errors import CertsError  # noqa: PLC0415

    from .signing import sign_credential  # noqa: PLC0415

    try:
        return sign_credential(unsigned_award(issuer, achieved, values), key, created=values.issued, memo=memo,
                               canonizer=canonizer)
    except CertsError as error:
        raise InvalidValue("credential", str(error)) from None


# --- signing many, in this process or in worker processes -----------------------------------------

_LOCAL: dict[str, Any] = {}


def canonizer():
    """This process's shape canonicalizer (its templates live as long as the process)."""
    if "shapes" not in _LOCAL:
        from certs.shapes import ShapeCanonicalizer  # noqa: PLC0415

        from .loader import document_loader  # noqa: PLC0415

        _LOCAL["shapes"] = ShapeCanonicalizer(document_loader())
    return _LOCAL["shapes"]


def sign_chunk(job: Mapping) -> list[tuple[bool, Any]]:
    """Sign the rows of ``job`` (``issuer``, ``achieved``, ``key`` as (seed, id, controller), ``rows``:
    AwardValues; ``shapes``: False to canonicalize through pyld alone, for comparison); for each row ``(True, document)`` or ``(False, reason)``. One proof-configuration memo
    per chunk (its rows share the ``created`` second, see ``certs.proofs.sign``)."""
    from certs.canon import Memo  # noqa: PLC0415
    from certs.keys import KeyPair  # noqa: PLC0415

    seed, key_id, controller = job["key"]
    key = KeyPair.from_private_bytes(seed, controller, key_id)
    memo, canonize = Memo(), (canonizer().canonize if job.get("shapes", True) else None)
    signed: list[tuple[bool, Any]] = []
    for values in job["rows"]:
        try:
            signed.append((True, sign_award(job["issuer"], job["achieved"], values, key, memo=memo,
                                            canonizer=canonize)))
        except InvalidValue as error:
            signed.append((False, error.message))
    return signed


def key_material(key) -> tuple[bytes, str, str]:
    """What a worker needs of a ``certs.keys.KeyPair`` to sign: its seed, id and controller."""
    return key.private_key.private_bytes_raw(), key.id, key.controller


class SignerLost(RuntimeError):
    """A worker process died or its pipe broke: the caller signs that chunk itself."""


def _write_frame(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _read_frame(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own child process, over its own pipe


def serve() -> None:
    """A signing process's loop (``python -c "from badges.awards import serve; serve()"``): chunks in on
    stdin, their signed rows out on stdout, until stdin closes (the parent stopped, or died). Requests
    are read by a thread of their own, so that the parent's writes never wait for this process to finish
    writing an answer (both pipes full would wait for each other); stray prints go to stderr."""
    import queue  # noqa: PLC0415

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    requests = sys.stdin.buffer
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                jobs.put(_read_frame(requests))
            except (EOFError, OSError):
                jobs.put(None)
                return

    threading.Thread(target=read, daemon=True).start()
    while (job := jobs.get()) is not None:
        try:
            _write_frame(answers, sign_chunk(job))
        except (BrokenPipeError, OSError):
            return


class Pending:
    """The answer to one submitted chunk, read from its worker's pipe in submission order."""

    def __init__(self, pool: "SignerPool | None", worker: int | None, job: Mapping):
        self._pool, self._worker, self.job = pool, worker, job
        self._generation = pool._generation if pool is not None else None
        self._result = sign_chunk(job) if pool is None else None

    def result(self) -> list[tuple[bool, Any]]:
        """The signed rows; raises ``SignerLost`` if the worker died (the caller signs ``job`` itself)."""
        if self._result is None:
            if self._pool._generation != self._generation:  # the pool was restarted meanwhile
                raise SignerLost("the signing processes were restarted")
            self._result = self._pool._receive(self._worker)
        return self._result


class SignerPool:
    """``workers`` signing processes, each fed through its own pipes (see the module docstring).

    ``submit`` sends a chunk to the next worker in turn and returns a :class:`Pending`; chunks must be
    read (``Pending.result``) in the order they were submitted. With ``workers=0`` the chunk is signed at
    once in the caller's process. Not thread-safe: one pool per thread that uses it."""

    def __init__(self, workers: int):
        self.workers = max(0, int(workers))
        self._processes: list[subprocess.Popen] = []
        self._next = 0
        self._sent: list[int] = []
        self._generation = 0

    def _start(self) -> None:
        """Plain child processes of this interpreter that import only ``badges`` and ``certs`` (not the
        caller's ``__main__``, which ``multiprocessing`` would re-import), found where this ``badges`` is."""
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        command = [sys.executable, "-c", "from badges.awards import serve; serve()"]
        self._processes = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                           for _ in range(self.workers)]
        self._sent = [0] * self.workers

    def submit(self, job: Mapping) -> Pending:
        if self.workers == 0:
            return Pending(None, None, job)
        if not self._processes:
            self._start()
        worker = self._next % self.workers
        self._next += 1
        try:
            _write_frame(self._processes[worker].stdin, job)
        except (BrokenPipeError, OSError, ValueError):
            self.close()
            return Pending(None, None, job)  # signed here instead
        self._sent[worker] += 1
        return Pending(self, worker, job)

    def _receive(self, worker: int) -> list[tuple[bool, Any]]:
        try:
            answer = _read_frame(self._processes[worker].stdout)
        except (EOFError, OSError, ValueError, IndexError, pickle.UnpicklingError):
            self.close()
            raise SignerLost("a signing process stopped") from None
        self._sent[worker] -= 1
        return answer

    def abandon(self) -> None:
        """Forget the chunks submitted and not read (a run that stopped early): their answers would
        otherwise be read as the next chunks'. The workers are stopped, and started again when needed."""
        if any(self._sent):
            self.close()

    def close(self) -> None:
        """Stop the workers (they exit when their stdin closes)."""
        self._generation += 1
        for process in self._processes:
            for stream in (process.stdin, process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        for process in self._processes:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes, self._next, self._sent = [], 0, []


_POOLS: dict[tuple[int, int], SignerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(workers: int) -> SignerPool:
    """The calling thread's pool of ``workers`` processes, started at its first chunk and kept for the
    process's life (a consumer runs batch after batch: the workers' templates and schemas stay warm)."""
    key = (threading.get_ident(), max(0, int(workers)))
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = SignerPool(workers)
        return _POOLS[key]


def close_pools(pools: Sequence[SignerPool] | None = None) -> None:
    with _POOLS_LOCK:
        for signer in list(pools if pools is not None else _POOLS.values()):
            signer.close()
        if pools is None:
            _POOLS.clear()
