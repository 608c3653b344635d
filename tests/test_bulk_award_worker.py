"""A bulk award run by a real `sillage worker` (SQLite queue; Redis too when SILLAGE_TEST_REDIS_URL is
set), killed with SIGKILL in the middle, then finished by another: every address holds exactly one
credential of the achievement, and each one verifies."""
from __future__ import annotations

import io
import signal

from sqlalchemy import func, select

from app.extensions import db
from app.models import Batch
from app.models.credentials import Credential
from app.services import accounts, batches, bulk_awards
from tests.awarding_helpers import make_achievement, make_org
from tests.conftest import PASSWORD
from tests.test_jobs_worker import Worker, queue, redis_url, wait_for  # noqa: F401  (queue: a fixture)

ROWS = 240


def _kill_and_resume(tmp_path, env):
    issuer = accounts.create_user(db.session, email="issuer@univ.example", password=PASSWORD, verified=True)
    db.session.commit()
    achievement = make_achievement(make_org(issuer))
    data = "courriel;nom\n" + "".join(f"eleve{n}@lycee.example;Élève {n}\n" for n in range(ROWS))
    parsed = bulk_awards.parse(io.BytesIO(data.encode("cp1252")))
    batch = bulk_awards.start(db.session, issuer, achievement, parsed)
    db.session.commit()
    batch_id = batch.id
    batches.run_batch_job(str(batch_id))  # into the real queue

    def state():
        db.session.expire_all()
        counts = dict(db.session.execute(select(Credential.recipient_email, func.count())
                                         .where(Credential.achievement_id == achievement.id)
                                         .group_by(Credential.recipient_email)).all())
        return db.session.get(Batch, batch_id), counts

    first = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: state()[0].done_count >= 20, "20 awards by the first consumer", first)
        first.kill()
    finally:
        first.stop()
    killed, counts = state()
    assert killed.status == "running" and killed.done_count < ROWS, first.log()
    assert set(counts.values()) <= {1} and len(counts) == killed.done_count  # committed with their status

    second = Worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: state()[0].status == "done", "the batch finished by the second consumer", second)
    finally:
        assert second.stop() == 0, second.log()
    finished, counts = state()
    assert counts == {f"eleve{n}@lycee.example": 1 for n in range(ROWS)}, second.log()
    assert (finished.done_count, finished.failed_count) == (ROWS, 0)
    indexes = db.session.scalars(select(Credential.document).where(Credential.achievement_id == achievement.id))
    entries = {d["credentialStatus"]["statusListIndex"] for d in indexes}
    assert len(entries) == ROWS  # one status entry each, none reused


def test_a_bulk_award_survives_a_killed_consumer_on_the_sqlite_queue(tmp_path, queue):
    _app, env = queue(None)
    _kill_and_resume(tmp_path, env)


def test_a_bulk_award_survives_a_killed_consumer_on_redis(tmp_path, queue):
    _app, env = queue(redis_url())
    _kill_and_resume(tmp_path, env)
