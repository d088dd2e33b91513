"""A restart in the middle of jobs, end to end: nothing the bot accepted is lost.

The bot is stopped with SIGTERM while one job is being made and another waits in line; a
second bot process on the same database takes them over. Each test has its own fake
Discord and database; the image API is shared by the module.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import (
    RESTART_SETTINGS,
    BotProcess,
    fake_discord_per_test,
    start_bot,
    started_again,
)
from tests.e2e.steps import DEFER, image_count
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Every test restarts the bot: each has a fake Discord of its own.
fake_discord = fake_discord_per_test

EN = CATALOG["en"]


def journal(workdir: Path) -> dict[str, dict[str, Any]]:
    """Every job row of the bot's database, by id."""
    with sqlite3.connect(workdir / "data" / "bot.sqlite3") as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: dict(row) for row in db.execute("SELECT * FROM jobs")}


def used_images(workdir: Path, user_id: int) -> int:
    with sqlite3.connect(workdir / "data" / "bot.sqlite3") as db:
        row = db.execute(
            "SELECT SUM(images) FROM usage WHERE scope LIKE ?", (f"user:%:{user_id}",)
        ).fetchone()
    return int(row[0] or 0)


async def imagine(discord: FakeDiscord, user_id: int, **options: object) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a harbour at dawn", **options}, user_id=user_id
    )


async def stopped_mid_job(
    discord: FakeDiscord, api: FakeImageAPI, workdir: Path, *, waiting: bool = True
) -> tuple[BotProcess, FakeInteraction, FakeInteraction | None]:
    """Start the bot, let one job reach the API (and another wait in line), and stop it."""
    bot = await start_bot(discord, api, workdir, extra=RESTART_SETTINGS)
    api.script(Scripted(delay=5.0))
    calls_before = len(api.generation_calls)
    running = await imagine(discord, fresh_user(), n=2)
    await discord.wait_for(
        lambda: len(api.generation_calls) > calls_before, 10, "the first job at the API"
    )
    queued = None
    if waiting:
        queued = await imagine(discord, fresh_user())
        await discord.wait_for(
            lambda: queued.original is not None and not queued.original.loading, 10, "a place"
        )
        assert queued.original.content == EN["queue_place"].format(place=1)
    assert await bot.stop() == 0
    await discord.disconnect_all()
    return bot, running, queued


async def test_jobs_cut_short_by_a_restart_are_resumed_with_their_token(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first, running, queued = await stopped_mid_job(fake_discord, fake_api, tmp_path)
    assert queued is not None
    output = first.output()
    assert "2 unfinished job(s) kept in the journal" in output
    assert "outcome=suspended" in output
    assert "Traceback" not in output
    # The one waiting was told its place is kept.
    assert queued.original is not None
    assert queued.original.content == EN["suspended"]
    rows = journal(tmp_path)
    assert {row["state"] for row in rows.values()} == {"running", "queued"}
    assert all(row["interaction_token"] and row["owner"] is None for row in rows.values())
    calls_before = len(fake_api.generation_calls)

    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for(
            lambda: image_count(running.messages) == 2 and image_count(queued.messages) == 1,
            30,
            "both jobs delivered after the restart",
        )
        assert len(fake_api.generation_calls) == calls_before + 2
        for interaction in (running, queued):
            # Delivered through the interaction's own token, into its first message.
            assert interaction.messages[0] is interaction.original
            assert interaction.original.embeds
            assert any(
                r.method == "PATCH" and r.status == 200 and "@original" in r.path
                for r in interaction.requests()
            )
            await second.wait_for_job(interaction.user_id)
        rows = journal(tmp_path)
        assert {(row["state"], row["outcome"]) for row in rows.values()} == {("done", "delivered")}
        assert all(row["interaction_token"] is None for row in rows.values())
        # Reserved once, before the restart, and neither given back nor counted twice.
        assert used_images(tmp_path, running.user_id) == 2
        assert used_images(tmp_path, queued.user_id) == 1
        # A delivered job starts the cooldown, as any other.
        again = await imagine(fake_discord, running.user_id)
        assert "cooldown" in (await again.wait_for_callback())["data"]["content"]


async def test_a_job_whose_token_expired_is_closed_with_a_channel_message(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    _, running, _ = await stopped_mid_job(fake_discord, fake_api, tmp_path, waiting=False)
    # The bot stays down past the token's life.
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        db.execute("UPDATE jobs SET token_expires_at = token_expires_at - 900")
    calls_before = len(fake_api.generation_calls)
    before = len(fake_discord.channel_messages)

    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for_channel_messages(before + 1)
        notice = fake_discord.channel_messages[before]
        assert notice.channel_id == running.channel_id
        assert f"<@{running.user_id}>" in notice.content
        assert "could not be finished" in notice.content
        assert notice.allowed_mentions == {"parse": []}
        await second.wait_for_job(running.user_id, outcome="interrupted")
        assert len(fake_api.generation_calls) == calls_before
        [row] = journal(tmp_path).values()
        assert (row["state"], row["outcome"], row["interaction_token"]) == (
            "done",
            "interrupted",
            None,
        )
        # Nothing was delivered: the images are given back and no cooldown started.
        assert used_images(tmp_path, running.user_id) == 0
        again = await imagine(fake_discord, running.user_id)
        assert (await again.wait_for_callback())["type"] == DEFER
        await again.wait_for_messages(1)


async def test_a_resumed_job_whose_token_died_posts_in_the_channel(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    _, running, _ = await stopped_mid_job(fake_discord, fake_api, tmp_path, waiting=False)
    # The token looks alive to the bot, but Discord no longer takes it.
    fake_discord.inject_failure(
        path_contains="/webhooks/",
        method="*",
        status=401,
        json={"code": 50027, "message": "Invalid Webhook Token"},
        count=5,
    )
    before = len(fake_discord.channel_messages)
    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for_channel_messages(before + 1)
        posted = fake_discord.channel_messages[before]
        assert posted.channel_id == running.channel_id
        assert len(posted.attachments) == 2
        assert f"<@{running.user_id}>" in posted.content
        line = await second.wait_for_job(running.user_id)
        assert "images=2" in line
