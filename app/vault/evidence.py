"""Documents as evidence: attach and detach them from experiences, diplomas and skills.

The item pages (``app/portfolio/templates``) include ``vault/_evidence.html``, which reads what it
shows through the template global ``vault_evidence(item)``; the forms post here. Both the item and the
document are loaded for the signed-in person only (404 otherwise), and the service checks again that
both belong to the same owner before linking.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required

from app import policy
from app.extensions import csrf, db
from app.models import Diploma, Experience, Skill
from app.services import documents as service
from app.services.errors import ServiceError
from app.vault import bp
from app.vault.forms import AttachForm, AttachUploadForm
from app.vault.routes import check_csrf, chunks, form_limit, form_too_large, get_document
from app.vault.text import error_message

KINDS = {"experience": Experience, "diploma": Diploma, "skill": Skill}
KIND_OF = {model: kind for kind, model in KINDS.items()}
KIND_LABELS = {"experience": _l("Experience"), "diploma": _l("Diploma"), "skill": _l("Skill")}
CHOICES_SHOWN = 200  # newest documents offered in the "attach" list; search the vault for older ones


def _item(kind: str, item_id):
    model = KINDS.get(kind)
    if model is None:
        abort(404)
    return policy.get_or_404(model, item_id, current_user, policy.UPDATE)


def item_url(item) -> str:
    kind = KIND_OF[type(item)]
    return url_for(f"portfolio.{kind}", item_id=item.id) + "#evidence"


def item_title(item) -> str:
    return getattr(item, "title", None) or getattr(item, "name", "")


def evidence_of(document) -> list[dict]:
    """What ``document`` is evidence for: [{"kind", "label", "title", "url"}], in a stable order."""
    items = [*document.experiences, *document.diplomas, *document.skills]
    return [{"kind": KIND_OF[type(item)], "label": str(KIND_LABELS[KIND_OF[type(item)]]),
             "title": item_title(item), "url": item_url(item)} for item in items if type(item) in KIND_OF]


@bp.app_template_global("vault_evidence")
def vault_evidence(item) -> dict:
    """What an item page shows and offers: its documents, and the forms to attach more."""
    attached = service.evidence(db.session, item)
    linked = {document.id for document in attached}
    form = AttachForm(formdata=None)
    newest = service.search(db.session, current_user, limit=CHOICES_SHOWN + len(linked))
    choices = [d for d in newest if d.id not in linked][:CHOICES_SHOWN]
    form.document_id.choices = [("", _("Choose a document"))] + [(str(d.id), d.name) for d in choices]
    return dict(documents=attached, kind=KIND_OF[type(item)], form=form, has_choices=bool(choices),
                upload_form=AttachUploadForm(formdata=None))


@bp.post("/evidence/<kind>/<item_id>")
@login_required
def attach(kind, item_id):
    item = _item(kind, item_id)
    if not request.form.get("document_id"):
        flash(_("Choose a document to attach."), "error")
        return redirect(item_url(item))
    document = get_document(request.form["document_id"])
    try:
        service.link(db.session, current_user, document, item)
    except ServiceError as exc:
        db.session.rollback()
        flash(error_message(exc, document.name), "error")
        return redirect(item_url(item))
    db.session.commit()
    flash(_("“%(name)s” attached.", name=document.name), "success")
    return redirect(item_url(item))


@bp.post("/evidence/<kind>/<item_id>/upload")
@csrf.exempt
@login_required
def attach_upload(kind, item_id):
    """A new file, stored in the vault and attached in the same transaction (both or neither)."""
    request.max_content_length = form_limit()
    item = _item(kind, item_id)
    if too_large := form_too_large():
        flash(too_large, "error")
        return redirect(item_url(item))
    check_csrf()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload and attach."), "error")
        return redirect(item_url(item))
    try:
        document = service.store(db.session, current_user, upload.filename, chunks(upload.stream))
        service.link(db.session, current_user, document, item)
    except ServiceError as exc:
        db.session.rollback()
        flash(error_message(exc, upload.filename), "error")
        return redirect(item_url(item))
    db.session.commit()
    flash(_("“%(name)s” added to your vault and attached.", name=document.name), "success")
    return redirect(item_url(item))


@bp.post("/evidence/<kind>/<item_id>/<document_id>/detach")
@login_required
def detach(kind, item_id, document_id):
    """Detach only: the document stays in the vault."""
    item = _item(kind, item_id)
    document = get_document(document_id)
    service.unlink(db.session, current_user, document, item)
    db.session.commit()
    flash(_("“%(name)s” detached. It stays in your vault.", name=document.name), "success")
    return redirect(item_url(item))
