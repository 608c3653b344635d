"""Institutions enrolling people: groups (classes, cohorts), their staff, roster enrolments, activation codes.

An institution is an existing ``Organisation`` (app/models/issuing.py) of an enrolling kind; its staff are
``Membership`` rows with the roles ``head``, ``teacher`` or ``counsellor``. Ownership never moves to the
institution: an ``Enrolment`` is the institution's record of a person (from its roster), linked to an
account only when the person activates it (new account) or accepts to join (existing account). Staff see
nothing of a portfolio unless its owner shares with a group (``Grant.group_id``, app/models/sharing.py).

An enrolment is found again on re-import by INE, else e-mail, else name and birth date
(app/services/rosters.py); ending an affiliation sets ``ended_at`` and ``end_reason`` and never deletes the
account. Activation codes are stored as their SHA-256 only, work once, expire, and guessing is rate-limited.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import IdMixin, TimestampMixin, db, utcnow
from app.models.issuing import STAFF_ROLES, Membership, Organisation
from app.models.user import User

# Organisation kinds that may enrol people (the others only issue).
ENROLLING_KINDS = ("school", "university", "training_body", "guidance_service")
GROUP_KINDS = ("class", "cohort")
# Roles a member of staff may hold in one group: the institution's staff roles themselves, one vocabulary
# defined once (app/models/issuing.py), so that a role added there is a group role too. Only tested for
# membership: the order is issuing's (the member forms' order).
GROUP_STAFF_ROLES = STAFF_ROLES
ACTIVATE, JOIN = "activate", "join"
CODE_PURPOSES = (ACTIVATE, JOIN)


class Group(IdMixin, TimestampMixin, db.Model):
    """A class (school) or a cohort (university, training, guidance) of one institution."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("organisation_id", "name", "year"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"),
                                                       index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(10), default="class")
    year: Mapped[Optional[int]] = mapped_column(Integer)  # the school year's first calendar year
    archived_at: Mapped[Optional[datetime]]

    organisation: Mapped[Organisation] = relationship()
    staff: Mapped[list["GroupStaff"]] = relationship(back_populates="group", cascade="all, delete-orphan",
                                                     passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Group {self.name!r} {self.year}>"


class GroupStaff(IdMixin, db.Model):
    """A place in one group with a role (teacher, counsellor, head), held by a member of the institution's
    staff (``user_id``) or waiting for a staff invitation to be accepted (``membership_id``: the pending
    ``Membership``, whose address the group page shows). A waiting place reaches nothing (no ``user_id``);
    accepting the invitation makes it the person's place (app/services/institutions.py ``take_places``),
    declining or withdrawing the invitation deletes it (``ON DELETE CASCADE``)."""

    __tablename__ = "group_staff"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),
                      UniqueConstraint("group_id", "membership_id", name="uq_group_staff_group_membership"),
                      CheckConstraint("(user_id IS NULL) <> (membership_id IS NULL)", name="one_holder"))

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    membership_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"),
                                                               index=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[Group] = relationship(back_populates="staff")
    user: Mapped[Optional[User]] = relationship()
    membership: Mapped[Optional[Membership]] = relationship(back_populates="group_places")

    @property
    def pending(self) -> bool:
        """Waiting for the person to accept the institution's invitation."""
        return self.membership_id is not None

    @property
    def address(self) -> str:
        """The person's address, or the invited one (never the account's while the invitation waits)."""
        return (self.membership.email or "") if self.membership is not None else self.user.email


class Enrolment(IdMixin, TimestampMixin, db.Model):
    """One person on one institution's roster (one row per person and institution, kept when they leave)."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("organisation_id", "ine", name="uq_enrolments_org_ine"),
        UniqueConstraint("organisation_id", "user_id", name="uq_enrolments_org_user"),
        Index("ix_enrolments_org_email", "organisation_id", "email"),
        Index("ix_enrolments_org_name", "organisation_id", "family_name", "given_name"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    group_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"),
                                                          index=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[Optional[date]] = mapped_column(Date)
    ine: Mapped[Optional[str]] = mapped_column(String(11))  # upper-cased
    email: Mapped[Optional[str]] = mapped_column(String(254))  # lower-cased
    guardian_emails: Mapped[list] = mapped_column(JSON, default=list)  # lower-cased
    # Set when the person activated a new account or accepted to join with an existing one.
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # An existing account found by e-mail: invited to join, never linked without their consent.
    invited_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    joined_at: Mapped[Optional[datetime]]
    ended_at: Mapped[Optional[datetime]]
    end_reason: Mapped[Optional[str]] = mapped_column(Text)

    organisation: Mapped[Organisation] = relationship()
    group: Mapped[Optional[Group]] = relationship()
    user: Mapped[Optional[User]] = relationship(foreign_keys=[user_id])
    invited_user: Mapped[Optional[User]] = relationship(foreign_keys=[invited_user_id])

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def status(self) -> str:
        """``ended``, ``active`` (linked to an account), ``invited`` (existing account asked) or ``pending``."""
        if self.ended_at is not None:
            return "ended"
        if self.user_id is not None:
            return "active"
        return "invited" if self.invited_user_id is not None else "pending"


class ActivationCode(IdMixin, db.Model):
    """A one-time code (letter or e-mail) that activates an enrolment's new account or joins an existing one.

    Only its SHA-256 is kept; a new code for the same enrolment supersedes the old ones of the same channel
    (``used_at`` set): a reprinted letter voids the earlier letter, a new e-mail the earlier e-mail.
    ``mailed_to`` is the address an e-mailed code went to (NULL for a letter's code)."""

    __tablename__ = "activation_codes"

    enrolment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("enrolments.id", ondelete="CASCADE"),
                                                    index=True)
    purpose: Mapped[str] = mapped_column(String(10), default=ACTIVATE)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[Optional[datetime]]
    mailed_to: Mapped[Optional[str]] = mapped_column(String(254))

    enrolment: Mapped[Enrolment] = relationship()

    def is_usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.used_at is None and self.expires_at > now
