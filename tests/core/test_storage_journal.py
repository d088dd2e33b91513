"""The job journal in the SQLite store: each method one atomic step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core import journal, quota
from core.journal import InteractionRef
from core.storage import SqliteStore

pytestmark = pytest.mark.asyncio

TOKEN = "interaction-token-that-is-a-credential"


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


def job_fields(clock: Clock, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "user_id": 7,
        "guild_id": 1,
        "channel_id": 2,
        "prompt": "a lighthouse",
        "params": {"model": "m", "n": 2, "aspect_ratio": None, "resolution": "1k"},
        "locale": "zh-CN",
        "interaction": InteractionRef(11, 12, TOKEN, clock.now + 900),
        "reservation": quota.Reservation("2023-11-14", "user:1:7", "guild:1", 2),
        "cooldown_seconds": 30.0,
        "owner": "proc-a",
    }
    fields.update(changes)
    return fields


async def test_a_journaled_job_keeps_what_resuming_needs(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    clock, store = clock_and_store
    await store.journal_job("j1", state=journal.QUEUED, **job_fields(clock))
    job = await store.get_job("j1")
    assert job is not None
    assert job.state == journal.QUEUED
    assert not job.finished
    assert job.interaction == InteractionRef(11, 12, TOKEN, clock.now + 900)
    assert job.reservation == quota.Reservation("2023-11-14", "user:1:7", "guild:1", 2)
    assert (job.cooldown_seconds, job.owner, job.locale) == (30.0, "proc-a", "zh-CN")
    assert job.lease_until == pytest.approx(clock.now + journal.LEASE_SECONDS)
    assert job.params["n"] == 2
    assert TOKEN not in repr(job)


async def test_states_move_until_the_job_is_closed_once(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    clock, store = clock_and_store
    await store.journal_job("j1", **job_fields(clock))
    assert await store.journal_state("j1", journal.RUNNING)
    assert await store.journal_state("j1", journal.DELIVERING)
    assert (await store.get_job("j1")).state == journal.DELIVERING  # type: ignore[union-attr]
    closes = await asyncio.gather(
        store.close_job("j1", outcome="delivered", images=2, message_ids=[5, 6]),
        store.close_job("j1", outcome="api_unavailable"),
    )
    assert sorted(closes) == [False, True]
    job = await store.get_job("j1")
    assert job is not None
    assert job.finished
    assert job.outcome in ("delivered", "api_unavailable")
    # A closed job forgets its token and owner, and stays closed.
    assert job.interaction is None
    assert job.owner is None
    assert not await store.journal_state("j1", journal.RUNNING)
    assert not await store.journal_state("missing", journal.RUNNING)
    assert not await store.close_job("missing", outcome="x")
    with pytest.raises(ValueError, match="close_job"):
        await store.journal_state("j1", journal.DONE)


async def test_unfinished_jobs_oldest_first(clock_and_store: tuple[Clock, SqliteStore]) -> None:
    clock, store = clock_and_store
    for name in ("a", "b", "c"):
        await store.journal_job(name, **job_fields(clock))
        clock.now += 1
    await store.record_job("blocked", user_id=1, guild_id=1, channel_id=2, prompt="p", params={})
    await store.finish_job("blocked", outcome="blocked")
    await store.close_job("b", outcome="delivered", images=2)
    assert [job.id for job in await store.unfinished_jobs()] == ["a", "c"]


async def test_adopting_takes_released_and_lapsed_jobs_once(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    clock, store = clock_and_store
    await store.journal_job("mine", **job_fields(clock, owner="proc-a"))
    await store.journal_job("theirs", **job_fields(clock, owner="proc-b"))
    # Both processes are alive: nothing is free.
    assert await store.adopt_jobs("proc-c") == []

    # proc-a stops cleanly and hands its job back: free at once.
    assert await store.release_jobs("proc-a") == 1
    adopted = await store.adopt_jobs("proc-c")
    assert [job.id for job in adopted] == ["mine"]
    assert adopted[0].owner == "proc-c"
    assert adopted[0].interaction is not None

    # proc-b and proc-c renew while they live, then die: free once their holds run out.
    clock.now += journal.LEASE_SECONDS / 2
    assert await store.renew_leases("proc-b") == 1
    assert await store.renew_leases("proc-c") == 1
    clock.now += journal.LEASE_SECONDS / 2 + 1
    assert await store.adopt_jobs("proc-d") == []
    clock.now += journal.LEASE_SECONDS
    taken = await asyncio.gather(store.adopt_jobs("proc-d"), store.adopt_jobs("proc-e"))
    assert sorted(len(jobs) for jobs in taken) == [0, 2]


async def test_the_journal_survives_reopening(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "db.sqlite3"
    store = SqliteStore(path, clock=clock)
    await store.open()
    await store.journal_job("j1", **job_fields(clock))
    await store.journal_state("j1", journal.RUNNING)
    await store.close()

    reopened = SqliteStore(path, clock=clock)
    await reopened.open()
    try:
        [job] = await reopened.unfinished_jobs()
        assert (job.id, job.state) == ("j1", journal.RUNNING)
        assert job.interaction is not None
        assert job.interaction.token == TOKEN
    finally:
        await reopened.close()


async def test_an_unfinished_job_of_an_older_schema_reads_without_a_token(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    await store.record_job("old", user_id=1, guild_id=None, channel_id=3, prompt="p", params={})
    [job] = await store.unfinished_jobs()
    assert job.interaction is None
    assert job.reservation is None
    assert job.owner is None
