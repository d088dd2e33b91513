"""Start-up, restarts, command sync and delivery under tight Discord limits, end to end."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BOT_SCRIPT, BotProcess, bot_environment, start_bot
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI

pytestmark = pytest.mark.asyncio

MIB = 1024 * 1024


@pytest_asyncio.fixture
async def fake_api() -> AsyncIterator[FakeImageAPI]:
    server = FakeImageAPI()
    await server.start()
    yield server
    await server.close()


def image_count(interaction_messages: list) -> int:  # type: ignore[type-arg]
    count = 0
    for message in interaction_messages:
        for attachment in message.attachments:
            with Image.open(io.BytesIO(attachment.data)) as picture:
                picture.load()
            count += 1
    return count


async def test_missing_settings_exit_with_a_message_naming_them(tmp_path: Path) -> None:
    env = bot_environment(None, None, tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BOT_SCRIPT),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "DISCORD_TOKEN" in stderr.decode()
    assert "GROK_API_KEY" in stderr.decode()
    assert "Traceback" not in stderr.decode()


async def test_invalid_setting_is_named_without_its_value(tmp_path: Path) -> None:
    env = bot_environment(None, None, tmp_path)
    env.update(DISCORD_TOKEN="t", GROK_API_KEY="k", COOLDOWN_SECONDS="secret-ish")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BOT_SCRIPT), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "COOLDOWN_SECONDS" in stderr.decode()
    assert "secret-ish" not in stderr.decode()


async def test_cooldown_and_command_hash_survive_a_restart(
    tmp_path: Path, fake_api: FakeImageAPI
) -> None:
    discord = FakeDiscord()
    await discord.start()
    try:
        user = fresh_user()
        extra = {"COOLDOWN_SECONDS": "600"}
        bot = await start_bot(discord, fake_api, tmp_path, extra=extra)
        try:
            await discord.wait_for_command_sync()
            assert discord.command_sync_count == 1
            first = await discord.send_slash_command("imagine", {"prompt": "a boat"}, user_id=user)
            assert image_count(await first.wait_for_messages(1)) == 1
            await bot.wait_for_job(user)
        finally:
            assert await bot.stop() == 0
        await discord.disconnect_all()

        calls_before = len(fake_api.requests)
        restarted = await start_bot(discord, fake_api, tmp_path, extra=extra, sessions=2)
        try:
            again = await discord.send_slash_command("imagine", {"prompt": "a car"}, user_id=user)
            callback = await again.wait_for_callback()
            assert callback["type"] == 4
            assert callback["data"]["flags"] & 64
            assert "cooldown" in callback["data"]["content"]
            assert len(fake_api.requests) == calls_before
            # The definition did not change: no second sync.
            assert discord.command_sync_count == 1
        finally:
            await restarted.stop()
        await discord.disconnect_all()

        forced = await start_bot(discord, fake_api, tmp_path, extra=extra, args=("--sync",),
                                 sessions=3)  # fmt: skip
        try:
            assert discord.command_sync_count == 2
        finally:
            await forced.stop()
    finally:
        await discord.close()


async def test_url_mode_downloads_from_the_api_host(tmp_path: Path, fake_api: FakeImageAPI) -> None:
    discord = FakeDiscord()
    await discord.start()
    bot = await start_bot(discord, fake_api, tmp_path, extra={"GROK_RESPONSE_FORMAT": "url"})
    try:
        interaction = await discord.send_slash_command(
            "imagine", {"prompt": "a castle", "n": 2}, user_id=fresh_user()
        )
        assert image_count(await interaction.wait_for_messages(1)) == 2
        assert fake_api.requests[-1].body["response_format"] == "url"
    finally:
        await bot.stop()
        await discord.close()


async def test_small_per_file_limit_reencodes_and_413_replans(
    tmp_path: Path, fake_api: FakeImageAPI
) -> None:
    # A server whose files may be 2 MiB and whose requests may be 5 MiB: ten 2k images
    # must be re-encoded to fit and, after the 413s, spread over several messages.
    discord = FakeDiscord(attachment_size_limit=2 * MIB, request_size_limit=5 * MIB)
    await discord.start()
    bot = await start_bot(discord, fake_api, tmp_path)
    try:
        interaction = await discord.send_slash_command(
            "imagine", {"prompt": "a forest", "n": 10, "resolution": "2k"}, user_id=fresh_user()
        )
        await interaction.wait_for_messages(2, timeout=90)
        for _ in range(200):
            if sum(len(m.attachments) for m in interaction.messages) >= 10:
                break
            await asyncio.sleep(0.25)
        messages = interaction.messages
        assert image_count(messages) == 10
        for message in messages:
            assert sum(a.size for a in message.attachments) <= 5 * MIB
            assert all(a.size <= 2 * MIB for a in message.attachments)
        assert any(r.status == 413 for r in interaction.rejected())
        assert "outcome=delivered" in bot.output()
    finally:
        await bot.stop()
        await discord.close()


async def test_sigterm_stops_the_bot_cleanly(tmp_path: Path, fake_api: FakeImageAPI) -> None:
    discord = FakeDiscord()
    await discord.start()
    bot: BotProcess = await start_bot(discord, fake_api, tmp_path)
    try:
        assert await bot.stop() == 0
        assert "Traceback" not in bot.output()
    finally:
        await discord.close()


async def test_a_missed_defer_deadline_is_logged_and_costs_nothing(
    tmp_path: Path, fake_api: FakeImageAPI
) -> None:
    # Discord answers 10062 to every callback: the bot must not call the API, must not
    # start a cooldown, and must keep running.
    discord = FakeDiscord(defer_deadline=0.0)
    await discord.start()
    bot = await start_bot(discord, fake_api, tmp_path)
    try:
        user = fresh_user()
        first = await discord.send_slash_command("imagine", {"prompt": "late"}, user_id=user)
        await bot.wait_for_job(user, outcome="not_deferred")
        assert [r.error_code for r in first.rejected()] == [10062]
        # The same user again: not "already running", not on cooldown, just late again.
        await discord.send_slash_command("imagine", {"prompt": "late"}, user_id=user)
        for _ in range(100):
            lines = [line for line in bot.output().splitlines() if f"user={user} " in line]
            if len(lines) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(lines) == 2
        assert all("outcome=not_deferred" in line for line in lines)
        assert not fake_api.requests
        assert bot.running
    finally:
        await bot.stop()
        await discord.close()
