"""What the vault's pages say: each service refusal in plain words, sizes, and kinds of file.

The service's ``DocumentError`` carries a stable ``code``; the pages never show its English message
as is, but the sentence below for that code, translated, with the numbers that help the person act
(the limit, the space left). An unknown code falls back to the service's own message.
"""
from __future__ import annotations

from flask_babel import format_decimal, format_percent, get_locale, gettext as _, lazy_gettext as _l

from flask_login import current_user

from app.extensions import db
from app.services import documents
from app.vault import bp

KIB = 1024
# Binary multiples under the usual short names, as file managers show them: a 1 GiB quota reads "1 GB".
UNITS = ((KIB ** 3, _l("%(n)s GB")), (KIB ** 2, _l("%(n)s MB")), (KIB, _l("%(n)s KB")))

MESSAGES = {
    "empty_file": _l("“%(name)s” is empty (0 bytes): nothing was added. Please choose the file again."),
    "file_too_large": _l("“%(name)s” is too large: a document may be at most %(limit)s."),
    "quota_exceeded": _l("“%(name)s” does not fit in your vault: %(free)s left of %(quota)s. Delete "
                         "documents you no longer need, or ask your administrator for more space."),
    "invalid_name": _l("“%(name)s” is not a name we can keep: use letters, digits and ordinary "
                       "punctuation, without slashes or control characters, at most 200 characters."),
    "storage_unavailable": _l("Your documents cannot be reached right now (the storage is unavailable). "
                              "Nothing was changed; please try again in a few minutes."),
    "document_corrupted": _l("The stored copy of “%(name)s” is damaged or missing, so it cannot be "
                             "read safely and nothing was sent. If you have the file elsewhere, please "
                             "upload it again; tell your administrator if this happens often."),
    "not_found": _l("This document does not exist, or it is not yours."),
}


def error_message(exc, name: str = "") -> str:
    """The person's sentence for a service refusal (``exc.code``) about the file called ``name``."""
    template = MESSAGES.get(getattr(exc, "code", ""))
    if template is None:  # a refused tag or description: the service's words for that field
        fields = getattr(exc, "fields", None) or {}
        return " ".join(str(message) for message in fields.values()) or str(getattr(exc, "message", exc))
    values = {"name": name or _("this file"), "limit": filesize(documents.max_file_size())}
    if exc.code == "quota_exceeded":
        used, quota = usage_now()
        values.update(free=filesize(max(quota - used, 0)), quota=filesize(quota))
    return str(template) % values


def usage_now() -> tuple[int, int]:
    """(used, quota) of the signed-in person, read again (after a refusal, the session was rolled back)."""
    return documents.usage(db.session, current_user)


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """``1536`` → "1.5 KB" (in the reader's language: "1,5 Ko"); below 1 KB, in bytes."""
    size = int(size or 0)
    for unit, label in UNITS:
        value = size / unit
        if size >= unit * 1023.5 / 1024:  # what would read "1,024 MB" reads "1 GB"
            pattern = "#,##0" if value >= 100 else "#,##0.#"
            return str(label) % {"n": format_decimal(value, format=pattern)}
    return _("%(n)s bytes", n=format_decimal(size)) if size != 1 else _("1 byte")


@bp.app_template_filter("percent_of")
def percent_of(used: int, quota: int) -> str:
    """Share of the quota in use, in the reader's language: "12 %", "0.4 %" (one decimal below 10 %)."""
    ratio = used / quota if quota else 1.0
    pattern = get_locale().percent_formats[None].pattern  # "#,##0%" in English, "#,##0 %" in French
    return format_percent(ratio, format=pattern.replace("0%", "0.#%").replace("0\u00a0%", "0.#\u00a0%")
                          if ratio < 0.1 else pattern)


KINDS = {
    "application/pdf": _l("PDF document"),
    "application/zip": _l("ZIP archive"),
    "text/plain": _l("Text"),
    "text/csv": _l("Table (CSV)"),
    "application/msword": _l("Word document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _l("Word document"),
    "application/vnd.oasis.opendocument.text": _l("Text document (OpenDocument)"),
    "application/vnd.ms-excel": _l("Spreadsheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _l("Spreadsheet"),
    "application/vnd.oasis.opendocument.spreadsheet": _l("Spreadsheet"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _l("Slides"),
    "application/vnd.oasis.opendocument.presentation": _l("Slides"),
}
FAMILIES = {"image": _l("Image (%(format)s)"), "video": _l("Video (%(format)s)"),
            "audio": _l("Sound (%(format)s)")}


@bp.app_template_filter("doc_kind")
def doc_kind(content_type: str | None) -> str:
    """A kind of file in words, from the type sniffed from its content: "PDF document", "Image (PNG)"."""
    content_type = (content_type or "").split(";", 1)[0].strip().lower()
    if content_type in KINDS:
        return str(KINDS[content_type])
    family, _slash, subtype = content_type.partition("/")
    if family in FAMILIES and subtype:
        return str(FAMILIES[family]) % {"format": short_kind(content_type)}
    return _("File")


@bp.app_template_filter("short_kind")
def short_kind(content_type: str | None) -> str:
    """Three or four letters for a file icon: PDF, PNG, JPEG, MP4, DOCX…; FILE when unknown."""
    content_type = (content_type or "").split(";", 1)[0].strip().lower()
    special = {"application/pdf": "PDF", "application/zip": "ZIP", "text/plain": "TXT", "text/csv": "CSV",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
               "application/vnd.oasis.opendocument.text": "ODT", "image/svg+xml": "SVG"}
    if content_type in special:
        return special[content_type]
    subtype = content_type.partition("/")[2].split("+", 1)[0]
    subtype = subtype.removeprefix("x-").removeprefix("vnd.")
    return subtype.upper()[:4] if subtype.isalnum() else "FILE"
