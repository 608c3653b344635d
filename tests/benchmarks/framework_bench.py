"""What the framework benchmarks share: the generated ESCO download and a migrated app around it.

``bench_frameworks.py`` (import and search), ``bench_skill_suggestions.py`` (the writing aid) and
``bench_path.py`` (the gap analysis) all measure on the same generated framework of issue 12 (15,000
skills and 3,000 occupations in French and English, 100,000 occupation→skill relations): each creates
it, builds an app on a fresh migrated SQLite file (or ``--database-url``, PostgreSQL emptied first),
imports it, times its own part, and prints figures. Import this module as a sibling of the script:
    sys.path.insert(0, "tests/benchmarks"); from framework_bench import generate_esco

``generate_esco`` writes ESCO's own file names and columns; labels are made of a fixed vocabulary of real
French and English occupational words, so searches find plausible numbers of matches.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESCO = "http://data.europa.eu/esco"
WORDS = [  # (fr, en)
    ("gérer", "manage"), ("accueillir", "welcome"), ("réparer", "repair"), ("installer", "install"),
    ("contrôler", "inspect"), ("préparer", "prepare"), ("conseiller", "advise"), ("vendre", "sell"),
    ("soigner", "care for"), ("programmer", "program"), ("analyser", "analyse"), ("nettoyer", "clean"),
    ("former", "train"), ("concevoir", "design"), ("entretenir", "maintain"), ("organiser", "organise"),
    ("rédiger", "write"), ("négocier", "negotiate"), ("piloter", "steer"), ("évaluer", "assess"),
]
OBJECTS = [
    ("les stocks", "stock"), ("des clients", "customers"), ("un réseau électrique", "an electrical network"),
    ("des patients", "patients"), ("une base de données", "a database"), ("des véhicules", "vehicles"),
    ("une équipe", "a team"), ("des repas", "meals"), ("des machines-outils", "machine tools"),
    ("un budget", "a budget"), ("des documents", "documents"), ("un chantier", "a building site"),
    ("des logiciels", "software"), ("la sécurité", "safety"), ("des produits chimiques", "chemicals"),
    ("une exposition", "an exhibition"), ("des animaux", "animals"), ("des contrats", "contracts"),
    ("un site web", "a website"), ("la qualité", "quality"), ("des écoles", "schools"),
    ("des jardins", "gardens"), ("des bâtiments", "buildings"), ("des œuvres d'art", "works of art"),
]
TRADES = [
    ("technicien", "technician"), ("agent", "officer"), ("responsable", "manager"), ("conseiller", "adviser"),
    ("opérateur", "operator"), ("ingénieur", "engineer"), ("assistant", "assistant"), ("chef", "head"),
    ("inspecteur", "inspector"), ("employé", "clerk"), ("éducateur", "educator"), ("ouvrier", "worker"),
]
FIELDS = [
    ("maintenance", "maintenance"), ("logistique", "logistics"), ("santé", "health"), ("hôtellerie", "hospitality"),
    ("informatique", "IT"), ("bâtiment", "construction"), ("commerce", "retail"), ("énergie", "energy"),
    ("agriculture", "agriculture"), ("transport", "transport"), ("finance", "finance"), ("culture", "culture"),
    ("sécurité", "security"), ("environnement", "environment"), ("éducation", "education"),
]
SKILL_COLUMNS = ["conceptType", "conceptUri", "skillType", "reuseLevel", "preferredLabel", "altLabels",
                 "hiddenLabels", "status", "modifiedDate", "scopeNote", "definition", "inScheme", "description"]
OCCUPATION_COLUMNS = ["conceptType", "conceptUri", "iscoGroup", "preferredLabel", "altLabels", "hiddenLabels",
                      "status", "modifiedDate", "regulatedProfessionNote", "scopeNote", "definition",
                      "inScheme", "description", "code"]
RELATION_COLUMNS = ["occupationUri", "relationType", "skillType", "skillUri"]


def generate_esco(folder: str | Path, *, skills: int = 15_000, occupations: int = 3_000,
                  relations: int = 100_000, seed: int = 12) -> dict:
    """Write an ESCO-shaped download (skills_fr/en, occupations_fr/en, occupationSkillRelations_en)
    into ``folder``; return {"skills": [uris], "occupations": [uris], "relations": count}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    skill_uris = [f"{ESCO}/skill/gen-{n:06d}" for n in range(skills)]
    occupation_uris = [f"{ESCO}/occupation/gen-{n:05d}" for n in range(occupations)]
    skill_labels = []
    for n in range(skills):
        verb, obj = rng.choice(WORDS), rng.choice(OBJECTS)
        skill_labels.append((f"{verb[0]} {obj[0]} {n}", f"{verb[1]} {obj[1]} {n}"))
    occupation_labels = []
    for n in range(occupations):
        trade, field = rng.choice(TRADES), rng.choice(FIELDS)
        occupation_labels.append((f"{trade[0]} {field[0]} {n}", f"{field[1]} {trade[1]} {n}"))
    for lang, index in (("fr", 0), ("en", 1)):
        with open(folder / f"skills_{lang}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(SKILL_COLUMNS)
            for uri, labels in zip(skill_uris, skill_labels):
                writer.writerow(["KnowledgeSkillCompetence", uri, "skill/competence", "sector-specific",
                                 labels[index], f"{labels[index]} (alt)\n{labels[index].upper()}", "",
                                 "released", "2024-01-01", "", "", f"{ESCO}/concept-scheme/skills",
                                 f"Description: {labels[index]}."])
        with open(folder / f"occupations_{lang}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(OCCUPATION_COLUMNS)
            for n, (uri, labels) in enumerate(zip(occupation_uris, occupation_labels)):
                writer.writerow(["Occupation", uri, f"{1000 + n % 9000}", labels[index], "", "", "released",
                                 "2024-01-01", "", "", "", f"{ESCO}/concept-scheme/occupations",
                                 f"Description: {labels[index]}.", f"{1000 + n % 9000}.{n}"])
    pairs: set[tuple[int, int]] = set()
    per_occupation = min(skills, relations // max(1, occupations))
    for occupation in range(occupations):
        pairs.update((occupation, skill) for skill in rng.sample(range(skills), per_occupation))
    relations = min(relations, skills * occupations)
    while len(pairs) < relations:
        pairs.add((rng.randrange(occupations), rng.randrange(skills)))
    with open(folder / "occupationSkillRelations_en.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(RELATION_COLUMNS)
        for occupation, skill in sorted(pairs):
            writer.writerow([occupation_uris[occupation], "essential" if rng.random() < 0.6 else "optional",
                             "skill/competence", skill_uris[skill]])
    return {"skills": skill_uris, "occupations": occupation_uris, "relations": len(pairs)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The generated framework's size and the database: the same options in the three benchmarks."""
    parser.add_argument("--skills", type=int, default=15_000)
    parser.add_argument("--occupations", type=int, default=3_000)
    parser.add_argument("--relations", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")


@dataclass
class Bench:
    tmp: Path
    generated: dict
    generated_in: float  # seconds spent writing the CSV files
    engine: str = ""
    app: object = None

    def import_esco(self) -> tuple[object, float]:
        """Import the generated download through the CLI's service and commit: (report, seconds)."""
        from app.extensions import db
        from app.services import frameworks

        started = time.perf_counter()
        report = frameworks.import_path(db.session, self.tmp / "esco", format="esco")
        db.session.commit()
        return report, time.perf_counter() - started


@contextmanager
def generated_app(args: argparse.Namespace, prefix: str, *, request_context: bool = False):
    """Generate the download, build a migrated app in a temporary instance, and yield a ``Bench``
    inside its application context (and a request context when asked); tidy everything up after."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tmp = Path(tmp)
        started = time.perf_counter()
        generated = generate_esco(tmp / "esco", skills=args.skills, occupations=args.occupations,
                                  relations=args.relations)
        bench = Bench(tmp, generated, time.perf_counter() - started)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        bench.app = create_app({"INSTANCE_PATH": str(tmp), "SQLALCHEMY_DATABASE_URI": url,
                                "SECRET_KEY": "bench-secret-key-not-for-production",
                                "MASTER_KEY": "bench-master-key-not-for-production-0123456789",
                                "STORAGE_URL": f"file://{tmp}", "SMTP_URL": None})
        with bench.app.app_context():
            if url.startswith("postgresql"):
                db.session.execute(db.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            upgrade()
            bench.engine = db.engine.dialect.name
            try:
                if request_context:
                    with bench.app.test_request_context():
                        yield bench
                else:
                    yield bench
            finally:
                db.session.remove()
                db.engine.dispose()


def p95(timings: list[float]) -> float:
    """The 95th percentile in milliseconds, as the benchmarks have always computed it."""
    return sorted(timings)[int(len(timings) * 0.95) - 1] * 1000


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
