"""The SQLite store alone: its file and its migrations.

What every store promises (claims, cooldowns, quotas, settings, job records, several
processes) is in ``test_store_conformance.py``, run against SQLite and Redis alike.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aiosqlite
import pytest

from core.cooldown import Verdict
from core.guild_settings import GuildSettings
from core.moderation import AttemptLimit
from core.storage import sqlite_store
from core.storage.sqlite_store import MIGRATIONS, SqliteStore
from tests.clock import Clock
from tests.core.store_calls import claim

pytestmark = pytest.mark.asyncio


async def test_the_file_and_its_folder_are_made_and_kept(tmp_path: Path) -> None:
    clock = Clock(1_000_000.0)
    path = tmp_path / "nested" / "db.sqlite3"
    store = SqliteStore(path, clock=clock)
    await store.open()
    assert (await claim(store, 7, "a")).allowed
    await store.end_claim(7, "a", delivered=True, cooldown_seconds=60)
    await store.close()
    await store.close()  # twice is fine
    assert path.is_file()

    clock.now += 10
    reopened = SqliteStore(path, clock=clock)
    await reopened.open()
    try:
        decision = await claim(reopened, 7, "b")
        assert decision.verdict is Verdict.ON_COOLDOWN
        assert decision.retry_after == pytest.approx(50)
    finally:
        await reopened.close()


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    with pytest.raises(RuntimeError, match="not open"):
        await store.get_meta("k")


async def test_a_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    await store.close()
    async with aiosqlite.connect(tmp_path / "db.sqlite3") as db:
        rows = list(await db.execute_fetchall("PRAGMA user_version"))
    row = rows[0] if rows else None
    assert row is not None
    assert row[0] == len(MIGRATIONS)


async def test_an_old_database_is_migrated(tmp_path: Path) -> None:
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


async def test_server_settings_are_kept_briefly_and_dropped_on_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr(sqlite_store.time, "monotonic", lambda: now[0])
    path = tmp_path / "db.sqlite3"
    first, second = SqliteStore(path), SqliteStore(path)
    await first.open()
    await second.open()
    try:
        assert (await second.get_guild_settings(1)).max_n is None
        # A change through a store applies to it at once.
        await first.update_guild_settings(1, lambda s: replace(s, max_n=3))
        assert (await first.get_guild_settings(1)).max_n == 3
        await second.update_guild_settings(1, lambda s: replace(s, max_n=4))
        assert (await second.get_guild_settings(1)).max_n == 4
        # Another process's change, once the kept copy is out of date.
        assert (await first.get_guild_settings(1)).max_n == 3
        now[0] += sqlite_store.SETTINGS_CACHE_SECONDS
        assert (await first.get_guild_settings(1)).max_n == 4
    finally:
        await first.close()
        await second.close()


async def test_blocked_attempts_that_stopped_mattering_are_dropped(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(tmp_path / "db.sqlite3", clock=clock)
    await store.open()
    try:
        limit = AttemptLimit(limit=2, window_seconds=600, pause_seconds=1800)
        await store.note_blocked(1, 7, limit=limit)  # matters for the window
        await store.note_blocked(2, 8, limit=limit)
        await store.note_blocked(2, 8, limit=limit)  # matters for the pause
        clock.now += 700
        await store.note_blocked(3, 9, limit=limit)
        rows = await store.db.execute_fetchall("SELECT guild_id FROM blocked_attempts")
        assert sorted(row[0] for row in rows) == [2, 3]
        clock.now += 1200
        await store.note_blocked(3, 9, limit=limit)
        rows = await store.db.execute_fetchall("SELECT guild_id FROM blocked_attempts")
        assert [row[0] for row in rows] == [3]
    finally:
        await store.close()
