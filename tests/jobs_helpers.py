"""A batch handler for the job tests, importable by a real ``sillage worker`` (SILLAGE_JOBS_IMPORTS).

Its effect is a row in ``test_job_effects`` with no unique constraint on purpose: an item processed
twice shows up as two rows, so the tests can count what was really done.
"""
from __future__ import annotations

import os
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from app.services import batches

KIND = "test-effects"
EFFECTS = Table("test_job_effects", MetaData(),
                Column("id", Integer, primary_key=True),
                Column("batch_id", String(36), nullable=False),
                Column("item_key", String(200), nullable=False),
                Column("pid", Integer, nullable=False))


@batches.handler(KIND)
def record_effect(session, batch, item):
    """Write the effect, then take a little time (``params["sleep"]``) so that a test can kill the
    consumer in the middle of a batch; fail the rows whose payload asks for it."""
    if item.payload.get("fail"):
        raise batches.ItemFailed("refused_row", f"Row {item.position + 1} is refused.")
    session.execute(EFFECTS.insert().values(batch_id=str(batch.id), item_key=item.key, pid=os.getpid()))
    time.sleep(batch.params.get("sleep", 0))
    return {"recorded": item.key}


def effect_counts(connection, batch_id) -> dict[str, int]:
    """How many times each item's effect was recorded."""
    rows = connection.execute(select(EFFECTS.c.item_key, func.count())
                              .where(EFFECTS.c.batch_id == str(batch_id)).group_by(EFFECTS.c.item_key))
    return {key: count for key, count in rows}
