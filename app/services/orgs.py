"""Issuer organisations: the request, the platform admin's decision, members, signing keys, API tokens.

Every operation takes the session and the acting principal (a ``User``, ``policy.OPERATOR`` for the
command line, or a ``policy.OrganisationPrincipal`` for an organisation token), asks ``app.policy`` and
flushes; the caller commits. A refusal on an organisation the actor cannot even read is ``NotFound``
(ids reveal nothing); on one it can read, ``Forbidden`` with a reason.

Keys. An organisation signs with Ed25519 keys (``certs.keys``). The private seed is sealed by the instance
master key (the vault's keyring, ``app.services.vault_keys``) and bound to its row, so a master-key
rotation re-wraps it with the data keys. Key rotation retires the current key without deleting it: every
key stays in the DID document, so credentials signed before still verify. A did:key organisation has
exactly one key for life (its DID *is* the key), so it cannot rotate.
"""
from __future__ import annotations

import secrets
import uuid
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.extensions import db
from app.models import Membership, Organisation, OrganisationToken, SigningKey, User
from app.models.issuing import ADMIN, APPROVED, MEMBER_ROLES, ORGANISATION_KINDS, PENDING, REFUSED
from app.services import audit, vault_keys
from app.services.accounts import normalise_email
from app.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from app.services.tokens import LAST_USED_RESOLUTION, _clean_name, hash_token
from app.services.validation import Field, clean
from badges.ob3 import Profile, profile_document
from certs.keys import (
    KeyPair, VerificationMethod, decode_public_multikey, did_web, did_web_document, seal, unseal,
)

ORG_TOKEN_PREFIX = "silo_"
SEAL_PURPOSE = vault_keys.SIGNING_PURPOSE
_SEAL_AAD = vault_keys.SIGNING_AAD

RULES = {
    "name": Field("text", required=True, max_length=200),
    "kind": Field("choice", required=True, choices=ORGANISATION_KINDS),
    "website": Field("url", max_length=500),
    "contact_email": Field("email", required=True, max_length=254),
    "description": Field("text", max_length=5000),
}


def one_line(values: dict, *names: str) -> dict:
    """Refuse a line break in the named fields (``clean`` allows them in texts). A name goes into mail
    subjects, page titles and headings: Flask-Mail and ``email`` refuse a header with CR or LF, so an
    organisation named across two lines would silently lose every mail about it."""
    errors = {name: str(_l("Write it on one line.")) for name in names
              if isinstance(values.get(name), str) and ("\n" in values[name] or "\r" in values[name])}
    if errors:
        raise ValidationFailed(str(_l("Some information is not valid.")), fields=errors)
    return values


# --- reading ------------------------------------------------------------------------------------------------

def get(session: Session, actor, organisation_id, action: str = "read") -> Organisation:
    """The organisation if ``actor`` may ``action`` it; ``NotFound`` if it may not even read it."""
    key = policy.parse_id(organisation_id)
    org = session.get(Organisation, key) if key is not None else None
    # A platform admin sees a request to decide it; for anything else, only members see the organisation.
    visible = org is not None and (policy.can(actor, "read", org) or policy.can(actor, action, org) or (
        action in ("review", "decide") and policy.can(actor, "review", org)))
    if not visible:
        raise NotFound(str(_l("Not found.")))
    if not policy.can(actor, action, org):
        raise _forbidden(org)
    return org


def _forbidden(org: Organisation) -> ServiceError:
    if org.closed_at is not None:
        return Forbidden(str(_l("This organisation is closed: it issues nothing more, and its members can "
                                "only read what it did.")), code="organisation_closed")
    if org.status != APPROVED:
        return Forbidden(str(_l("This organisation is not approved: it cannot do this yet.")),
                         code="organisation_not_approved")
    return Forbidden(str(_l("Your role in this organisation does not allow this.")))


def check(actor, action: str, org: Organisation) -> None:
    if not policy.can(actor, action, org):
        if not policy.can(actor, "read", org):
            raise NotFound(str(_l("Not found.")))
        raise _forbidden(org)


def organisations_of(session: Session, user: User) -> list[tuple[Organisation, str]]:
    """The user's organisations with the user's role, by name."""
    rows = session.execute(select(Organisation, Membership.role).join(Membership)
                           .where(Membership.user_id == user.id, Membership.accepted())
                           .order_by(Organisation.name))
    return [(org, role) for org, role in rows]


def list_organisations(session: Session, status: str | None = None) -> list[Organisation]:
    """By age; with ``status``, only those in it (a request closed by its admin is withdrawn: no longer
    pending, so that platform admins do not review it)."""
    query = select(Organisation).order_by(Organisation.created_at)
    if status:
        query = query.where(Organisation.status == status)
    if status == PENDING:
        query = query.where(Organisation.closed_at.is_(None))
    return list(session.scalars(query))


def pending_requests(session: Session, actor: User) -> list[Organisation]:
    if not policy.reviews_requests(actor):
        raise Forbidden(str(_l("Only platform admins review organisation requests.")))
    return list_organisations(session, PENDING)


def platform_admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.is_admin.is_(True)).order_by(User.email)))


def members(session: Session, org: Organisation) -> list[Membership]:
    """The accepted members (invitations not accepted yet: ``invitations.pending_of``)."""
    return list(session.scalars(select(Membership).where(Membership.organisation_id == org.id,
                                                         Membership.accepted())
                                .join(User, User.id == Membership.user_id).order_by(Membership.role, User.email)))


def may_issue(user, org: Organisation) -> bool:
    """An approved organisation, and an admin or issuer member (or the organisation's own token)."""
    return policy.can(user, "issue", org)


# --- identity -----------------------------------------------------------------------------------------------

def web_did(organisation_id, base_url: str | None = None) -> str:
    """``did:web:HOST[%3APORT][:PATH...]:issuers:ID`` from ``SILLAGE_BASE_URL``; the document is then
    served at ``BASE_URL/issuers/ID/did.json``, which is where a did:web resolver looks."""
    parts = urlsplit(base_url or current_app.config["BASE_URL"])
    path = [segment for segment in parts.path.split("/") if segment]
    return did_web(parts.netloc, *path, "issuers", str(organisation_id))


def public_url(org: Organisation, suffix: str = "") -> str:
    return f"{current_app.config['BASE_URL']}/issuers/{org.id}{suffix}"


def profile(org: Organisation) -> Profile:
    """The organisation as ``badges.ob3.Profile`` (what ``build_credential(issuer=...)`` takes)."""
    return Profile(id=org.did, name=org.name, url=org.website or public_url(org), email=org.contact_email,
                   description=org.description or None,
                   image=public_url(org, "/logo") if org.logo_type else None)


def issuer_profile(org: Organisation) -> dict:
    """The OB 3.0 ``Profile`` document of the organisation, as a credential's ``issuer``."""
    return profile_document(profile(org))


def _vm_id(org: Organisation, row: SigningKey) -> str:
    return f"{org.did}#{row.key_id}"


def did_document(org: Organisation) -> dict:
    """The did:web controller document: every key, current and retired, as an assertion method."""
    methods = [VerificationMethod(_vm_id(org, row), org.did, decode_public_multikey(row.public_key_multibase))
               for row in org.signing_keys]
    return did_web_document(org.did, methods)


# --- keys --------------------------------------------------------------------------------------------------

def _aad(row_id: uuid.UUID) -> bytes:
    return _SEAL_AAD + str(row_id).encode("ascii")


def _master(key: str) -> bytes:
    return key.encode("utf-8")


def _new_key(session: Session, org: Organisation, pair: KeyPair | None = None,
             ring: vault_keys.Keyring | None = None) -> SigningKey:
    ring = ring or vault_keys.keyring()
    pair = pair or KeyPair.generate()
    row_id = uuid.uuid4()
    row = SigningKey(id=row_id, organisation=org, key_id=pair.public_key_multibase,
                     public_key_multibase=pair.public_key_multibase, master_key_id=ring.wrapping_id,
                     sealed_private_key=seal(pair.private_bytes(), _master(ring.wrapping), _aad(row_id),
                                             purpose=SEAL_PURPOSE),
                     created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def current_key_row(session: Session, org: Organisation) -> SigningKey:
    row = session.scalars(select(SigningKey).where(SigningKey.organisation_id == org.id,
                                                   SigningKey.retired_at.is_(None))
                          .order_by(SigningKey.created_at.desc()).limit(1)).first()
    if row is None:
        raise ServiceError(str(_l("This organisation has no signing key.")), code="no_signing_key",
                           status=409)
    return row


def unseal_key(org: Organisation, row: SigningKey, ring: vault_keys.Keyring | None = None) -> KeyPair:
    ring = ring or vault_keys.keyring()
    master = ring.keys.get(row.master_key_id)
    if master is None:
        raise ServiceError(str(_l("The key that protects this organisation's signing key is missing.")),
                           code="master_key_missing", status=500)
    seed = unseal(row.sealed_private_key, _master(master), _aad(row.id), purpose=SEAL_PURPOSE)
    pair = KeyPair.from_private_bytes(seed, controller=org.did, key_id=_vm_id(org, row))
    if pair.public_key_multibase != row.public_key_multibase:
        raise ServiceError("sealed key does not match its public key", code="key_mismatch", status=500)
    return pair


def signing_key(session: Session, org: Organisation, *, status_list: bool = False) -> KeyPair:
    """The organisation's current key, unsealed, its id the verification method under the org's DID.

    The caller must have checked ``may_issue``; an unapproved or closed organisation never signs (its
    status lists were signed when their bits last changed and are served as stored), except, with
    ``status_list``, a closed one's status list after a revocation (``awarding.revoke``: what a closed
    organisation issued stays revocable; its key stays in its DID document)."""
    if org.closed_at is not None and not (status_list and org.status == APPROVED):
        raise _forbidden(org)
    if org.status != APPROVED:
        raise Forbidden(str(_l("This organisation is not approved: it cannot do this yet.")),
                        code="organisation_not_approved")
    return unseal_key(org, current_key_row(session, org))


def rotate_key(session: Session, actor, org: Organisation) -> SigningKey:
    """A new current key; the old one is retired but stays published, so its credentials still verify."""
    check(actor, "manage_keys", org)
    if org.did_method == "key":
        raise Conflict(str(_l("An organisation identified by a did:key cannot change its key: its "
                              "identifier is the key.")), code="did_key_cannot_rotate")
    old = current_key_row(session, org)
    old.retired_at = utcnow()
    new = _new_key(session, org)
    audit.record(session, actor=actor, action="organisation.rotate_key", target_type="organisation",
                 target_id=org.id, organisation_id=org.id, details={"retired_key": old.id, "new_key": new.id})
    return new


# --- request, decision ------------------------------------------------------------------------------------

def create_organisation(session: Session, actor, data: dict, *, admin: User, did_key: bool = False,
                        approve: bool = False, logo: tuple[bytes, str] | None = None) -> Organisation:
    """A new organisation (pending unless the operator approves it at once), ``admin`` its first admin.

    ``data``: name, kind, website, contact_email, description (``RULES``). Anyone signed in may ask;
    only the operator may create one approved, or for another person."""
    values = one_line(clean(RULES, data), "name")
    if approve and not isinstance(actor, policy.Operator):
        raise Forbidden(str(_l("Only a platform admin approves organisations.")))
    if not isinstance(actor, policy.Operator) and actor is not admin:
        raise Forbidden(str(_l("You can only ask to open an organisation for yourself.")))
    org_id = uuid.uuid4()
    pair = KeyPair.generate()
    did = pair.controller if did_key else web_did(org_id)
    org = Organisation(id=org_id, name=values["name"], kind=values["kind"],
                       website=values.get("website") or None, contact_email=values["contact_email"],
                       description=values.get("description", ""), status=PENDING, did=did,
                       did_method="key" if did_key else "web", created_by=admin)
    if logo is not None:
        org.logo, org.logo_type = logo
    session.add(org)
    # Accepted at once: the person asks for their own organisation, or the operator (``sillage orgs create
    # --admin``, a platform admin's act on the command line) names its first admin, who is nobody's member
    # yet and whom nobody else could invite; an organisation without an accepted admin could not act.
    session.add(Membership(id=uuid.uuid4(), organisation=org, user=admin, role=ADMIN, email=admin.email,
                           accepted_at=utcnow()))
    session.flush()
    _new_key(session, org, pair)
    if approve:
        org.status, org.decided_at = APPROVED, utcnow()
    session.flush()
    audit.record(session, actor=actor if isinstance(actor, User) else None, action="organisation.create",
                 target_type="organisation", target_id=org.id, organisation_id=org.id,
                 details={"name": org.name, "kind": org.kind, "admin_id": admin.id, "approved": approve,
                          "did_method": org.did_method})
    return org


def update_organisation(session: Session, actor, org: Organisation, data: dict,
                        logo: tuple[bytes, str] | None = None) -> Organisation:
    check(actor, "manage_profile", org)
    values = one_line(clean(RULES, data, partial=True), "name")
    for name, value in values.items():
        setattr(org, name, (value or None) if name == "website" else value)
    if logo is not None:
        org.logo, org.logo_type = logo
    session.flush()
    audit.record(session, actor=actor, action="organisation.update", target_type="organisation",
                 target_id=org.id, organisation_id=org.id,
                 details={"fields": sorted(values) + (["logo"] if logo is not None else [])})
    return org


def approve(session: Session, actor, org: Organisation) -> Organisation:
    if not policy.can(actor, "decide", org):
        raise Forbidden(str(_l("Only a platform admin decides on a pending organisation request.")))
    org.status, org.decided_at, org.refusal_reason = APPROVED, utcnow(), None
    audit.record(session, actor=actor, action="organisation.approve", target_type="organisation",
                 target_id=org.id, organisation_id=org.id)
    return org


def refuse(session: Session, actor, org: Organisation, reason: str) -> Organisation:
    if not policy.can(actor, "decide", org):
        raise Forbidden(str(_l("Only a platform admin decides on a pending organisation request.")))
    reason = clean({"reason": Field("text", required=True, max_length=2000)}, {"reason": reason})["reason"]
    org.status, org.decided_at, org.refusal_reason = REFUSED, utcnow(), reason
    audit.record(session, actor=actor, action="organisation.refuse", target_type="organisation",
                 target_id=org.id, organisation_id=org.id, details={"reason": reason})
    return org


def close(session: Session, actor, org: Organisation, confirmation: str) -> Organisation:
    """Close the organisation for good: ``confirmation`` must repeat its name (an irreversible act).

    Nothing is deleted: its keys stay in its DID document and its status lists stay published, so that
    every credential it issued still verifies, revocations included; the policy refuses it every action
    but reading from now on (``policy.CLOSED_ORG_ACTIONS``). Its API tokens are revoked. Its last admin may
    then delete their account (``accounts.organisations_only_administered_by``)."""
    check(actor, "close", org)
    if not isinstance(confirmation, str) or confirmation.strip().casefold() != org.name.strip().casefold():
        raise ValidationFailed(str(_l("Type the organisation's name to confirm.")),
                               fields={"confirm": str(_l("Type the organisation's name to confirm."))})
    now = utcnow()
    org.closed_at = now
    for token in session.scalars(select(OrganisationToken).where(
            OrganisationToken.organisation_id == org.id, OrganisationToken.revoked_at.is_(None))):
        token.revoked_at = now
    audit.record(session, actor=actor, action="organisation.close", target_type="organisation",
                 target_id=org.id, organisation_id=org.id)
    return org


# --- members ----------------------------------------------------------------------------------------------

def _admins(session: Session, org: Organisation) -> int:
    return session.scalar(select(func.count()).select_from(Membership)
                          .where(Membership.organisation_id == org.id, Membership.role == ADMIN,
                                 Membership.accepted()))


def _role(role) -> str:
    if role not in MEMBER_ROLES:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"role": str(_l("Not one of the allowed values."))})
    return role


def add_member(session: Session, actor, org: Organisation, email, role, *, on_behalf_of=None) -> Membership:
    """Invite a person (by e-mail) with a role: a pending membership (``accepted_at`` NULL) that gives no
    power until they accept it (``invitations.accept``), and a mail to the address. Nobody is enrolled
    without their consent (issue 13).

    The answer is the same whether or not the address has an account (review 14, M4: no account oracle):
    an address without one gets the same invitation, kept by its address, and accepts once the account
    exists. Inviting the same person twice is a ``Conflict`` (``already_member``), as the member lists
    and the pending invitations the caller can read already show them.

    ``on_behalf_of``: a head whose right the caller checked already (app/services/institutions.py,
    guardians.add_partner call with the operator as ``actor``); the audit log names that head."""
    from app.services import invitations
    check(actor, "manage_members", org)
    role = _role(role)
    try:
        address = normalise_email(email)
    except ValidationFailed:
        raise ValidationFailed(str(_l("Some information is not valid.")),
                               fields={"email": str(_l("Not a valid e-mail address."))}) from None
    user = session.scalars(select(User).where(User.email == address)).first()
    # The operator's own act (``sillage orgs add-member``, the demo) is immediate: a platform admin on the
    # command line names someone, e.g. a new admin when the last one left and nobody could invite.
    immediate = isinstance(actor, policy.Operator) and on_behalf_of is None
    if immediate and user is None:
        raise ValidationFailed(str(_l("No account uses this e-mail address: ask the person to sign up "
                                      "first.")), code="no_such_account",
                               fields={"email": str(_l("No account uses this e-mail address."))})
    if find_membership(session, org, address, user) is not None:
        raise Conflict(str(_l("This person is already a member or invited.")), code="already_member")
    inviter = on_behalf_of or actor
    membership = Membership(id=uuid.uuid4(), organisation=org, user=user, role=role, email=address,
                            invited_by_id=inviter.id if isinstance(inviter, User) else None,
                            accepted_at=utcnow() if immediate else None)
    session.add(membership)
    session.flush()
    audit.record(session, actor=inviter, action="member.add" if immediate else "member.invite",
                 target_type="membership", target_id=membership.id, organisation_id=org.id,
                 details={"email": address, "role": role})
    if not immediate:
        invitations.send_invitation(membership, inviter)
    return membership


def find_membership(session: Session, org: Organisation, address: str, user: User | None) -> Membership | None:
    """The person's membership of ``org``, accepted or invited, by their account (``user``) or by the address
    an invitation was sent to; an accepted one first."""
    same = Membership.email == address if user is None else or_(Membership.user_id == user.id,
                                                                Membership.email == address)
    return session.scalars(select(Membership).where(Membership.organisation_id == org.id, same)
                           .order_by(Membership.accepted_at.is_(None))).first()


def get_membership(session: Session, org: Organisation, membership_id) -> Membership:
    key = policy.parse_id(membership_id)
    membership = session.get(Membership, key) if key is not None else None
    if membership is None or membership.organisation_id != org.id:
        raise NotFound(str(_l("Not found.")))
    return membership


def _keep_an_admin(session: Session, org: Organisation, membership: Membership) -> None:
    if membership.role == ADMIN and membership.is_accepted and _admins(session, org) <= 1:
        raise Conflict(str(_l("An organisation always keeps at least one admin: name another admin "
                              "first.")), code="last_admin")


def change_role(session: Session, actor, org: Organisation, membership_id, role, *,
                on_behalf_of=None) -> Membership:
    check(actor, "manage_members", org)
    membership = get_membership(session, org, membership_id)
    role = _role(role)
    if role != membership.role:
        _keep_an_admin(session, org, membership)
        membership.role = role
        audit.record(session, actor=on_behalf_of or actor, action="member.change_role",
                     target_type="membership", target_id=membership.id, organisation_id=org.id,
                     details={"role": role})
    return membership


def remove_member(session: Session, actor, org: Organisation, membership_id, *, on_behalf_of=None,
                  only_roles: tuple[str, ...] | None = None) -> None:
    """Remove a member, or cancel an invitation not accepted yet (``invitation.cancel`` in the audit log).

    A member removed gets a notice: their account is untouched, and what people shared with them by a grant
    stays until those people revoke it (a grant is its giver's). ``only_roles``: a head removes staff or
    partners only; another role is not theirs to see here (``NotFound``)."""
    from app.services import invitations
    check(actor, "manage_members", org)
    membership = get_membership(session, org, membership_id)
    if only_roles is not None and membership.role not in only_roles:
        raise NotFound(str(_l("Not found.")))
    _keep_an_admin(session, org, membership)
    accepted = membership.is_accepted
    audit.record(session, actor=on_behalf_of or actor, action="member.remove" if accepted else "invitation.cancel",
                 target_type="membership", target_id=membership.id, organisation_id=org.id,
                 details={"user_id": membership.user_id, "email": membership.address, "role": membership.role})
    if accepted and membership.user is not None:
        invitations.send_removal(membership)
    session.delete(membership)
    session.flush()


# --- organisation API tokens --------------------------------------------------------------------------------

def create_token(session: Session, actor, org: Organisation, name: str = "") -> tuple[OrganisationToken, str]:
    """A token acting for the organisation; the raw value is returned once and never stored."""
    check(actor, "manage_tokens", org)
    raw = ORG_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = OrganisationToken(id=uuid.uuid4(), organisation=org, name=_clean_name(name),
                              token_hash=hash_token(raw), prefix=raw[len(ORG_TOKEN_PREFIX):][:8],
                              created_by=actor if isinstance(actor, User) else None, created_at=utcnow())
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="organisation.token_create", target_type="organisation_token",
                 target_id=token.id, organisation_id=org.id, details={"name": token.name})
    return token, raw


def list_tokens(session: Session, actor, org: Organisation) -> list[OrganisationToken]:
    check(actor, "manage_tokens", org)
    return list(session.scalars(select(OrganisationToken).where(OrganisationToken.organisation_id == org.id)
                                .order_by(OrganisationToken.created_at.desc())))


def revoke_token(session: Session, actor, org: Organisation, token_id) -> OrganisationToken:
    check(actor, "manage_tokens", org)
    key = policy.parse_id(token_id)
    token = session.get(OrganisationToken, key) if key is not None else None
    if token is None or token.organisation_id != org.id:
        raise NotFound(str(_l("Not found.")))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="organisation.token_revoke", target_type="organisation_token",
                     target_id=token.id, organisation_id=org.id, details={"name": token.name})
    return token


def organisation_for_token(raw_token, session: Session | None = None) -> Organisation | None:
    """The approved organisation an active organisation token acts for, else None (flushes last use)."""
    session = session or db.session
    if not isinstance(raw_token, str) or not raw_token.startswith(ORG_TOKEN_PREFIX) or len(raw_token) > 200:
        return None
    token = session.scalars(select(OrganisationToken)
                            .where(OrganisationToken.token_hash == hash_token(raw_token))).first()
    if token is None or not token.is_active or token.organisation.status != APPROVED:
        return None
    if token.created_by is not None and not token.created_by.is_active:
        # A token acts for the organisation, but the person who minted it holds it too: while that person
        # is suspended it stops (it works again on reinstatement; the other admins can mint new ones).
        # Tokens minted by the operator (``sillage orgs token``, no creator) are not tied to anyone.
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token.organisation
