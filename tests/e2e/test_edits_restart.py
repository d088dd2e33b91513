"""An edit cut short by a restart is resumed, fetching its pictures again from Discord."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import (
    RESTART_SETTINGS,
    fake_discord_per_test,
    start_with,
    started_again,
)
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI, Scripted, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Every test restarts the bot: each has a fake Discord of its own.
fake_discord = fake_discord_per_test


async def test_an_edit_is_resumed_after_a_restart_with_its_pictures_fetched_again(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    uploads_on = {"edit-uploads": {"on": True}}
    first = await start_with(fake_discord, fake_api, tmp_path, uploads_on, extra=RESTART_SETTINGS)
    picture = make_png(64, 64, variant=2)
    fake_api.script(Scripted(delay=5.0))
    before = len(fake_api.edit_calls)
    running = await fake_discord.send_slash_command(
        "imagine",
        {"prompt": "make it snow", "image": ("street.png", picture)},
        user_id=fresh_user(),
    )
    await fake_discord.wait_for(
        lambda: len(fake_api.edit_calls) > before, 10, "the edit at the API"
    )
    assert await first.stop() == 0
    await fake_discord.disconnect_all()
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        [(params,)] = db.execute("SELECT params FROM jobs").fetchall()
    kept = json.loads(params)
    assert kept["kind"] == "edit"
    assert [source["filename"] for source in kept["sources"]] == ["street.png"]
    assert "data:" not in params  # the sources are kept, never the pictures

    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for(
            lambda: sum(len(m.attachments) for m in running.messages) == 1,
            30,
            "the edit delivered after the restart",
        )
        resumed = fake_api.edit_calls[-1]
        assert len(fake_api.edit_calls) == before + 2
        _, _, payload = resumed.body["image"]["url"].partition(",")
        assert base64.b64decode(payload) == picture
        await second.wait_for_job(running.user_id)
