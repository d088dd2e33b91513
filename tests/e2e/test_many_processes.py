"""Two bot processes, one Redis, one fake Discord: the limits hold across processes.

Each process runs one of two shards (``SHARD_COUNT=2``, ``SHARD_IDS=0`` or ``1``), so the
fake Discord sends server A's interactions to one process and server B's to the other.
Both keep their state in the same real ``redis-server``. A member's cooldown and running
job are shared at once; a server's quota and settings are checked after the shards swap
processes (the ones kept in each process's own working folder, where an SQLite file would
live, are left behind).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import GUILD_A, GUILD_B, Cluster, two_processes
from tests.e2e.steps import DEFER, as_owner, delivered, refused_privately
from tests.fakes.discord import (
    FakeDiscord,
)
from tests.fakes.image_api import FakeImageAPI, Scripted
from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

DAILY_USER_QUOTA = 3


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cluster(
    redis_server: RedisServer,
    fake_api: FakeImageAPI,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("processes")
    settings = {"COOLDOWN_SECONDS": "600", "DAILY_USER_QUOTA": str(DAILY_USER_QUOTA)}
    async with two_processes(redis_server, fake_api, root, settings) as cluster:
        yield cluster


# -- helpers ---------------------------------------------------------------------------


async def imagine(discord: FakeDiscord, guild_id: int, user_id: int, **options: Any) -> Any:
    return await discord.send_slash_command(
        "imagine",
        {"prompt": "a lighthouse at dusk", **options},
        guild_id=guild_id,
        user_id=user_id,
    )


async def admin(discord: FakeDiscord, guild_id: int, options: dict[str, Any]) -> None:
    await refused_privately(
        await as_owner(discord, options, guild_id=guild_id)
    )  # the private confirmation


# -- the tests -------------------------------------------------------------------------


async def test_each_server_is_served_by_its_own_process_and_commands_sync_once(
    cluster: Cluster,
) -> None:
    discord = cluster.discord
    assert sorted(i["shard"] for i in discord.identifies) == [[0, 2], [1, 2]]
    await discord.wait_for_command_sync()
    assert discord.command_sync_count == 1
    assert "not syncing" in cluster.processes[1].output()
    for process in cluster.processes.values():
        assert not (process.workdir / "data").exists()  # no SQLite file: the state is in Redis


async def test_a_cooldown_earned_in_one_process_holds_in_the_other(cluster: Cluster) -> None:
    discord, api = cluster.discord, cluster.api
    user = fresh_user()
    await delivered(await imagine(discord, GUILD_A, user))
    await cluster.processes[0].wait_for_job(user, "delivered")
    calls = len(api.generation_calls)

    content = await refused_privately(await imagine(discord, GUILD_B, user))
    assert "cooldown" in content.lower() or "<t:" in content
    line = await cluster.processes[1].wait_for_job(user, "on_cooldown")
    assert "outcome=on_cooldown" in line
    assert len(api.generation_calls) == calls


async def test_one_job_at_a_time_holds_across_processes(cluster: Cluster) -> None:
    discord, api = cluster.discord, cluster.api
    user = fresh_user()
    api.script(Scripted(delay=1.5))
    calls = len(api.generation_calls)
    first = await imagine(discord, GUILD_A, user)
    assert (await first.wait_for_callback())["type"] == DEFER  # claimed, now generating

    await refused_privately(await imagine(discord, GUILD_B, user))
    await cluster.processes[1].wait_for_job(user, "already_running")
    await first.wait_for_messages(1)
    await cluster.processes[0].wait_for_job(user, "delivered")
    assert len(api.generation_calls) == calls + 1  # the first job's only


async def test_quota_and_settings_hold_when_the_shards_change_processes(
    cluster: Cluster,
) -> None:
    discord, api = cluster.discord, cluster.api
    member = fresh_user()
    # Through the process of shard 0: server A allows at most 2 images a request.
    await admin(discord, GUILD_A, {"max-n": {"count": 2}})
    # Through the process of shard 1: server B has no cooldown; a member uses up the quota.
    await admin(discord, GUILD_B, {"cooldown": {"seconds": 0}})
    await delivered(await imagine(discord, GUILD_B, member, n=DAILY_USER_QUOTA))
    await cluster.processes[1].wait_for_job(member, "delivered")
    await refused_privately(await imagine(discord, GUILD_B, member))
    await cluster.processes[1].wait_for_job(member, "user_quota")

    # The shards swap processes: each now runs in the other's working folder.
    await cluster.stop()
    await cluster.start({"alpha": 1, "beta": 0})
    calls = len(api.generation_calls)

    await refused_privately(await imagine(discord, GUILD_B, member))
    line = await cluster.processes[1].wait_for_job(member, "user_quota")
    assert cluster.processes[1].workdir.name == "alpha"
    assert "outcome=user_quota" in line

    newcomer = fresh_user()
    await refused_privately(await imagine(discord, GUILD_A, newcomer, n=3))
    await cluster.processes[0].wait_for_job(newcomer, "rule_max_n")
    assert cluster.processes[0].workdir.name == "beta"

    assert len(api.generation_calls) == calls
    # The new process of shard 0 found the commands' hash in Redis: still one sync.
    assert discord.command_sync_count == 1
