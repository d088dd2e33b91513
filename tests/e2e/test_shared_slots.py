"""Two bot processes on one Redis share ``MAX_CONCURRENT_JOBS``: the cap is global.

Each process runs one of two shards, so server A's members are served by one process and
server B's by the other, each with its own line. The API slots live in Redis: however the
members crowd into both servers, the fake image API never answers more than
``MAX_CONCURRENT_JOBS`` requests at once, and every member still gets their images. A job
waiting for a slot the other process holds says so, with a Cancel button that works.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import GUILD_A, GUILD_B, SHARDS, Cluster, two_processes
from tests.e2e.steps import DEFER, UPDATE, images_delivered
from tests.fakes.discord import FakeDiscord, FakeInteraction, guild_id_for_shard
from tests.fakes.image_api import FakeImageAPI, Scripted
from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
MAX_CONCURRENT = 2


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pair(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    root: Path = tmp_path_factory.mktemp("shared-slots")
    settings = {
        "COOLDOWN_SECONDS": "0",
        "MAX_CONCURRENT_JOBS": str(MAX_CONCURRENT),
        "MAX_QUEUED_JOBS": "50",
    }
    async with FakeImageAPI() as api, two_processes(redis_server, api, root, settings) as pair:
        yield pair


async def imagine(discord: FakeDiscord, guild_id: int, user_id: int) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse at dusk"}, guild_id=guild_id, user_id=user_id
    )


async def test_a_crowd_in_both_servers_never_exceeds_the_global_cap(pair: Cluster) -> None:
    discord, api = pair.discord, pair.api
    api.max_in_flight = 0
    api.latency = 0.4
    before = len(api.generation_calls)
    shards = itertools.cycle(range(SHARDS))
    members = [(next(shards), fresh_user()) for _ in range(16)]
    try:
        crowd = await asyncio.gather(
            *(imagine(discord, guild_id_for_shard(s, SHARDS), user) for s, user in members)
        )
        arrived = (images_delivered(i, timeout=25) for i in crowd)
        await asyncio.wait_for(asyncio.gather(*arrived), 25)
    finally:
        api.latency = 0.0
    assert len(api.generation_calls) == before + 16
    # Each process alone would let MAX_CONCURRENT through: together they still do.
    assert api.max_in_flight == MAX_CONCURRENT
    for shard, user in members:  # each served by the process of its server's shard
        await pair.processes[shard].wait_for_job(user, "delivered")


async def test_a_job_waiting_for_the_other_process_can_be_cancelled(pair: Cluster) -> None:
    discord, api = pair.discord, pair.api
    # Server A's process takes both slots for 2.5 s.
    api.script(*[Scripted(delay=2.5)] * MAX_CONCURRENT)
    before = len(api.generation_calls)
    busy = [await imagine(discord, GUILD_A, fresh_user()) for _ in range(MAX_CONCURRENT)]
    await discord.wait_for(
        lambda: len(api.generation_calls) == before + MAX_CONCURRENT, 10, "both slots busy"
    )

    # Server B's process has free slots of its own, but none is free in Redis.
    user = fresh_user()
    waiting = await imagine(discord, GUILD_B, user)
    assert (await waiting.wait_for_callback())["type"] == DEFER
    await discord.wait_for(
        lambda: waiting.original is not None and waiting.original.custom_ids() != [],
        5,
        "a place in line with a Cancel button",
    )
    original = waiting.original
    assert original is not None
    assert original.content == EN["queue_place"].format(place=1)
    [cancel] = original.custom_ids()
    assert cancel.startswith("imagine:cancel:")
    pressed = await discord.press_button(original, cancel, user_id=user)
    assert (await pressed.wait_for_callback())["type"] == UPDATE
    assert original.content == EN["cancelled"]
    await pair.processes[1].wait_for_job(user, "cancelled")

    for interaction in busy:
        await images_delivered(interaction, timeout=25)
    assert len(api.generation_calls) == before + MAX_CONCURRENT  # never reached the API

    # Once the slots are free, the other process serves its members at once again.
    await images_delivered(await imagine(discord, GUILD_B, fresh_user()), timeout=25)
