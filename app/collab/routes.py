"""Pages: comments on an item, the thread with each invited person, proposing, the owner's inbox.
Thin: parse, call ``app.services.collab``, render. A refusal of the service is shown next to its field;
another person's object is a 404 page (``ServiceError`` handling in ``app.errors``)."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _, ngettext
from markupsafe import Markup, escape
from flask_login import current_user, login_required

from app.collab import bp
from app.collab.forms import (DeclineForm, DocumentProposalForm, EmptyForm, ExperienceProposalForm,
                              SkillProposalForm, TextForm)
from app.extensions import db, limiter
from app.portfolio.common import show_errors
from app.services import collab as service
from app.services.documents import DocumentError
from app.services.grants import title_of
from app.services.errors import Forbidden, ValidationFailed

write_limit = limiter.limit("120/hour", methods=["POST"])  # each write may end up in someone's mailbox
PROPOSAL_FORMS = {"experience": ExperienceProposalForm, "skill": SkillProposalForm,
                  "document": DocumentProposalForm}


def comments_link(item_type: str, item) -> Markup:
    """For item lists (a Jinja global): a link to the item's comments with their count, for the people
    who may comment on it (nothing for the others). The counts of the whole portfolio come in one query
    per request; the access check is ``policy.may_comment`` per item (the shared view's lists are short)."""
    if not service.policy.may_comment(current_user, item):
        return Markup("")
    counts = g.setdefault("_collab_comment_counts", {})
    if item.portfolio_id not in counts:
        counts[item.portfolio_id] = service.portfolio_comment_counts(db.session, item.portfolio_id)
    count = counts[item.portfolio_id].get((item_type, item.id), 0)
    label = ngettext("%(num)d comment", "%(num)d comments", count) if count else _("Comment")
    href = url_for("collab.comments", item_type=item_type, item_id=item.id)
    return Markup('<a class="collab-comments-link" href="{}">{}</a>').format(href, escape(label))


def may_propose(grant) -> bool:
    """For the shared view (a Jinja global): whether to offer "Propose an addition"."""
    return service.policy.can(current_user, "propose", grant.portfolio)


def _status() -> int:
    return 400 if request.method == "POST" else 200


@bp.route("/comments/<item_type>/<item_id>", methods=["GET", "POST"])
@login_required
@write_limit
def comments(item_type, item_id):
    item = service.find_item(db.session, current_user, item_type, item_id)
    form = TextForm()
    if form.validate_on_submit():
        try:
            service.add_comment(db.session, current_user, item_type, item.id, form.body.data, form.parent_id.data,
                                ip=request.remote_addr)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            return redirect(url_for("collab.comments", item_type=item_type, item_id=item.id))
    found = service.comments_on(db.session, current_user, item_type, item.id, ip=request.remote_addr)
    db.session.commit()  # the access log line
    return render_template("collab/comments.html", item=item, title=title_of(item), item_type=item_type,
                           comments=found, form=form), _status()


@bp.route("/messages/<grant_id>", methods=["GET", "POST"])
@login_required
@write_limit
def messages(grant_id):
    grant = service.get_grant(db.session, current_user, grant_id)
    form = TextForm()
    if form.validate_on_submit():
        try:
            service.post_message(db.session, current_user, grant, form.body.data)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            db.session.commit()
            return redirect(url_for("collab.messages", grant_id=grant.id))
    found = service.thread(db.session, current_user, grant)
    db.session.commit()  # the read marks
    return render_template("collab/messages.html", grant=grant, messages=found, form=form,
                           other=service.recipient_of(db.session, grant, current_user.id),
                           open=service.policy.may_write_thread(current_user, grant)), _status()


@bp.route("/shared/<grant_id>/propose/<any(experience, skill, document):kind>", methods=["GET", "POST"])
@login_required
@write_limit
def propose(grant_id, kind):
    grant = service.get_grant(db.session, current_user, grant_id)
    if grant.grantee_id != current_user.id:
        abort(404)  # the owner's own portfolio: nothing to propose
    if not may_propose(grant):
        raise Forbidden(_("Your role does not let you propose additions."), code="not_allowed")
    form = PROPOSAL_FORMS[kind]()
    if form.validate_on_submit():
        try:
            if kind == "document":
                upload = form.file.data
                service.propose_document(db.session, current_user, grant.id, upload.filename,
                                         iter(lambda: upload.stream.read(service.READ_SIZE), b""),
                                         form.note.data, ip=request.remote_addr)
            else:
                data = {name: field.data for name, field in form._fields.items()
                        if name not in ("csrf_token", "note") and field.data not in (None, "")}
                data = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}
                service.propose_item(db.session, current_user, grant.id, kind, data, form.note.data,
                                     ip=request.remote_addr)
        except ValidationFailed as exc:
            show_errors(form, exc)
        except DocumentError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Your proposal is waiting for the owner's answer."), "success")
            return redirect(url_for("collab.mine"))
    return render_template("collab/propose.html", grant=grant, kind=kind, form=form), _status()


@bp.get("/proposals/mine")
@login_required
def mine():
    return render_template("collab/mine.html", proposals=service.proposals_by(db.session, current_user))


@bp.get("/portfolio/inbox")
@login_required
def inbox():
    return render_template("collab/inbox.html", proposals=service.inbox(db.session, current_user),
                           threads=service.owner_threads(db.session, current_user),
                           comments=service.recent_comments(db.session, current_user),
                           form=EmptyForm(), decline_form=DeclineForm())


@bp.get("/proposals/<proposal_id>/file")
@login_required
def proposal_file(proposal_id):
    """The owner looks at a proposed document before accepting it: always as a download, never shown
    inline (its type is not trusted until it enters the vault, which sniffs it)."""
    proposal = service.get_proposal(db.session, current_user, proposal_id)
    pieces = service.proposal_content(db.session, current_user, proposal)
    response = Response(stream_with_context(pieces), mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/proposals/<proposal_id>/accept")
@login_required
def accept(proposal_id):
    proposal = service.get_proposal(db.session, current_user, proposal_id)
    if EmptyForm().validate_on_submit():
        try:
            service.accept(db.session, current_user, proposal)
        except (ValidationFailed, DocumentError) as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("Added to your portfolio."), "success")
    return redirect(url_for("collab.inbox"))


@bp.post("/proposals/<proposal_id>/decline")
@login_required
def decline(proposal_id):
    proposal = service.get_proposal(db.session, current_user, proposal_id)
    form = DeclineForm()
    if form.validate_on_submit():
        service.decline(db.session, current_user, proposal, form.reason.data)
        db.session.commit()
        flash(_("The proposal is declined."), "success")
    return redirect(url_for("collab.inbox"))
