"""Career hypotheses: the median time of a gap analysis on a large framework.

Issue 12's figures: the framework benchmarks' generated ESCO download (``framework_bench.generate_esco``:
15,000 skills, 3,000 occupations, 100,000 occupation→skill relations, so about 33 skills per
occupation) imported into a fresh migrated SQLite database (or ``--database-url``); one owner with 40
skills pointing at concepts of the framework (some with a document, an attestation, a linked
credential), a training catalogue of 500 trainings covering random skills, and one hypothesis per
occupation sampled. Then the median time of ``path.gap`` (the occupation's skills, the owner's evidence)
and of ``gap`` plus ``trainings_for`` (what the hypothesis page and API compute). Aim: under 20 ms.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from framework_bench import add_arguments, generated_app, load, p95  # noqa: E402  (a sibling module)


def _catalogue(skill_uris: list[str], count: int, rng: random.Random) -> bytes:
    lines = ["title,provider,place,start_date,end_date,skills,link"]
    for n in range(count):
        covered = "|".join(rng.sample(skill_uris, rng.randint(1, 8)))
        lines.append(f"Formation {n},Organisme {n % 37},Ville {n % 11},2030-01-{1 + n % 28:02d},2030-06-30,"
                     f"{covered},https://formations.example.org/{n}")
    return ("\n".join(lines) + "\n").encode()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--runs", type=int, default=300, help="timed gap analyses (default 300)")
    args = parser.parse_args(argv)

    rng = random.Random(7)
    with generated_app(args, "sillage-bench-path-") as bench:
        from app.extensions import db
        from app.models import Skill
        from app.policy import OPERATOR
        from app.services import accounts, attestations, documents, frameworks, path, portfolio, trainings

        generated, engine = bench.generated, bench.engine
        _report, imported_in = bench.import_esco()
        owner = accounts.create_user(db.session, email="bench-path@example.org",
                                     password="bench-password-sillage", verified=True)
        sampled = rng.sample(generated["occupations"], min(50, len(generated["occupations"])))
        # The owner's skills: some of the sampled occupations' skills, so that gaps are partly closed.
        wanted = []
        for uri in sampled[:10]:
            wanted += [c.uri for c, _ in frameworks.related(db.session, frameworks.get(db.session, uri))][:4]
        for n, uri in enumerate(dict.fromkeys(wanted)):
            skill = portfolio.create_item(db.session, owner, Skill, {"name": f"Compétence {n}", "level": 3,
                                                                     "concept_uri": uri})
            if n % 3 == 0:
                documents.link(db.session, owner, documents.store(db.session, owner, f"preuve-{n}.txt",
                                                                  [b"evidence"]), skill)
            if n % 5 == 0:
                attestations.create(db.session, owner, "skill", skill.id, referee_name="Tuteur",
                                    referee_email=f"tuteur{n}@example.org", relationship="Tuteur")
        trainings.import_catalogue(db.session, OPERATOR, _catalogue(generated["skills"], 500, rng))
        hypotheses = [path.create_hypothesis(db.session, owner, {"occupation": uri}) for uri in sampled]
        db.session.commit()
        portfolio_ = owner.portfolio
        gap_times, gap_cpu, page_times, sizes = [], [], [], []
        for n in range(args.runs):
            hypothesis = hypotheses[n % len(hypotheses)]
            db.session.expunge_all()
            portfolio_ = db.session.merge(portfolio_, load=False)
            hypothesis = db.session.merge(hypothesis, load=False)
            started, cpu = time.perf_counter(), time.process_time()
            found = path.gap(db.session, portfolio_, hypothesis, lang="fr")
            gap_times.append(time.perf_counter() - started)
            gap_cpu.append(time.process_time() - cpu)
            path.trainings_for(db.session, found["missing"])
            page_times.append(time.perf_counter() - started)
            sizes.append((len(found["have"]), len(found["missing"])))
    gap_ms = statistics.median(gap_times) * 1000
    page_ms = statistics.median(page_times) * 1000
    p95_ms = p95(gap_times)
    print(f"Gap analysis ({engine}, load {load():.1f}): framework of {args.skills} skills, {args.occupations} "
          f"occupations, {generated['relations']} relations (imported in {imported_in:.1f} s)")
    print(f"  gap: median {gap_ms:.2f} ms ({statistics.median(gap_cpu) * 1000:.2f} ms of CPU: the fair figure on a "
          f"loaded machine), p95 {p95_ms:.2f} ms over {len(gap_times)} runs "
          f"({statistics.mean(h + m for h, m in sizes):.1f} skills per occupation, "
          f"{statistics.mean(h for h, _ in sizes):.1f} had on average; aim < 20 ms)")
    print(f"  gap + trainings that close it (500-training catalogue): median {page_ms:.2f} ms")
    return 0 if gap_ms < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
