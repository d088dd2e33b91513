"""An edit cut short by a restart is resumed, fetching its pictures again from Discord."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import start_bot
from tests.fakes.discord import ALL_PERMISSIONS, FakeDiscord
from tests.fakes.image_api import FakeImageAPI, Scripted, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXTRA = {"MAX_CONCURRENT_JOBS": "1", "SHUTDOWN_GRACE_SECONDS": "0.5", "COOLDOWN_SECONDS": "600"}


@pytest_asyncio.fixture(loop_scope="module")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


async def test_an_edit_is_resumed_after_a_restart_with_its_pictures_fetched_again(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first = await start_bot(fake_discord, fake_api, tmp_path, extra=EXTRA)
    await fake_discord.wait_for_command_sync()
    uploads = await fake_discord.send_slash_command(
        "imagine-admin",
        {"edit-uploads": {"on": True}},
        user_id=fake_discord.owner_user_id,
        permissions=ALL_PERMISSIONS,
    )
    await uploads.wait_for_callback()
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

    second = await start_bot(fake_discord, fake_api, tmp_path, extra=EXTRA, sessions=2)
    try:
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
    finally:
        assert await second.stop() == 0
    assert "Traceback" not in second.output()
