"""A rendering clip holds no slot: with one slot (``MAX_CONCURRENT_JOBS=1``) two clips
render at once and a picture is delivered while they do; a clip done after its interaction
token died is posted in the channel, as images are."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from core.video import check_mp4
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot
from tests.e2e.steps import DEFER, VIDEO_ON, images_of, owner_sets
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, VideoPlan

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Renders "for ever", until the test lets it finish.
FOR_EVER = 1000


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = {"COOLDOWN_SECONDS": "600", "MAX_CONCURRENT_JOBS": "1"}
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        await owner_sets(fake_discord, VIDEO_ON)
        yield process


async def animate(discord: FakeDiscord, user_id: int) -> FakeInteraction:
    return await discord.send_slash_command(
        "animate", {"prompt": "a kite in the wind"}, user_id=user_id
    )


def finish_all(api: FakeImageAPI) -> None:
    """Every clip rendering is done at its next poll."""
    for video in api.videos.values():
        video.plan.pending = 0


async def test_clips_render_together_and_a_picture_is_delivered_meanwhile_with_one_slot(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    submissions = len(fake_api.video_submissions)
    fake_api.video_plans.extend([VideoPlan(pending=FOR_EVER), VideoPlan(pending=FOR_EVER)])
    first_user, second_user = fresh_user(), fresh_user()
    first = await animate(fake_discord, first_user)
    second = await animate(fake_discord, second_user)
    # Both submitted while neither is done: the first holds no slot while it renders.
    await fake_discord.wait_for(
        lambda: len(fake_api.video_submissions) == submissions + 2,
        15,
        "both clips submitted",
    )
    painter = fresh_user()
    picture = await fake_discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse at dusk"}, user_id=painter
    )
    assert (await picture.wait_for_callback())["type"] == DEFER
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in picture.messages), 15, "the picture delivered"
    )
    assert images_of(first) == images_of(second) == 0
    await bot.wait_for_job(painter)
    finish_all(fake_api)
    for interaction, user in ((first, first_user), (second, second_user)):
        await fake_discord.wait_for(lambda i=interaction: images_of(i) == 1, 30, "a clip delivered")
        [clip] = [a for m in interaction.messages for a in m.attachments]
        assert check_mp4(clip.data).mime_type == "video/mp4"
        assert "outcome=delivered" in await bot.wait_for_job(user)


async def test_a_clip_done_after_its_token_died_is_posted_in_the_channel(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    # Tokens of the interactions from now on die after a few seconds, not 15 minutes.
    lifetime = fake_discord.token_lifetime
    fake_discord.token_lifetime = 3.0
    try:
        fake_api.video_plans.append(VideoPlan(pending=FOR_EVER))
        user = fresh_user()
        polls = len(fake_api.video_polls)
        before = len(fake_discord.channel_messages)
        interaction = await animate(fake_discord, user)
        assert (await interaction.wait_for_callback())["type"] == DEFER
        await fake_discord.wait_for(
            lambda: len(fake_api.video_polls) > polls, 15, "the clip polled"
        )
    finally:
        fake_discord.token_lifetime = lifetime
    # The clip is done only once its token is dead.
    await asyncio.sleep(max(0.0, interaction.created + 3.5 - time.monotonic()))
    finish_all(fake_api)
    await fake_discord.wait_for_channel_messages(before + 1, timeout=30)
    posted = fake_discord.channel_messages[before]
    assert posted.channel_id == interaction.channel_id
    [clip] = posted.attachments
    assert clip.filename.endswith(".mp4")
    assert check_mp4(clip.data).mime_type == "video/mp4"
    assert f"<@{user}>" in posted.content
    assert posted.allowed_mentions == {"parse": []}  # named, never pinged
    assert posted.embeds
    assert posted.custom_ids()
    assert images_of(interaction) == 0
    assert "outcome=delivered" in await bot.wait_for_job(user)
