"""Sharing the line between servers, end to end: one busy server cannot starve another.

The bot runs with 2 jobs at once, a line of 100 and at most 30 of it for one server, so a
crowd from one server fills its share and the rest of the line stays open to the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE
from tests.fakes.discord import DEFAULT_GUILD_ID, FakeDiscord, FakeInteraction, guild_id_for_shard
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
MAX_CONCURRENT = 2
MAX_QUEUED = 100
MAX_PER_SERVER = 30
CROWD = 60
OTHER_GUILD_ID = guild_id_for_shard(0, 1, 1)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    discord = FakeDiscord(guild_ids=[DEFAULT_GUILD_ID, OTHER_GUILD_ID])
    await discord.start()
    yield discord
    await discord.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = {
        "COOLDOWN_SECONDS": "600",
        "MAX_CONCURRENT_JOBS": str(MAX_CONCURRENT),
        "MAX_QUEUED_JOBS": str(MAX_QUEUED),
        "MAX_QUEUED_PER_GUILD": str(MAX_PER_SERVER),
        "DAILY_USER_QUOTA": "0",
        "DAILY_GUILD_BUDGET": "0",
    }
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        yield process


async def imagine(discord: FakeDiscord, guild_id: int) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse in a storm"}, user_id=fresh_user(), guild_id=guild_id
    )


def delivered_at(interaction: FakeInteraction) -> float | None:
    """When the first image of the job showed on Discord (None: not yet)."""
    times = [
        snapshot["time"]
        for message in interaction.messages
        for snapshot in message.history
        if snapshot["attachments"]
    ]
    return min(times, default=None)


async def test_a_member_of_another_server_does_not_wait_behind_a_busy_one(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    fake_api.latency = 0.4
    try:
        crowd = await asyncio.gather(
            *(imagine(fake_discord, DEFAULT_GUILD_ID) for _ in range(CROWD))
        )
        callbacks = await asyncio.gather(*(i.wait_for_callback() for i in crowd))
        accepted = [i for i, c in zip(crowd, callbacks, strict=True) if c["type"] == DEFER]
        refused = [c for c in callbacks if c["type"] == MESSAGE]
        # The busy server got its share of the line (and the slots), no more: the rest of
        # its members were told at once, privately, that the line is full.
        assert MAX_CONCURRENT + MAX_PER_SERVER <= len(accepted) < CROWD
        assert len(refused) == CROWD - len(accepted)
        for callback in refused:
            assert callback["data"]["flags"] & EPHEMERAL
            assert callback["data"]["content"] == EN["queue_full"]

        other = await imagine(fake_discord, OTHER_GUILD_ID)
        assert (await other.wait_for_callback())["type"] == DEFER
        # Next in line: the busy server already holds every slot.
        await fake_discord.wait_for(
            lambda: (
                other.original is not None
                and other.original.content == EN["queue_place"].format(place=1)
            ),
            10,
            "the other server's member shown first in line",
        )
        await fake_discord.wait_for(
            lambda: all(delivered_at(i) is not None for i in [*accepted, other]),
            60,
            "every accepted job delivered",
        )
    finally:
        fake_api.latency = 0.0
    arrived = delivered_at(other)
    assert arrived is not None
    before = [i for i in accepted if (delivered_at(i) or 0.0) < arrived]
    # Only the jobs already running or granted before its turn came went first.
    assert len(before) <= MAX_CONCURRENT + 2, len(before)
    assert len(before) < len(accepted) // 2
