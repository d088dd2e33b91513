"""Child processes under test: the real bot, the floor bot, the naive bot, the probed bot.

Each is started exactly as the end-to-end tests start ``python bot.py``: in a scratch
working directory, with the environment from ``tests.e2e.harness.bot_environment`` (so
only the URL settings point it at the fakes), its output kept in a log file.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.e2e.harness import BOT_SCRIPT, REPO, bot_environment
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

#: ``python bot.py``, as a host runs it.
REAL_BOT: tuple[str, ...] = (str(BOT_SCRIPT),)
#: A bare discord.py bot whose command only defers.
FLOOR_BOT: tuple[str, ...] = ("-m", "bench.floor_bot")
#: The API's sample design: a blocking HTTP call inside the command's coroutine.
NAIVE_BOT: tuple[str, ...] = ("-m", "bench.naive_bot")
#: The real bot with an event-loop lag probe running beside it.
PROBED_BOT: tuple[str, ...] = ("-m", "bench.probe_bot")


#: Settings of the bots under test, on top of what the end-to-end tests set: every
#: interaction comes from a new user and none may be refused for a limit (the checks
#: still run and count), and every job of a load is in flight at once rather than queued.
BENCH_BOT_SETTINGS = {
    "COOLDOWN_SECONDS": "0",
    "DAILY_USER_QUOTA": "0",
    "DAILY_GUILD_BUDGET": "0",
    "MAX_CONCURRENT_JOBS": "64",
    "MAX_QUEUED_JOBS": "1000",
    "MAX_QUEUED_PER_GUILD": "1000",
}


class Child:
    """One child process with its output in ``workdir``."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], workdir: Path):
        self.name = name
        self.argv = tuple(argv)
        self.env = dict(env)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.argv,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds."""
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


async def start_child(
    name: str,
    argv: Sequence[str],
    discord: FakeDiscord,
    api: FakeImageAPI,
    workdir: Path,
    extra: Mapping[str, str] | None = None,
    ready_timeout: float = 60.0,
) -> Child:
    """Start a child pointed at the fakes and wait until Discord has seen it ready."""
    env = bot_environment(discord, api, workdir / name)
    # The bench scripts import the project's modules; bot.py finds them by itself.
    env["PYTHONPATH"] = str(REPO)
    env.update(BENCH_BOT_SETTINGS)
    env.update(extra or {})
    child = Child(name, argv, env, workdir / name)
    before = discord.ready_count
    await child.start()
    try:
        await discord.wait_until_ready(timeout=ready_timeout, count=before + 1)
        await discord.wait_for_command_sync(timeout=ready_timeout)
    except Exception as error:
        await child.stop()
        raise RuntimeError(f"{name} did not connect:\n{child.output()[-4000:]}") from error
    return child


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in KiB, from /proc."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return found
