"""Health and metrics over HTTP, end to end: the real bot with ``HTTP_PORT`` set."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot, start_bot
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, Scripted
from tests.redis_server import SKIP_REASON, find_binary, start_redis

pytestmark = pytest.mark.asyncio(loop_scope="module")

KIND = "generation"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Http:
    """GETs on the bot's health and metrics server."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base + path, timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            return resp.status, await resp.text()

    async def ready(self) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.base + "/readyz", timeout=aiohttp.ClientTimeout(total=5)) as resp,
        ):
            return resp.status, await resp.json()

    async def wait_ready(self, status: int, timeout: float = 20) -> dict[str, Any]:
        """Poll /readyz until it answers ``status``; its JSON."""
        deadline = asyncio.get_running_loop().time() + timeout
        last: tuple[int, dict[str, Any]] | None = None
        while asyncio.get_running_loop().time() < deadline:
            try:
                last = await self.ready()
            except aiohttp.ClientError:
                last = None
            if last is not None and last[0] == status:
                return last[1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"/readyz never answered {status}; last {last}")

    async def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics, parsed with prometheus_client's own parser."""
        status, body = await self.get("/metrics")
        assert status == 200
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
        }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path, port: int
) -> AsyncIterator[BotProcess]:
    extra = {"COOLDOWN_SECONDS": "600", "HTTP_PORT": str(port)}
    async with running_bot(fake_discord, fake_api, workdir, extra=extra) as process:
        yield process


@pytest.fixture(scope="module")
def http(port: int) -> Http:
    return Http(port)


async def imagine(discord: FakeDiscord, user_id: int, **options: object) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse in a storm", **options}, user_id=user_id
    )


async def test_healthz_answers_while_the_loop_runs(bot: BotProcess, http: Http) -> None:
    assert await http.get("/healthz") == (200, '{"status": "alive"}')


async def test_readyz_is_200_while_connected(bot: BotProcess, http: Http) -> None:
    assert await http.wait_ready(200) == {"status": "ready", "reason": "ready"}


async def test_metrics_count_what_happened(
    bot: BotProcess, http: Http, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    await http.wait_ready(200, timeout=30)
    before = await http.samples()
    # Two jobs delivered (3 images), one of them after an API retry, one Discord 429 and
    # one 413 re-plan; one request refused by the cooldown.
    first, second = fresh_user(), fresh_user()
    fake_api.script(Scripted(status=503, json={"error": "busy"}))
    fake_discord.inject_failure(path_contains="/webhooks/", status=429)
    await imagine(fake_discord, first, n=2)
    await bot.wait_for_job(first)
    fake_discord.inject_failure(
        path_contains="/webhooks/",
        status=413,
        json={"code": 40005, "message": "Request entity too large"},
    )
    await imagine(fake_discord, second)
    await bot.wait_for_job(second)
    await imagine(fake_discord, first)
    await bot.wait_for_job(first, outcome="on_cooldown")
    after = await http.samples()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("imagine_jobs_total", kind=KIND, outcome="delivered") == 2
    assert grew("imagine_jobs_total", kind=KIND, outcome="on_cooldown") == 1
    assert grew("imagine_images_delivered_total", kind=KIND) == 3
    assert grew("imagine_api_retries_total", reason="api_unavailable") == 1
    assert grew("imagine_discord_rate_limited_total") >= 1
    assert grew("imagine_upload_replans_total") == 1
    assert grew("imagine_api_latency_seconds_count", kind=KIND) == 2
    assert grew("imagine_bot_overhead_seconds_count", kind=KIND) == 2
    assert value(after, "imagine_jobs_waiting") == 0
    assert value(after, "imagine_jobs_running") == 0
    assert 0 <= value(after, "imagine_gateway_latency_seconds") < 5
    # No label carries a user id or a prompt.
    for (_name, labels), _value in after.items():
        for _label, label_value in labels:
            assert str(first) not in label_value
            assert "lighthouse" not in label_value


@contextlib.asynccontextmanager
async def own_bot(
    api: FakeImageAPI, workdir: Path, **extra: str
) -> AsyncIterator[tuple[FakeDiscord, Http, BotProcess]]:
    """A bot with a fake Discord of its own (its gateway can go down without the others)."""
    port = free_port()
    sessions = int(extra.get("SHARD_COUNT", "1"))
    async with FakeDiscord() as discord:
        process = await start_bot(
            discord, api, workdir, extra={"HTTP_PORT": str(port), **extra}, sessions=sessions
        )
        try:
            yield discord, Http(port), process
        finally:
            await process.stop()


async def test_readyz_is_503_while_the_gateway_is_down(
    fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    async with own_bot(fake_api, tmp_path) as (discord, http, _process):
        await http.wait_ready(200)
        await discord.gateway_down()
        try:
            answer = await http.wait_ready(503)
            assert answer == {"status": "not ready", "reason": "gateway not connected"}
            # Liveness is not readiness: the process still runs its loop.
            assert (await http.get("/healthz"))[0] == 200
        finally:
            discord.gateway_up()
        # discord.py reconnects (backing off) and resumes.
        await http.wait_ready(200, timeout=30)


async def test_readyz_is_503_while_the_store_does_not_answer(
    fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    binary = find_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    redis = start_redis(binary, tmp_path / "redis")
    try:
        async with own_bot(fake_api, tmp_path, REDIS_URL=redis.url) as (_discord, http, _bot):
            await http.wait_ready(200)
            # Every client of the Redis waits for 4 s: longer than the 2-s probe.
            assert redis.command("CLIENT", "PAUSE", "4000", "ALL") == b"+OK"
            answer = await http.wait_ready(503)
            assert answer == {"status": "not ready", "reason": "store not answering"}
            await http.wait_ready(200, timeout=15)
    finally:
        redis.stop()


async def test_readyz_waits_for_every_shard_of_the_process(
    fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    async with own_bot(fake_api, tmp_path, SHARD_COUNT="2") as (discord, http, _process):
        assert await http.wait_ready(200) == {"status": "ready", "reason": "ready"}
        await discord.gateway_down()
        try:
            assert (await http.wait_ready(503))["reason"] == "gateway not connected"
        finally:
            discord.gateway_up()
        await http.wait_ready(200, timeout=30)


async def test_readyz_is_503_while_draining(fake_api: FakeImageAPI, tmp_path: Path) -> None:
    async with own_bot(fake_api, tmp_path) as (discord, http, process):
        await http.wait_ready(200)
        fake_api.script(Scripted(delay=3.0))
        calls = len(fake_api.generation_calls)
        user = fresh_user()
        await imagine(discord, user)
        await discord.wait_for(
            lambda: len(fake_api.generation_calls) > calls, 10, "the job at the API"
        )
        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)
        assert await http.wait_ready(503) == {"status": "not ready", "reason": "draining"}
        # The job running still finishes within the grace period, then the bot exits.
        await process.wait_for_job(user)
        assert await process.wait() == 0
        assert "Traceback" not in process.output(), process.output()
