"""The daily allowance in seconds of video, end to end: a clip reserves its seconds before
it is submitted, against counters of their own (not the images'); past the allowance a
member is refused privately with the seconds left and when they come back; a failed or
cancelled clip gives its seconds back.

One bot serves the module with a small allowance (``DAILY_USER_VIDEO_SECONDS``), a small
image quota and no cooldown, so the limits, not the cooldown, are what answers.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cogs.common.catalog import CATALOG
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess, running_bot
from tests.e2e.steps import DEFER, VIDEO_ON, as_owner, owner_sets, private_answer
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.image_api import FakeImageAPI, VideoPlan

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]
#: A member's seconds of video per day, and images per day, in this module's bot.
SECONDS = 10
IMAGES = 2


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def bot(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, workdir: Path
) -> AsyncIterator[BotProcess]:
    extra = {
        "COOLDOWN_SECONDS": "0",
        "DAILY_USER_VIDEO_SECONDS": str(SECONDS),
        "DAILY_GUILD_VIDEO_SECONDS": "0",
        "DAILY_USER_QUOTA": str(IMAGES),
    }
    async with running_bot(fake_discord, fake_api, workdir, extra=extra, synced=True) as process:
        switch = await owner_sets(fake_discord, VIDEO_ON)
        assert switch["data"]["content"] == EN["set_video_on"]
        yield process


async def animate(discord: FakeDiscord, user_id: int, seconds: int) -> FakeInteraction:
    return await discord.send_slash_command(
        "animate", {"prompt": "waves on a shore", "duration": seconds}, user_id=user_id
    )


async def delivered(
    bot: BotProcess, discord: FakeDiscord, interaction: FakeInteraction, user: int, nth: int = 1
) -> None:
    """The clip was admitted, rendered and posted."""
    assert (await interaction.wait_for_callback())["type"] == DEFER
    await discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 30, "the clip posted"
    )
    await bot.wait_for_job(user, nth=nth)


def refusal_start(left: int, needed: int) -> str:
    """The seconds refusal's words before its time (a Discord timestamp, checked apart)."""
    words = EN["video_quota_user"].format(left=left, limit=SECONDS, n=needed, when="<when>")
    return words.split("<when>")[0]


async def test_past_the_allowance_a_member_is_told_the_seconds_left(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 6), user)
    before = len(fake_api.video_submissions)
    content = await private_answer(await animate(fake_discord, user, 6))
    assert content.startswith(refusal_start(left=4, needed=6)), content
    assert re.search(r"<t:\d+:R>", content)
    assert len(fake_api.video_submissions) == before  # nothing submitted, nothing paid
    await bot.wait_for_job(user, outcome="user_quota")
    # What is left still fits a shorter clip.
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 4), user, nth=2)


async def test_a_failed_clip_gives_its_seconds_back(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0, final="failed"))
    failed = await animate(fake_discord, user, 8)
    assert (await failed.wait_for_callback())["type"] == DEFER
    await bot.wait_for_job(user, outcome="video_failed")
    # Eight more seconds fit only because the failed clip's eight came back.
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 8), user)


async def test_a_cancelled_clip_gives_its_seconds_back(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=1000))
    rendering = await animate(fake_discord, user, 8)
    assert (await rendering.wait_for_callback())["type"] == DEFER
    original = await rendering.wait_for_edits(1, timeout=15)
    cancel = next(c for c in original.custom_ids() if ":cancel:" in c)
    pressed = await fake_discord.press_button(original, cancel, user_id=user)
    assert (await pressed.wait_for_callback())["type"] == 7
    await bot.wait_for_job(user, outcome="cancelled", timeout=30)
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 8), user)


async def imagine(discord: FakeDiscord, user_id: int, **options: Any) -> FakeInteraction:
    return await discord.send_slash_command(
        "imagine", {"prompt": "a lighthouse", **options}, user_id=user_id
    )


async def test_clips_and_images_count_against_limits_of_their_own(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    images = await imagine(fake_discord, user, n=IMAGES)
    assert (await images.wait_for_callback())["type"] == DEFER
    await bot.wait_for_job(user)
    refused = await private_answer(await imagine(fake_discord, user))
    assert refused.startswith(EN["quota_user"].split("{")[0])
    # At the image quota, a clip is still admitted: it counts seconds, not images.
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 4), user, nth=2)
    quota = await private_answer(
        await fake_discord.send_slash_command("imagine-quota", {}, user_id=user)
    )
    assert EN["quota_user_line"].format(used=IMAGES, left=0, limit=IMAGES) in quota
    video_line = EN["quota_video_line"].format(used=4, left=SECONDS - 4, limit=SECONDS)
    assert video_line in quota, quota
    assert EN["quota_video_guild_unlimited"] in quota


async def admin_video(discord: FakeDiscord, **options: Any) -> str:
    return await private_answer(await as_owner(discord, {"video": {"on": True, **options}}))


async def test_an_admin_sets_the_seconds_under_the_operators_ceiling(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Last in the module: it lowers the server's allowance."""
    refused = await admin_video(fake_discord, member_seconds=SECONDS + 1)
    assert refused == EN["user_video_above_max"].format(max=SECONDS)
    said = await admin_video(fake_discord, member_seconds=3)
    assert said.startswith(EN["set_video_on"]), said
    server = EN["value_default"].format(value=EN["value_none_limit"])
    assert EN["set_video_seconds"].format(member=3, server=server) in said
    user = fresh_user()
    content = await private_answer(await animate(fake_discord, user, 4))
    assert content.startswith(
        EN["video_quota_user"].format(left=3, limit=3, n=4, when="<when>").split("<when>")[0]
    ), content
    fake_api.video_plans.append(VideoPlan(pending=0))
    await delivered(bot, fake_discord, await animate(fake_discord, user, 3), user)
