"""Snowflakes (Discord's ids), shard routing, and the fake's JSON and time formats."""

from __future__ import annotations

import datetime
import json
import time
from typing import Any, Final

from tests.fakes.discord.constants import DEFAULT_GUILD_ID

DISCORD_EPOCH_MS: Final = 1_420_070_400_000


def make_snowflake(unix_ms: int, increment: int = 0, worker: int = 1) -> int:
    """Build a snowflake for a Unix time in milliseconds."""
    return ((unix_ms - DISCORD_EPOCH_MS) << 22) | ((worker & 0x1F) << 17) | (increment & 0xFFF)


def guild_id_for_shard(shard_id: int, shard_count: int, index: int = 0) -> int:
    """A guild id that Discord routes to ``shard_id`` of ``shard_count``.

    Discord's rule: ``(guild_id >> 22) % shard_count``.
    """
    if not 0 <= shard_id < shard_count:
        raise ValueError(f"shard_id {shard_id} out of range for {shard_count} shards")
    base = (DEFAULT_GUILD_ID >> 22) + 1000 + index * shard_count
    ms_since_epoch = base + (shard_id - base) % shard_count
    return (ms_since_epoch << 22) | (2 << 17) | (index & 0xFFF)


def shard_for(guild_id: int | None, shard_count: int) -> int:
    """The shard that owns a guild; direct messages go to shard 0."""
    if guild_id is None:
        return 0
    return (guild_id >> 22) % max(shard_count, 1)


class SnowflakeSource:
    """Fresh snowflakes from the wall clock, strictly increasing."""

    def __init__(self, worker: int = 3) -> None:
        self.worker = worker
        self._counter = 0
        self._last_ms = 0

    def next(self) -> int:
        """A new snowflake, later than every one before."""
        now_ms = int(time.time() * 1000)
        if now_ms <= self._last_ms:
            self._counter += 1
            if self._counter > 0xFFF:
                self._last_ms += 1
                self._counter = 0
            now_ms = self._last_ms
        else:
            self._counter = 0
        self._last_ms = now_ms
        return make_snowflake(now_ms, self._counter, worker=self.worker)


def iso(wall: float) -> str:
    """A wall-clock time as Discord writes timestamps."""
    return datetime.datetime.fromtimestamp(wall, datetime.UTC).isoformat()


def dumps(data: Any) -> str:
    """Compact JSON, as Discord sends it."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
