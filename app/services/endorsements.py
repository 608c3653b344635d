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

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.database import utcnow
from app.models import Achievement, Organisation, User
from app.models.issuing import APPROVED
from app.models.credentials import Credential
from app.models.endorsements import SUBJECT_KINDS, Endorsement
from app.services import achievements, awarding, orgs
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
