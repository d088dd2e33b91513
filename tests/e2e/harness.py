"""Start the real bot the way ``python bot.py`` does, pointed at the local fakes.

The only seam is the URL settings: ``GROK_API_BASE_URL``, ``DISCORD_API_BASE_URL`` and
``DISCORD_GATEWAY_URL``. Everything else is ordinary configuration.

Also the setups the end-to-end modules share: a bot for the length of a block, stopped
cleanly (``running_bot``), started again on the same store (``started_again``), two
processes on one Redis (``two_processes``), and a pool of servers (``server_pool``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest_asyncio

from config.settings import Settings
from tests.e2e.steps import owner_sets
from tests.fakes.discord import FakeDiscord, guild_id_for_shard
from tests.fakes.image_api import FakeImageAPI
from tests.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
BOT_SCRIPT = REPO / "bot.py"
#: Variables the bot reads (one per setting); cleared from the inherited environment so a
#: developer's shell cannot leak into a test.
_BOT_VARIABLES = tuple(name.upper() for name in Settings.model_fields)
#: The settings of a bot a test stops mid-job and starts again: one API slot (a second job
#: waits in line), a short grace on stopping (the job is cut short, not finished), and a
#: long cooldown.
RESTART_SETTINGS = {
    "MAX_CONCURRENT_JOBS": "1",
    "SHUTDOWN_GRACE_SECONDS": "0.5",
    "COOLDOWN_SECONDS": "600",
}


def bot_environment(
    discord: FakeDiscord | None,
    api: FakeImageAPI | None,
    workdir: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _BOT_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env["DATABASE_PATH"] = str(workdir / "data" / "bot.sqlite3")
    env["LOG_LEVEL"] = "INFO"
    # Below the 20 seconds ``BotProcess.stop`` waits for the process to end.
    env["SHUTDOWN_GRACE_SECONDS"] = "5"
    if discord is not None:
        env["DISCORD_TOKEN"] = discord.token
        env["DISCORD_API_BASE_URL"] = discord.rest_base
        env["DISCORD_GATEWAY_URL"] = discord.gateway_url
    if api is not None:
        env["GROK_API_KEY"] = api.api_key
        env["GROK_API_BASE_URL"] = api.base_url
    env.update(extra or {})
    return env


class BotProcess:
    """One ``python bot.py`` child process with its output kept in a log file."""

    def __init__(self, env: Mapping[str, str], workdir: Path, args: tuple[str, ...] = ()) -> None:
        self.env = dict(env)
        self.workdir = workdir
        self.args = args
        self.log_path = workdir / f"bot-{id(self)}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(BOT_SCRIPT),
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM, as a host stops a worker; SIGKILL if it does not end in time."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not stop on SIGTERM:\n{self.output()}") from None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def wait_for_job(
        self, user_id: int, outcome: str = "delivered", timeout: float = 30, *, nth: int = 1
    ) -> str:
        """Wait for the ``nth`` job log line of ``user_id`` with ``outcome``; the line is
        the last thing a job does, so its cooldown is settled once it shows."""
        needle = f"user={user_id} "
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            lines = [
                line
                for line in self.output().splitlines()
                if needle in line and f"outcome={outcome} " in line
            ]
            if len(lines) >= nth:
                return lines[nth - 1]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no job line for {user_id} ({outcome}):\n{self.output()}")
            await asyncio.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None


async def start_bot(
    discord: FakeDiscord,
    api: FakeImageAPI,
    workdir: Path,
    *,
    extra: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    sessions: int = 1,
) -> BotProcess:
    """Start the bot and wait until the fake Discord has seen it become ready."""
    bot = BotProcess(bot_environment(discord, api, workdir, extra), workdir, args)
    await bot.start()
    try:
        await discord.wait_until_ready(timeout=30, count=sessions)
    except Exception as error:
        await bot.stop()
        raise AssertionError(f"the bot did not connect:\n{bot.output()}") from error
    return bot


async def start_with(
    discord: FakeDiscord,
    api: FakeImageAPI,
    workdir: Path,
    options: dict[str, Any],
    *,
    extra: Mapping[str, str] | None = None,
) -> BotProcess:
    """Start the bot and wait for its commands; then set ``/imagine-admin`` ``options`` in
    the default server as its owner (``{"video": {"on": True}}``: video turned on)."""
    bot = await start_bot(discord, api, workdir, extra=extra)
    await discord.wait_for_command_sync()
    await owner_sets(discord, options)
    return bot


@contextlib.asynccontextmanager
async def running_bot(
    discord: FakeDiscord,
    api: FakeImageAPI,
    workdir: Path,
    *,
    extra: Mapping[str, str] | None = None,
    sessions: int = 1,
    synced: bool = False,
) -> AsyncIterator[BotProcess]:
    """The bot started (and, when ``synced``, its commands synced) for the block; stopped
    after it, asserting it exited 0 and logged no traceback. ``sessions``: the gateway
    sessions the fake Discord will have seen once this one is ready (2 for a restart)."""
    process = await start_bot(discord, api, workdir, extra=extra, sessions=sessions)
    try:
        if synced:
            await discord.wait_for_command_sync()
        yield process
    finally:
        assert await process.stop() == 0, process.output()
    assert "Traceback" not in process.output(), process.output()


def started_again(
    discord: FakeDiscord,
    api: FakeImageAPI,
    workdir: Path,
    *,
    extra: Mapping[str, str] = RESTART_SETTINGS,
) -> contextlib.AbstractAsyncContextManager[BotProcess]:
    """The bot started again on the store in ``workdir`` (the fake Discord's second gateway
    session), for the block; stopped cleanly after it."""
    return running_bot(discord, api, workdir, extra=extra, sessions=2)


@pytest_asyncio.fixture(loop_scope="module", name="fake_discord")
async def fake_discord_per_test() -> AsyncIterator[FakeDiscord]:
    """A fake Discord of each test's own, for modules that restart the bot in every test
    (each start is a new gateway session): importing this into a module overrides the
    module-wide one."""
    async with FakeDiscord() as server:
        yield server


#: Bots sharing one Redis run two shards, one process each; a server on each shard.
SHARDS = 2
GUILD_A = guild_id_for_shard(0, SHARDS)
GUILD_B = guild_id_for_shard(1, SHARDS)


@dataclass
class Cluster:
    """The fakes, the Redis and the bot processes, one per shard."""

    discord: FakeDiscord
    api: FakeImageAPI
    redis: RedisServer
    root: Path
    #: Settings of every process beyond the Redis and its shard.
    settings: Mapping[str, str] = field(default_factory=dict)
    #: Bot processes by the shard each runs.
    processes: dict[int, BotProcess] = field(default_factory=dict)
    sessions: int = 0

    def environment(self, workdir: Path, shard: int) -> dict[str, str]:
        return bot_environment(
            self.discord,
            self.api,
            workdir,
            {
                "REDIS_URL": self.redis.url,
                "SHARD_COUNT": str(SHARDS),
                "SHARD_IDS": str(shard),
                **self.settings,
            },
        )

    async def start(self, layout: dict[str, int]) -> None:
        """Start one process per working folder name, with the shard given; wait for all."""
        for name, shard in layout.items():
            workdir = self.root / name
            process = BotProcess(self.environment(workdir, shard), workdir)
            await process.start()
            self.processes[shard] = process
        self.sessions += len(layout)
        try:
            await self.discord.wait_until_ready(timeout=30, count=self.sessions)
        except TimeoutError as error:
            logs = "\n".join(p.output() for p in self.processes.values())
            raise AssertionError(f"the bots did not connect:\n{logs}") from error

    async def stop(self) -> None:
        """SIGTERM every process; each must exit cleanly, without a traceback."""
        processes, self.processes = self.processes, {}
        for process in processes.values():
            assert await process.stop() == 0, process.output()
            assert "Traceback" not in process.output(), process.output()


@contextlib.asynccontextmanager
async def two_processes(
    redis: RedisServer,
    api: FakeImageAPI,
    root: Path,
    settings: Mapping[str, str],
    *,
    clean_stop: bool = True,
) -> AsyncIterator[Cluster]:
    """Two bot processes on an emptied Redis, shard 0 in ``root/alpha`` and shard 1 in
    ``root/beta``, and a fake Discord of their own serving ``GUILD_A`` and ``GUILD_B``.
    With ``clean_stop`` each must exit cleanly, without a traceback, once the block ends
    without an error; the processes are stopped whatever happens."""
    redis.flush()
    async with FakeDiscord(guild_ids=[GUILD_A, GUILD_B]) as discord:
        cluster = Cluster(discord, api, redis, root, settings)
        try:
            await cluster.start({"alpha": 0, "beta": 1})
            yield cluster
            if clean_stop:
                await cluster.stop()
        finally:
            for process in cluster.processes.values():
                await process.stop()


S = TypeVar("S")


@dataclass
class ServerPool(Generic[S]):
    """A fake Discord and servers made in it before the bot starts, handed out one a test,
    so tests that change a server's settings never see each other's."""

    discord: FakeDiscord
    servers: list[S]

    def server(self) -> S:
        """A server no other test has touched."""
        return self.servers.pop()


@contextlib.asynccontextmanager
async def server_pool(
    count: int, furnish: Callable[[FakeDiscord, int], S], *, also: Sequence[int] = ()
) -> AsyncIterator[ServerPool[S]]:
    """A fake Discord serving ``count`` servers of shard 0 (and the guilds ``also``); each
    server is what ``furnish`` makes of its guild id (its channels and roles)."""
    ids = [guild_id_for_shard(0, 1, index) for index in range(1, count + 1)]
    async with FakeDiscord(guild_ids=[*also, *ids]) as discord:
        yield ServerPool(discord, [furnish(discord, guild_id) for guild_id in ids])
