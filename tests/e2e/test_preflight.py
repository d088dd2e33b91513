"""``python bot.py --check`` end to end, against the fakes: PASS or FAIL lines, no secret."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.harness import BOT_SCRIPT, bot_environment
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio(loop_scope="module")

BAD_TOKEN = "not-the-bot-token-4f1c"
BAD_KEY = "xai-not-the-key-93ab"


@pytest_asyncio.fixture(loop_scope="module")
async def fake_api() -> AsyncIterator[FakeImageAPI]:
    server = FakeImageAPI()
    await server.start()
    yield server
    await server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def check(
    discord: FakeDiscord, api: FakeImageAPI, workdir: Path, **extra: str
) -> tuple[int, list[str]]:
    """Run ``bot.py --check``; its exit code and output lines."""
    env = bot_environment(discord, api, workdir, extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BOT_SCRIPT), "--check", cwd=workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    text = out.decode()
    assert "Traceback" not in text, text
    for secret in (discord.token, api.api_key, BAD_TOKEN, BAD_KEY):
        assert secret not in text, text
    assert process.returncode is not None
    return process.returncode, text.splitlines()


def line(lines: list[str], name: str) -> str:
    found = [entry for entry in lines if entry.split(" ", 1)[-1].startswith(name + ":")]
    assert len(found) == 1, lines
    return found[0]


async def test_passes_against_the_fakes(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    code, lines = await check(fake_discord, fake_api, tmp_path)
    assert code == 0, lines
    assert [entry.split(":")[0] for entry in lines] == [
        "PASS settings",
        "PASS Discord token",
        "PASS Discord gateway",
        "PASS store",
        "PASS image API",
    ]
    assert "said HELLO" in line(lines, "Discord gateway")
    assert "accepted the key" in line(lines, "image API")
    # Nothing was generated to prove the key.
    assert fake_api.generation_calls == []


async def test_a_bad_token_fails_with_a_clear_line(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    code, lines = await check(fake_discord, fake_api, tmp_path, DISCORD_TOKEN=BAD_TOKEN)
    assert code == 1
    assert line(lines, "Discord token") == "FAIL Discord token: rejected by Discord (HTTP 401)"
    assert line(lines, "image API").startswith("PASS")


async def test_an_unreachable_image_api_fails_with_a_clear_line(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    code, lines = await check(fake_discord, fake_api, tmp_path, GROK_API_BASE_URL=base)
    assert code == 1
    assert line(lines, "image API").startswith(f"FAIL image API: {base} unreachable")
    assert line(lines, "Discord token").startswith("PASS")


async def test_a_rejected_api_key_fails(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    code, lines = await check(fake_discord, fake_api, tmp_path, GROK_API_KEY=BAD_KEY)
    assert code == 1
    assert line(lines, "image API") == (
        f"FAIL image API: {fake_api.base_url.rstrip('/')} rejected GROK_API_KEY (HTTP 401)"
    )


async def test_an_api_without_a_model_list_is_reachable_but_unproven(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    fake_api.serves_models = False
    code, lines = await check(fake_discord, fake_api, tmp_path)
    assert code == 0
    assert "the key could not be proven" in line(lines, "image API")


async def test_an_unwritable_database_fails_with_a_clear_line(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    # Under a plain file: no directory can be made there, whoever runs the check.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    database = blocker / "bot.sqlite3"
    code, lines = await check(fake_discord, fake_api, tmp_path, DATABASE_PATH=str(database))
    assert code == 1
    assert line(lines, "store").startswith(f"FAIL store: SQLite at {database}: ")


async def test_invalid_settings_fail_without_their_values(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    code, lines = await check(fake_discord, fake_api, tmp_path, COOLDOWN_SECONDS="secret-ish")
    assert code == 1
    assert lines[0].startswith("FAIL settings: COOLDOWN_SECONDS")
    assert "secret-ish" not in "\n".join(lines)
