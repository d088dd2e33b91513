"""The job journal in the SQLite store, where it differs from the conformance suite
(tests/core/test_store_conformance.py runs the journal's promises against every backend)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core.storage import SqliteStore
from tests.clock import Clock

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def clock_and_store(tmp_path: Path) -> AsyncIterator[tuple[Clock, SqliteStore]]:
    clock = Clock(1_700_000_000.0)
    store = SqliteStore(tmp_path / "db.sqlite3", clock=clock)
    await store.open()
    yield clock, store
    await store.close()


async def test_an_unfinished_job_of_an_older_schema_reads_without_a_token(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    await store.record_job("old", user_id=1, guild_id=None, channel_id=3, prompt="p", params={})
    [job] = await store.adopt_jobs("proc-a")
    assert job.interaction is None
    assert job.reservation is None
    assert (await store.get_job("old")) == job
