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
from app.vault.formstream import FormReader
from app.vault.routes import form_limit, form_too_large, get_document
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
    return [{"kind": KIND_OF[type(item)], "label": str(KIND_LABELS[KIND_OF[type(item)]]), "id": item.id,
             "title": item_title(item), "url": item_url(item)} for item in items if type(item) in KIND_OF]


def targets(document) -> list[tuple[str, list[tuple[str, str]]]]:
    """What ``document`` could still be attached to, grouped for a <select>: [(group label,
    [("experience:<id>", title), …]), …]; three queries, one per kind."""
    from app.services.portfolio import list_items

    linked = {(KIND_OF[type(item)], item.id) for item in (*document.experiences, *document.diplomas,
                                                          *document.skills)}
    groups = []
    for kind, label in (("experience", _l("Experiences")), ("diploma", _l("Diplomas")), ("skill", _l("Skills"))):
        items = list_items(db.session, current_user, KINDS[kind], with_links=False)
        options = [(f"{kind}:{item.id}", item_title(item)) for item in items if (kind, item.id) not in linked]
        if options:
            groups.append((str(label), options))
    return groups


@bp.post("/<document_id>/evidence")
@login_required
def attach_from_document(document_id):
    """The other way round: from the document's page, attach it to one of the person's items
    (``target`` = ``<kind>:<item id>``), then come back to the document."""
    document = get_document(document_id)
    kind, _sep, item_id = request.form.get("target", "").partition(":")
    back = url_for("vault.document", document_id=document.id) + "#evidence"
    if not item_id:
        flash(_("Choose an experience, a diploma or a skill."), "error")
        return redirect(back)
    item = _item(kind, item_id)
    service.link(db.session, current_user, document, item)
    db.session.commit()
    flash(_("“%(name)s” attached to “%(item)s”.", name=document.name, item=item_title(item)), "success")
    return redirect(back)


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
    """A new file, streamed into the vault (``formstream``, which checks the CSRF token first) and
    attached in the same transaction (both or neither)."""
    request.max_content_length = form_limit()
    item = _item(kind, item_id)
    if too_large := form_too_large():
        flash(too_large, "error")
        return redirect(item_url(item))
    reader = FormReader()
    for part_kind, part in reader.parts():
        if part_kind != "file" or part.name != "file" or not part.filename:
            continue
        try:
            document = service.store(db.session, current_user, part.filename, reader.data())
            service.link(db.session, current_user, document, item)
        except ServiceError as exc:
            db.session.rollback()
            flash(error_message(exc, part.filename), "error")
            return redirect(item_url(item))
        db.session.commit()
        flash(_("“%(name)s” added to your vault and attached.", name=document.name), "success")
        return redirect(item_url(item))
    flash(_("Choose a file to upload and attach."), "error")
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
    if request.form.get("back") == "document":
        return redirect(url_for("vault.document", document_id=document.id) + "#evidence")
    return redirect(item_url(item))
