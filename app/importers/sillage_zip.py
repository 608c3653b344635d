"""Sillage's own export (docs/export-format.md), read back losslessly where the receiving account can
hold it.

Checked before anything is read: the manifest's ``format`` and ``version``, then every entry of the ZIP
against the manifest's list (none missing, none extra, same size and SHA-256, hashed as it streams),
so that a half-written export (a crash while writing, a cut download) or an altered one is refused as
a whole; then ``portfolio.json`` against the JSON Schema of the format when it is in the repository.

What a Sillage-to-Sillage import restores, and what it deliberately does not (the decision; the import
page, the README and docs/export-format.md say the same):

- Restored: profile (the fields the account has empty, the photo if it has none), skills, experiences
  (with their skills), diplomas, journal (with the dates it was written), documents (with their tags,
  descriptions and evidence links), credentials (to the backpack, verbatim, verified again, with their
  hidden flag and item links: credentials issued to the person, signed attestations and badges from
  elsewhere alike), pages and CVs (their items pointed at the imported ones). Export, import into a
  fresh account, export again: these sections are equal but for ids and timestamps.
- Not restored (``NOT_IMPORTED``), counted in the preview and in the summary (``Bundle.left_out``):
  ``grants`` (the people the portfolio was shared with: a grant opens the portfolio to another person,
  who accepted it on the original account; re-creating it would give them access to a new account
  without their knowledge or the owner's new decision, and inviting them again would mail people who
  asked nothing), ``grants_received`` (other people's portfolios: those grants are their owners' to
  give), ``share_links`` (bearer secrets: only a hash of each token is kept, so the same address cannot
  be answered elsewhere, and a copy of a secret must not outlive its account; new links are one click
  on the imported pages and CVs), ``attestation_requests`` (they name the people asked, and their
  one-time links were mailed to them; the signed attestations themselves come back as credentials),
  ``access_log`` (it records who read the original portfolio: replayed here it would claim readings
  that never happened here). The export file keeps all five for the person's own records.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from datetime import datetime, timedelta
from collections.abc import Iterator
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.importers import Bundle, CredentialEntry, FileEntry, clip
from app.importers.safety import Limits, SafeZip, parse_json, refuse

FORMAT, VERSION = "sillage-export", 1
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "portfolio-export.schema.json"
NOT_IMPORTED = ("grants", "grants_received", "share_links", "attestation_requests", "access_log")
PAGE_FIELDS = ("title", "headline", "theme", "items", "show_photo", "public_profile")
CV_FIELDS = ("name", "template", "language", "target_text", "target_occupation", "summary", "cover_letter",
             "show_photo", "consent", "consent_text", "selection")
LINK_SECTIONS = {"experience": "experiences", "diploma": "diplomas", "skill": "skills"}
PROFILE_FIELDS = ("display_name", "headline", "bio", "contact_email", "phone", "location", "website")


def is_encrypted(head: bytes) -> bool:
    try:
        from certs import export_cipher  # noqa: PLC0415
    except ImportError:  # pragma: no cover - export's cipher not merged yet
        return False
    return export_cipher.is_encrypted(head)


@contextlib.contextmanager
def decrypted(path: str, passphrase: str | None, limits: Limits) -> Iterator[str]:
    """The plaintext of an encrypted export in a temporary file, used only once decryption has ended
    without error (a damaged file can fail late); removed when the block ends. The header's key
    derivation cost is bounded (``IMPORT_BOUNDS``) before any work: nothing is authenticated yet."""
    from certs import export_cipher  # noqa: PLC0415

    if not passphrase:
        raise refuse("passphrase_required", _l("This export is encrypted: give its passphrase."))
    handle, clear = tempfile.mkstemp(prefix="sillage-import-", suffix=".zip")
    try:
        written = 0
        with os.fdopen(handle, "wb") as out:
            try:
                for piece in export_cipher.decrypt(export_cipher.read_file(path), passphrase,
                                                     bounds=export_cipher.IMPORT_BOUNDS):
                    written += len(piece)
                    if written > limits.upload:
                        raise refuse("file_too_large", _l("The decrypted export is too large."), status=413)
                    out.write(piece)
            except export_cipher.ExportCipherError as error:
                if error.code in ("wrong_passphrase_or_damaged", "weak_passphrase"):
                    raise refuse("wrong_passphrase", _l("The passphrase is wrong, or the file is damaged or "
                                                        "incomplete.")) from None
                raise refuse("unsupported_encryption", _l("This encrypted export uses parameters Sillage "
                                                          "does not accept.")) from None
        yield clear
    finally:
        with contextlib.suppress(OSError):
            os.unlink(clear)


def _check_manifest(archive: SafeZip) -> dict:
    manifest = parse_json(archive.read("manifest.json"), "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise refuse("invalid_manifest", _l("manifest.json does not describe a Sillage export."))
    if manifest.get("version") != VERSION:
        raise refuse("unsupported_version", _l("This export is of version %(version)s; this Sillage reads "
                                               "version %(known)s.", version=str(manifest.get("version"))[:20],
                                               known=VERSION))
    files = manifest.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                                              for f in files):
        raise refuse("invalid_manifest", _l("manifest.json has no valid list of files."))
    listed = {f["path"]: f for f in files}
    present = set(archive.names) - {"manifest.json"}
    missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
    if missing or extra:
        raise refuse("integrity_error", _l("The export is incomplete or altered: %(name)s is %(what)s.",
                                           name=(missing or extra)[0][:200],
                                           what=_l("missing") if missing else _l("not in its manifest")))
    for path, entry in listed.items():
        digest, size = hashlib.sha256(), 0
        for piece in archive.chunks(path):
            digest.update(piece)
            size += len(piece)
        if size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
            raise refuse("integrity_error", _l("The export is incomplete or altered: %(name)s does not match "
                                               "its manifest.", name=path[:200]))
    return manifest


def _check_schema(document) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT or document.get("version") != VERSION:
        raise refuse("invalid_format", _l("portfolio.json is not a Sillage export of version %(known)s.",
                                          known=VERSION))
    if not SCHEMA.exists():  # pragma: no cover - the schema ships with the export format
        return
    import jsonschema  # noqa: PLC0415

    schema = json.loads(SCHEMA.read_text("utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.validators.validator_for(schema)(schema)
                                             .iter_errors(document))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "portfolio.json"
        raise refuse("invalid_format", _l("portfolio.json does not follow the export format (%(where)s: "
                                          "%(problem)s).", where=where[:200], problem=error.message[:300]))


def _keep_journal_order(entries: list[dict]) -> None:
    """The journal is listed newest first, with times to the second: entries written within one second
    get microseconds apart, in the listed order, so that they keep their order once imported."""
    previous = None
    for entry in reversed(entries):
        try:
            moment = datetime.fromisoformat(str(entry.get("created_at") or ""))
        except ValueError:
            continue
        if moment.tzinfo is None:
            continue
        if previous is not None and moment <= previous:
            moment = previous + timedelta(microseconds=1)
        entry["created_at"] = previous = moment


def read(archive: SafeZip) -> Bundle:
    manifest = _check_manifest(archive)
    if not archive.has("portfolio.json"):
        raise refuse("integrity_error", _l("The export has no portfolio.json."))
    document = parse_json(archive.read("portfolio.json"), "portfolio.json")
    _check_schema(document)
    bundle = Bundle("sillage")
    profile = document.get("profile") or {}
    bundle.profile = {k: profile[k] for k in PROFILE_FIELDS if profile.get(k)}
    photo = profile.get("photo")
    if isinstance(photo, str) and archive.has(photo):
        bundle.photo = archive.read(photo)
    for skill in document.get("skills") or ():
        bundle.skills.append({"ref": skill["id"], **{k: skill.get(k, "") for k in
                                                     ("name", "framework", "concept_uri", "description")},
                              "level": skill.get("level", 1)})
    for experience in document.get("experiences") or ():
        bundle.experiences.append({"ref": experience["id"], "skill_refs": list(experience.get("skill_ids") or ()),
                                   **{k: experience.get(k) for k in ("kind", "title", "organisation", "place",
                                                                     "start_date", "end_date", "description")}})
    for diploma in document.get("diplomas") or ():
        bundle.diplomas.append({"ref": diploma["id"], **{k: diploma.get(k) for k in
                                                         ("title", "awarding_body", "awarded_on", "level",
                                                          "reference")}})
    for entry in document.get("journal") or ():
        bundle.journal.append({"ref": entry["id"], "title": entry.get("title"), "body": entry.get("body", ""),
                               "created_at": entry.get("created_at")})
    _keep_journal_order(bundle.journal)
    evidence: dict[str, list[tuple[str, str]]] = {}
    for section in ("experiences", "diplomas", "skills"):
        for item in document.get(section) or ():
            for document_id in item.get("evidence") or ():
                evidence.setdefault(document_id, []).append((section, item["id"]))
    sizes = {f["path"]: f for f in manifest["files"]}
    for item in document.get("documents") or ():
        path = item.get("file")
        if not path or path not in sizes:
            raise refuse("integrity_error", _l("The export is incomplete: the file of document “%(name)s” is "
                                               "missing.", name=clip(item.get("name"), 100)))
        bundle.documents.append(FileEntry(
            ref=item["id"], name=item.get("name") or path.rsplit("/", 1)[-1],
            chunks=lambda p=path: archive.chunks(p), size=sizes[path]["size"], sha256=sizes[path]["sha256"],
            description=item.get("description") or "", tags=list(item.get("tags") or ()),
            links=evidence.get(item["id"], [])))
    for item in document.get("credentials") or ():
        files = item.get("files") or {}
        path = files.get("json") if files.get("json") in sizes else files.get("png")
        if path in sizes:
            links = [(LINK_SECTIONS[link["item_kind"]], link["item_id"]) for link in item.get("links") or ()
                     if isinstance(link, dict) and link.get("item_kind") in LINK_SECTIONS]
            bundle.credentials.append(CredentialEntry(ref=item["id"], filename=path.rsplit("/", 1)[-1],
                                                      payload=archive.read(path), hidden=bool(item.get("hidden")),
                                                      links=links))
    for page in document.get("pages") or ():
        bundle.pages.append({"ref": page["id"], **{k: page.get(k) for k in PAGE_FIELDS if k in page}})
    for cv in document.get("cvs") or ():
        bundle.cvs.append({"ref": cv["id"], **{k: cv.get(k) for k in CV_FIELDS if k in cv}})
    for section in NOT_IMPORTED:
        count = len(document.get(section) or ())
        if count:
            bundle.left_out[section] = count
    return bundle
