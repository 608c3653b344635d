"""Which format a file is, from its content (never from its name alone), and its ``Bundle``.

ZIP: Sillage's export (``manifest.json`` of format ``sillage-export``), Mahara's LEAP2A export
(``leap2a.xml``), LinkedIn's data export (``Positions.csv``/``Education.csv``/``Skills.csv``).
JSON: JSON Resume, or a credential (OB 2.0/3.0, CLR) for the backpack. XML: LEAP2A or Europass (an
SVG is a baked badge). PNG: a baked badge. A compact JWS (``eyJ…``): an OB 3.0 VC-JWT.
"""
from __future__ import annotations

import contextlib
import posixpath
import re
from collections.abc import Iterator

from flask_babel import lazy_gettext as _l

from app.importers import Bundle, CredentialEntry, europass, json_resume, leap2a, linkedin
from app.importers.safety import Limits, SafeZip, parse_json, parse_xml, refuse

FORMATS = ("sillage", "json_resume", "leap2a", "europass", "linkedin", "badge")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
SVG_ROOT = re.compile(rb"<svg[\s>]")


def _leap_member(archive: SafeZip) -> str | None:
    for name in archive.names:
        if posixpath.basename(name) == "leap2a.xml" and name.count("/") <= 1:
            return name
    return None


def _badge(data: bytes, filename: str | None) -> Bundle:
    bundle = Bundle("badge")
    bundle.credentials.append(CredentialEntry(ref="file", filename=filename or "credential", payload=data))
    return bundle


def _unknown():
    return refuse("unknown_format", _l("This file is not in a format Sillage imports: a Sillage export, "
                                       "JSON Resume, LEAP2A (Mahara), Europass CV XML, a LinkedIn data "
                                       "export, or a badge (PNG, SVG, JSON)."))


@contextlib.contextmanager
def read(path: str, *, filename: str | None = None, limits: Limits | None = None,
         passphrase: str | None = None) -> Iterator[Bundle]:
    """The ``Bundle`` of the file at ``path``; its documents can be read until the block ends (they
    stream from the archive). Raises ``ImportRefused`` with a stable code when the file is refused."""
    limits = limits or Limits()
    with open(path, "rb") as stream:
        head = stream.read(16)
        stream.seek(0, 2)
        size = stream.tell()
    if size == 0:
        raise refuse("empty_file", _l("The file is empty."))
    if size > limits.upload:
        raise refuse("file_too_large", _l("The file is larger than the %(size)s MiB an import may be.",
                                          size=limits.upload // 2**20), status=413)
    from app.importers import sillage_zip  # noqa: PLC0415  (it reads export's format module)

    if sillage_zip.is_encrypted(head):
        with sillage_zip.decrypted(path, passphrase, limits) as clear:
            with read(clear, filename=filename, limits=limits) as bundle:
                yield bundle
        return
    if head.startswith(ZIP_MAGIC):
        archive = SafeZip(path, limits)
        try:
            yield _from_zip(archive, passphrase)
        finally:
            archive.close()
        return
    if size > limits.document:
        raise refuse("document_too_large", _l("The file is too large to be read."))
    with open(path, "rb") as stream:
        data = stream.read()
    yield _from_document(data, filename)


def _from_zip(archive: SafeZip, passphrase: str | None) -> Bundle:
    from app.importers import sillage_zip  # noqa: PLC0415

    if archive.has("manifest.json"):
        return sillage_zip.read(archive)
    member = _leap_member(archive)
    if member is not None:
        return leap2a.read(archive.read(member), archive)
    if linkedin.looks_like(archive):
        return linkedin.read(archive)
    raise _unknown()


def _from_document(data: bytes, filename: str | None) -> Bundle:
    text_head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _badge(data, filename)
    if text_head.startswith((b"{", b"[")):
        document = parse_json(data, _l("The JSON file"))
        if json_resume.looks_like(document):
            return json_resume.read(data)
        if isinstance(document, dict) and ("@context" in document or "type" in document):
            return _badge(data, filename)
        raise _unknown()
    if text_head.startswith(b"<"):
        if SVG_ROOT.search(data[:8192]):  # a baked SVG, often with a DOCTYPE: the backpack parses it safely
            return _badge(data, filename)
        root = parse_xml(data, _l("The XML file"))
        if leap2a.looks_like(root):
            return leap2a.read(data)
        if europass.looks_like(root):
            return europass.read(data)
        raise _unknown()
    if text_head.startswith(b"eyJ") and data.strip().count(b".") == 2:  # a compact JWS (VC-JWT)
        return _badge(data.strip(), filename)
    raise _unknown()
