"""A clip rendering when the bot restarts is polled again by its request id, never
submitted twice (submitting again bills again)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from core.video import check_mp4
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, start_bot
from tests.fakes.discord import ALL_PERMISSIONS, FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, VideoPlan, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXTRA = {"MAX_CONCURRENT_JOBS": "1", "SHUTDOWN_GRACE_SECONDS": "0.5", "COOLDOWN_SECONDS": "600"}


@pytest_asyncio.fixture(loop_scope="module")
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.close()


async def start_with_video(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> BotProcess:
    """A bot on a fresh store, with video turned on in the server."""
    bot = await start_bot(fake_discord, fake_api, tmp_path, extra=EXTRA)
    await fake_discord.wait_for_command_sync()
    switch = await fake_discord.send_slash_command(
        "imagine-admin",
        {"video": {"on": True}},
        user_id=fake_discord.owner_user_id,
        permissions=ALL_PERMISSIONS,
    )
    await switch.wait_for_callback()
    return bot


def kept_params(tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """The one job record's parameters, as stored and read."""
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        [(params,)] = db.execute("SELECT params FROM jobs").fetchall()
    return params, json.loads(params)


@contextlib.asynccontextmanager
async def restarted(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path, running: FakeInteraction
) -> AsyncIterator[BotProcess]:
    """The bot started again on the same store, once it delivered the ``running`` clip;
    the job closed and the bot stopped cleanly after."""
    second = await start_bot(fake_discord, fake_api, tmp_path, extra=EXTRA, sessions=2)
    try:
        await fake_discord.wait_for(
            lambda: sum(len(m.attachments) for m in running.messages) == 1,
            30,
            "the clip delivered after the restart",
        )
        yield second
        await second.wait_for_job(running.user_id)
    finally:
        assert await second.stop() == 0
    assert "Traceback" not in second.output()


async def test_a_clip_rendering_at_a_restart_is_polled_again_never_submitted_again(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first = await start_with_video(fake_discord, fake_api, tmp_path)
    # Renders "for ever" until the test lets it finish.
    fake_api.video_plans.append(VideoPlan(pending=1000))
    submissions = len(fake_api.video_submissions)
    user = fresh_user()
    running = await fake_discord.send_slash_command(
        "animate", {"prompt": "a kite in the wind"}, user_id=user
    )
    await fake_discord.wait_for(
        lambda: len(fake_api.video_polls) > 0, 15, "the clip polled at the API"
    )
    assert await first.stop() == 0
    await fake_discord.disconnect_all()
    _, kept = kept_params(tmp_path)
    assert kept["kind"] == "video"
    request_id = kept["request_id"]
    assert request_id in fake_api.videos
    fake_api.videos[request_id].plan.pending = 0  # done at the next poll

    async with restarted(fake_discord, fake_api, tmp_path, running):
        assert len(fake_api.video_submissions) == submissions + 1
        assert fake_api.video_polls[-1].path.endswith(request_id)
        [clip] = [a for m in running.messages for a in m.attachments]
        assert check_mp4(clip.data).mime_type == "video/mp4"


async def test_a_clip_from_a_picture_resumed_after_a_restart_fetches_nothing(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    """The record keeps where the first frame is, never the picture; a clip submitted
    before the restart is only polled: its picture is not fetched again."""
    first = await start_with_video(fake_discord, fake_api, tmp_path)
    fake_api.video_plans.append(VideoPlan(pending=1000))
    submissions = len(fake_api.video_submissions)
    user = fresh_user()
    picture = make_png(40, 30, variant=1)
    running = await fake_discord.send_slash_command(
        "animate", {"prompt": "a kite", "image": ("kite.png", picture)}, user_id=user
    )
    await fake_discord.wait_for(
        lambda: len(fake_api.video_submissions) > submissions, 15, "the clip submitted"
    )
    assert await first.stop() == 0
    await fake_discord.disconnect_all()
    params, kept = kept_params(tmp_path)
    assert kept["image"]["filename"] == "kite.png"
    assert kept["image"]["url"].startswith("http")
    assert "data:" not in params
    fake_api.videos[kept["request_id"]].plan.pending = 0
    fetched = len(fake_discord.cdn_fetches)

    async with restarted(fake_discord, fake_api, tmp_path, running):
        assert len(fake_api.video_submissions) == submissions + 1
        assert len(fake_discord.cdn_fetches) == fetched
