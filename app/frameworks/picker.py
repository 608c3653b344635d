"""The skill form's side of the concept picker: coming back from the browser with ``?concept=<id>``."""
from __future__ import annotations

from flask import request
from flask_babel import get_locale

from app.extensions import db
from app.services import frameworks


def concept_for_uri(uri: str):
    """The concept a skill points at, for its page (None when no imported framework holds the URI)."""
    return frameworks.find(db.session, uri) if uri else None


def prefill(form) -> None:
    """On the form's GET only (a POST keeps what was typed): set the framework and the concept's URI
    from ``?concept=``, and the skill's name when it is still empty. An unknown concept changes nothing."""
    if request.method != "GET" or not request.args.get("concept"):
        return
    concept = frameworks.find(db.session, request.args["concept"][:500])
    if concept is None:
        return
    form.framework.data = concept.framework.name[:120]
    form.concept_uri.data = concept.uri
    if not (form.name.data or "").strip():
        lang = str(get_locale() or "fr")[:2]
        form.name.data = frameworks.label(concept, lang)[:200]
