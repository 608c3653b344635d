"""All models, imported here so that Alembic and the application see one metadata."""
from app.database import Base, utcnow  # noqa: F401
from app.models.user import ApiToken, OneTimeToken, User  # noqa: F401
from app.models.portfolio import (  # noqa: F401
    EXPERIENCE_KINDS, SKILL_LEVELS, Diploma, Experience, JournalEntry, Portfolio, Skill,
)
from app.models.session import HttpSession, RateLimitCounter  # noqa: F401
from app.models.vault import Document, DocumentTag, VaultKey  # noqa: F401
from app.models.jobs import Batch, BatchItem  # noqa: F401
from app.models.issuing import (  # noqa: F401
    ACHIEVEMENT_KINDS, MEMBER_ROLES, ORGANISATION_KINDS, Achievement, Membership, Organisation,
    OrganisationToken, SigningKey,
)
from app.models.credentials import ClaimToken, Credential, StatusEntry, StatusList  # noqa: F401
from app.models.attestations import AttestationRequest, PlatformKey  # noqa: F401
from app.models.endorsements import Endorsement  # noqa: F401
from app.models.received import CredentialLink, VerificationVerdict  # noqa: F401
from app.models.cvs import CvVariant  # noqa: F401
from app.models.sharing import AccessEvent, Grant  # noqa: F401
from app.models.collab import Comment, Message, Proposal  # noqa: F401
from app.models.pages import Page, ShareLink  # noqa: F401
from app.models.feed import Event, FeedSettings  # noqa: F401
from app.models.skill_suggestions import SkillSuggestionDismissal  # noqa: F401
from app.models.frameworks import (  # noqa: F401
    Concept, ConceptLink, ConceptRelation, Framework, FrameworkImportLock)
from app.models.path import Hypothesis, PlanEvent, PlanItem, Training, TrainingSkill  # noqa: F401
from app.models.exports import ErasedToken, Export  # noqa: F401
from app.models.imports import ImportFingerprint  # noqa: F401
from app.models.backpack import ExternalCredential, ExternalCredentialLink  # noqa: F401
from app.models.institutions import ActivationCode, Enrolment, Group, GroupStaff  # noqa: F401
from app.models.guardians import GuardianConsent  # noqa: F401
from app.models.sso import ExternalIdentity  # noqa: F401
from app.models.admin import AuditEvent, DailyActivity, DailySeen  # noqa: F401
