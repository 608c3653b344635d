"""Demo path, through the services: a small fictitious training catalogue (clearly named as an example),
Inès's hypothesis "hotel receptionist" (her seasonal reception job, her languages) with a gap, her
counsellor Claire (whose viewer grant becomes a counsellor grant), goals, a proposal waiting for Inès and
an appointment note. The frameworks' demo (``app.demo._demo_frameworks``, run before) loaded the sample
framework and pointed Inès's skills at its concepts. Once only: nothing happens if Inès already has a
hypothesis.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Grant, User
from app.models.path import Hypothesis
from app.policy import OPERATOR
from app.services import grants, path, trainings

SAMPLE = "https://w3id.org/sillage/frameworks/sample"
RECEPTIONIST = f"{SAMPLE}/occupation/receptionniste"
CATALOGUE = f"""title,provider,place,start_date,end_date,skills,link
Exemple — Accueil et réservation hôtelière,Exemple de GRETA,Nantes,{{start1}},{{end1}},{SAMPLE}/skill/accueil-hotel|{SAMPLE}/skill/reservation|{SAMPLE}/skill/logiciel-hotelier,https://formations.example.org/accueil-hotel
Exemple — Anglais professionnel du tourisme,Exemple d'organisme de langues,Rezé,{{start2}},{{end2}},{SAMPLE}/skill/anglais-pro,https://formations.example.org/anglais-tourisme
Exemple — Standard et accueil téléphonique,Exemple d'organisme,Saint-Herblain,{{start3}},{{end3}},{SAMPLE}/skill/accueil-telephonique,
"""


def _catalogue() -> bytes:
    today = utcnow().date()
    dates = {}
    for n, (start, length) in enumerate(((40, 60), (20, 30), (70, 2)), start=1):
        dates[f"start{n}"] = (today + timedelta(days=start)).isoformat()
        dates[f"end{n}"] = (today + timedelta(days=start + length)).isoformat()
    return CATALOGUE.format(**dates).encode("utf-8")


def load(session: Session, owner_email: str, counsellor_email: str) -> None:
    ines = session.scalar(select(User).where(User.email == owner_email))
    claire = session.scalar(select(User).where(User.email == counsellor_email))
    if ines is None or claire is None or ines.portfolio is None or session.scalars(
            select(Hypothesis.id).where(Hypothesis.portfolio_id == ines.portfolio.id)).first():
        return
    trainings.import_catalogue(session, OPERATOR, _catalogue(), filename="exemple-catalogue.csv")
    grant = session.scalar(select(Grant).where(Grant.portfolio_id == ines.portfolio.id,
                                               Grant.grantee_id == claire.id))
    if grant is not None and grant.is_active() and grant.role != "counsellor":
        grants.change(session, ines, grant, role="counsellor")
    hypothesis = path.create_hypothesis(session, ines, {
        "occupation": RECEPTIONIST, "title": "Réceptionniste d'hôtel",
        "description": "L'accueil saisonnier m'a plu, et je veux parler espagnol et anglais au travail."})
    today = utcnow().date()
    path.add_item(session, ines, hypothesis, {"kind": "goal", "title": "Trouver une alternance en hôtellerie",
                                             "due_on": (today + timedelta(days=45)).isoformat()})
    path.add_item(session, ines, hypothesis, {"kind": "step", "title": "Demander un rendez-vous à l'hôtel du "
                                                                      "centre-ville", "due_on": (today + timedelta(days=7)).isoformat()})
    if grant is not None and grant.is_active():
        path.add_item(session, claire, hypothesis, {
            "kind": "note", "happened_on": (today - timedelta(days=3)).isoformat(),
            "body": "Premier rendez-vous : le projet tient la route. Points forts : l'accueil, la caisse, "
                    "les réclamations. À travailler : la réservation et l'anglais professionnel."})
        path.add_item(session, claire, hypothesis, {
            "kind": "goal", "title": "Suivre la formation d'anglais professionnel du tourisme",
            "due_on": (today + timedelta(days=60)).isoformat()})
