"""Endorsements: an approved organisation vouches, in a signed OB 3.0 ``EndorsementCredential``, for an
achievement of another organisation, another organisation, or a credential another organisation issued
here.

Who: the endorser's admins and issuers, or its organisation token, exactly those who may issue
(``awarding.check_may_issue``): an endorsement is a credential signed with the organisation's key. An
organisation does not endorse itself nor what it issues (an endorsement is a third party's word); an
organisation that is not approved, an achievement of one, or a revoked credential cannot be endorsed.

The subject's ``id`` is what verifiers already know the thing by: an achievement's OB 3.0 ``id``, an
organisation's DID, a credential's ``urn:uuid:`` id. Flushes, never commits.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import Achievement, Organisation, User
from app.models.issuing import APPROVED
from app.models.attestations import AttestationRequest
from app.models.credentials import Credential
from app.models.endorsements import SUBJECT_KINDS, Endorsement
from app.services import achievements, attestations, awarding, orgs
from app.services.errors import NotFound, ServiceError, ValidationFailed
from app.services.validation import CONTROL_CHARS
from badges.endorsement import COMMENT_MAX, build_endorsement
from badges.errors import InvalidValue
from badges.signing import sign_credential


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(str(_l("Some information is not valid.")), fields={field: str(message)})


def _comment(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("comment", _l("Say what you endorse and why."))
    value = value.strip()
    if CONTROL_CHARS.search(value):
        raise _invalid("comment", _l("This text contains characters that are not allowed."))
    if len(value) > COMMENT_MAX:
        raise _invalid("comment", _l("Use at most %(n)d characters.", n=COMMENT_MAX))
    return value


def find_subject(session: Session, kind, subject_id):
    """The row to endorse, if it exists and may be endorsed; else ``NotFound`` (ids reveal nothing)."""
    key = policy.parse_id(subject_id)
    model = {"achievement": Achievement, "organisation": Organisation, "credential": Credential}.get(kind)
    row = session.get(model, key) if model is not None and key is not None else None
    owner = row if kind == "organisation" else getattr(row, "organisation", None)
    if row is None or owner is None or not owner.is_approved:
        raise NotFound(str(_l("Nothing to endorse here.")))
    if kind == "credential" and row.revoked_at is not None:
        raise ServiceError(str(_l("A revoked credential cannot be endorsed.")), code="credential_revoked",
                           status=409)
    return row


def _subject_uri(kind: str, row) -> tuple[str, str]:
    """The endorsed thing's id as verifiers know it, and its name for the endorsement's ``name``."""
    if kind == "achievement":
        return achievements.achievement_document(row)["id"], row.name
    if kind == "organisation":
        return row.did, row.name
    return row.document.get("id") or f"urn:uuid:{row.id}", row.achievement.name


def endorse(session: Session, actor, endorser: Organisation, kind: str, subject_id, comment,
            *, now: datetime | None = None) -> Endorsement:
    """Sign and keep ``endorser``'s endorsement of the ``kind`` row ``subject_id``."""
    awarding.check_may_issue(actor, endorser)
    if kind not in SUBJECT_KINDS:
        raise _invalid("subject_kind", _l("Endorse an achievement, an organisation or a credential."))
    comment = _comment(comment)
    row = find_subject(session, kind, subject_id)
    if (row.id if kind == "organisation" else row.organisation_id) == endorser.id:
        raise ServiceError(str(_l("An organisation cannot endorse itself or what it issues.")),
                           code="self_endorsement", status=409)
    uri, subject_name = _subject_uri(kind, row)
    now = (now or utcnow()).replace(microsecond=0)
    endorsement = Endorsement(id=uuid.uuid4(), organisation_id=endorser.id, subject_kind=kind, subject_id=row.id,
                              subject_uri=uri, comment=comment, document={}, created_at=now,
                              issued_by_id=actor.id if isinstance(actor, User) else None)
    try:
        unsigned = build_endorsement(credential_id=f"urn:uuid:{endorsement.id}",
                                     issuer=orgs.issuer_profile(endorser), subject_id=uri, comment=comment,
                                     name=str(_l("Endorsement of %(name)s", name=subject_name))[:300],
                                     valid_from=now)
        endorsement.document = sign_credential(unsigned, orgs.signing_key(session, endorser), created=now)
    except InvalidValue as exc:
        raise ServiceError(str(_l("This endorsement could not be signed: %(reason)s", reason=exc.message)),
                           code="not_signable", status=422) from None
    session.add(endorsement)
    session.flush()
    return endorsement


def get(session: Session, endorsement_id) -> Endorsement | None:
    """Any endorsement by its public id: like the credentials, endorsements are public statements."""
    key = policy.parse_id(endorsement_id)
    return session.get(Endorsement, key) if key is not None else None


def of_subject(session: Session, kind: str, subject_id) -> list[Endorsement]:
    """The endorsements of one achievement, organisation or credential by approved organisations, newest
    first (an endorser whose approval is withdrawn stops being shown)."""
    return list(session.scalars(select(Endorsement).join(Organisation, Endorsement.organisation_id == Organisation.id)
                                .where(Endorsement.subject_kind == kind, Endorsement.subject_id == subject_id,
                                       Organisation.status == APPROVED)
                                .order_by(Endorsement.created_at.desc(), Endorsement.id)))


def by_organisation(session: Session, organisation: Organisation) -> list[Endorsement]:
    return list(session.scalars(select(Endorsement).where(Endorsement.organisation_id == organisation.id)
                                .order_by(Endorsement.created_at.desc(), Endorsement.id)))


# --- the person part: a signed-in person endorses another person's skill or received credential ---------
#
# The owner asks (``request_endorsement``): the same request, link, limits, reminders and cancellation as
# an attestation (``app.services.attestations``, ``purpose="endorsement"``), for a skill or a received
# credential. The endorser follows the link *signed in with the address it was sent to* (the link proves
# the mailbox, the session the account: the endorsement names that account), writes what they endorse and
# why, and the platform signs an ``EndorsementCredential`` with its own key (as for attestations: a person
# has no signing key here). Its subject ``id`` is what the thing is known by: the credential's own id, or
# ``urn:uuid:<skill id>`` for a skill (a skill has no public document; the name is in the endorsement's
# ``name``). ``description`` and ``evidence`` say exactly what the platform vouches for: that this signed-in
# account wrote the comment, not that the comment is true.

def request_endorsement(session: Session, user: User, kind, item_id, *, referee_name, referee_email,
                        relationship, message=None) -> tuple:
    """``(AttestationRequest, raw link)``: the owner asks ``referee_email`` to endorse a skill or credential."""
    return attestations.create(session, user, kind, item_id, referee_name=referee_name,
                               referee_email=referee_email, relationship=relationship, message=message,
                               purpose="endorsement")


def peek_request(session: Session, raw):
    """The endorsement request behind a link (an attestation link here is an invalid link)."""
    found = attestations.peek(session, raw)
    if found.purpose != "endorsement":
        raise attestations.link_error("invalid_link")
    return found


def check_endorser(found, user) -> None:
    """Only the account with the address the request was sent to (verified) may endorse through it."""
    if not isinstance(user, User) or not user.is_authenticated or not user.is_verified \
            or user.email != found.referee_email:
        raise ServiceError(str(_l("Sign in with the address this request was sent to (%(email)s) to endorse.",
                                  email=found.referee_email)), code="endorser_not_signed_in", status=403)


def endorse_by_link(session: Session, raw, user, comment, *, now: datetime | None = None):
    """Use the link once and sign ``user``'s endorsement of the requested skill or credential."""
    found = peek_request(session, raw)
    check_endorser(found, user)
    comment = _comment(comment)
    subject_uri = _person_subject_uri(session, found)
    found = attestations.use_link(session, raw)  # the one single-use link machinery
    now = (now or utcnow()).replace(microsecond=0)
    found.status, found.decided_at = "confirmed", now
    found.endorser_id, found.endorsement_comment = user.id, comment
    endorser = (user.portfolio.display_name if user.portfolio else None) or found.referee_name
    page = person_endorsement_url(found.id)
    vouch = _l("This platform vouches only that %(name)s, signed in as %(email)s with the address this "
               "request was sent to, wrote this endorsement on %(date)s; it does not vouch for what it says.",
               name=endorser, email=found.referee_email, date=now.date().isoformat())
    try:
        unsigned = build_endorsement(
            credential_id=f"urn:uuid:{found.id}", issuer=attestations.platform_profile(), subject_id=subject_uri,
            comment=comment, name=str(_l("Endorsement by %(name)s: %(title)s", name=endorser,
                                         title=found.item_title))[:300], valid_from=now)
        unsigned["description"] = str(vouch)
        unsigned["evidence"] = [{"id": page, "type": ["Evidence"],
                                 "name": str(_l("Endorsement by %(name)s", name=endorser)),
                                 "description": str(_l("Relationship to the holder: %(relationship)s",
                                                       relationship=found.referee_relationship)),
                                 "genre": "Endorsement", "narrative": str(vouch)}]
        found.document = sign_credential(unsigned, attestations.platform_key(session), created=now)
    except InvalidValue as exc:
        raise ServiceError(str(_l("This endorsement could not be signed: %(reason)s", reason=exc.message)),
                           code="not_signable", status=422) from None
    session.flush()
    return found


def _person_subject_uri(session: Session, found) -> str:
    if found.item_kind == "credential":
        credential = session.get(Credential, found.item_id)
        if credential is None or credential.portfolio_id != found.portfolio_id:
            raise NotFound(str(_l("Nothing to endorse here.")))
        if credential.revoked_at is not None:
            raise ServiceError(str(_l("A revoked credential cannot be endorsed.")), code="credential_revoked",
                               status=409)
        return credential.document.get("id") or f"urn:uuid:{credential.id}"
    return f"urn:uuid:{found.item_id}"


def person_endorsement_url(request_id) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/endorsements/{request_id}"


def get_person(session: Session, endorsement_id):
    """A signed person endorsement by its public id (public, like the credential it endorses)."""
    key = policy.parse_id(endorsement_id)
    found = session.get(AttestationRequest, key) if key is not None else None
    return found if (found is not None and found.purpose == "endorsement" and found.status == "confirmed"
                     and found.document) else None


def by_people(session: Session, kind: str, item_id) -> list:
    """The signed person endorsements of one skill or credential, newest first (its pages show them)."""
    return attestations.confirmed_for(session, kind, item_id, purpose="endorsement")
