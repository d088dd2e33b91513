"""A clip rendering when the bot stops, whose token is dead by the next start, is polled
again all the same (the image service has it, and it is paid for) and posted in its
channel, naming its requester, as images whose token died are."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.video import check_mp4
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import (
    RESTART_SETTINGS,
    fake_discord_per_test,
    start_with,
    started_again,
)
from tests.e2e.steps import VIDEO_ON
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI, VideoPlan

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Every test restarts the bot: each has a fake Discord of its own.
fake_discord = fake_discord_per_test


async def test_a_clip_whose_token_died_during_a_restart_is_posted_in_the_channel(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    first = await start_with(fake_discord, fake_api, tmp_path, VIDEO_ON, extra=RESTART_SETTINGS)
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
    # The bot stays down past the token's life; the clip is done meanwhile.
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        db.execute("UPDATE jobs SET token_expires_at = token_expires_at - 900")
    for video in fake_api.videos.values():
        video.plan.pending = 0
    before = len(fake_discord.channel_messages)

    async with started_again(fake_discord, fake_api, tmp_path) as second:
        await fake_discord.wait_for_channel_messages(before + 1, timeout=30)
        posted = fake_discord.channel_messages[before]
        assert posted.channel_id == running.channel_id
        [clip] = posted.attachments
        assert check_mp4(clip.data).mime_type == "video/mp4"
        assert f"<@{user}>" in posted.content
        assert posted.allowed_mentions == {"parse": []}
        assert posted.embeds
        assert len(fake_api.video_submissions) == submissions + 1
        await second.wait_for_job(user)
