"""Public, unauthenticated: a confirmed attestation's page (with the verify button) and JSON, and the
platform's did:web document (``/issuers/platform/did.json``: why there, see ``app.services.attestations``)."""
from __future__ import annotations

from flask import abort, current_app, jsonify, make_response, render_template, request

from app.attestations import bp
from app.attestations.forms import EmptyForm
from app.credentials import documents
from app.extensions import db
from app.services import attestations as service
from app.verification import display, runner
from app.verification.routes import verify_limit
from badges.fetch import json_fetcher
from badges.verify import verify as run_verifier
from certs.keys import did_web_url

MAX_AGE = 300


def _public_json(document: dict, media_type: str):
    response = make_response(jsonify(document))
    response.mimetype = media_type
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _found(request_id):
    found = service.get_public(db.session, request_id)
    if found is None:
        from app.services.erasure import is_erased_page  # noqa: PLC0415 - issue 11: gone with its holder
        abort(410 if is_erased_page(db.session, request_id) else 404)
    return found


@bp.get("/issuers/platform/did.json")
def platform_did():
    document = service.platform_did_document(db.session)
    db.session.commit()  # the key is made on first use
    return _public_json(document, "application/did+json")


@bp.get("/attestations/<uuid:request_id>")
def page(request_id):
    return render_template("attestations/attestation.html", attestation=_found(request_id), form=EmptyForm(),
                           result=None)


@bp.get("/attestations/<uuid:request_id>.json")
def attestation_json(request_id):
    found = _found(request_id)
    response = _public_json(found.document, "application/ld+json")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="attestation-{found.id}.json"'
    return response


def local_fetch(session, fallback):
    """The credentials' local fetch, plus the platform's own DID document (never fetched over the net)."""
    inner, own = documents.local_fetch(session, fallback), did_web_url(service.platform_did())

    def fetch(url: str):
        return service.platform_did_document(session) if url == own else inner(url)
    return fetch


@bp.post("/attestations/<uuid:request_id>/verify")
@verify_limit
def verify(request_id):
    found = _found(request_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return render_template("attestations/attestation.html", attestation=found, form=form, result=None), 400
    fallback = json_fetcher(allow_loopback=bool(current_app.config.get("VERIFY_ALLOW_LOOPBACK")))
    with runner.slot():
        result = run_verifier(found.document, fetch=local_fetch(db.session, fallback), locale=runner.reader_locale())
    response = make_response(render_template("attestations/attestation.html", attestation=found, form=form,
                                             result=display.with_verdict(result, runner.reader_locale())))
    response.headers["Cache-Control"] = "no-store"
    return response
