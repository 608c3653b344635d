"""Issuer organisations, their members, signing keys and API tokens, and their achievements (badge classes).

An organisation is asked for by a person (``pending``), then approved or refused by a platform admin;
only an approved one issues. Its identity is a ``did:web`` under this site's origin (or, for offline
use, the ``did:key`` of its first key). Images (logo, achievement image) are small checked files kept in
the row itself, deferred so that lists never load them: they are public and transactional with the row.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow
from app.models.user import User

if TYPE_CHECKING:  # the group places of a staff invitation (imported there: institutions imports this module)
    from app.models.institutions import GroupStaff

ORGANISATION_KINDS = ("university", "school", "training_body", "employer", "association",
                      "guidance_service", "other")
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
ORGANISATION_STATUSES = (PENDING, APPROVED, REFUSED)
ADMIN, ISSUER = "admin", "issuer"
# Staff of an enrolling institution (app/models/institutions.py): the head manages staff, groups and rosters.
HEAD, TEACHER, COUNSELLOR = "head", "teacher", "counsellor"
STAFF_ROLES = (HEAD, TEACHER, COUNSELLOR)
PARTNER = "partner"  # an association, company or club under convention with a school (minors' branch)
MEMBER_ROLES = (ADMIN, ISSUER, *STAFF_ROLES, PARTNER)
# The kinds offered for an achievement: values of OB 3.0's ``achievementType`` vocabulary (extensible
# enumeration, section B.1.3), written into the credential as they are.
ACHIEVEMENT_KINDS = ("Diploma", "SecondarySchoolDiploma", "Degree", "Certificate", "Certification",
                     "CertificateOfCompletion", "Competency", "Course", "LearningProgram",
                     "ApprenticeshipCertificate", "MicroCredential", "Badge", "Award", "CoCurricular",
                     "CommunityService", "Membership", "License", "Assessment", "Achievement")


class Organisation(IdMixin, TimestampMixin, db.Model):
    __tablename__ = "organisations"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    website: Mapped[Optional[str]] = mapped_column(String(500))
    contact_email: Mapped[str] = mapped_column(String(254))
    description: Mapped[str] = mapped_column(Text, default="")
    logo: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    logo_type: Mapped[Optional[str]] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=PENDING, index=True)
    refusal_reason: Mapped[Optional[str]] = mapped_column(Text)
    decided_at: Mapped[Optional[datetime]]
    # did:web:HOST:issuers:ID, fixed at creation (credentials name it); or the did:key of the first key.
    did: Mapped[str] = mapped_column(String(300), unique=True)
    did_method: Mapped[str] = mapped_column(String(10), default="web")  # web | key
    created_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Closed by its admin or the operator: it issues nothing more and its members keep only reading, but
    # its DID document, profile and status lists stay published so that what it issued still verifies.
    closed_at: Mapped[Optional[datetime]]

    created_by: Mapped[Optional[User]] = relationship()
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True)
    signing_keys: Mapped[list["SigningKey"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SigningKey.created_at")
    achievements: Mapped[list["Achievement"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Achievement.name")

    @property
    def is_approved(self) -> bool:
        return self.status == APPROVED

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r} {self.status}>"


class Membership(IdMixin, db.Model):
    """A person's role in an organisation: ``admin`` (members, keys, tokens, achievements), ``issuer``, an
    institution's staff (head, teacher, counsellor) or a ``partner``.

    A membership a head or an org admin adds is an *invitation* until the person accepts it
    (``accepted_at`` NULL): it gives no power anywhere (``Membership.accepted`` is in every query that
    grants one), so that nobody is enrolled without their consent (issue 13). An invitation to an address
    without an account has no ``user_id`` yet: ``email`` holds the address the inviter typed, and the person
    who creates that account (and confirms the address) accepts it from their invitations page."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[Optional[datetime]]
    email: Mapped[Optional[str]] = mapped_column(String(254), index=True)  # the invited address
    invited_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    user: Mapped[Optional[User]] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[Optional[User]] = relationship(foreign_keys=[invited_by_id])
    # Group places waiting for this invitation (app/models/institutions.py ``GroupStaff``): they go with it
    # (declined, withdrawn) and become the person's places when they accept it.
    group_places: Mapped[list["GroupStaff"]] = relationship(back_populates="membership", cascade="all",
                                                            passive_deletes=True)

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def address(self) -> str:
        """The e-mail shown for this membership: the account's, or the invited address."""
        return self.user.email if self.user is not None else (self.email or "")

    @classmethod
    def accepted(cls):
        """The SQL condition of a membership that gives its role's powers: accepted by the person."""
        return cls.accepted_at.is_not(None)


class SigningKey(IdMixin, db.Model):
    """An Ed25519 key of an organisation. The private seed is kept only sealed by the instance master key
    (``certs.keys.seal``, bound to this row's id); ``master_key_id`` names the master key, so that
    ``sillage keys rotate-master`` re-wraps it with the vault's data keys. A rotated-out key keeps its row
    (``retired_at`` set) and stays in the DID document, so that what it signed still verifies."""

    __tablename__ = "signing_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    key_id: Mapped[str] = mapped_column(String(100))  # the fragment: the verification method is DID#key_id
    public_key_multibase: Mapped[str] = mapped_column(String(100))
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[Optional[datetime]]
    rotated_at: Mapped[Optional[datetime]]  # last re-wrap under a new master key

    organisation: Mapped[Organisation] = relationship(back_populates="signing_keys")


class OrganisationToken(IdMixin, db.Model):
    """An API token acting for an organisation (not for a person); only its SHA-256 is stored."""

    __tablename__ = "organisation_tokens"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[Optional[User]] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Achievement(IdMixin, TimestampMixin, db.Model):
    """A badge class: what an organisation certifies, written into each credential it awards."""

    __tablename__ = "achievements"

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    criteria_narrative: Mapped[str] = mapped_column(Text, default="")
    criteria_url: Mapped[Optional[str]] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(60), default="Achievement")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # [{"target_name", "target_url", "target_framework"}]: free for now, frameworks come later.
    alignments: Mapped[list] = mapped_column(JSON, default=list)
    validity_months: Mapped[Optional[int]] = mapped_column(Integer)
    image: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    image_type: Mapped[Optional[str]] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship(back_populates="achievements")
