"""The bot's spend ceiling across two processes sharing one Redis, reached exactly.

Two processes, each running one shard (so each serves one of the two servers), share a
``DAILY_SPEND_LIMIT_USD`` of $0.10 at $0.02 an image: fifty requests at once over both
servers make exactly five images, whichever process admits them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import GUILD_A, GUILD_B, Cluster, two_processes
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE
from tests.e2e.test_many_processes import imagine
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI
from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]


#: A bot-wide spend ceiling of $0.10, and room for a crowd.
SETTINGS = {
    "COOLDOWN_SECONDS": "600",
    "DAILY_USER_QUOTA": "0",
    "DAILY_GUILD_BUDGET": "0",
    "DAILY_SPEND_LIMIT_USD": "0.10",
    "MAX_QUEUED_JOBS": "60",
    "MAX_QUEUED_PER_GUILD": "60",
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(
    redis_server: RedisServer,
    fake_api: FakeImageAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("spend")
    async with two_processes(redis_server, fake_api, root, SETTINGS) as cluster:
        yield cluster


async def test_fifty_at_once_over_two_processes_meet_the_bots_ceiling_exactly(
    cluster: Cluster,
) -> None:
    discord: FakeDiscord = cluster.discord
    await discord.wait_for_command_sync()
    before = len(cluster.api.generation_calls)
    sent = await asyncio.gather(
        *(imagine(discord, (GUILD_A, GUILD_B)[i % 2], fresh_user()) for i in range(50))
    )
    callbacks = await asyncio.gather(*(i.wait_for_callback() for i in sent))
    accepted = [i for i, c in zip(sent, callbacks, strict=True) if c["type"] == DEFER]
    refused = [c["data"] for c in callbacks if c["type"] == MESSAGE]
    assert len(accepted) == 5
    assert len(refused) == 45
    head = EN["spend_limit_bot"].split("{when}")[0].format(limit="$0.10")
    for data in refused:
        assert data["flags"] & EPHEMERAL
        assert str(data["content"]).startswith(head), data["content"]
    for interaction in accepted:
        await interaction.wait_for_messages(1)
    await asyncio.sleep(0.3)
    assert len(cluster.api.generation_calls) == before + 5
