"""The bot's spend ceiling across two processes sharing one Redis, reached exactly.

Two processes, each running one shard (so each serves one of the two servers), share a
``DAILY_SPEND_LIMIT_USD`` of $0.10 at $0.02 an image: fifty requests at once over both
servers make exactly five images, whichever process admits them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.steps import DEFER, EPHEMERAL, MESSAGE
from tests.e2e.test_many_processes import GUILD_A, GUILD_B, Cluster, imagine
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI
from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]


class SpendCluster(Cluster):
    """The two processes with a bot-wide spend ceiling of $0.10, and room for a crowd."""

    def environment(self, workdir: Path, shard: int) -> dict[str, str]:
        env = super().environment(workdir, shard)
        env.update(
            DAILY_USER_QUOTA="0",
            DAILY_GUILD_BUDGET="0",
            DAILY_SPEND_LIMIT_USD="0.10",
            MAX_QUEUED_JOBS="60",
            MAX_QUEUED_PER_GUILD="60",
        )
        return env


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(
    redis_server: RedisServer,
    fake_api: FakeImageAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[SpendCluster]:
    redis_server.flush()
    discord = FakeDiscord(guild_ids=[GUILD_A, GUILD_B])
    await discord.start()
    cluster = SpendCluster(discord, fake_api, redis_server, tmp_path_factory.mktemp("spend"))
    try:
        await cluster.start({"alpha": 0, "beta": 1})
        yield cluster
        await cluster.stop()
    finally:
        for process in cluster.processes.values():
            await process.stop()
        await discord.close()


async def test_fifty_at_once_over_two_processes_meet_the_bots_ceiling_exactly(
    cluster: SpendCluster,
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
