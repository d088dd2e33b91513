"""Day-one start-up failures, end to end: ``python bot.py`` with a wrong token, Discord out of
reach, Redis not answering, or a database file that cannot be written, ends with one clear
line naming the problem (never a secret), exit code 3, no traceback and no voice warning."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.harness import BotProcess, bot_environment
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: The exit code of a start something outside stopped (1 is what a crash exits with).
EXIT_CANNOT_START = 3
#: A line logged at ERROR or CRITICAL, once colour codes are taken out.
PROBLEM = re.compile(r"\b(?:ERROR|CRITICAL)\b")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeImageAPI]]:
    discord, api = FakeDiscord(), FakeImageAPI()
    await discord.start()
    await api.start()
    yield discord, api
    await api.close()
    await discord.close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_and_fail(
    fakes: tuple[FakeDiscord, FakeImageAPI], workdir: Path, **changes: str
) -> str:
    """Start the bot with ``changes`` to its environment; the one error line it ends with."""
    discord, api = fakes
    env = bot_environment(discord, api, workdir, changes)
    bot = BotProcess(env, workdir)
    await bot.start()
    try:
        code = await bot.wait(timeout=60)
    finally:
        if bot.running:
            await bot.stop()
    output = bot.output()
    assert code == EXIT_CANNOT_START, output
    assert "Traceback" not in output, output
    assert "voice will NOT be supported" not in output, output
    for secret in (discord.token, api.api_key, "a-redis-password"):
        assert secret not in output, output
    lines = COLOUR.sub("", output).splitlines()
    problems = [line for line in lines if PROBLEM.search(line)]
    assert len(problems) == 1, output
    return problems[0]


async def test_a_wrong_discord_token(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    line = await start_and_fail(fakes, tmp_path, DISCORD_TOKEN="not-the-bot-token-0123")
    assert "DISCORD_TOKEN" in line
    assert "not-the-bot-token-0123" not in line


def unreachable_base(case: str, discord: FakeDiscord) -> str:
    """A REST base where Discord cannot be reached, for each way it can fail."""
    if case == "refused":
        return f"http://127.0.0.1:{closed_port()}/api/v10"
    if case == "DNS":
        return "http://discord.invalid/api/v10"
    # https to the fake's plain-HTTP port: the TLS handshake cannot succeed.
    return discord.rest_base.replace("http://", "https://")


@pytest.mark.parametrize(("case", "where"), [("refused", "127.0.0.1"), ("DNS", "discord.invalid"),
                                             ("TLS", "127.0.0.1")])  # fmt: skip
async def test_discord_cannot_be_reached(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path, case: str, where: str
) -> None:
    base = unreachable_base(case, fakes[0])
    line = await start_and_fail(fakes, tmp_path, DISCORD_API_BASE_URL=base)
    assert f"could not reach Discord at {where}:" in line
    assert case in line


async def test_redis_does_not_answer(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    url = f"redis://:a-redis-password@127.0.0.1:{closed_port()}/0"
    line = await start_and_fail(fakes, tmp_path, REDIS_URL=url)
    assert "REDIS_URL" in line


async def test_the_database_folder_is_a_file(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("not a folder")
    path = tmp_path / "data" / "bot.sqlite3"
    line = await start_and_fail(fakes, tmp_path, DATABASE_PATH=str(path))
    assert "DATABASE_PATH" in line
    assert "is a file, not a folder" in line


async def test_the_database_path_is_a_folder(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    (tmp_path / "db").mkdir()
    line = await start_and_fail(fakes, tmp_path, DATABASE_PATH=str(tmp_path / "db"))
    assert "could not open the database at DATABASE_PATH" in line


async def test_the_database_folder_is_read_only(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    if os.geteuid() == 0:
        # root writes through permissions: a folder nobody may create files in instead.
        path = Path("/proc/bot.sqlite3")
    else:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        path = folder / "bot.sqlite3"
    try:
        line = await start_and_fail(fakes, tmp_path, DATABASE_PATH=str(path))
    finally:
        if path.parent != Path("/proc"):
            path.parent.chmod(0o700)
    assert "could not open the database at DATABASE_PATH" in line


async def test_a_good_start_has_no_voice_warning(
    fakes: tuple[FakeDiscord, FakeImageAPI], tmp_path: Path
) -> None:
    discord, api = fakes
    bot = BotProcess(bot_environment(discord, api, tmp_path), tmp_path)
    await bot.start()
    try:
        await discord.wait_until_ready(timeout=30, count=len(discord.live_sessions()) + 1)
    finally:
        assert await bot.stop() == 0
    assert "voice will NOT be supported" not in bot.output()
