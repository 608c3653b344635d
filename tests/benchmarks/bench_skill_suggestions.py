"""The writing aid on a framework of ESCO's size: median time of one experience's skill suggestions.

Issue 12 asks the suggestions to be computed locally and fast on fw's benchmark framework (15,000 skills
and 3,000 occupations in French and English, from ``framework_bench.generate_esco``). This imports it into
a fresh migrated SQLite database (or ``--database-url``), then times: the first suggestion (which builds the
per-process label index), and the median and p95 of ``skill_suggestions.suggest`` for an owner's
experiences of various lengths (a title alone up to a 2,000-word description), French and English, in
wall-clock and CPU time (the shared development machine is loaded: CPU time is the one to compare).
Aim: under 20 ms for the median (the CV ranking's order of magnitude).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from framework_bench import OBJECTS, WORDS, add_arguments, generated_app, load, p95  # noqa: E402

FILLER = ("pendant trois ans au sein d'une petite structure avec une équipe motivée et des horaires variés "
          "during three years in a small company with a motivated team and varied hours").split()


def _texts(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """Experience texts mixing the framework's verbs and objects (conjugated loosely) with filler."""
    texts = []
    for n in range(count):
        words = rng.choice((5, 40, 300, 2_000))
        parts = []
        while len(parts) < words:
            verb, obj = rng.choice(WORDS), rng.choice(OBJECTS)
            language = rng.randrange(2)
            parts += [verb[language], obj[language], *rng.sample(FILLER, 6)]
        texts.append((f"Poste {n} : {WORDS[n % len(WORDS)][0]} {OBJECTS[n % len(OBJECTS)][0]}",
                      " ".join(parts[:words])))
    return texts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--runs", type=int, default=200, help="timed suggestions (default 200)")
    args = parser.parse_args(argv)

    rng = random.Random(7)
    with generated_app(args, "sillage-bench-aid-", request_context=True) as bench:
        from app.extensions import db
        from app.models import Experience
        from app.services import accounts, portfolio, skill_suggestions

        engine = bench.engine
        bench.import_esco()
        owner = accounts.create_user(db.session, email="bench@example.org", password="bench-password-123",
                                     verified=True)
        experiences = []
        for title, description in _texts(rng, 40):
            experiences.append(portfolio.create_item(db.session, owner, Experience, {
                "kind": "job", "title": title, "description": description[:20_000],
                "start_date": "2020-01-01"}))
        db.session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        first = skill_suggestions.suggest(db.session, owner, experiences[0])
        cold_ms = (time.perf_counter() - started) * 1000
        cold_cpu_ms = (time.process_time() - cpu) * 1000
        timings, cpu_timings, counts = [], [], []
        for n in range(args.runs):
            experience = experiences[n % len(experiences)]
            started, cpu = time.perf_counter(), time.process_time()
            found = skill_suggestions.suggest(db.session, owner, experience)
            timings.append(time.perf_counter() - started)
            cpu_timings.append(time.process_time() - cpu)
            counts.append(len(found))
        index = skill_suggestions._index(db.session)
    median_ms = statistics.median(timings) * 1000
    median_cpu_ms = statistics.median(cpu_timings) * 1000
    p95_ms = p95(timings)
    print(f"Writing aid ({engine}, load {load():.1f}): {len(index.concepts)} skill concepts, "
          f"{len(index.shapes)} distinct label word sets (fr and en) indexed")
    print(f"  first suggestion (builds the label index): {cold_ms:.0f} ms wall, {cold_cpu_ms:.0f} ms CPU "
          f"({len(first)} suggestions)")
    print(f"  suggestions: median {median_ms:.2f} ms wall ({median_cpu_ms:.2f} ms CPU), p95 {p95_ms:.2f} ms over "
          f"{len(timings)} experiences of 5 to 2,000 words ({statistics.mean(counts):.1f} suggestions on "
          f"average; aim < 20 ms)")
    return 0 if median_ms < 20 or median_cpu_ms < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
