"""The SQLite store's one-round-trip writes: atomic, and never inside another transaction.

Admissions (the claim and the quota reservation) and job records run as one call on the
database thread, and do not queue for the store's lock while no transaction spans several
round trips. These check that they still never interleave with one that does, and never
overshoot a limit.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from core.cooldown import Verdict
from core.storage import SqliteStore
from tests.core.store_calls import admit

pytestmark = pytest.mark.asyncio


async def test_one_trip_writes_mixed_with_multi_trip_transactions(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite3")
    await store.open()
    try:

        async def settings_change(step: int) -> None:
            await store.update_guild_settings(1, lambda s: replace(s, max_n=1 + step % 10))

        async def meta(step: int) -> None:
            await store.set_meta(f"key{step}", str(step))

        async def job(user: int) -> bool:
            admission = await admit(store, user, f"job{user}", units=2)
            await store.record_job(
                f"job{user}", user_id=user, guild_id=1, channel_id=2, prompt="p", params={}
            )
            return admission.allowed

        results = await asyncio.gather(
            *(job(user) for user in range(1, 61)),
            *(settings_change(step) for step in range(20)),
            *(meta(step) for step in range(20)),
            *(admit(store, user, f"again{user}", units=0) for user in range(1, 61)),
        )
        assert all(results[:60])
        again = results[100:]
        assert {a.claim.verdict for a in again} == {Verdict.ALREADY_RUNNING}
        usage = await store.usage_today(1, 1)
        assert usage.guild_used == 120
        for user in range(1, 61):
            assert await store.get_job(f"job{user}") is not None
        assert await store.get_meta("key19") == "19"
    finally:
        await store.close()


async def test_two_processes_never_overshoot_a_daily_limit(tmp_path: Path) -> None:
    first, second = SqliteStore(tmp_path / "db.sqlite3"), SqliteStore(tmp_path / "db.sqlite3")
    await first.open()
    await second.open()
    try:
        admissions = await asyncio.gather(
            *(
                admit(store, user, f"job{user}-{name}", units=3, guild_limit=30)
                for user in range(40)
                for name, store in (("first", first), ("second", second))
            )
        )
        assert sum(a.allowed for a in admissions) == 10
        assert (await first.usage_today(1, 0)).guild_used == 30
    finally:
        await first.close()
        await second.close()
