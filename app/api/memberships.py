"""``/api/v1/memberships/invitations``: the invitations waiting for my answer (an organisation or an
institution invited me as admin, issuer, staff or partner); accept or decline. Personal tokens only.
The inviting side is the organisation's and the institution's routes (members, staff, partners)."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.api.auth import api_user, require_token
from app.api.common import document_errors
from app.extensions import db
from app.services import invitations


def _json(m) -> dict:
    return {"id": str(m.id), "organisation": {"id": str(m.organisation_id), "name": m.organisation.name},
            "role": m.role, "status": "accepted" if m.is_accepted else "pending",
            "invited_at": m.created_at.isoformat()}


def make_blueprint() -> Blueprint:
    blp = Blueprint("memberships_api", __name__, url_prefix="/api/v1/memberships",
                    description="Membership invitations: an organisation's invitation gives no power until "
                                "the person accepts it.")
    blp.before_request(require_token)

    @blp.route("/invitations", methods=["GET"])
    @blp.doc(summary="The invitations waiting for my answer (to my account, or to my confirmed address)")
    @document_errors(blp, 401)
    def mine():
        return {"items": [_json(m) for m in invitations.mine(db.session, api_user())]}

    @blp.route("/invitations/<membership_id>/accept", methods=["POST"])
    @blp.doc(summary="Accept an invitation: the role gives its powers from now on")
    @document_errors(blp, 401, 404, 409)
    def accept(membership_id):
        row = invitations.accept(db.session, api_user(), membership_id)
        db.session.commit()
        return _json(row)

    @blp.route("/invitations/<membership_id>/decline", methods=["POST"])
    @blp.doc(summary="Decline an invitation: it goes")
    @document_errors(blp, 401, 404)
    def decline(membership_id):
        invitations.decline(db.session, api_user(), membership_id)
        db.session.commit()
        return "", 204

    return blp


def register(app) -> None:
    from app import api  # noqa: PLC0415

    api.register(app, make_blueprint())
