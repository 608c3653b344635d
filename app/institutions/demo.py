"""Demo: a collège with one class (4e B) where Inès's younger brother Yanis is enrolled (not activated yet,
so the class's letters can be printed), its head (the demo lycée's director) and a teacher."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import policy
from app.models import Organisation, User
from app.models.institutions import Group
from app.services import batches, institutions, orgs, rosters

SCHOOL = {"name": "Collège des Trois-Rivières", "kind": "school", "website": "",
          "contact_email": "direction.trois-rivieres@example.org",
          "description": "Collège de démonstration : une classe de 4e, inscrite par liste."}
ROSTER = ("nom;prénom;date_naissance;classe;email;ine;email_responsable\n"
          "Martin;Yanis;10/04/2012;4e B;;1234567890V;parents.martin@example.org\n"
          "Lopes;Sarah;22/09/2011;4e B;;;famille.lopes@example.org\n")


def load(session: Session) -> list[str]:
    head = session.scalars(select(User).where(User.email == SCHOOL["contact_email"])).first()
    if head is None:
        return []
    org = session.scalars(select(Organisation).where(Organisation.name == SCHOOL["name"])).first()
    if org is None:
        org = orgs.create_organisation(session, policy.OPERATOR, SCHOOL, admin=head, approve=True)
        session.flush()
        for membership in org.memberships:
            membership.role = "head"
        batch = rosters.start_import(session, policy.OPERATOR, org, ROSTER.encode())
        session.commit()
        batches.run_batch(batch.id, session=session)
        group = session.scalars(select(Group).where(Group.organisation_id == org.id)).one()
        teacher = session.scalars(select(User).where(User.email == "claire.dubois@example.org")).first()
        if teacher is not None:
            institutions.add_staff(session, org, group, email=teacher.email, role="counsellor")
        session.flush()
    return [f"Demo school: {org.name} ({org.id}), class 4e B with Yanis Martin (Inès's brother)"]
