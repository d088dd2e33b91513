"""The job journal in the SQLite store, where it differs from the conformance suite
(tests/core/test_store_conformance.py runs the journal's promises against every backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core.storage import SqliteStore

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def clock_and_store(tmp_path: Path) -> AsyncIterator[tuple[Clock, SqliteStore]]:
    clock = Clock()
    store = SqliteStore(tmp_path / "db.sqlite3", clock=clock)
    await store.open()
    yield clock, store
    await store.close()


async def test_an_unfinished_job_of_an_older_schema_reads_without_a_token(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    await store.record_job("old", user_id=1, guild_id=None, channel_id=3, prompt="p", params={})
    [job] = await store.unfinished_jobs()
    assert job.interaction is None
    assert job.reservation is None
    assert job.owner is None
