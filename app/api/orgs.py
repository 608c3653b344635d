"""``/api/v1/organisations``: issuer organisations, members, keys, organisation tokens, achievements.

Two kinds of caller: a person with a personal token (``sil_…``), whose rights are their role in each
organisation (``app.policy.ORG_RULES``), and an organisation token (``silo_…``), which acts for its own
organisation only (read it, define achievements, issue), never for another and never on members, keys
or tokens. A platform admin's personal token decides requests and nothing else. Every refusal is JSON:
another organisation's ids answer 404 as unknown ones do; a role that does not allow the action, 403.
"""
from __future__ import annotations

from flask import g, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
import marshmallow as ma
from marshmallow import fields, validate

from app import policy
from app.api.auth import require_principal
from app.api.common import decode_cursor, document_errors, json_body, json_object, page
from app.api.schemas import PageArgsSchema, UTCDateTime, page_schema
from app.extensions import db
from app.models import ACHIEVEMENT_KINDS, MEMBER_ROLES, ORGANISATION_KINDS
from app.services import achievements, artwork, invitations, orgs
from app.sharing.limits import mail_limit  # the one per-sender budget of invitation e-mails
from app.services.errors import ServiceError, ValidationFailed

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


# --- schemas ------------------------------------------------------------------------------------------------

class OrganisationSchema(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    website = fields.String(required=True, allow_none=True)
    contact_email = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "approved", "refused")))
    refusal_reason = fields.String(required=True, allow_none=True)
    closed_at = UTCDateTime(required=True, allow_none=True,
                            metadata={"description": "When it was closed (it issues nothing more), or null."})
    did = fields.String(required=True, metadata={"description": "did:web (or did:key) of the issuer."})
    profile_url = fields.Method("_profile_url", required=True)
    role = fields.Method("_role", required=True, allow_none=True,
                         metadata={"description": "Your role (admin, issuer), token, or null."})
    created_at = UTCDateTime(required=True)

    def _profile_url(self, org):
        return url_for("issuers.profile", org_id=org.id, _external=True)

    def _role(self, org):
        return policy.org_role(g.get("api_principal"), org)


class OrganisationRequestSchema(ma.Schema):
    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    contact_email = fields.String(required=True)
    website = fields.String()
    description = fields.String()


class ClosingSchema(ma.Schema):
    confirm = fields.String(required=True, metadata={"description": "The organisation's name, repeated."})


class MemberSchema(ma.Schema):
    id = fields.UUID(required=True)
    email = fields.String(required=True, attribute="address")
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))
    status = fields.Method("_status", metadata={"description": "pending (invited, not accepted yet: no power) "
                                                               "or accepted"})
    created_at = UTCDateTime(required=True)

    def _status(self, membership) -> str:
        return "accepted" if membership.is_accepted else "pending"


class NewMemberSchema(ma.Schema):
    email = fields.String(required=True, metadata={
        "description": "The person's e-mail: they get an invitation and become a member once they accept it "
                       "(the answer is the same whether or not the address has an account)."})
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class RoleSchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class KeySchema(ma.Schema):
    id = fields.Method("_vm", required=True, metadata={"description": "The verification method id."})
    public_key_multibase = fields.String(required=True)
    created_at = UTCDateTime(required=True)
    retired_at = UTCDateTime(required=True, allow_none=True)

    def _vm(self, row):
        return f"{row.organisation.did}#{row.key_id}"


class OrgTokenSchema(ma.Schema):
    id = fields.UUID(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters after silo_."})
    created_at = UTCDateTime(required=True)
    last_used_at = UTCDateTime(required=True, allow_none=True)
    revoked_at = UTCDateTime(required=True, allow_none=True)
    active = fields.Boolean(required=True, attribute="is_active")


class NewOrgTokenSchema(OrgTokenSchema):
    token = fields.String(required=True, metadata={"description": "The secret; shown only this once."})


class TokenNameSchema(ma.Schema):
    name = fields.String()


class RefusalSchema(ma.Schema):
    reason = fields.String(required=True)


class AlignmentSchema(ma.Schema):
    target_name = fields.String(required=True)
    target_url = fields.String(required=True)
    target_framework = fields.String()


class AchievementSchema(ma.Schema):
    id = fields.UUID(required=True)
    organisation_id = fields.UUID(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    criteria_narrative = fields.String(required=True)
    criteria_url = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACHIEVEMENT_KINDS),
                         metadata={"description": "An OB 3.0 achievementType."})
    tags = fields.List(fields.String(), required=True)
    alignments = fields.List(fields.Nested(AlignmentSchema), required=True)
    validity_months = fields.Integer(required=True, allow_none=True)
    url = fields.Method("_url", required=True, metadata={"description": "Its public page and OB 3.0 id."})
    image_url = fields.Method("_image", required=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)

    def _url(self, a):
        return achievements.public_url(a)

    def _image(self, a):
        return achievements.public_url(a, "/image")


class AchievementInputSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    criteria_narrative = fields.String()
    criteria_url = fields.String()
    kind = fields.String(validate=validate.OneOf(ACHIEVEMENT_KINDS))
    tags = fields.List(fields.String())
    alignments = fields.List(fields.Nested(AlignmentSchema))
    validity_months = fields.Integer(allow_none=True)


class StatusArgsSchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(("pending", "approved", "refused")),
                           metadata={"description": "Platform admins: every organisation with this status."})


# --- who calls ----------------------------------------------------------------------------------------------

def _actor():
    return g.api_principal


def _person():
    actor = _actor()
    if isinstance(actor, policy.OrganisationPrincipal):
        raise ServiceError(str(_l("This needs a personal token, not an organisation token.")),
                           code="personal_token_required", status=403)
    return actor


def _achievement(org_id, achievement_id, action=policy.READ):
    org = orgs.get(db.session, _actor(), org_id)
    found = achievements.get(db.session, _actor(), achievement_id, action)
    if found.organisation_id != org.id:
        raise ServiceError(str(_l("Not found.")), code="not_found", status=404)
    return found


def _errors(blp: Blueprint, *codes: int):
    """``document_errors`` with a 403 on every route (a role, an organisation token, or an organisation not
    approved or closed); each 403/404/409/422 lists the stable codes the route can give."""
    return document_errors(blp, *sorted({*codes, 403}))


def make_blueprint() -> Blueprint:
    blp = Blueprint("organisations", __name__, url_prefix="/api/v1/organisations",
                    description="Issuer organisations: members, signing keys, organisation tokens and "
                                "achievements. Personal tokens or organisation tokens (silo_…). The same "
                                "organisation's institution side (groups, staff, roster, indicators) is under "
                                "/api/v1/orgs/<id>/….")
    blp.before_request(require_principal)

    @blp.route("", methods=["GET"])
    @blp.arguments(StatusArgsSchema, location="query")
    @blp.response(200, page_schema(OrganisationSchema, "OrganisationListSchema"))
    @blp.doc(summary="Your organisations (an organisation token: its own)")
    @_errors(blp, 401, 422)
    def index(args):
        actor = _actor()
        if args.get("status"):
            if not policy.reviews_requests(_person()):
                raise ServiceError(str(_l("Only platform admins list organisations by status.")),
                                   code="forbidden", status=403)
            found = orgs.list_organisations(db.session, args["status"])
        elif isinstance(actor, policy.OrganisationPrincipal):
            found = [orgs.get(db.session, actor, actor.organisation_id)]
        else:
            found = [org for org, _role in orgs.organisations_of(db.session, actor)]
        return {"items": found, "next_cursor": None}

    @blp.route("", methods=["POST"])
    @blp.response(201, OrganisationSchema)
    @blp.doc(summary="Ask to open an organisation (pending until a platform admin approves it)",
             **json_body(OrganisationRequestSchema))
    @_errors(blp, 400, 401, 415, 422)
    def create():
        me = _person()
        if not me.is_verified:
            raise ServiceError(str(_l("Please confirm your e-mail address first.")),
                               code="email_not_verified", status=403)
        from app.issuing import emails

        org = orgs.create_organisation(db.session, me, json_object(), admin=me)
        db.session.commit()
        emails.new_request(org, orgs.platform_admins(db.session))
        return org

    @blp.route("/<org_id>", methods=["GET"])
    @blp.response(200, OrganisationSchema)
    @blp.doc(summary="One organisation")
    @_errors(blp, 401, 404)
    def show(org_id):
        return orgs.get(db.session, _actor(), org_id)

    @blp.route("/<org_id>", methods=["PATCH"])
    @blp.response(200, OrganisationSchema)
    @blp.doc(summary="Change the organisation's details (organisation admins)",
             **json_body(OrganisationRequestSchema))
    @_errors(blp, 400, 401, 404, 415, 422)
    def update(org_id):
        """Only the fields sent change; credentials already signed keep the details they carry."""
        org = orgs.get(db.session, _actor(), org_id, "manage_profile")
        orgs.update_organisation(db.session, _actor(), org, json_object())
        db.session.commit()
        return org

    @blp.route("/<org_id>/approve", methods=["POST"])
    @blp.response(200, OrganisationSchema)
    @blp.doc(summary="Approve a pending request (platform admins)")
    @_errors(blp, 401, 404)
    def approve(org_id):
        from app.issuing import emails

        org = orgs.get(db.session, _person(), org_id, "decide")
        orgs.approve(db.session, _person(), org)
        db.session.commit()
        emails.decision(org)
        return org

    @blp.route("/<org_id>/refuse", methods=["POST"])
    @blp.response(200, OrganisationSchema)
    @blp.doc(summary="Refuse a pending request with a reason (platform admins)", **json_body(RefusalSchema))
    @_errors(blp, 400, 401, 404, 415, 422)
    def refuse(org_id):
        from app.issuing import emails

        org = orgs.get(db.session, _person(), org_id, "decide")
        body = json_object()
        if set(body) - {"reason"} or not isinstance(body.get("reason"), str):
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={"reason": str(_l("This field is required."))})
        orgs.refuse(db.session, _person(), org, body["reason"])
        db.session.commit()
        emails.decision(org)
        return org

    @blp.route("/<org_id>/close", methods=["POST"])
    @blp.response(200, OrganisationSchema)
    @blp.doc(summary="Close the organisation for good (organisation admins): it issues nothing more, what "
                     "it issued still verifies", **json_body(ClosingSchema))
    @_errors(blp, 400, 401, 403, 404, 415, 422)
    def close(org_id):
        org = orgs.get(db.session, _person(), org_id, "close")
        body = json_object()
        if set(body) - {"confirm"} or not isinstance(body.get("confirm"), str):
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={"confirm": str(_l("Type the organisation's name to confirm."))})
        orgs.close(db.session, _person(), org, body["confirm"])
        db.session.commit()
        return org

    # members
    @blp.route("/<org_id>/members", methods=["GET"])
    @blp.response(200, page_schema(MemberSchema, "MemberListSchema"))
    @blp.doc(summary="Members and their roles (and, for its admins, the invitations not accepted yet)")
    @_errors(blp, 401, 403, 404)
    def members(org_id):
        org = orgs.get(db.session, _actor(), org_id)
        if not org.is_approved:
            raise orgs._forbidden(org)
        pending = invitations.pending_of(db.session, org) if policy.can(_actor(), "manage_members", org) else []
        return {"items": orgs.members(db.session, org) + pending, "next_cursor": None}

    @blp.route("/<org_id>/members", methods=["POST"])
    @mail_limit
    @blp.response(201, MemberSchema)
    @blp.doc(summary="Invite a member (organisation admins): pending until they accept", **json_body(NewMemberSchema))
    @_errors(blp, 400, 401, 404, 415, 422, 409)
    def add_member(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_members")
        body = json_object()
        unknown = set(body) - {"email", "role"}
        if unknown:
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={name: str(_l("Unknown field.")) for name in unknown})
        membership = orgs.add_member(db.session, _actor(), org, body.get("email"), body.get("role"))
        db.session.commit()
        return membership

    @blp.route("/<org_id>/members/<membership_id>", methods=["PATCH"])
    @blp.response(200, MemberSchema)
    @blp.doc(summary="Change a member's role (never the last admin's)", **json_body(RoleSchema))
    @_errors(blp, 400, 401, 404, 415, 422, 409)
    def change_role(org_id, membership_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_members")
        body = json_object()
        if set(body) != {"role"}:
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={"role": str(_l("This field is required."))})
        membership = orgs.change_role(db.session, _actor(), org, membership_id, body["role"])
        db.session.commit()
        return membership

    @blp.route("/<org_id>/members/<membership_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Remove a member, or cancel an invitation (never the last admin)")
    @_errors(blp, 401, 404, 409)
    def remove_member(org_id, membership_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_members")
        orgs.remove_member(db.session, _actor(), org, membership_id)
        db.session.commit()
        return None

    # keys
    @blp.route("/<org_id>/keys", methods=["GET"])
    @blp.response(200, page_schema(KeySchema, "KeyListSchema"))
    @blp.doc(summary="Signing keys (public halves), current and retired")
    @_errors(blp, 401, 404)
    def keys(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_keys")
        return {"items": list(reversed(org.signing_keys)), "next_cursor": None}

    @blp.route("/<org_id>/keys/rotate", methods=["POST"])
    @blp.response(201, KeySchema)
    @blp.doc(summary="Rotate the signing key (older keys stay published)")
    @_errors(blp, 401, 404, 409)
    def rotate(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_keys")
        row = orgs.rotate_key(db.session, _actor(), org)
        db.session.commit()
        return row

    # organisation tokens
    @blp.route("/<org_id>/tokens", methods=["GET"])
    @blp.response(200, page_schema(OrgTokenSchema, "OrgTokenListSchema"))
    @blp.doc(summary="Organisation tokens (never their secret)")
    @_errors(blp, 401, 404)
    def tokens(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_tokens")
        return {"items": orgs.list_tokens(db.session, _actor(), org), "next_cursor": None}

    @blp.route("/<org_id>/tokens", methods=["POST"])
    @blp.response(201, NewOrgTokenSchema)
    @blp.doc(summary="Create an organisation token (shown once)", **json_body(TokenNameSchema))
    @_errors(blp, 400, 401, 404, 415, 422)
    def create_token(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_tokens")
        body = json_object() if request.content_length else {}
        if set(body) - {"name"}:
            raise ValidationFailed(str(_l("Some information is not valid.")),
                                   fields={name: str(_l("Unknown field.")) for name in set(body) - {"name"}})
        token, raw = orgs.create_token(db.session, _actor(), org, body.get("name") or "")
        db.session.commit()
        return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": token.created_at,
                "last_used_at": None, "revoked_at": None, "is_active": True, "token": raw}

    @blp.route("/<org_id>/tokens/<token_id>", methods=["DELETE"])
    @blp.response(204)
    @blp.doc(summary="Revoke an organisation token")
    @_errors(blp, 401, 404)
    def revoke_token(org_id, token_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_tokens")
        orgs.revoke_token(db.session, _actor(), org, token_id)
        db.session.commit()
        return None

    # achievements
    @blp.route("/<org_id>/achievements", methods=["GET"])
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(AchievementSchema, "AchievementPageSchema"))
    @blp.doc(summary="The organisation's achievements, by name")
    @_errors(blp, 400, 401, 404, 422)
    def achievement_index(args, org_id):
        org = orgs.get(db.session, _actor(), org_id)
        after = decode_cursor(args.get("cursor"), str)
        # An organisation defines tens of achievements, not thousands: the page is cut in Python.
        found = sorted(achievements.list_for(db.session, _actor(), org), key=lambda a: (a.name, str(a.id)))
        if after is not None:
            found = [a for a in found if (a.name, str(a.id)) > (after[0], str(after[1]))]
        return page(found[:args["limit"] + 1], args["limit"], lambda a: (a.name, a.id))

    @blp.route("/<org_id>/achievements", methods=["POST"])
    @blp.response(201, AchievementSchema)
    @blp.doc(summary="Create an achievement (organisation admins and tokens)",
             **json_body(AchievementInputSchema))
    @_errors(blp, 400, 401, 404, 415, 422)
    def achievement_create(org_id):
        org = orgs.get(db.session, _actor(), org_id, "manage_achievements")
        achievement = achievements.create(db.session, _actor(), org, json_object())
        db.session.commit()
        return achievement

    @blp.route("/<org_id>/achievements/<achievement_id>", methods=["GET"])
    @blp.response(200, AchievementSchema)
    @blp.doc(summary="One achievement")
    @_errors(blp, 401, 404)
    def achievement_show(org_id, achievement_id):
        return _achievement(org_id, achievement_id)

    @blp.route("/<org_id>/achievements/<achievement_id>", methods=["PATCH"])
    @blp.response(200, AchievementSchema)
    @blp.doc(summary="Change some fields of an achievement", **json_body(AchievementInputSchema))
    @_errors(blp, 400, 401, 404, 415, 422)
    def achievement_update(org_id, achievement_id):
        found = _achievement(org_id, achievement_id, policy.UPDATE)
        achievements.update(db.session, _actor(), found, json_object())
        db.session.commit()
        return found

    @blp.route("/<org_id>/achievements/<achievement_id>/image", methods=["PUT"])
    @blp.response(200, AchievementSchema)
    @blp.doc(summary="Replace an achievement's image", requestBody={
        "required": True, "description": "The image itself (PNG, JPEG or SVG, at most 4 MB); "
                                         "raster images are re-encoded, SVG sanitised.",
        "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in IMAGE_TYPES}})
    @_errors(blp, 401, 404, 415, 422)
    def achievement_image(org_id, achievement_id):
        found = _achievement(org_id, achievement_id, policy.UPDATE)
        if request.mimetype not in IMAGE_TYPES:
            raise ServiceError(str(_l("Send the image itself, with its image Content-Type.")),
                               code="unsupported_media_type", status=415)
        image = artwork.prepare_image(request.stream.read(artwork.MAX_UPLOAD + 1), "upload")
        achievements.update(db.session, _actor(), found, {}, image=image)
        db.session.commit()
        return found

    return blp
