"""Demo data (`sillage demo`) and synthetic accounts for benchmarks (`sillage demo --accounts N`).

The demo tells one believable story: Inès Martin, a pupil in a French vocational high school (lycée
professionnel, bac pro), with internships (PFMP), a summer job, volunteering, family responsibilities,
sport, an Erasmus+ mobility, diplomas, skills linked to the experiences that prove them, and a journal
about her orientation project; plus a careers counsellor with a small portfolio of her own. Both are
built through the same services as the pages and the API, so the demo also exercises their rules.

Loading is idempotent: an account that already exists is left exactly as it is, and the same logins
are printed every time. The caller commits (like every command).

Synthetic accounts (``bench-<n>@example.org``) are for load tests: about twenty items each, generated
from a seeded random generator (account *n* always gets the same content) and written with bulk
inserts, hashing the shared password once, so that 10,000 accounts take seconds rather than hours.
"""
from __future__ import annotations

import itertools
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import Diploma, Experience, JournalEntry, Portfolio, Skill, User
from app.models.portfolio import experience_skills

# Demo passwords are public on purpose: they protect demo data only, and `sillage demo` prints them.
BENCH_PASSWORD = "bench-password-sillage"
BENCH_DOMAIN = "example.org"
BATCH = 1000


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    display_name: str
    description: str
    role: str
    build: Callable[[Session, User], None]


def _when(day: str, hour: int = 18) -> datetime:
    """An aware UTC timestamp on ``day`` (ISO date), for journal entries written over time."""
    return datetime.combine(date.fromisoformat(day), dtime(hour, 0), tzinfo=timezone.utc)


def _build_ines(session: Session, user: User) -> None:
    """A bac pro pupil's portfolio, rich enough to show every page of the application."""
    from app.services.portfolio import create_item, update_profile

    update_profile(session, user, {
        "display_name": "Inès Martin",
        "headline": "Élève en terminale bac pro Métiers du commerce et de la vente, option A",
        "bio": (
            "J'ai 18 ans et je suis en terminale au lycée professionnel Les Trois-Rivières à Rezé. "
            "J'aime le contact avec les clients, organiser un rayon et travailler en équipe.\n\n"
            "Mon projet : un BTS Management commercial opérationnel en alternance, puis responsable "
            "de rayon dans une jardinerie ou un magasin de producteurs."
        ),
        "contact_email": "ines.martin@example.org",
        "location": "Rezé (Loire-Atlantique)",
    })

    def experience(key, **data):
        experiences[key] = create_item(session, user, Experience, data)

    experiences: dict[str, Experience] = {}
    experience("college", kind="education", title="Collège, de la 6e à la 3e",
               organisation="Collège Pierre-Abélard", place="Rezé",
               start_date="2020-09-01", end_date="2024-07-05",
               description="Option sport et stage d'observation de 3e dans une boulangerie.")
    experience("bac", kind="education", title="Bac pro Métiers du commerce et de la vente, option A",
               organisation="Lycée professionnel Les Trois-Rivières", place="Rezé",
               start_date="2024-09-02",
               description=("Option A : animation et gestion de l'espace commercial. "
                            "22 semaines de PFMP sur les trois ans. Déléguée de classe en première."))
    experience("pfmp1", kind="internship", title="PFMP — vendeuse en boulangerie-pâtisserie",
               organisation="Boulangerie Le Fournil d'Anna", place="Rezé",
               start_date="2025-01-13", end_date="2025-02-07",
               description=("Accueil et service des clients, encaissement, mise en place de la vitrine "
                            "dès 6 h 30. J'ai appris à garder le sourire quand la file s'allonge."))
    experience("pfmp2", kind="internship", title="PFMP — employée de libre-service",
               organisation="Supermarché Coop'Estuaire", place="Bouguenais",
               start_date="2025-05-19", end_date="2025-06-13",
               description=("Mise en rayon du frais, rotation des produits (premier entré, premier "
                            "sorti), relevé des ruptures et participation à l'inventaire."))
    experience("pfmp3", kind="internship", title="PFMP — conseillère de vente au rayon végétal",
               organisation="Jardinerie Vert Bocage", place="Saint-Sébastien-sur-Loire",
               start_date="2025-11-17", end_date="2025-12-19",
               description=("Conseil aux clients sur les plantes d'intérieur, montage de l'îlot de "
                            "Noël avec la responsable de rayon, suivi des commandes fournisseurs."))
    experience("erasmus", kind="culture", title="Mobilité Erasmus+ : PFMP à Valence (Espagne)",
               organisation="Tienda Mediterránea, avec le lycée et Erasmus+", place="Valence, Espagne",
               start_date="2026-03-02", end_date="2026-03-27",
               description=("Quatre semaines dans une épicerie fine, hébergée en famille d'accueil. "
                            "J'ai servi des clients en espagnol et présenté nos produits régionaux "
                            "lors d'une soirée d'échange au lycée partenaire."))
    experience("summer", kind="job", title="Agente d'accueil saisonnière",
               organisation="Camping Les Pins Dorés", place="Pornic",
               start_date="2026-07-06", end_date="2026-08-23",
               description=("Accueil des vacanciers en français et en anglais, réservations, gestion "
                            "de la caisse de la supérette et des réclamations."))
    experience("pfmp4", kind="internship", title="PFMP — assistante du responsable de rayon",
               organisation="Magasin de producteurs Les Paniers du Lac", place="Grand-Lieu",
               start_date="2026-10-05", end_date="2026-11-13",
               description="Plan de merchandising du rayon fruits et légumes et animation d'une dégustation.")
    experience("food_bank", kind="volunteering", title="Bénévole à l'épicerie solidaire",
               organisation="Association Le Panier Partagé", place="Rezé", start_date="2024-10-05",
               description="Le samedi matin : tri des dons, réassort et accueil des bénéficiaires.")
    experience("brother", kind="family", title="Garde de mon petit frère après l'école",
               place="Rezé", start_date="2023-09-04",
               description=("Chaque soir de semaine jusqu'au retour de ma mère : goûter, devoirs, "
                            "trajets au club de foot. Cela m'a appris à m'organiser."))
    experience("handball", kind="sport", title="Handball en club, puis aide-entraîneuse des moins de 11 ans",
               organisation="Handball Club Rezé-Trentemoult", place="Rezé", start_date="2016-09-01",
               description=("Joueuse en championnat régional ; depuis 2025, j'aide à entraîner "
                            "les moins de 11 ans."))

    create_item(session, user, Diploma, {
        "title": "Diplôme national du brevet (DNB), mention bien", "awarding_body": "Académie de Nantes",
        "awarded_on": "2024-07-10", "level": "Niveau 2 (CEC)"})
    create_item(session, user, Diploma, {
        "title": "Certificat Sauveteur secouriste du travail (SST)",
        "awarding_body": "INRS, formation au lycée",
        "awarded_on": "2025-03-21", "reference": "SST-2025-0417"})
    create_item(session, user, Diploma, {
        "title": "Prévention et secours civiques de niveau 1 (PSC1)", "awarding_body": "Protection civile",
        "awarded_on": "2023-06-17"})
    create_item(session, user, Diploma, {
        "title": "Certification Pix (compétences numériques)", "awarding_body": "Pix",
        "awarded_on": "2026-04-30", "level": "Niveau indépendant", "reference": "P-7KM2QX4D"})

    def skill(name, level, framework, linked, description=""):
        create_item(session, user, Skill, {
            "name": name, "level": level, "framework": framework, "description": description,
            "experience_ids": [str(experiences[key].id) for key in linked]})

    skill("Accueillir et conseiller les clients", 4, "ESCO", ["pfmp1", "pfmp3", "summer", "erasmus"])
    skill("Encaisser et tenir une caisse", 3, "ESCO", ["pfmp1", "summer"])
    skill("Mettre en rayon et assurer la rotation des produits", 4, "ESCO", ["pfmp2", "food_bank"])
    skill("Appliquer les techniques de merchandising", 3, "ESCO", ["pfmp3", "pfmp4"])
    skill("Traiter les réclamations des clients", 2, "ESCO", ["summer"])
    skill("Travailler en équipe", 4, "ESCO (compétences transversales)", ["handball", "pfmp2", "food_bank"])
    skill("S'organiser et gérer son temps", 3, "ESCO (compétences transversales)", ["brother", "bac"])
    skill("Communiquer en espagnol", 2, "Cadre européen (CECRL)", ["erasmus"], "Niveau B1 à l'oral.")
    skill("Communiquer en anglais", 2, "Cadre européen (CECRL)", ["summer"], "Niveau A2+.")
    skill("Porter secours", 3, "Socle commun", ["handball"], "SST et PSC1.")
    skill("Encadrer et motiver un groupe d'enfants", 2, "", ["handball", "brother"])

    entries = [
        ("2024-10-12", "Pourquoi le commerce ?",
         "En 3e, je ne savais pas quoi choisir. Le stage d'observation à la boulangerie m'a montré que "
         "j'aimais le contact. Au lycée, je découvre que le commerce, c'est aussi **organiser** et "
         "**compter**, pas seulement vendre."),
        ("2025-12-20", "Bilan de la PFMP à la jardinerie",
         "Six semaines où j'ai été traitée comme une vraie vendeuse. Ce que je veux garder :\n\n"
         "- conseiller quelqu'un qui ne sait pas ce qu'il cherche ;\n"
         "- monter un îlot de A à Z.\n\n"
         "À travailler : oser relancer un client qui hésite."),
        ("2026-04-02", "Retour d'Espagne",
         "Je suis partie sans oser parler espagnol et je suis revenue en servant des clients toute seule. "
         "Je veux refaire une mobilité pendant le BTS."),
        ("2026-11-15", "Mon projet après le bac",
         "Après en avoir parlé avec Mme Dubois au CIO : BTS MCO en alternance. Je vais demander à la "
         "jardinerie si elle prend des alternants, et préparer mes vœux Parcoursup avant janvier."),
    ]
    for day, title, body in entries:
        entry = create_item(session, user, JournalEntry, {"title": title, "body": body})
        # Written over two years: back-date the demo entries so that the journal reads in order.
        entry.created_at = entry.updated_at = _when(day)


# Inès's skills as the bundled sample names them (app/data/frameworks/sample): what her hypotheses,
# feed and CV targets match on. Two stay free text ("ESCO" without a concept), as many people's skills do.
_INES_CONCEPTS = {
    "Accueillir et conseiller les clients": "relation-client", "Encaisser et tenir une caisse": "encaissement",
    "Mettre en rayon et assurer la rotation des produits": "mise-en-rayon",
    "Appliquer les techniques de merchandising": "merchandising",
    "Travailler en équipe": "travail-equipe", "Communiquer en anglais": "anglais-pro",
    "Porter secours": "gestes-urgence",
}


def _demo_frameworks(session: Session) -> list[str]:
    """The bundled frameworks, and Inès's skills pointed at the sample's concepts (once: a skill that
    already points somewhere is left alone)."""
    from app.services import frameworks
    from app.services.portfolio import update_item

    loaded = frameworks.load_bundled(session)
    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is not None:
        for skill in ines.portfolio.skills:
            key = _INES_CONCEPTS.get(skill.name)
            concept = key and frameworks.find(session, f"{frameworks.SAMPLE_URI}/skill/{key}")
            if concept is not None and not skill.concept_uri:
                update_item(session, ines, skill, {"framework": concept.framework.name[:120],
                                                   "concept_uri": concept.uri})
    return ["Reference frameworks: " + ", ".join(f"{f.name} ({f.concept_count})" for f in loaded)]


def _build_counsellor(session: Session, user: User) -> None:
    """A counsellor's own small portfolio: she also has a path of her own."""
    from app.services.portfolio import create_item, update_profile

    update_profile(session, user, {
        "display_name": "Claire Dubois",
        "headline": "Psychologue de l'Éducation nationale, conseil en orientation",
        "bio": ("J'accompagne les élèves des lycées professionnels du sud-Loire dans leur projet "
                "d'orientation."),
        "location": "Nantes",
    })
    cio = create_item(session, user, Experience, {
        "kind": "job", "title": "Psychologue de l'Éducation nationale (EDO)",
        "organisation": "Centre d'information et d'orientation (CIO) Nantes-Sud", "place": "Nantes",
        "start_date": "2015-09-01",
        "description": "Entretiens individuels, ateliers Parcoursup et suivi des élèves de bac pro."})
    create_item(session, user, Diploma, {
        "title": "Master de psychologie de l'orientation", "awarding_body": "Université de Nantes",
        "awarded_on": "2014-06-30", "level": "Niveau 7 (CEC)"})
    create_item(session, user, Skill, {"name": "Conduire un entretien d'orientation", "level": 4,
                                       "framework": "ESCO", "experience_ids": [str(cio.id)]})
    create_item(session, user, Skill, {"name": "Animer un atelier collectif", "level": 3,
                                       "framework": "ESCO", "experience_ids": [str(cio.id)]})
    entry = create_item(session, user, JournalEntry, {
        "title": "Ateliers Parcoursup 2026",
        "body": ("Les élèves qui tiennent un journal de bord arrivent avec des exemples concrets : "
                 "à généraliser.")})
    entry.created_at = entry.updated_at = _when("2026-01-20")


DEMO_ACCOUNTS = (
    DemoAccount("ines.martin@example.org", "ines-demo-portfolio", "Inès Martin",
                "pupil in a vocational high school, rich portfolio", "citizen", _build_ines),
    DemoAccount("claire.dubois@example.org", "claire-demo-conseil", "Claire Dubois",
                "careers counsellor, small portfolio", "counsellor", _build_counsellor),
    DemoAccount("direction.trois-rivieres@example.org", "lycee-demo-direction", "Nadia Benali",
                "admin of the lycée's issuing organisation", "citizen", lambda session, user: None),
    DemoAccount("martine.leclerc@example.org", "tutrice-demo-stage", "Martine Leclerc",  # collab's demo
                "Inès's internship tutor, contributor to her portfolio", "citizen", lambda session, user: None),
    DemoAccount("admin.plateforme@example.org", "plateforme-demo-admin", "Admin Plateforme",
                "platform admin: /admin/indicators, /admin/audit, /admin/accounts", "citizen",
                lambda session, user: _make_platform_admin(user)),
)


def _make_platform_admin(user: User) -> None:
    """The demo's platform administrator, so that the indicators, the audit log and suspensions can be tried
    (``is_admin`` is what ``app.services.admin.is_platform_admin`` reads; no portfolio content of its own)."""
    user.is_admin = True


def load(session: Session, extra_accounts: int = 0) -> list[str]:
    """Create the demo accounts that do not exist yet (and ``extra_accounts`` synthetic ones).

    Returns the lines to print: the demo logins, and a summary of the synthetic accounts.
    """
    from app.services.accounts import create_user

    for account in DEMO_ACCOUNTS:
        if _user_by_email(session, account.email) is not None:
            continue  # idempotent: never touch an existing account
        user = create_user(session, email=account.email, password=account.password,
                           display_name=account.display_name, verified=True, locale="fr")
        user.role = account.role
        account.build(session, user)
        session.flush()
    _load_vault(session)

    lines = ["Demo logins:"]
    lines += [f"  {a.email}  password: {a.password}  ({a.description})" for a in DEMO_ACCOUNTS]
    lines += _demo_frameworks(session)  # before the parts that point at concepts
    lines += _load_issuer(session)
    _demo_credentials(session)  # after the demo organisation exists
    _demo_attestations(session)
    _demo_endorsements(session)
    _demo_received(session)
    _demo_cvs(session)  # after the credentials and attestations it cites
    _demo_cv_occupation(session)  # after the frameworks and Inès's skills pointing at them
    _demo_sharing(session)
    _demo_collab(session)
    _demo_path(session)  # after the sharing it turns into a counsellor's grant
    _demo_backpack(session)
    _demo_import(session)
    lines += _demo_pages(session)
    _demo_feed(session)  # after the frameworks and the demo organisation
    from app.institutions import demo as institutions_demo; lines += institutions_demo.load(session)  # noqa: E702
    from app.guardians import demo as guardians_demo; lines += guardians_demo.load(session)  # noqa: E702
    from app.issuing import invitations_demo; lines += invitations_demo.load(session)  # noqa: E702
    if extra_accounts > 0:
        lines += generate_accounts(session, extra_accounts)
    return lines


# The lycée of the story, an approved issuer, with its admin and two achievements.
ISSUER_ADMIN = DEMO_ACCOUNTS[2]
ISSUER = {"name": "Lycée professionnel Les Trois-Rivières", "kind": "school",
          "website": "https://trois-rivieres.example.org", "contact_email": "ce.trois-rivieres@example.org",
          "description": "Lycée professionnel des métiers du commerce et de la vente, à Rezé."}
ISSUER_ACHIEVEMENTS = (
    {"name": "Délégué·e de classe", "kind": "CoCurricular",
     "description": "Élu·e par sa classe, a représenté ses camarades aux conseils de classe de l'année.",
     "criteria_narrative": "Avoir été élu·e délégué·e et avoir siégé aux trois conseils de classe.",
     "tags": ["citoyenneté", "vie lycéenne"]},
    {"name": "PFMP validée : accueil et vente", "kind": "CertificateOfCompletion",
     "description": "Période de formation en milieu professionnel de quatre semaines, validée par le tuteur "
                    "et l'équipe pédagogique.",
     "criteria_narrative": "Quatre semaines en entreprise, évaluation favorable du tuteur, rapport d'activité "
                           "présenté à l'oral.",
     "tags": ["bac pro", "commerce"], "validity_months": None},
)


def _load_issuer(session: Session) -> list[str]:
    """The approved demo organisation (through the services, as the operator), once."""
    from app import policy
    from app.models import Achievement, Organisation
    from app.services import achievements, orgs

    admin = _user_by_email(session, ISSUER_ADMIN.email)  # created with the other demo accounts
    org = session.scalars(select(Organisation).where(Organisation.name == ISSUER["name"],
                                                     Organisation.created_by_id == admin.id)).first()
    if org is None:
        org = orgs.create_organisation(session, policy.OPERATOR, ISSUER, admin=admin, approve=True)
    have = set(session.scalars(select(Achievement.name).where(Achievement.organisation_id == org.id)))
    for data in ISSUER_ACHIEVEMENTS:
        if data["name"] not in have:
            achievements.create(session, policy.OPERATOR, org, data)
    session.flush()
    return [f"Demo issuer: {org.name} ({org.id})"]


def _demo_credentials(session: Session) -> None:
    """Inès receives a credential from the demo organisation (``ISSUER``, its first achievement) through
    ``awarding.award``, like the award form. Once only."""
    from app.models import Achievement, Organisation
    from app.models.credentials import Credential
    from app.policy import OPERATOR
    from app.services import awarding

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    achievement = session.scalars(select(Achievement).join(Organisation)
                                  .where(Organisation.name == ISSUER["name"], Organisation.status == "approved")
                                  .order_by(Achievement.created_at, Achievement.name).limit(1)).first()
    if ines is None or achievement is None:
        return
    if session.scalars(select(Credential.id).where(Credential.recipient_email == ines.email)).first():
        return  # idempotent
    awarding.award(session, OPERATOR, achievement, ines.email,
                   narrative="Attestation délivrée à l'issue de la formation, avec mention.")


def _load_vault(session: Session) -> None:
    """Inès's vault: a few generated documents, attached as evidence (``app.vault.demo``)."""
    from app.vault import demo as vault_demo

    vault_demo.load(session)
def _demo_attestations(session: Session) -> None:
    """Two of Inès's experiences sent for attestation through ``app.services.attestations``: one confirmed
    by her tutor (signed by the platform key), one still waiting. Once only; no mail is sent."""
    from app.models import Experience
    from app.models.attestations import AttestationRequest
    from app.services import attestations

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is None or ines.portfolio is None or session.scalars(select(AttestationRequest.id).where(
            AttestationRequest.portfolio_id == ines.portfolio.id)).first():
        return
    experiences = session.scalars(select(Experience).where(Experience.portfolio_id == ines.portfolio.id)
                                  .order_by(Experience.start_date.desc()).limit(2)).all()
    referees = (("Martine Leclerc", "martine.leclerc@example.org", "tutrice de stage"),
                ("Karim Haddad", "karim.haddad@example.org", "collègue"))
    for index, (experience, (name, email, relation)) in enumerate(zip(experiences, referees)):
        _request, raw = attestations.create(session, ines, "experience", experience.id, referee_name=name,
                                            referee_email=email, relationship=relation,
                                            message="Bonjour, pourriez-vous confirmer cette expérience ?")
        if index == 0:
            attestations.confirm(session, raw)
DEMO_OFFER = ("Boutique de prêt-à-porter à Rezé recherche un·e vendeur·se conseil en CDD. Missions : accueil et "
              "conseil de la clientèle, mise en rayon, encaissement, tenue de la boutique. Qualités : sens du "
              "contact, écoute, travail en équipe. Une première expérience de vente ou un stage en commerce "
              "est un plus.")


def _demo_cvs(session: Session) -> None:
    """Inès's first contextual CV, ranked against a sales job offer through ``app.services.cvs``. Once."""
    from app.models.cvs import CvVariant
    from app.services import cvs

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is None or ines.portfolio is None or session.scalars(select(CvVariant.id).where(
            CvVariant.portfolio_id == ines.portfolio.id)).first():
        return
    cvs.create(session, ines, {"name": "Vendeuse conseil — boutique à Rezé", "template": "modern", "language": "fr",
                               "target_text": DEMO_OFFER, "consent": "gdpr"})
def _demo_cv_occupation(session: Session) -> None:
    """Inès's CV aimed at an occupation of the bundled sample: her skills pointing at its concepts come
    first, with the reason shown. Once."""
    from app.models.cvs import CvVariant
    from app.services import cvs, frameworks

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    target = frameworks.find(session, f"{frameworks.SAMPLE_URI}/occupation/vendeur-conseil")
    if ines is None or ines.portfolio is None or target is None or session.scalars(select(CvVariant.id).where(
            CvVariant.portfolio_id == ines.portfolio.id, CvVariant.target_occupation.is_not(None))).first():
        return
    cvs.create(session, ines, {"name": "Vendeuse conseil — métier visé", "template": "classic", "language": "fr",
                               "target_occupation": target.uri})


def _demo_sharing(session: Session) -> None:
    """Inès shares with Claire, and invites her mother as guardian (``app.sharing.demo``)."""
    from app.sharing import demo as sharing_demo

    sharing_demo.load(session, DEMO_ACCOUNTS[0].email, DEMO_ACCOUNTS[1].email)


def _demo_path(session: Session) -> None:
    """Inès's career hypothesis with its gap, trainings, and Claire as counsellor (``app.path.demo``)."""
    from app.path import demo as path_demo

    path_demo.load(session, DEMO_ACCOUNTS[0].email, DEMO_ACCOUNTS[1].email)


# A second approved organisation, which endorses the lycée's work-placement achievement.
ENDORSER = {"name": "Club des commerçants de Rezé", "kind": "association",
            "contact_email": "club.commercants@example.org",
            "description": "Association des commerçants qui accueillent les élèves en stage."}


def _demo_endorsements(session: Session) -> None:
    """The endorser (administered by the demo issuer admin) endorses the lycée's second achievement
    through ``endorsements.endorse``. Once only."""
    from app import policy
    from app.models import Achievement, Organisation
    from app.services import endorsements, orgs

    admin = _user_by_email(session, ISSUER_ADMIN.email)
    achievement = session.scalars(select(Achievement).join(Organisation)
                                  .where(Organisation.name == ISSUER["name"],
                                         Achievement.name == ISSUER_ACHIEVEMENTS[1]["name"])).first()
    if admin is None or achievement is None:
        return
    endorser = session.scalars(select(Organisation).where(Organisation.name == ENDORSER["name"])).first()
    if endorser is None:
        endorser = orgs.create_organisation(session, policy.OPERATOR, ENDORSER, admin=admin, approve=True)
    if endorsements.by_organisation(session, endorser):
        return  # idempotent
    endorsements.endorse(session, policy.OPERATOR, endorser, "achievement", achievement.id,
                         "Nos commerçants connaissent ces stages : ils recrutent volontiers les élèves qui "
                         "les ont validés.")


def _demo_received(session: Session) -> None:
    """Inès's side of her credentials (endorse-person): Claire, her counsellor, endorses one of her skills
    (signed in, through the endorsement request's link, ``endorsements.endorse_by_link``), and Inès shows her
    credential on her most recent experience (``received.link``). Once only; no mail is sent."""
    from app.models.attestations import AttestationRequest
    from app.models.credentials import Credential
    from app.services import endorsements, received

    ines, claire = (_user_by_email(session, account.email) for account in DEMO_ACCOUNTS[:2])
    if ines is None or claire is None or ines.portfolio is None or session.scalars(
            select(AttestationRequest.id).where(AttestationRequest.portfolio_id == ines.portfolio.id,
                                                AttestationRequest.purpose == "endorsement")).first():
        return
    skill = session.scalars(select(Skill).where(Skill.portfolio_id == ines.portfolio.id)
                            .order_by(Skill.name).limit(1)).first()
    if skill is not None:
        _request, raw = endorsements.request_endorsement(
            session, ines, "skill", skill.id, referee_name=claire.portfolio.display_name or "Claire Dubois",
            referee_email=claire.email, relationship="conseillère d'orientation",
            message="Bonjour Claire, pourriez-vous recommander cette compétence ?")
        endorsements.endorse_by_link(session, raw, claire, "Je suis Inès depuis deux ans : elle a montré cette "
                                     "compétence en stage comme au lycée, avec constance.")
    credential = session.scalars(select(Credential).where(Credential.portfolio_id == ines.portfolio.id)
                                 .order_by(Credential.issued_at).limit(1)).first()
    experience = session.scalars(select(Experience).where(Experience.portfolio_id == ines.portfolio.id)
                                 .order_by(Experience.start_date.desc()).limit(1)).first()
    if credential is not None and experience is not None:
        received.link(session, ines, credential.id, "experience", experience.id)
def _demo_backpack(session: Session) -> None:
    """Inès's badge earned elsewhere (issue 11's backpack): ``app.backpack.demo``."""
    from app.backpack import demo

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is not None:
        demo.load(session, ines)


def _demo_import(session: Session) -> None:
    """Martine's career, imported from a JSON Resume file (issue 11's import): ``app.imports.demo``."""
    from app.imports import demo

    demo.load(session)


# Inès's internship tutor (the last demo account): a contributor, as issue 9's partners who deposit documents.
TUTOR = DEMO_ACCOUNTS[3]
DEMO_AGREEMENT = (b"%PDF-1.4\n% Convention de stage (demo)\n1 0 obj << /Type /Catalog >> endobj\n"
                  b"trailer << /Root 1 0 R >>\n%%EOF\n")


def _demo_collab(session: Session) -> None:
    """Inès invites her internship tutor as a contributor over that internship and her documents
    (``app.services.grants``); the tutor comments on it (Inès replies), writes in their thread and
    proposes the signed internship agreement, which waits in Inès's inbox (``app.services.collab``).
    Once only; the e-mails go in the next digest."""
    from app.models import Experience
    from app.models.collab import Message
    from app.models.sharing import Grant
    from app.services import collab, grants

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    tutor = _user_by_email(session, TUTOR.email)
    if ines is None or ines.portfolio is None or tutor is None:
        return
    internship = session.scalars(select(Experience).where(Experience.portfolio_id == ines.portfolio.id,
                                                          Experience.kind == "internship")
                                 .order_by(Experience.start_date.desc())).first()
    grant = session.scalars(select(Grant).where(Grant.portfolio_id == ines.portfolio.id,
                                                Grant.email == tutor.email)).first()
    if grant is not None or internship is None:
        return  # already done (or nothing to share)
    scope = [{"type": "experience", "id": str(internship.id)}, {"type": "section", "id": "documents"}]
    grant, raw = grants.invite(session, ines, email=tutor.email, role="contributor", scope=scope,
                               message="Bonjour Madame Leclerc, pourriez-vous déposer la convention signée ?")
    grants.accept_by_link(session, tutor, raw)
    collab.post_message(session, tutor, grant, "Bonjour Inès, je dépose la convention signée par l'entreprise. "
                                               "Bonne continuation !")
    collab.post_message(session, ines, grant, "Merci beaucoup, je l'ajoute à mon portfolio.")
    comment = collab.add_comment(session, tutor, "experience", internship.id,
                                 "Très bon stage : vous pourriez ajouter la tenue de la caisse en fin de journée.")
    collab.add_comment(session, ines, "experience", internship.id, "C'est ajouté, merci !", parent_id=comment.id)
    collab.propose_document(session, tutor, grant.id, "convention-de-stage.pdf", [DEMO_AGREEMENT],
                            note="La convention signée par l'entreprise.")
def _demo_pages(session: Session) -> list[str]:
    """Inès's page for recruiters (her credential, attested experience, skills, a vault document) and its
    share link, through ``app.services.pages`` / ``share_links``. Created once; the link is printed on
    every run (its token is derived from the instance's secret key: ``share_links.demo_token``)."""
    from app.models import Credential, Document, Experience, Skill
    from app.models.pages import Page
    from app.services import pages, share_links

    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is None or ines.portfolio is None:
        return []
    raw = share_links.demo_token("ines-page")
    owned = ines.portfolio.id
    if session.scalars(select(Page.id).where(Page.portfolio_id == owned)).first() is None:
        def first(model, order, count=1):
            return session.scalars(select(model).where(model.portfolio_id == owned).order_by(order)
                                   .limit(count)).all()

        items = [{"type": "credential", "id": str(c.id)} for c in first(Credential, Credential.issued_at)]
        items += [{"type": "experience", "id": str(e.id)} for e in first(Experience, Experience.start_date.desc(), 3)]
        items += [{"type": "skill", "id": str(s.id)} for s in first(Skill, Skill.level.desc(), 4)]
        items += [{"type": "document", "id": str(d.id)} for d in first(Document, Document.created_at)]
        page = pages.create(session, ines, {
            "title": "Candidature : BTS MCO en alternance",
            "headline": "Future manageuse de rayon, à l'aise avec les clients et en équipe",
            "theme": "horizon", "items": items})
        share_links.create(session, ines, page=page, label="Démo : lien pour les recruteurs", token=raw)
    return [f"Demo page of Inès (share link): {share_links.url(raw)}"]


# S'informer: what the demo organisation publishes, days from the day the demo is loaded (never past).
# The first two name skills Inès has (as _INES_CONCEPTS links them); the third matches her keyword.
_DEMO_EVENTS = (
    {"kind": "event", "title": "Atelier « Réussir l'accueil client »", "days": 9, "hours": (14, 17),
     "place": "Lycée Les Trois-Rivières, Rezé", "skill_uris": ["relation-client", "gestion-reclamations"],
     "description": "Deux heures de mises en situation avec des professionnels de la vente : accueillir, "
                    "conseiller, **désamorcer une réclamation**. Ouvert aux élèves et anciens élèves."},
    {"kind": "offer", "title": "Alternance : vendeuse / vendeur conseil en magasin de sport", "days": 30,
     "place": "Nantes", "occupation_uris": ["vendeur-conseil"], "skill_uris": ["merchandising"],
     "description": "Contrat d'apprentissage d'un an pour préparer un BTS MCO. Candidature avant la date "
                    "de clôture, lettre et CV."},
    {"kind": "event", "title": "Forum de l'alternance et des métiers du commerce", "days": 16, "hours": (9, 13),
     "place": "Cité des congrès, Nantes", "link": "https://forum-alternance.example.org",
     "description": "Rencontrez les entreprises qui recrutent en alternance dans la vente et le commerce."},
)


def _demo_feed(session: Session) -> None:
    """A few events from the demo organisation that match Inès (her skills, her keyword "vente"), once."""
    from app.models.feed import Event
    from app.models import Organisation
    from app.services import feed, frameworks

    admin = _user_by_email(session, ISSUER_ADMIN.email)
    org = session.scalars(select(Organisation).where(Organisation.name == ISSUER["name"],
                                                     Organisation.created_by_id == admin.id)).first()
    if org is None or session.scalar(select(Event.id).where(Event.organisation_id == org.id).limit(1)):
        return
    today = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    for spec in _DEMO_EVENTS:
        data = {key: spec[key] for key in ("kind", "title", "place", "description", "link") if key in spec}
        for field in ("skill_uris", "occupation_uris"):
            uris = [f"{frameworks.SAMPLE_URI}/{'skill' if field == 'skill_uris' else 'occupation'}/{key}"
                    for key in spec.get(field, ())]
            data[field] = [uri for uri in uris if frameworks.find(session, uri) is not None]
        day = today + timedelta(days=spec["days"])
        if "hours" in spec:
            data["starts_at"] = day.replace(hour=spec["hours"][0]).isoformat()
            data["ends_at"] = day.replace(hour=spec["hours"][1]).isoformat()
        else:
            data["ends_at"] = day.isoformat()  # an offer: its closing date
        feed.create(session, admin, data | {"organisation_id": str(org.id)})
    ines = _user_by_email(session, DEMO_ACCOUNTS[0].email)
    if ines is not None and not feed.settings_for(session, ines).keywords:
        feed.set_preferences(session, ines, keywords=["vente"])


def _user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).first()


# ---------------------------------------------------------------------------------------------------
# Synthetic accounts for benchmarks

FIRST_NAMES = ("Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Camille", "Yanis", "Sarah", "Enzo",
               "Jade", "Mathis", "Inaya", "Louis", "Lina", "Adam", "Zoé", "Rayan", "Emma", "Théo",
               "Aïcha", "Noé", "Maëlys", "Sacha", "Fatoumata", "Gabriel", "Océane", "Mehdi", "Clara", "Tom")
LAST_NAMES = ("Bernard", "Petit", "Robert", "Richard", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
              "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
              "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Nguyen",
              "Benali", "Diallo", "Le Goff")
CITIES = ("Lille", "Rennes", "Nantes", "Bordeaux", "Toulouse", "Lyon", "Grenoble", "Marseille", "Dijon",
          "Strasbourg", "Metz", "Rouen", "Caen", "Brest", "Tours", "Limoges", "Clermont-Ferrand", "Pau",
          "Montpellier", "Besançon", "Amiens", "Poitiers", "Angers", "Nancy")
ORGANISATIONS = ("Atelier Dumas", "Garage des Quatre Routes", "Boulangerie du Marché", "Hôtel Les Tilleuls",
                 "Pharmacie Centrale", "Transports Lemoine", "Crèche Les Petits Pas", "Mairie annexe",
                 "Menuiserie Bois & Fils", "Supermarché du Centre", "EHPAD Les Glycines",
                 "Imprimerie Nouvelle", "Restaurant Le Comptoir", "Électricité Martin SARL",
                 "Jardins de la Vallée", "Clinique Saint-Roch")
TITLES = {
    "job": ("Employé·e polyvalent·e", "Agent·e d'accueil", "Serveur·se", "Préparateur·rice de commandes",
            "Vendeur·se", "Agent·e d'entretien", "Animateur·rice"),
    "internship": ("Stage en atelier", "PFMP en magasin", "Stage d'observation", "Stage en cuisine",
                   "Stage au service administratif", "Stage en maintenance"),
    "education": ("CAP", "Bac pro", "BTS", "Licence professionnelle", "Formation qualifiante",
                  "Seconde générale"),
    "volunteering": ("Bénévole aux Restos", "Aide aux devoirs", "Collecte alimentaire", "Maraude solidaire",
                     "Bénévole festival"),
    "family": ("Aidant·e familial·e", "Garde de mes frères et sœurs", "Soutien à un grand-parent"),
    "sport": ("Football en club", "Arbitre de basket", "Natation", "Judo", "Course à pied", "Escalade"),
    "culture": ("Échange Erasmus+", "Théâtre amateur", "Chorale", "Atelier photo", "Séjour linguistique"),
    "project": ("Création d'une mini-entreprise", "Chantier participatif", "Projet de classe",
                "Site web associatif"),
    "other": ("Service civique", "Permis de conduire", "Année de césure"),
}
KIND_WEIGHTS = {"job": 4, "internship": 4, "education": 3, "volunteering": 2, "family": 1, "sport": 2,
                "culture": 1, "project": 2, "other": 1}
KINDS = tuple(KIND_WEIGHTS)
KIND_CUM_WEIGHTS = tuple(itertools.accumulate(KIND_WEIGHTS.values()))
DIPLOMAS = (("Diplôme national du brevet", "Niveau 2"), ("CAP", "Niveau 3"),
            ("Baccalauréat professionnel", "Niveau 4"),
            ("BTS", "Niveau 5"), ("Certificat SST", ""), ("PSC1", ""), ("Certification Pix", ""),
            ("Permis B", ""), ("BAFA", ""), ("TOEIC", "B1"))
SKILLS = (("Travailler en équipe", "ESCO"), ("Accueillir le public", "ESCO"), ("Gérer les stocks", "ESCO"),
          ("Respecter les règles d'hygiène", "ESCO"), ("Utiliser un tableur", "ESCO"),
          ("Communiquer à l'oral", "Socle commun"), ("Rédiger un écrit professionnel", "Socle commun"),
          ("Résoudre un problème", "Socle commun"), ("Conduire un chariot élévateur", "ESCO"),
          ("Prendre des initiatives", ""), ("Parler anglais", "CECRL"), ("Organiser son travail", ""))
JOURNAL = (("Ce que je retiens de mon stage", "Une semaine chargée, mais j'ai appris à demander de l'aide."),
           ("Mon projet d'orientation", "Je pense à une formation en alternance l'année prochaine."),
           ("Entretien avec la conseillère",
            "Elle m'a conseillé de noter ce que j'aime faire chaque semaine."),
           ("Premier salaire", "Fier·e d'avoir tenu tout l'été."),
           ("Ce qui me motive", "Le contact avec les gens et voir le résultat de mon travail."))


def bench_email(n: int) -> str:
    return f"bench-{n}@{BENCH_DOMAIN}"


def generate_accounts(session: Session, count: int, seed: str = "sillage-bench") -> list[str]:
    """Ensure ``bench-1`` … ``bench-<count>`` exist, each with about twenty items; return a summary.

    Existing numbers are skipped (idempotent). The first account created goes through the real
    ``create_user`` (so that the password hash has the instance's parameters); its hash is then reused,
    and everything else is written with bulk inserts in batches of ``BATCH`` rows.
    """
    from app.services.accounts import create_user

    started = time.perf_counter()
    existing = set(session.scalars(select(User.email).where(User.email.like(f"bench-%@{BENCH_DOMAIN}"))))
    missing = [n for n in range(1, count + 1) if bench_email(n) not in existing]
    created = len(missing)
    tables: dict[object, list[dict]] = {t: [] for t in (User, Portfolio, Experience, Diploma, Skill,
                                                        JournalEntry, experience_skills)}
    if missing:
        template = session.scalars(select(User).where(User.email.like(f"bench-%@{BENCH_DOMAIN}"))).first()
        if template is None:
            first = missing.pop(0)
            template = create_user(session, email=bench_email(first), password=BENCH_PASSWORD,
                                   verified=True, locale="fr")
            _account_rows(random.Random(f"{seed}-{first}"), first, tables, user=template)
        for n in missing:
            _account_rows(random.Random(f"{seed}-{n}"), n, tables, password_hash=template.password_hash)
        for table, rows in tables.items():
            # Core inserts of the tables (not ORM bulk inserts): one executemany per batch.
            statement = (table if table is experience_skills else table.__table__).insert()
            for start in range(0, len(rows), BATCH):
                session.execute(statement, rows[start:start + BATCH])
        session.flush()
    elapsed = time.perf_counter() - started
    items = sum(len(tables[model]) for model in (Experience, Diploma, Skill, JournalEntry))
    return [
        f"Synthetic accounts: {bench_email(1)} … {bench_email(count)}  password: {BENCH_PASSWORD}",
        f"  {created} created ({items} items), {count - created} already there, in {elapsed:.1f} s",
    ]


def _account_rows(rng: random.Random, n: int, tables: dict, *, user: User | None = None,
                  password_hash: str = "") -> None:
    """Append the rows of synthetic account ``n`` (about 20 items) to ``tables``."""
    now = utcnow()
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city = rng.choice(CITIES)
    if user is None:
        user_id, portfolio_id = uuid.uuid4(), uuid.uuid4()
        tables[User].append({
            "id": user_id, "email": bench_email(n), "password_hash": password_hash, "email_verified_at": now,
            "role": "citizen", "is_admin": False, "locale": "fr", "timezone": None, "session_version": 1,
            "failed_logins": 0, "locked_until": None, "last_login_at": None, "last_reset_sent_at": None,
            "created_at": now, "updated_at": now})
        tables[Portfolio].append({
            "id": portfolio_id, "owner_id": user_id, "display_name": f"{first} {last}",
            "headline": rng.choice(("En formation", "En recherche d'alternance", "Salarié·e", "Lycéen·ne")),
            "bio": "", "contact_email": "", "phone": "", "location": city, "website": "", "photo_key": None,
            "created_at": now, "updated_at": now})
    else:
        portfolio_id = user.portfolio.id
        user.portfolio.display_name, user.portfolio.location = f"{first} {last}", city

    born = 1965 + rng.randrange(44)
    experience_ids = []
    for _ in range(8):
        kind = rng.choices(KINDS, cum_weights=KIND_CUM_WEIGHTS)[0]
        start = date(min(born + 14 + rng.randrange(12), 2025), 1 + rng.randrange(12), 1 + rng.randrange(28))
        end = None if rng.random() < 0.2 else start + timedelta(days=7 + rng.randrange(900))
        experience_id = uuid.uuid4()
        experience_ids.append(experience_id)
        tables[Experience].append({
            "id": experience_id, "portfolio_id": portfolio_id, "kind": kind,
            "title": rng.choice(TITLES[kind]), "organisation": rng.choice(ORGANISATIONS),
            "place": rng.choice(CITIES), "start_date": start, "end_date": end,
            "description": f"{rng.choice(JOURNAL)[1]} Expérience n° {rng.randrange(1, 99)} de mon parcours.",
            "created_at": now, "updated_at": now})
    for title, level in rng.sample(DIPLOMAS, 3):
        tables[Diploma].append({
            "id": uuid.uuid4(), "portfolio_id": portfolio_id, "title": title, "awarding_body": city,
            "awarded_on": date(min(born + 15 + rng.randrange(15), 2026), 6, 1 + rng.randrange(30)),
            "level": level, "reference": "", "created_at": now, "updated_at": now})
    for name, framework in rng.sample(SKILLS, 6):
        skill_id = uuid.uuid4()
        tables[Skill].append({
            "id": skill_id, "portfolio_id": portfolio_id, "name": name, "level": 1 + rng.randrange(4),
            "framework": framework, "concept_uri": "", "description": "",
            "created_at": now, "updated_at": now})
        for experience_id in rng.sample(experience_ids, 1 + rng.randrange(2)):
            tables[experience_skills].append({"experience_id": experience_id, "skill_id": skill_id})
    for title, body in rng.sample(JOURNAL, 3):
        written = now - timedelta(days=rng.randrange(1, 1000))
        tables[JournalEntry].append({"id": uuid.uuid4(), "portfolio_id": portfolio_id, "title": title,
                                     "body": body, "created_at": written, "updated_at": written})
