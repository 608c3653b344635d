"""The vault's own pages: the list (search, tags, quota, upload), one document (edit, download,
thumbnail, delete).

Uploads stream: a file's content goes from the request to ``documents.store`` in chunks, never whole
in memory. Two ways in, both checked against CSRF:

- ``POST /vault/upload``: an ordinary multipart form (``<input type=file multiple>``), which works
  without JavaScript, read part by part as it arrives (``app.vault.formstream``): no file is held in
  memory or spooled to a temporary file.
- ``POST /vault/upload.json?name=…``: one file as the raw request body, sent by ``static/vault.js``
  (XHR, for its progress events) with the token in the ``X-CSRFToken`` header. Nothing is parsed: the
  body is read straight into the service, which counts the bytes against the limits. The path ends in
  ``.json`` so that every error, CSRF and size included, answers JSON (``app.errors.wants_json``).

Both are exempt from the automatic CSRF check, which reads the whole form (spooling its files) before
the view runs; they check the token themselves before storing anything: the form's ``csrf_token``
field (sent before the files) or the ``X-CSRFToken`` header.
"""
from __future__ import annotations

from collections.abc import Iterator

from flask import (abort, current_app, flash, jsonify, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required

from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms.validators import ValidationError

from app.errors import error_response
from app.api.documents import CONTENT_CSP, content_response
from app.extensions import csrf, db, talisman
from app.portfolio.forms import ConfirmForm
from app.services import documents as service
from app.services.errors import ServiceError, ValidationFailed
from app.vault import bp
from app.vault.formstream import FormReader
from app.vault.forms import DocumentForm, UploadForm, parse_tags
from app.vault.text import error_message, filesize

CHUNK = 1024 * 1024
PAGE_SIZE = 24
FORM_ROOM = service.MULTIPART_OVERHEAD  # the multipart form's own fields and boundaries, beyond the file
THUMBNAIL_TYPES = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"RIFF", "image/webp"))
DocumentError = service.DocumentError


def chunks(stream, size: int = CHUNK) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


def body_chunks() -> Iterator[bytes]:
    """The raw request body, opened only when the service starts reading: werkzeug refuses a body
    over ``request.max_content_length`` as soon as the stream is opened, and the service's own check
    of the declared size (with its plain message) must come first."""
    yield from chunks(request.stream)


def form_limit() -> int:
    """Largest multipart body the plain forms take: what the vault has room for, plus one file refused
    at the per-file limit (its bytes are read and dropped), plus the form itself. Each file is still
    held to the per-file limit and the quota by the service, as it arrives."""
    used, quota = service.usage(db.session, current_user)
    return max(quota - used, 0) + service.max_file_size() + FORM_ROOM


def form_too_large() -> str | None:
    """The person's sentence when the announced body is over ``form_limit()``, before werkzeug refuses
    it with a bare 413 while parsing."""
    if (request.content_length or 0) <= form_limit():
        return None
    used, quota = service.usage(db.session, current_user)
    return _("All together, the files you chose are larger than the %(free)s left in your vault. Delete "
             "documents you no longer need, or choose fewer files.", free=filesize(max(quota - used, 0)))


def check_csrf_header() -> None:
    """The CSRF check of the raw upload, from the ``X-CSRFToken`` header alone. CSRFProtect looks in the
    form first, and merely asking for the form of a raw body opens the body's stream, which werkzeug
    refuses with a bare 413 when the body is over the limit: the service must see the declared size
    first, to say so in plain words."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None


def get_document(document_id):
    """The signed-in person's document, or 404 (someone else's id reads exactly as a missing one)."""
    try:
        return service.get(db.session, current_user, document_id)
    except DocumentError as exc:
        if exc.code == "not_found":
            abort(404)
        raise


def refusal(exc, name: str = "", status: int | None = None):
    """A service refusal as a page (or JSON under .json), in the words of ``text.MESSAGES``."""
    db.session.rollback()
    return error_response(status or getattr(exc, "status", 400), exc.code, error_message(exc, name))


# --- The list ---------------------------------------------------------------------------------------

def _list_context(upload_form=None, upload_errors=()) -> dict:
    """The list page: one page of documents, newest first, and what surrounds it.

    Pages follow each other by keyset (``?after=<id of the last document shown>``, the service's
    ``after``), so that a page costs the same however far down it is and an upload meanwhile never
    shifts a document onto two pages. A cursor that names no document of this person restarts at the top.
    """
    q = " ".join(request.args.get("q", "").split())[:200]
    tag = request.args.get("tag", "").strip()[:100]
    after = None
    if request.args.get("after"):
        try:
            after = service.ORDER.position(service.get(db.session, current_user, request.args["after"]))
        except DocumentError:
            after = None
    found = service.search(db.session, current_user, q=q or None, tag=tag or None, after=after,
                           limit=PAGE_SIZE + 1)
    documents, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    used, quota = service.usage(db.session, current_user)
    return dict(documents=documents, older=documents[-1].id if more else None, paged=after is not None,
                q=q, tag=tag, tags=service.all_tags(db.session, current_user), used=used, quota=quota,
                max_file=service.max_file_size(), upload_form=upload_form or UploadForm(formdata=None),
                upload_errors=upload_errors, form=upload_form)


@bp.get("")
@login_required
def index():
    """The documents, newest first, searched by name (``q``) and filtered by one tag (``tag``)."""
    return render_template("vault/index.html", **_list_context())


@bp.post("/upload")
@csrf.exempt
@login_required
def upload():
    """Several files from the plain form, each streamed into the vault as it arrives (``formstream``)
    and committed on its own, so that one refused file does not lose the others. Refusals are listed
    by file name, in plain words. The tags field comes before the files in the form, so that it is
    known (and checked) before the first file is stored."""
    request.max_content_length = form_limit()
    if too_large := form_too_large():
        return render_template("vault/index.html", **_list_context(upload_errors=[too_large])), 413
    reader = FormReader()
    form = UploadForm(formdata=None)
    tags, seen, added, errors = [], 0, 0, []
    for kind, part in reader.parts():
        if kind == "field" and part.name == "tags":
            form.tags.data = reader.value()
            try:
                tags = service.clean_tags(parse_tags(form.tags.data))
            except ValidationFailed as exc:
                form.tags.errors = [str(exc.fields.get("tags", exc.message))]
                return render_template("vault/index.html", **_list_context(form)), 422
        elif kind == "file" and part.name == "files" and part.filename:
            seen += 1
            try:
                service.store(db.session, current_user, part.filename, reader.data(), tags=tags)
                db.session.commit()
                added += 1
            except ServiceError as exc:
                db.session.rollback()
                errors.append(error_message(exc, part.filename))
    if not seen:
        form.files.errors = [_("Choose at least one file.")]
        return render_template("vault/index.html", **_list_context(form)), 422
    if added:
        flash(ngettext("%(num)d document added to your vault.", "%(num)d documents added to your vault.",
                       added), "success")
    if errors:
        return render_template("vault/index.html", **_list_context(upload_errors=errors)), 422 if not added else 200
    return redirect(url_for("vault.index"))


@bp.post("/upload.json")
@csrf.exempt
@login_required
def upload_json():
    """One file as the raw body (``vault.js``): ``201 {"id", "name", "url"}``, or ``{"error", "message"}``."""
    request.max_content_length = service.max_file_size()  # the body is the file, nothing else
    check_csrf_header()
    name = request.args.get("name", "")
    try:
        document = service.store(db.session, current_user, name, body_chunks(),
                                 tags=parse_tags(request.args.get("tags")),
                                 declared_size=request.content_length)
    except ServiceError as exc:
        return refusal(exc, name)
    db.session.commit()
    return jsonify(id=str(document.id), name=document.name,
                   url=url_for("vault.document", document_id=document.id)), 201


# --- One document -----------------------------------------------------------------------------------

def _render_document(document, form=None, status: int = 200):
    from app.vault.evidence import evidence_of, targets

    form = form or DocumentForm(formdata=None, name=document.name, description=document.description,
                                tags=", ".join(document.tags))
    return render_template("vault/document.html", document=document, form=form,
                           evidence=evidence_of(document), targets=targets(document)), status


@bp.route("/<document_id>", methods=["GET", "POST"])
@login_required
def document(document_id):
    """The document's page; POST saves its name, description and tags."""
    document = get_document(document_id)
    if request.method == "GET":
        return _render_document(document)
    form = DocumentForm()
    try:
        service.update(db.session, current_user, document, name=form.name.data or "",
                       description=form.description.data or "", tags=parse_tags(form.tags.data))
    except ServiceError as exc:
        db.session.rollback()
        # A refused tag or description comes with its field; a refused name says what a name needs.
        fields = dict(exc.fields) or {"name": exc.message if exc.code == "invalid_name" else error_message(exc)}
        for field, message in fields.items():
            if field in form:
                form[field].errors = [str(message)]
            else:
                flash(str(message), "error")
        return _render_document(get_document(document_id), form, 422)
    db.session.commit()
    flash(_("Document saved."), "success")
    return redirect(url_for("vault.document", document_id=document.id))


@bp.get("/<document_id>/download")
@talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
@login_required
def download(document_id):
    """The document, streamed and decrypted, as the API sends it (``api.documents.content_response``:
    one byte range if asked, always an attachment, nosniff, a type a browser would run sent as
    application/octet-stream), under a sandboxing CSP.

    ``documents.read`` checks the blob and its first chunk before the response starts, so that a
    missing, damaged or unreachable blob gives a clear error page rather than a download that begins
    and stops. A chunk that fails its check later breaks the transfer short of its Content-Length (the
    browser marks the download failed): never garbage bytes.
    """
    document = get_document(document_id)
    try:
        return content_response(current_user, document)
    except ServiceError as exc:
        return refusal(exc, document.name)


@bp.get("/<document_id>/thumbnail")
@talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
@login_required
def thumbnail(document_id):
    """The image's small preview (made by the service, metadata stripped, stored encrypted)."""
    document = get_document(document_id)
    try:
        data = service.thumbnail(current_user, document)
    except ServiceError as exc:
        return refusal(exc, document.name)
    mimetype = next((kind for magic, kind in THUMBNAIL_TYPES if data and data.startswith(magic)), None)
    if mimetype is None:
        abort(404)
    response = make_response(data)
    response.mimetype = mimetype
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    response.set_etag(f"{document.id}-{document.sha256[:16]}")
    return response.make_conditional(request)


@bp.route("/<document_id>/delete", methods=["GET", "POST"])
@login_required
def delete(document_id):
    """GET asks for confirmation (saying what it is evidence for); POST deletes."""
    from app.vault.evidence import evidence_of

    document = get_document(document_id)
    if request.method == "POST":  # CSRFProtect checked the token before the view
        name = document.name
        try:
            service.delete(db.session, current_user, document)
        except ServiceError as exc:
            return refusal(exc, name)
        db.session.commit()
        flash(_("“%(name)s” deleted.", name=name), "success")
        return redirect(url_for("vault.index"))
    return render_template("vault/confirm_delete.html", document=document, form=ConfirmForm(),
                           evidence=evidence_of(document))
