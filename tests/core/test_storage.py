"""The SQLite store: atomic claims, persistence across reopen, job records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.cooldown import Verdict
from core.storage import SqliteStore

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_parallel_claims_let_exactly_one_through(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    try:
        decisions = await asyncio.gather(*(store.claim(7, f"job{i}") for i in range(20)))
        verdicts = [d.verdict for d in decisions]
        assert verdicts.count(Verdict.ALLOWED) == 1
        assert verdicts.count(Verdict.ALREADY_RUNNING) == 19
    finally:
        await store.close()


async def test_two_processes_sharing_the_file_claim_once(tmp_path: Path) -> None:
    first, second = SqliteStore(tmp_path / "db.sqlite3"), SqliteStore(tmp_path / "db.sqlite3")
    await first.open()
    await second.open()
    try:
        decisions = await asyncio.gather(first.claim(7, "a"), second.claim(7, "b"))
        assert sorted(d.verdict.value for d in decisions) == ["allowed", "already_running"]
    finally:
        await first.close()
        await second.close()


async def test_cooldown_survives_reopening(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "nested" / "db.sqlite3"
    store = SqliteStore(path, clock=clock)
    await store.open()
    assert (await store.claim(7, "a")).allowed
    await store.release(7, "a", delivered=True, cooldown_seconds=60)
    await store.close()

    clock.now += 10
    reopened = SqliteStore(path, clock=clock)
    await reopened.open()
    try:
        decision = await reopened.claim(7, "b")
        assert decision.verdict is Verdict.ON_COOLDOWN
        assert decision.retry_after == pytest.approx(50)
        clock.now += 50
        assert (await reopened.claim(7, "c")).allowed
    finally:
        await reopened.close()


async def test_failed_job_releases_without_cooldown(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    try:
        assert (await store.claim(7, "a")).allowed
        await store.release(7, "a", delivered=False, cooldown_seconds=60)
        assert (await store.claim(7, "b")).allowed
    finally:
        await store.close()


async def test_meta_and_job_records(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    try:
        assert await store.get_meta("k") is None
        await store.set_meta("k", "v1")
        await store.set_meta("k", "v2")
        assert await store.get_meta("k") == "v2"

        await store.record_job(
            "j1", user_id=7, guild_id=9, channel_id=11, prompt="a cat", params={"n": 2}
        )
        await store.finish_job("j1", outcome="delivered", images=2, cost_usd_ticks=400)
        job = await store.get_job("j1")
        assert job is not None
        assert (job.state, job.outcome, job.images, job.cost_usd_ticks) == (
            "done",
            "delivered",
            2,
            400,
        )
        assert job.params == {"n": 2}
        assert await store.get_job("missing") is None
    finally:
        await store.close()
