"""Public, unauthenticated pages of approved issuers: profile, DID document, logo, achievements.

Everything here is what the organisation's credentials already publish; an organisation that is not
approved (pending, refused) does not exist for the public: 404, as an unknown id.

``/issuers/<id>/did.json`` is where a did:web resolver looks for ``did:web:HOST:issuers:<id>``. It lists
every key the organisation ever had (retired ones too), so that every credential it signed still
verifies. A did:key organisation needs no document (its DID resolves offline): 404 there.
"""
from __future__ import annotations

import hashlib
import json

from flask import Blueprint, abort, make_response, render_template, request

from app import policy
from app.extensions import db, talisman
from app.issuing.forms import ACHIEVEMENT_KIND_LABELS, ORGANISATION_KIND_LABELS
from app.models import Achievement, Organisation
from app.services import achievements, orgs

public = Blueprint("issuers", __name__, url_prefix="/issuers", template_folder="templates")
# An image is shown by <img> (no script runs there); opened directly, it may still run nothing.
IMAGE_CSP = {"default-src": "'none'", "style-src": "'unsafe-inline'"}


def _approved(org_id) -> Organisation:
    key = policy.parse_id(org_id)
    org = db.session.get(Organisation, key) if key is not None else None
    if org is None or not org.is_approved:
        abort(404)
    return org


def _achievement(org_id, achievement_id) -> Achievement:
    org = _approved(org_id)
    key = policy.parse_id(achievement_id)
    achievement = db.session.get(Achievement, key) if key is not None else None
    if achievement is None or achievement.organisation_id != org.id:
        abort(404)
    return achievement


def _json(document: dict, media_type: str = "application/json"):
    response = make_response(json.dumps(document, ensure_ascii=False, indent=2))
    response.mimetype = media_type
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers in browsers resolve it too
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _image(data: bytes, media_type: str):
    response = make_response(data)
    response.mimetype = media_type
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@public.get("/<org_id>")
def profile(org_id):
    org = _approved(org_id)
    return render_template("issuing/public_profile.html", org=org, achievements=org.achievements,
                           kind_labels=ORGANISATION_KIND_LABELS,
                           achievement_kind_labels=ACHIEVEMENT_KIND_LABELS)


@public.get("/<org_id>/did.json")
def did_document(org_id):
    """Cached only with revalidation (``no-cache`` + a strong ETag): right after a key rotation, new
    credentials and re-signed status lists name the new key, and a copy kept for minutes would make
    every verifier behind that cache refuse them. Unchanged, a revalidation costs a 304."""
    org = _approved(org_id)
    if org.did_method != "web":
        abort(404)
    response = _json(orgs.did_document(org))
    response.headers["Cache-Control"] = "public, no-cache"
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest()[:32])
    return response.make_conditional(request)


@public.get("/<org_id>/logo")
@talisman(content_security_policy=IMAGE_CSP)
def logo(org_id):
    org = _approved(org_id)
    if not org.logo_type or not org.logo:
        abort(404)
    return _image(org.logo, org.logo_type)


@public.get("/<org_id>/achievements/<achievement_id>")
def achievement(org_id, achievement_id):
    found = _achievement(org_id, achievement_id)
    return render_template("issuing/public_achievement.html", achievement=found, org=found.organisation,
                           achievement_kind_labels=ACHIEVEMENT_KIND_LABELS)


@public.get("/<org_id>/achievements/<achievement_id>.json")
def achievement_json(org_id, achievement_id):
    """The OB 3.0 ``Achievement`` as credentials carry it (today's version: awarded ones keep theirs)."""
    return _json(achievements.achievement_document(_achievement(org_id, achievement_id)))


@public.get("/<org_id>/achievements/<achievement_id>/image")
@talisman(content_security_policy=IMAGE_CSP)
def achievement_image(org_id, achievement_id):
    return _image(*achievements.image_of(_achievement(org_id, achievement_id)))
