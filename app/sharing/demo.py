"""Demo sharing, through the services: Inès shares her portfolio (all but the journal) with her careers
counsellor Claire, who has accepted and looked once (a line in Inès's access log), and has invited her
mother as guardian (pending, no mail sent). Once only: nothing happens if Inès already shares."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Grant, User
from app.services import grants


def load(session: Session, owner_email: str, counsellor_email: str) -> None:
    ines = session.scalar(select(User).where(User.email == owner_email))
    claire = session.scalar(select(User).where(User.email == counsellor_email))
    if ines is None or claire is None or ines.portfolio is None or session.scalars(
            select(Grant.id).where(Grant.portfolio_id == ines.portfolio.id)).first():
        return
    grant, raw = grants.invite(session, ines, email=claire.email, role="viewer",
                               message="Bonjour Claire, voici mon portfolio pour notre prochain rendez-vous.")
    grants.accept_by_link(session, claire, raw)
    grants.shared_items(session, claire, grant, ip="192.0.2.10")
    grants.invite(session, ines, email="sophie.martin@example.org", role="guardian",
                  message="Maman, tu peux suivre mon portfolio ici.")
