"""The first activation letters a fresh `sillage serve` answers, beside the second (issue 13's aim: under 3 s).

WeasyPrint's import and first fonts cost the process's first PDF about 1.3 s (more on a loaded machine);
each worker now warms them up in a background thread at start (app/cli.py ``_warm_up_pdf``). This
starts the real server (one worker, a fresh instance with 35 pupils not yet activated), waits ``WAIT``
seconds after /healthz (a server is up long before the first head prints), then asks the API for the
letters twice and prints both times. Run it from the source tree to measure (the current directory's
``app`` is the one served):

    .venv/bin/python tests/benchmarks/bench_first_letters.py [WAIT]
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SILLAGE = [sys.executable, "-c", "from app.cli import main; main()"]
SETUP = """
import sys
from app import create_app, policy
from app.extensions import db
from app.models.institutions import Group
from app.services import accounts, batches, orgs, rosters, tokens
app = create_app()
with app.app_context():
    head = accounts.create_user(db.session, email="head@bench.example", password="bench-password-sillage",
                                verified=True)
    org = orgs.create_organisation(db.session, policy.OPERATOR, {"name": "Lycée du banc", "kind": "school",
                                   "website": "", "contact_email": head.email}, admin=head, approve=True)
    db.session.commit()
    batch = rosters.start_import(db.session, policy.OPERATOR, org, open(sys.argv[1], "rb").read())
    db.session.commit()
    batches.run_batch(batch.id)
    _, raw = tokens.create_token(db.session, head, "bench")
    db.session.commit()
    print(org.id, db.session.query(Group).one().id, raw)
"""


def main() -> int:
    wait = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    with tempfile.TemporaryDirectory() as folder, socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SILLAGE_")}
        env.update(SILLAGE_INSTANCE_PATH=f"{folder}/instance", SILLAGE_BASE_URL=url, SILLAGE_WORKERS="1",
                   SILLAGE_JOBS_CONSUMER="external")
        subprocess.run([*SILLAGE, "db", "upgrade"], env=env, check=True, capture_output=True)
        roster = Path(folder) / "roster.csv"
        roster.write_text("nom;prénom;date_naissance;classe\n" +
                          "".join(f"Nom{i};Prénom{i};01/02/2010;3e A\n" for i in range(35)), encoding="utf-8")
        made = subprocess.run([sys.executable, "-c", SETUP, str(roster)], env=env, check=True, capture_output=True,
                              text=True)
        org_id, group_id, token = made.stdout.split()[-3:]
        server = subprocess.Popen([*SILLAGE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/healthz", timeout=5).close()
                    break
                except OSError:
                    time.sleep(0.2)
            time.sleep(wait)
            for label in ("first", "second"):
                request = urllib.request.Request(f"{url}/api/v1/orgs/{org_id}/letters.pdf?group={group_id}",
                                                 headers={"Authorization": f"Bearer {token}"})
                began = time.monotonic()
                with urllib.request.urlopen(request, timeout=300) as answer:
                    size = len(answer.read())
                print(f"{label} letters for 35: {time.monotonic() - began:.2f} s ({size // 1024} KiB)")
        finally:
            server.terminate()
            server.wait()
    print("load average: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
