"""The store's server settings, daily counters and job figures."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from core.guild_settings import GuildSettings
from core.quota import QuotaVerdict
from core.stats import fold
from core.storage import MIGRATIONS, SqliteStore

pytestmark = pytest.mark.asyncio

MIDNIGHT = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def clock_and_store(tmp_path: Path) -> AsyncIterator[tuple[Clock, SqliteStore]]:
    clock = Clock(MIDNIGHT - 10)
    store = SqliteStore(tmp_path / "db.sqlite3", clock=clock)
    await store.open()
    yield clock, store
    await store.close()


async def test_settings_default_update_and_persist(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    assert await store.get_guild_settings(1) == GuildSettings()
    before, after = await store.update_guild_settings(1, lambda s: replace(s, max_n=4))
    assert (before.max_n, after.max_n) == (None, 4)
    await store.close()

    reopened = SqliteStore(tmp_path / "db.sqlite3")
    await reopened.open()
    try:
        assert (await reopened.get_guild_settings(1)).max_n == 4
        assert await reopened.get_guild_settings(2) == GuildSettings()
    finally:
        await reopened.close()


async def test_concurrent_setting_changes_all_land(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store

    def add(term: str):  # type: ignore[no-untyped-def]
        return lambda s: replace(s, blocked_terms=(*s.blocked_terms, term))

    await asyncio.gather(*(store.update_guild_settings(1, add(f"t{i}")) for i in range(20)))
    assert len((await store.get_guild_settings(1)).blocked_terms) == 20


async def test_a_failing_change_keeps_the_settings(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    await store.update_guild_settings(1, lambda s: replace(s, max_n=2))

    def broken(settings: GuildSettings) -> GuildSettings:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await store.update_guild_settings(1, broken)
    assert (await store.get_guild_settings(1)).max_n == 2


async def test_parallel_reservations_never_overshoot(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    decisions = await asyncio.gather(
        *(
            store.reserve_images(
                guild_id=1, user_id=100 + i, images=3, user_limit=0, guild_limit=10
            )
            for i in range(10)
        )
    )
    assert sum(d.allowed for d in decisions) == 3
    refused = [d for d in decisions if not d.allowed]
    assert all(d.verdict is QuotaVerdict.GUILD and d.left == 1 for d in refused)
    assert (await store.usage_today(1, 100)).guild_used == 9


async def test_member_quota_and_refund(clock_and_store: tuple[Clock, SqliteStore]) -> None:
    _, store = clock_and_store
    first = await store.reserve_images(guild_id=1, user_id=7, images=4, user_limit=5, guild_limit=0)
    assert first.allowed
    assert first.reservation is not None
    refused = await store.reserve_images(
        guild_id=1, user_id=7, images=2, user_limit=5, guild_limit=0
    )
    assert (refused.verdict, refused.left) == (QuotaVerdict.USER, 1)
    await store.refund_images(first.reservation, 4)
    usage = await store.usage_today(1, 7)
    assert (usage.user_used, usage.guild_used) == (0, 0)
    # Refunds never give back more than was reserved.
    again = await store.reserve_images(guild_id=1, user_id=7, images=5, user_limit=5, guild_limit=0)
    assert again.reservation is not None
    await store.refund_images(again.reservation, 50)
    assert (await store.usage_today(1, 7)).user_used == 0


async def test_a_member_quota_is_per_server_and_direct_messages_have_no_budget(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    _, store = clock_and_store
    assert (
        await store.reserve_images(guild_id=1, user_id=7, images=2, user_limit=2, guild_limit=0)
    ).allowed
    assert (
        await store.reserve_images(guild_id=2, user_id=7, images=2, user_limit=2, guild_limit=0)
    ).allowed
    dm = await store.reserve_images(guild_id=None, user_id=7, images=2, user_limit=2, guild_limit=1)
    assert dm.allowed
    assert dm.reservation is not None
    assert dm.reservation.guild_scope is None


async def test_counters_restart_at_utc_midnight_and_refunds_go_to_their_day(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    clock, store = clock_and_store
    late = await store.reserve_images(guild_id=1, user_id=7, images=3, user_limit=3, guild_limit=3)
    assert late.allowed
    assert late.reservation is not None
    assert late.resets_at == MIDNIGHT
    assert not (
        await store.reserve_images(guild_id=1, user_id=7, images=1, user_limit=3, guild_limit=3)
    ).allowed

    clock.now = MIDNIGHT + 5  # the job ends after midnight and fails
    early = await store.reserve_images(guild_id=1, user_id=7, images=3, user_limit=3, guild_limit=3)
    assert early.allowed
    await store.refund_images(late.reservation, 3)
    today = await store.usage_today(1, 7)
    assert (today.user_used, today.guild_used) == (3, 3)  # the new day is untouched
    assert today.resets_at == MIDNIGHT + 86400

    clock.now = MIDNIGHT - 10
    yesterday = await store.usage_today(1, 7)
    assert (yesterday.user_used, yesterday.guild_used) == (0, 0)


async def test_job_records_keep_locale_messages_and_figures(
    clock_and_store: tuple[Clock, SqliteStore],
) -> None:
    clock, store = clock_and_store
    base = {"user_id": 7, "guild_id": 1, "channel_id": 2, "prompt": "p", "params": {"n": 2}}
    await store.record_job("a", locale="zh-CN", **base)  # type: ignore[arg-type]
    await store.finish_job("a", outcome="delivered", images=2, cost_usd_ticks=10, message_ids=[5])
    await store.record_job("b", **base)  # type: ignore[arg-type]
    await store.finish_job("b", outcome="blocked")
    await store.record_job("c", **base)  # type: ignore[arg-type]
    await store.finish_job("c", outcome="api_unavailable")
    await store.record_job("d", **base)  # type: ignore[arg-type]  # still running

    job = await store.get_job("a")
    assert job is not None
    assert (job.locale, job.message_ids) == ("zh-CN", (5,))
    figures = fold(await store.job_stats(1, since=clock.now - 60))
    assert (figures.images, figures.blocked, figures.failed, figures.refused) == (2, 1, 1, 0)
    assert figures.cost_usd_ticks == 10
    assert fold(await store.job_stats(1, since=clock.now + 60)).images == 0
    assert fold(await store.job_stats(99, since=0)).images == 0


async def test_an_old_database_is_migrated(tmp_path: Path) -> None:
    import aiosqlite

    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        await db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        await db.execute(
            "INSERT INTO jobs (id, user_id, prompt, params, state, created_at)"
            " VALUES ('old', 1, 'p', '{}', 'done', 0)"
        )
        await db.commit()
    store = SqliteStore(path)
    await store.open()
    try:
        job = await store.get_job("old")
        assert job is not None
        assert job.message_ids == ()
        assert job.locale is None
        assert await store.get_guild_settings(1) == GuildSettings()
    finally:
        await store.close()
