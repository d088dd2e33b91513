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

from core.video import check_mp4
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import (
    RESTART_SETTINGS,
    BotProcess,
    fake_discord_per_test,
    start_with,
    started_again,
)
from tests.e2e.steps import VIDEO_ON
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, VideoPlan, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Every test restarts the bot: each has a fake Discord of its own.
fake_discord = fake_discord_per_test


async def start_with_video(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> BotProcess:
    """A bot on a fresh store, with video turned on in the server."""
    return await start_with(fake_discord, fake_api, tmp_path, VIDEO_ON, extra=RESTART_SETTINGS)


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
    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for(
            lambda: sum(len(m.attachments) for m in running.messages) == 1,
            30,
            "the clip delivered after the restart",
        )
        yield second
        await second.wait_for_job(running.user_id)


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
