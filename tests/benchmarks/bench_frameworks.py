"""Reference frameworks: import of a generated ESCO download, then the median concept search.

Issue 12's figures: 15,000 skills and 3,000 occupations (French and English files, as ESCO publishes
them) with 100,000 occupation→skill relations, imported through ``sillage frameworks import``'s
service into a fresh migrated SQLite database (or ``--database-url``); then the median time of
``frameworks.search`` over varied queries (whole words, prefixes, accents, two words). Aims: import
under 60 s, search under 20 ms.

The generated download and the app around it come from ``framework_bench`` (shared with the writing-aid
and gap-analysis benchmarks).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from framework_bench import add_arguments, generated_app, load, p95  # noqa: E402

QUERIES = ["gérer", "gerer stocks", "manage", "technicien", "techn sante", "securite", "œuvres", "oeuvres art",
           "réseau élec", "customers", "program data", "hôtel", "ingénieur énergie", "clean", "prep repas"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--searches", type=int, default=300, help="timed searches (default 300)")
    args = parser.parse_args(argv)

    with generated_app(args, "sillage-bench-fw-") as bench:
        from app.extensions import db
        from app.services import frameworks

        generated, generated_in, engine = bench.generated, bench.generated_in, bench.engine
        report, imported_in = bench.import_esco()
        again, reimported_in = bench.import_esco()
        timings, counts = [], []
        for n in range(args.searches):
            query = QUERIES[n % len(QUERIES)]
            db.session.expunge_all()
            started = time.perf_counter()
            found = frameworks.search(db.session, query, limit=20)
            timings.append(time.perf_counter() - started)
            counts.append(len(found))
        occupation = frameworks.get(db.session, generated["occupations"][0])
        started = time.perf_counter()
        for _ in range(50):
            frameworks.related(db.session, occupation)
        related_ms = (time.perf_counter() - started) * 1000 / 50
    median_ms = statistics.median(timings) * 1000
    p95_ms = p95(timings)
    print(f"Frameworks ({engine}, load {load():.1f}): generated {args.skills} skills, {args.occupations} "
          f"occupations, {generated['relations']} relations in {generated_in:.1f} s")
    print(f"  import: {imported_in:.1f} s ({report.added} concepts, {report.relations} relations; aim < 60 s)")
    print(f"  re-import of the same version: {reimported_in:.1f} s ({again.updated} updated, {again.retired} retired)")
    print(f"  search: median {median_ms:.2f} ms, p95 {p95_ms:.2f} ms over {len(timings)} searches "
          f"({statistics.mean(counts):.1f} results on average; aim < 20 ms)")
    print(f"  an occupation's skills (related): {related_ms:.2f} ms")
    return 0 if imported_in < 60 and median_ms < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
