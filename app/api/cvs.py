"""``/api/v1/cvs``: contextual CVs (personal access token).

Create a variant from a target (the pasted text of a job offer) and get its items ranked with the words
that matched; change its selection and texts (PATCH); download it as DOCX, PDF, HTML, a PNG preview of
the PDF's first page, or JSON Resume; the whole profile as JSON Resume. ``target_occupation`` (an
occupation of a reference framework, by concept id or URI; 422 ``unknown_occupation`` otherwise) adds
the occupation's words and puts first the items standing for its skills, each saying which
(``occupation_skills``). The work is ``app.services.cvs``.
"""

from __future__ import annotations

import json

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors, json_body, json_object
from app.extensions import db, limiter
from app.models.cvs import CvVariant
from app.services import cvs as service
from app.services import frameworks

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BINARY = {"schema": {"type": "string", "format": "binary"}}


class RefSchema(ma.Schema):
    type = ma.fields.String(
        required=True, metadata={"description": "experience, diploma, skill or credential"}
    )
    id = ma.fields.UUID(required=True)


class OccupationSkillSchema(ma.Schema):
    relation = ma.fields.String(required=True, metadata={"description": "essential or optional"})
    label = ma.fields.String(required=True)


class RankedSchema(RefSchema):
    title = ma.fields.String(required=True)
    score = ma.fields.Float(
        required=True, metadata={"description": "BM25 relevance to the target (0: none)."}
    )
    matched = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The target's words this item matched, strongest first."},
    )
    selected = ma.fields.Boolean(required=True)
    occupation_skills = ma.fields.List(
        ma.fields.Nested(OccupationSkillSchema),
        required=True,
        metadata={"description": "The target occupation's skills this item stands for (empty without one)."},
    )


class CvBodySchema(ma.Schema):
    name = ma.fields.String(required=True)
    template = ma.fields.String(
        metadata={"description": "classic (one column, ATS-friendly), modern, europass"}
    )
    language = ma.fields.String(metadata={"description": "fr or en: the CV's labels, dates and level names"})
    target_text = ma.fields.String(
        metadata={"description": "The job offer's text (up to 200,000 characters)."}
    )
    target_occupation = ma.fields.String(
        metadata={
            "description": "An occupation of a reference framework: its concept id or URI (GET "
            "/api/v1/concepts?kind=occupation); \"\" removes it. Unknown: 422 unknown_occupation."
        }
    )
    selection = ma.fields.List(
        ma.fields.Nested(RefSchema),
        metadata={"description": "Replaces the ranked " "pre-selection; in order."},
    )
    summary = ma.fields.String()
    cover_letter = ma.fields.String()
    show_photo = ma.fields.Boolean()
    consent = ma.fields.String(metadata={"description": "'', gdpr, gdpr_short or custom (consent_text)"})
    consent_text = ma.fields.String()


class CvSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    template = ma.fields.String(required=True)
    language = ma.fields.String(required=True)
    target_text = ma.fields.String(required=True)
    target_occupation = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "The occupation's concept URI, or null."}
    )
    target_occupation_label = ma.fields.String(
        allow_none=True, metadata={"description": "Its label in the CV's language (null when unresolved)."}
    )
    summary = ma.fields.String(required=True)
    cover_letter = ma.fields.String(required=True)
    show_photo = ma.fields.Boolean(required=True)
    consent = ma.fields.String(required=True)
    consent_text = ma.fields.String(required=True)
    selection = ma.fields.List(ma.fields.Nested(RefSchema), required=True)
    ranking = ma.fields.List(
        ma.fields.Nested(RankedSchema),
        metadata={"description": "Every item, most relevant first (single CV reads only)."},
    )
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    generated_at = ma.fields.DateTime(allow_none=True)


class CvListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CvSchema), required=True)


def _dump(cv: CvVariant, *, with_ranking: bool = True) -> dict:
    data = {
        name: getattr(cv, name)
        for name in (
            "id",
            "name",
            "template",
            "language",
            "target_text",
            "target_occupation",
            "summary",
            "cover_letter",
            "show_photo",
            "consent",
            "consent_text",
            "created_at",
            "updated_at",
            "generated_at",
        )
    }
    data["selection"] = list(cv.selection or [])
    occupation = frameworks.find(db.session, cv.target_occupation) if cv.target_occupation else None
    data["target_occupation_label"] = frameworks.label(occupation, cv.language) if occupation else None
    if with_ranking:
        data["ranking"] = [
            {
                "type": r.kind,
                "id": r.id,
                "title": r.title,
                "score": r.score,
                "matched": r.matched,
                "selected": r.selected,
                "occupation_skills": [{"relation": rel, "label": label} for rel, label in r.skills],
            }
            for r in service.ranking(db.session, cv)
        ]
    return data


def _file(data: bytes, mimetype: str, name: str, *, attachment: bool = True) -> Response:
    disposition = "attachment" if attachment else "inline"
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )


def make_blueprint() -> Blueprint:
    blp = Blueprint(
        "cvs_api",
        __name__,
        url_prefix="/api/v1/cvs",
        description="Contextual CVs: ranked against a job offer, in DOCX, PDF, HTML and JSON Resume.",
    )
    blp.before_request(require_token)

    def owned(cv_id) -> CvVariant:
        return service.get_owned(db.session, api_user(), cv_id)

    @blp.route("", methods=["POST"])
    @blp.response(201, CvSchema)
    @blp.doc(
        summary="Create a CV variant; its items come ranked against the target", **json_body(CvBodySchema)
    )
    @document_errors(blp, 400, 401, 415, 422)
    def create():
        cv = service.create(db.session, api_user(), json_object())
        db.session.commit()
        return _dump(cv)

    @blp.route("", methods=["GET"])
    @blp.response(200, CvListSchema)
    @blp.doc(summary="List your CV variants, last changed first")
    @document_errors(blp, 401)
    def index():
        return {"items": [_dump(cv, with_ranking=False) for cv in service.list_for(db.session, api_user())]}

    @blp.route("/json-resume", methods=["GET"])
    @blp.doc(
        summary="Your whole profile as JSON Resume",
        responses={
            "200": {
                "description": "JSON Resume v1.0.0",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    @document_errors(blp, 401)
    def profile_resume():
        return _json(service.profile_json_resume(db.session, api_user()))

    @blp.route("/<uuid:cv_id>", methods=["GET"])
    @blp.response(200, CvSchema)
    @blp.doc(summary="One CV variant, with every item ranked")
    @document_errors(blp, 401, 404)
    def show(cv_id):
        return _dump(owned(cv_id))

    @blp.route("/<uuid:cv_id>", methods=["PATCH"])
    @blp.response(200, CvSchema)
    @blp.doc(summary="Change a CV variant (only the fields given)", **json_body(CvBodySchema))
    @document_errors(blp, 400, 401, 404, 415, 422)
    def change(cv_id):
        cv = service.update(db.session, api_user(), owned(cv_id), json_object())
        db.session.commit()
        return _dump(cv)

    @blp.route("/<uuid:cv_id>/regenerate", methods=["POST"])
    @blp.response(200, CvSchema)
    @blp.doc(summary="Rank the portfolio again against the target and pre-select anew")
    @document_errors(blp, 401, 404)
    def regenerate(cv_id):
        cv = service.regenerate(db.session, api_user(), owned(cv_id))
        db.session.commit()
        return _dump(cv)

    @blp.route("/<uuid:cv_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Delete a CV variant (the portfolio is not touched)")
    @document_errors(blp, 401, 404)
    def remove(cv_id):
        service.delete(db.session, api_user(), owned(cv_id))
        db.session.commit()

    @blp.route("/<uuid:cv_id>/docx", methods=["GET"])
    @blp.doc(
        summary="The CV as a Word document",
        responses={"200": {"description": "DOCX", "content": {DOCX: BINARY}}},
    )
    @document_errors(blp, 401, 404, 429)
    @limiter.limit(service.render_limit)
    def docx(cv_id):
        cv = owned(cv_id)
        return _file(service.render_docx(db.session, cv), DOCX, service.filename(cv, "docx"))

    @blp.route("/<uuid:cv_id>/pdf", methods=["GET"])
    @blp.doc(
        summary="The CV as PDF (503 pdf_unavailable when the server has no PDF library)",
        responses={"200": {"description": "PDF", "content": {"application/pdf": BINARY}}},
    )
    @document_errors(blp, 401, 404, 429)
    @limiter.limit(service.render_limit)
    def pdf(cv_id):
        cv = owned(cv_id)
        return _file(service.render_pdf(db.session, cv), "application/pdf", service.filename(cv, "pdf"))

    @blp.route("/<uuid:cv_id>/preview.png", methods=["GET"])
    @blp.doc(
        summary="The PDF's first page as an image",
        responses={"200": {"description": "PNG", "content": {"image/png": BINARY}}},
    )
    @document_errors(blp, 401, 404, 429)
    @limiter.limit(service.render_limit)
    def preview(cv_id):
        cv = owned(cv_id)
        return _file(
            service.preview_png(db.session, cv), "image/png", service.filename(cv, "png"), attachment=False
        )

    @blp.route("/<uuid:cv_id>/html", methods=["GET"])
    @blp.doc(
        summary="The CV as a standalone HTML page, with each proof's live status",
        responses={"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
    )
    @document_errors(blp, 401, 404, 429)
    @limiter.limit(service.render_limit)
    def html(cv_id):
        cv = owned(cv_id)
        return _file(
            service.render_html(cv, standalone=True).encode("utf-8"),
            "text/html",
            service.filename(cv, "html"),
        )

    @blp.route("/<uuid:cv_id>/json-resume", methods=["GET"])
    @blp.doc(
        summary="The CV variant as JSON Resume",
        responses={
            "200": {
                "description": "JSON Resume v1.0.0",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    )
    @document_errors(blp, 401, 404)
    def json_resume(cv_id):
        return _json(service.json_resume(db.session, owned(cv_id)))

    return blp


def _json(data: dict) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")


def register(app) -> None:
    """Registered by ``app.cvs`` on the API (documented in ``/api/v1/openapi.json``)."""
    from app import api  # noqa: PLC0415 - the package imports this module

    api.register(app, make_blueprint())
