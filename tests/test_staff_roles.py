"""The staff role vocabulary, defined once (mending item of round 15)."""
from __future__ import annotations

from app.models.institutions import GROUP_STAFF_ROLES
from app.models.issuing import MEMBER_ROLES, STAFF_ROLES


def test_one_staff_role_vocabulary():
    """The group roles are the institution's staff roles, defined once (app/models/issuing.py): a role
    added there is accepted in a group too, and the member forms keep their order."""
    assert GROUP_STAFF_ROLES is STAFF_ROLES == ("head", "teacher", "counsellor")
    assert MEMBER_ROLES == ("admin", "issuer", "head", "teacher", "counsellor", "partner")
