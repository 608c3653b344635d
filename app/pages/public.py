"""``/s/<token>``: what a share link opens, for anyone who holds it (no account).

Answers: an unknown or revoked token 404 (the same page: a revoked link reveals nothing), an expired one
410 with a page that says so, a password-protected one a password form until the right password is given
(then remembered in the visitor's server-side session), else the page. Every sub-route (photo, document,
verify) opens the link again and reaches only what the page holds.

Guessing is rate-limited per address: only *failures* count (an unknown token, a wrong password), through
one shared budget (``RATE_LIMIT_SHARE``), so a recruiter reading a real link is never slowed down while
someone walking through tokens or passwords is stopped after a few tries.
"""
from __future__ import annotations

from flask import abort, current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from app.api.documents import content_response
from app.credentials import documents as credential_documents
from app.extensions import db, limiter, talisman
from app.models import AttestationRequest, Credential, Document, Portfolio
from app.models.pages import ShareLink
from app.pages import bp
from app.pages.forms import EmptyForm, UnlockForm
from app.pages.showcase import render_showcase
from app.services import access_log, photos
from app.services import pages as service_pages
from app.services import share_links as service
from app.services.errors import ServiceError
from app.verification import display, runner
from app.verification.routes import verify_limit
from badges.fetch import json_fetcher
from badges.verify import verify as run_verifier

UNLOCKED = "share_links_unlocked"  # session key: ids of the links this visitor gave the password of
REMEMBERED = 20
CONTENT_CSP = {"default-src": "'none'", "sandbox": ""}

guess_limit = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_SHARE"], scope="share-guess",
                                   deduct_when=lambda response: response.status_code in (401, 404))


def _link_key() -> str:
    """The limiter's key for one link: its token's hash, never the token (the limiter's storage is a
    table like any other, and a raw token there would open the page)."""
    return "share-link:" + service.hash_token(str((request.view_args or {}).get("token", "")))


# A link that leaks (a forwarded mail) is protected by its password alone: the per-address budget above
# does not stop guesses spread over many addresses, so wrong passwords also count per link. Reaching it
# blocks the link's password form for a while (for its holder too: the owner can make a new link).
password_limit = limiter.shared_limit(lambda: current_app.config["RATE_LIMIT_SHARE_PASSWORD"],
                                      scope="share-password", key_func=_link_key,
                                      deduct_when=lambda response: response.status_code == 401)


def _headers(response):
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _not_indexed(response, page):
    """A file reached from a page (photo, document) follows the page's own rule: ``noindex`` unless the
    owner opted in to a public profile. The ``robots`` meta tag of the page does not reach a PDF or an
    image: only this header does, so a leaked document URL never lands in a search engine's index."""
    if not service_pages.is_public(db.session, page):
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _gone(status: int):
    template = "pages/link_expired.html" if status == 410 else "pages/link_unknown.html"
    return _headers(make_response(render_template(template), status))


def owner_suspended():
    """410 for anything public of a suspended account (pages, share links, badges): it says plainly why,
    rather than "expired" or "unknown", and comes back if the account is reinstated (review 14, L9)."""
    return _headers(make_response(render_template("pages/owner_suspended.html"), 410))


def _open(token: str) -> ShareLink | None:
    """The active link of ``token``, or None after which the caller answers ``_refusal``."""
    state, link = service.open(db.session, token)
    return link if state == "active" else None


def _refusal(token: str):
    state, _link = service.open(db.session, token)
    if state == "suspended":
        return owner_suspended()
    return _gone(410 if state in ("expired", "erased") else 404)


def _unlocked(link: ShareLink) -> bool:
    return link.password_hash is None or str(link.id) in session.get(UNLOCKED, [])


def _unlock_page(token: str, form=None, status: int = 200):
    return _headers(make_response(render_template("pages/unlock.html", form=form or UnlockForm(), token=token),
                                  status))


def _target(link: ShareLink):
    """The page of a page link, for the page's sub-routes (photo, documents, verify). A CV link has none
    of them: its CV is one self-contained document (photo inlined, proofs linking to public pages)."""
    if link.page is None:
        abort(404)
    return link.page


def _cv_response(link: ShareLink):
    """A CV link: the CV as HTML with each proof's live status (``cvs.render_html``), read from the
    portfolio as it is now, counted and logged as a page view is."""
    from app.services import cvs  # noqa: PLC0415  (the CV renderers load only when a CV is shared)

    cv = link.cv
    if cv is None:  # cannot happen with the foreign key; answered as an unknown link if it ever does
        return _gone(404)
    html = cvs.render_html(cv, session=db.session)
    service.count_view(db.session, link)
    access_log.record(db.session, link.portfolio_id, action="view", object_type="cv", object_id=cv.id,
                      share_link=link, ip=request.remote_addr)
    db.session.commit()
    response = make_response(html)
    response.headers["Content-Language"] = cv.language
    return _headers(response)


@bp.get("/s/<token>")
@guess_limit
def shared(token):
    link = _open(token)
    if link is None:
        return _refusal(token)
    if not _unlocked(link):
        return _unlock_page(token)
    if link.cv_id is not None:
        return _cv_response(link)
    page = _target(link)
    service.count_view(db.session, link)
    access_log.record(db.session, link.portfolio_id, action="view", object_type="page", object_id=page.id,
                      share_link=link, ip=request.remote_addr)
    db.session.commit()
    return render_showcase(page, link=link, token=token)


@bp.post("/s/<token>/unlock")
@guess_limit
@password_limit
def unlock(token):
    link = _open(token)
    if link is None:
        return _refusal(token)
    form = UnlockForm()
    if not form.validate_on_submit():
        return _unlock_page(token, form, 400)
    if not service.check_password(link, form.password.data):
        form.password.errors = [_("This password is not the right one.")]
        return _unlock_page(token, form, 401)
    remembered = [value for value in session.get(UNLOCKED, []) if value != str(link.id)]
    session[UNLOCKED] = (remembered + [str(link.id)])[-REMEMBERED:]
    return redirect(url_for("pages.shared", token=token)), 303


def _opened_page(token: str):
    """The page behind an active, unlocked link; else an abort (404 / 410 page) for the sub-routes."""
    link = _open(token)
    if link is None:
        abort(_refusal(token))
    if not _unlocked(link):
        abort(404)
    return link, _target(link)


def _on_page(page, kind: str, item_id) -> bool:
    return any(ref.get("type") == kind and ref.get("id") == str(item_id) for ref in page.items or ())


@bp.get("/s/<token>/photo")
@guess_limit
def shared_photo(token):
    """The owner's photo, only through a link whose page shows it (``show_photo``)."""
    _link, page = _opened_page(token)
    portfolio = db.session.get(Portfolio, page.portfolio_id)
    data = photos.read_photo(portfolio.owner) if page.show_photo else None
    if not data:
        abort(404)
    response = make_response(data)
    response.mimetype = photos.CONTENT_TYPE
    response.headers["Cache-Control"] = "private, max-age=300"
    return _not_indexed(response, page)


@bp.get("/s/<token>/documents/<uuid:document_id>")
@talisman(content_security_policy=CONTENT_CSP, content_security_policy_nonce_in=[])
@guess_limit
def shared_document(token, document_id):
    """A vault document the page holds, decrypted and streamed as the owner's own download is."""
    link, page = _opened_page(token)
    document = db.session.get(Document, document_id)
    if document is None or document.portfolio_id != page.portfolio_id or not _on_page(page, "document", document_id):
        abort(404)
    owner = db.session.get(Portfolio, page.portfolio_id).owner
    try:
        response = content_response(owner, document)
    except ServiceError as exc:
        return _headers(make_response(render_template("errors/error.html", status=exc.status, code=exc.code,
                                                      title=_("This document cannot be downloaded"),
                                                      message=exc.message), exc.status))
    access_log.record(db.session, page.portfolio_id, action="download", object_type="document",
                      object_id=document.id, share_link=link, ip=request.remote_addr)
    db.session.commit()
    return _not_indexed(response, page)


@bp.post("/s/<token>/verify/<uuid:credential_id>")
@verify_limit
@guess_limit
def shared_verify(token, credential_id):
    """The verify button of one credential on the page: the verifier runs on the stored credential (as
    the credential's own page does) and the page comes back with the verdict shown under it."""
    link, page = _opened_page(token)
    credential = db.session.get(Credential, credential_id)
    if credential is None or credential.portfolio_id != page.portfolio_id \
            or not _on_page(page, "credential", credential_id):
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_showcase(page, link=link, token=token, status=400)
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    with runner.slot():
        result = run_verifier(credential.document, fetch=credential_documents.local_fetch(db.session, fallback),
                              locale=runner.reader_locale())
    result = display.with_verdict(result, runner.reader_locale())
    return render_showcase(page, link=link, token=token, results={str(credential.id): result})


@bp.post("/s/<token>/verify-attestation/<uuid:request_id>")
@verify_limit
@guess_limit
def shared_verify_attestation(token, request_id):
    """The verify button of a signed attestation or person endorsement on the page: the verifier runs on
    its stored signed document, with the platform's own DID document served locally (as on the
    attestation's public page). Only one the page holds, signed, and of the page's portfolio."""
    from app.attestations.public import local_fetch as attestation_fetch  # noqa: PLC0415

    link, page = _opened_page(token)
    found = db.session.get(AttestationRequest, request_id)
    if found is None or found.portfolio_id != page.portfolio_id or found.status != "confirmed" \
            or not found.document or not _on_page(page, "attestation", request_id):
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_showcase(page, link=link, token=token, status=400)
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    with runner.slot():
        result = run_verifier(found.document, fetch=attestation_fetch(db.session, fallback),
                              locale=runner.reader_locale())
    result = display.with_verdict(result, runner.reader_locale())
    return render_showcase(page, link=link, token=token, results={str(found.id): result})
