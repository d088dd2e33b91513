"""Another process adopts a dead one's jobs, end to end: two bots on one Redis.

Each process runs one of two shards, so server A's members are served by one process. That
process is killed with SIGKILL while the image API holds a job's answer: it hands nothing
back. The other process takes the job over once the dead one's hold on it has run out
(``LEASE_SECONDS`` plus at most one ``SWEEP_SECONDS``: within 45 seconds), makes it again
and delivers it through the interaction's own token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core import journal
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import GUILD_A, GUILD_B, Cluster, two_processes
from tests.e2e.steps import images_of
from tests.fakes.image_api import FakeImageAPI, Scripted
from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: A dead process's jobs are taken over by another within this long of its death.
ADOPTED_WITHIN_SECONDS = 45.0


@pytest_asyncio.fixture(loop_scope="module")
async def pair(
    redis_server: RedisServer, fake_api: FakeImageAPI, tmp_path: Path
) -> AsyncIterator[Cluster]:
    # One process is killed: the test checks how the survivor stops.
    settings = {"COOLDOWN_SECONDS": "600"}
    async with two_processes(redis_server, fake_api, tmp_path, settings, clean_stop=False) as pair:
        yield pair


async def test_a_killed_process_job_is_delivered_by_the_other_through_its_token(
    pair: Cluster,
) -> None:
    discord, api = pair.discord, pair.api
    dying, survivor = pair.processes.values()
    api.script(Scripted(delay=120.0))  # the API holds the answer: the job is mid-way
    calls_before = len(api.generation_calls)
    user = fresh_user()
    interaction = await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse at dusk", "n": 2}, guild_id=GUILD_A, user_id=user
    )
    await discord.wait_for(lambda: len(api.generation_calls) > calls_before, 10, "the API")
    assert dying.process is not None
    dying.process.kill()
    await dying.process.wait()
    killed = time.monotonic()

    deadline = killed + ADOPTED_WITHIN_SECONDS
    while "taken over from the journal" not in survivor.output():
        assert time.monotonic() < deadline, survivor.output()
        await asyncio.sleep(0.1)
    adopted = time.monotonic() - killed
    await discord.wait_for(lambda: images_of(interaction) == 2, deadline - time.monotonic(), "")
    delivered = time.monotonic() - killed
    print(f"\nRedis: from the kill to adoption {adopted:.1f}s, to delivery {delivered:.1f}s")
    assert adopted < journal.LEASE_SECONDS + journal.SWEEP_SECONDS + 1
    # Made again once, and posted through the interaction's own token, into its message.
    assert len(api.generation_calls) == calls_before + 2
    assert interaction.messages[0] is interaction.original
    assert any(
        r.method == "PATCH" and r.status == 200 and "@original" in r.path
        for r in interaction.requests()
    )
    line = await survivor.wait_for_job(user)
    assert "images=2" in line
    # The member's claim ended with the job, and the cooldown started as for any job.
    again = await discord.send_slash_command(
        "imagine", {"prompt": "again"}, guild_id=GUILD_B, user_id=user
    )
    assert "cooldown" in (await again.wait_for_callback())["data"]["content"]
    assert await survivor.stop() == 0
    assert "Traceback" not in survivor.output()
