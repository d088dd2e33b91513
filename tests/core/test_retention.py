"""Bounded state: old job records go, the usage figures stay as daily totals.

Run against SQLite and a real Redis: 10,000 old jobs leave nothing behind after the
retention pass (counted in rows and keys), unfinished jobs are never removed, and the
stats still show the last 7 days. Databases and Redis data written in the layout before
the totals are moved up in place, their figures kept.
"""

from __future__ import annotations

import asyncio
import datetime
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from core.jobs.retention import keep_bounded, retention_cutoff, retention_pass
from core.quota import SECONDS_PER_DAY
from core.stats import KEEP_TOTALS_DAYS, days_since, fold, week_start
from core.storage import RedisStore, SqliteStore, Store
from core.storage.redis_store import LAYOUT_VERSION
from core.storage.sqlite_store import MIGRATIONS
from tests.clock import Clock

pytestmark = pytest.mark.asyncio

#: A UTC midnight: "today" in these tests starts here.
MIDNIGHT = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC).timestamp()
OLD_JOBS = 10_000
#: Jobs written at once (below the Redis client's connection limit).
BATCH = 50
RETENTION_DAYS = 30
PREFIX = "retention:"
BASE = {"user_id": 7, "channel_id": 2, "prompt": "p", "params": {"n": 1}}


class Backend:
    def __init__(self, name: str, make: Callable[[], Store], clock: Clock) -> None:
        self.name = name
        self.make = make
        self.clock = clock


@pytest_asyncio.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    clock = Clock(MIDNIGHT)
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        yield Backend("sqlite", lambda: SqliteStore(path, clock=clock), clock)
    else:
        url: str = request.getfixturevalue("redis_url")
        yield Backend("redis", lambda: RedisStore(url, clock=clock, prefix=PREFIX), clock)


async def job(store: Store, job_id: str, guild_id: int | None, **done: object) -> None:
    await store.record_job(job_id, guild_id=guild_id, **BASE)  # type: ignore[arg-type]
    if done:
        await store.finish_job(job_id, **done)  # type: ignore[arg-type]


async def job_rows(store: Store) -> int:
    """Every trace of a job record the backend keeps: rows, or keys and set members."""
    if isinstance(store, SqliteStore):
        rows = await store.db.execute_fetchall("SELECT COUNT(*) FROM jobs")
        return int(next(iter(rows))[0])
    assert isinstance(store, RedisStore)
    keys = await store.redis.keys(f"{PREFIX}job:*")
    keys += await store.redis.keys(f"{PREFIX}guild-jobs:*")
    indexed = await store.redis.zcard(f"{PREFIX}job-times")
    return len(keys) + indexed


async def test_ten_thousand_old_jobs_leave_nothing_and_the_week_stays(backend: Backend) -> None:
    clock = backend.clock
    store = backend.make()
    await store.open()
    try:
        # Forty days ago: 10,000 finished jobs (in a server and in direct messages), and
        # one that never finished.
        clock.now = MIDNIGHT - 40 * SECONDS_PER_DAY
        for start in range(0, OLD_JOBS, BATCH):
            await asyncio.gather(
                *(
                    job(store, f"old{i}", None if i % 10 == 0 else 1, outcome="delivered", images=1)
                    for i in range(start, start + BATCH)
                )
            )
        await job(store, "stuck", 1)
        # One job a day in the last seven days, the last one today.
        for day in range(7):
            clock.now = MIDNIGHT - day * SECONDS_PER_DAY + 60
            await job(store, f"new{day}", 1, outcome="delivered", images=day + 1, cost_usd_ticks=5)
        clock.now = MIDNIGHT + 3600
        week = fold(await store.job_stats(1, week_start(clock.now)))
        assert week.images == 28
        assert await job_rows(store) == (OLD_JOBS + 8) * (2 if backend.name == "redis" else 1)

        removed = await retention_pass(store, RETENTION_DAYS, now=clock.now)

        assert removed == OLD_JOBS
        # Only the unfinished old job and the seven recent ones are left, nothing else.
        assert await job_rows(store) == 8 * (2 if backend.name == "redis" else 1)
        assert await store.get_job("stuck") is not None
        assert await store.get_job("old1") is None
        assert await store.get_job("new6") is not None
        assert fold(await store.job_stats(1, week_start(clock.now))) == week
        today = fold(await store.job_stats(1, MIDNIGHT))
        assert (today.images, today.delivered_jobs, today.cost_usd_ticks) == (1, 1, 5)
        # The totals of the old days are still there (kept far longer than the records).
        since = MIDNIGHT - 40 * SECONDS_PER_DAY
        assert fold(await store.job_stats(1, since)).images == 28 + 9_000
        # A second pass finds nothing more to do.
        assert await retention_pass(store, RETENTION_DAYS, now=clock.now) == 0
    finally:
        await store.close()


async def test_totals_past_their_keeping_go_too(backend: Backend) -> None:
    clock = backend.clock
    store = backend.make()
    await store.open()
    try:
        await job(store, "a", 1, outcome="delivered", images=2)
        if isinstance(store, RedisStore):
            [key] = await store.redis.keys(f"{PREFIX}job-totals:*")
            ttl = await store.redis.ttl(key)
            assert ttl > (KEEP_TOTALS_DAYS) * SECONDS_PER_DAY
            assert ttl <= (KEEP_TOTALS_DAYS + 1) * SECONDS_PER_DAY + 1
            job_ttl = await store.redis.ttl(f"{PREFIX}job:a")
            assert 0 < job_ttl <= (RETENTION_DAYS + 1) * SECONDS_PER_DAY + 1
        clock.now += (KEEP_TOTALS_DAYS + 1) * SECONDS_PER_DAY
        await retention_pass(store, RETENTION_DAYS, now=clock.now)
        if isinstance(store, SqliteStore):
            rows = await store.db.execute_fetchall("SELECT COUNT(*) FROM job_totals")
            assert next(iter(rows))[0] == 0
        assert fold(await store.job_stats(1, MIDNIGHT)).images == 0
    finally:
        await store.close()


# -- the layout before the totals, moved up in place -----------------------------------

#: Jobs as the old layout kept them: (id, guild, made at, state, outcome, images, cost).
OLD_LAYOUT = [
    ("d1", 1, MIDNIGHT - 2 * SECONDS_PER_DAY + 5, "done", "delivered", 2, 30),
    ("d2", 1, MIDNIGHT - 2 * SECONDS_PER_DAY + 9, "done", "delivered", 1, None),
    ("r1", 1, MIDNIGHT - SECONDS_PER_DAY + 1, "done", "refused", 0, None),
    ("f1", 1, MIDNIGHT + 10, "done", "api_unavailable", 0, None),
    ("t1", 1, MIDNIGHT + 20, "done", "delivered", 4, 100),
    ("o1", 2, MIDNIGHT + 30, "done", "delivered", 9, None),
    ("dm", None, MIDNIGHT + 40, "done", "delivered", 3, None),
    ("run", 1, MIDNIGHT + 50, "running", None, 0, None),
]


async def figures_by_day(store: Store) -> list[tuple[int, int, int, int | None]]:
    """Server 1's figures from each of the last three days on: images, delivered,
    refused, cost."""
    found = []
    for since in (MIDNIGHT - 2 * SECONDS_PER_DAY, MIDNIGHT - SECONDS_PER_DAY, MIDNIGHT):
        figures = fold(await store.job_stats(1, since))
        found.append(
            (figures.images, figures.delivered_jobs, figures.refused, figures.cost_usd_ticks)
        )
    return found


EXPECTED = [(7, 3, 1, 130), (4, 1, 1, 100), (4, 1, 0, 100)]


async def test_an_sqlite_file_of_the_old_layout_keeps_its_figures(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:4]:
            db.executescript(script)
        db.execute("PRAGMA user_version = 4")
        for job_id, guild, made, state, outcome, images, cost in OLD_LAYOUT:
            db.execute(
                "INSERT INTO jobs (id, user_id, guild_id, channel_id, prompt, params, state,"
                " outcome, images, cost_usd_ticks, created_at) VALUES (?, 7, ?, 2, 'p', '{}',"
                " ?, ?, ?, ?, ?)",
                (job_id, guild, state, outcome, images, cost, made),
            )
    store = SqliteStore(path, clock=Clock(MIDNIGHT + 3600))
    await store.open()
    try:
        rows = await store.db.execute_fetchall("PRAGMA user_version")
        assert next(iter(rows))[0] == len(MIGRATIONS)
        assert await figures_by_day(store) == EXPECTED
        assert fold(await store.job_stats(2, MIDNIGHT)).images == 9
        # Jobs closing after the move count on top.
        await store.finish_job("run", outcome="delivered", images=1)
        assert (await figures_by_day(store))[2][:2] == (5, 2)
    finally:
        await store.close()


async def test_redis_data_of_the_old_layout_keeps_its_figures(redis_url: str) -> None:
    clock = Clock(MIDNIGHT + 3600)
    old = RedisStore(redis_url, clock=clock, prefix=PREFIX)
    await old.open()  # a fresh store: only to reach the server
    await old.redis.flushdb()
    for job_id, guild, made, state, outcome, images, cost in OLD_LAYOUT:
        fields = {"user_id": "7", "channel_id": "2", "prompt": "p", "params": "{}"}
        fields |= {"state": state, "created_at": repr(made), "images": str(images)}
        if guild is not None:
            fields["guild_id"] = str(guild)
            await old.redis.zadd(f"{PREFIX}guild-jobs:{guild}", {job_id: made})
        if outcome is not None:
            fields |= {"outcome": outcome, "cost_usd_ticks": "" if cost is None else str(cost)}
        else:
            await old.redis.zadd(f"{PREFIX}unfinished", {job_id: made})
        await old.redis.hset(f"{PREFIX}job:{job_id}", mapping=fields)
    await old.close()

    stores = [RedisStore(redis_url, clock=clock, prefix=PREFIX) for _ in range(2)]
    # Two processes starting at once: one moves the layout up, the other waits for it.
    await asyncio.gather(*(store.open() for store in stores))
    store = stores[0]
    try:
        assert await store.get_meta("layout") == str(LAYOUT_VERSION)
        assert await figures_by_day(store) == EXPECTED
        assert fold(await store.job_stats(2, MIDNIGHT)).images == 9
        times = await store.redis.zrange(f"{PREFIX}job-times", 0, -1)
        assert sorted(times) == sorted(job_id for job_id, *_ in OLD_LAYOUT)
        assert await store.redis.keys(f"{PREFIX}guild-jobs:*") == []
        assert await store.redis.ttl(f"{PREFIX}job:d1") > 0
        assert await store.redis.ttl(f"{PREFIX}job:run") == -1  # unfinished: kept
        # Opening again moves nothing (and counts nothing twice).
        again = RedisStore(redis_url, clock=clock, prefix=PREFIX)
        await again.open()
        await again.close()
        assert await figures_by_day(store) == EXPECTED
        await store.finish_job("run", outcome="delivered", images=1)
        assert (await figures_by_day(store))[2][:2] == (5, 2)
    finally:
        for each in stores:
            await each.close()


# -- the pass --------------------------------------------------------------------------


async def test_the_cutoff_is_the_retention_in_days() -> None:
    assert retention_cutoff(MIDNIGHT, 30) == MIDNIGHT - 30 * SECONDS_PER_DAY
    assert days_since(MIDNIGHT - SECONDS_PER_DAY + 5, MIDNIGHT + 5) == [
        "2025-02-28",
        "2025-03-01",
    ]
    assert days_since(MIDNIGHT + SECONDS_PER_DAY, MIDNIGHT) == []


async def test_the_pass_runs_once_ready_then_again_and_never_raises(tmp_path: Path) -> None:
    calls: list[float] = []
    thrice = asyncio.Event()

    class Failing(SqliteStore):
        async def prune_jobs(self, before: float) -> int:
            calls.append(before)
            if len(calls) == 3:
                thrice.set()
            raise RuntimeError("disk full")

    store = Failing(tmp_path / "db.sqlite3")
    ready = asyncio.Event()
    stopping = False

    async def wait_ready() -> None:
        await ready.wait()

    task = asyncio.create_task(
        keep_bounded(store, 30, wait_ready, lambda: stopping, every=0.01)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.05)
    assert calls == []  # not before the platform is connected
    ready.set()
    await asyncio.wait_for(thrice.wait(), 1)
    stopping = True
    await asyncio.wait_for(task, 1)
