"""Video end to end: /animate against the fake Discord and the fake image service's video
endpoints. Video is off in a server until an admin turns it on; a clip is delivered as a
playable MP4; failed and expired clips are told; a gateway without video is told once and
charges nothing."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from cogs.common.catalog import CATALOG
from core.video import check_mp4, make_clip
from tests.e2e.conftest import fresh_user
from tests.e2e.harness import BotProcess
from tests.e2e.steps import (
    DEFER,
    EPHEMERAL,
    MODAL,
    VIDEO_ON,
    as_owner,
    owner_sets,
    private_answer,
    told,
)
from tests.fakes.discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.discord.modals import text_inputs
from tests.fakes.image_api import FakeImageAPI, VideoPlan, make_png

pytestmark = pytest.mark.asyncio(loop_scope="module")

EN = CATALOG["en"]


async def animate(discord: FakeDiscord, user_id: int, **options: Any) -> FakeInteraction:
    return await discord.send_slash_command(
        "animate", {"prompt": "waves on a shore", **options}, user_id=user_id
    )


async def test_the_command_is_registered_within_discords_limits(
    bot: BotProcess, fake_discord: FakeDiscord
) -> None:
    await fake_discord.wait_for_command_sync()
    commands = {c["name"]: c for c in fake_discord.global_commands}
    command = commands["animate"]
    assert 1 <= len(command["description"]) <= 100
    options = {o["name"]: o for o in command["options"]}
    assert list(options) == ["prompt", "image", "duration", "aspect", "resolution"]
    assert (options["duration"]["min_value"], options["duration"]["max_value"]) == (1, 15)
    assert [c["value"] for c in options["resolution"]["choices"]] == ["480p", "720p"]
    for option in options.values():
        assert 1 <= len(option["description"]) <= 100
        assert set(option["description_localizations"]) == {"zh-CN"}


async def test_video_is_off_until_an_admin_turns_it_on(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Also turns video on for the rest of this module's tests."""
    before = len(fake_api.video_submissions)
    content = await private_answer(await animate(fake_discord, fresh_user()))
    assert content == EN["rule_video"]
    assert len(fake_api.video_submissions) == before
    switch = await as_owner(fake_discord, VIDEO_ON)
    assert await private_answer(switch) == EN["set_video_on"]


async def test_a_prompt_becomes_a_playable_clip(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=1))
    before = len(fake_api.video_submissions)
    interaction = await animate(fake_discord, user, duration=3, resolution="720p")
    assert (await interaction.wait_for_callback())["type"] == DEFER
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 30, "the clip posted"
    )
    [clip] = [a for m in interaction.messages for a in m.attachments]
    assert clip.filename.endswith(".mp4")
    assert check_mp4(clip.data).mime_type == "video/mp4"
    [call] = fake_api.video_submissions[before:]
    assert (call.body["duration"], call.body["resolution"]) == (3, "720p")
    await bot.wait_for_job(user)


@pytest.mark.parametrize(
    ("final", "key"), [("failed", "video_failed"), ("expired", "video_expired")]
)
async def test_failed_and_expired_clips_are_told(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, final: str, key: str
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0, final=final))
    await told(fake_discord, await animate(fake_discord, user), EN[key])
    await bot.wait_for_job(user, outcome=f"video_{final}")


async def test_progress_is_shown_throttled_and_cancel_stops_a_rendering_clip(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=1000))
    before = len(fake_api.video_polls)
    interaction = await animate(fake_discord, user)
    assert (await interaction.wait_for_callback())["type"] == DEFER
    original = await interaction.wait_for_edits(1, timeout=15)
    assert original.content.startswith(EN["video_rendering"].split("…")[0])
    # Polls come every 2 to 4.5 seconds here; the status is edited at most every 5.
    await fake_discord.wait_for(
        lambda: len(fake_api.video_polls) >= before + 4, 20, "four polls of the clip"
    )
    polls, edits = len(fake_api.video_polls) - before, original.edits
    assert 1 <= edits < polls
    cancel = next(c for c in original.custom_ids() if ":cancel:" in c)
    pressed = await fake_discord.press_button(original, cancel, user_id=user)
    assert (await pressed.wait_for_callback())["type"] == 7
    await bot.wait_for_job(user, outcome="cancelled", timeout=30)


async def test_a_clip_over_the_upload_limit_is_re_encoded_and_delivered(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    big = await asyncio.to_thread(make_clip, seconds=2, width=320, height=240, noise=True)
    limit = len(big) // 3
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0, clip=big))
    interaction = await fake_discord.send_slash_command(
        "animate", {"prompt": "static"}, user_id=user, attachment_size_limit=limit
    )
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 60, "the clip posted"
    )
    [clip] = [a for m in interaction.messages for a in m.attachments]
    assert clip.size <= limit
    assert check_mp4(clip.data).mime_type == "video/mp4"
    await bot.wait_for_job(user)


@pytest.mark.parametrize(("limit", "asked"), [(8_000_000, "480p"), (25_000_000, "720p")])
async def test_a_clip_is_asked_for_at_a_resolution_that_fits_the_server(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI, limit: int, asked: str
) -> None:
    """15 s at 720p would not fit 8 MB (it would be scaled down after paying for it): the
    clip is asked for at 480p; a boosted server's 25 MB takes 720p as asked."""
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0))
    before = len(fake_api.video_submissions)
    interaction = await fake_discord.send_slash_command(
        "animate",
        {"prompt": "a long pan", "duration": 15, "resolution": "720p"},
        user_id=user,
        attachment_size_limit=limit,
    )
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 60, "the clip posted"
    )
    [call] = fake_api.video_submissions[before:]
    assert (call.body["duration"], call.body["resolution"]) == (15, asked)
    await bot.wait_for_job(user)


async def test_a_done_clip_whose_link_is_gone_is_asked_for_again_and_delivered(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """The clip is paid for: a link that fails is asked for again, and the clip posted."""
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0, broken_links=2))
    before = len(fake_api.video_submissions)
    interaction = await animate(fake_discord, user)
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 60, "the clip posted"
    )
    assert len(fake_api.video_submissions) == before + 1
    await bot.wait_for_job(user)


async def test_a_clip_that_cannot_be_downloaded_is_told_and_costs_no_cooldown(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    fake_api.video_plans.append(VideoPlan(pending=0, broken_links=99))
    await told(fake_discord, await animate(fake_discord, user, duration=15), EN["bad_response"])
    await bot.wait_for_job(user, outcome="bad_response")
    # No cooldown was used: the member may ask again at once.
    fake_api.video_plans.append(VideoPlan(pending=0))
    again = await animate(fake_discord, user, duration=15)
    assert (await again.wait_for_callback())["type"] == DEFER
    await bot.wait_for_job(user)


def first_frame_of(body: dict[str, Any]) -> bytes:
    """The picture a video submission sent as its first frame, from its data URI."""
    header, _, payload = body["image"]["url"].partition(",")
    assert header.startswith("data:image/"), header
    assert header.endswith(";base64"), header
    return base64.b64decode(payload, validate=True)


async def test_a_picture_becomes_the_first_frame_sent_as_a_data_uri(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    picture = make_png(48, 32)
    fake_api.video_plans.append(VideoPlan(pending=0))
    before = len(fake_api.video_submissions)
    interaction = await animate(fake_discord, user, image=("shore.png", picture))
    assert (await interaction.wait_for_callback())["type"] == DEFER
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 30, "the clip posted"
    )
    [call] = fake_api.video_submissions[before:]
    # Never the attachment's (expiring) CDN URL: the picture itself.
    assert first_frame_of(call.body) == picture
    await bot.wait_for_job(user)


async def clip_posted(discord: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The message carrying the clip of a job that must succeed (after its progress)."""
    callback = await interaction.wait_for_callback()
    assert callback["type"] == DEFER, callback
    await discord.wait_for(
        lambda: any(m.attachments for m in interaction.messages), 60, "the clip posted"
    )
    return next(m for m in interaction.messages if m.attachments)


async def test_a_clips_re_roll_makes_it_again_from_the_same_picture_and_delete_removes_it(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Re-roll submits a new clip with the same options, the first frame fetched again
    and sent as the picture itself; Delete removes the clip's message, not the new one."""
    user = fresh_user()
    picture = make_png(40, 30)
    fake_api.video_plans.extend([VideoPlan(pending=0), VideoPlan(pending=0)])
    before = len(fake_api.video_submissions)
    first = await animate(
        fake_discord, user, image=("cove.png", picture), duration=2, aspect="16:9"
    )
    result = await clip_posted(fake_discord, first)
    assert [a.filename.endswith(".mp4") for a in result.attachments] == [True]
    await bot.wait_for_job(user)
    reroll_id = next(c for c in result.custom_ids() if c.startswith("imagine:reroll:"))
    delete_id = next(c for c in result.custom_ids() if c.startswith("imagine:delete:"))
    # The requester is on their cooldown: a member re-rolls it (a new job of theirs).
    await owner_sets(fake_discord, {"reroll-open": {"on": True}})
    try:
        pressed = await fake_discord.press_button(result, reroll_id, user_id=fresh_user())
        again = await clip_posted(fake_discord, pressed)
    finally:
        await owner_sets(fake_discord, {"reroll-open": {"on": False}})
    assert check_mp4(again.attachments[0].data).mime_type == "video/mp4"
    original, rerolled = fake_api.video_submissions[before:]
    for key in ("prompt", "duration", "aspect_ratio", "resolution"):
        assert rerolled.body[key] == original.body[key], key
    assert first_frame_of(rerolled.body) == first_frame_of(original.body) == picture
    pressed = await fake_discord.press_button(result, delete_id, user_id=user)
    assert (await pressed.wait_for_callback())["data"]["flags"] & EPHEMERAL
    await fake_discord.wait_for(lambda: result.deleted, 10, "the clip deleted")
    assert not again.deleted


async def test_an_unusable_picture_is_refused_privately_before_anything(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    before = len(fake_api.requests)
    interaction = await animate(fake_discord, fresh_user(), image=("notes.png", b"not a picture"))
    assert await private_answer(interaction) == EN["input_not_image"].format(index=1)
    assert len(fake_api.requests) == before


async def test_the_animate_button_makes_a_clip_of_the_chosen_image(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    made_by = fresh_user()
    asked = await fake_discord.send_slash_command(
        "imagine", {"prompt": "two boats", "n": 2}, user_id=made_by
    )
    assert (await asked.wait_for_callback())["type"] == DEFER
    [made, *_] = await asked.wait_for_messages(1)
    assert len(made.attachments) == 2
    [animate_id] = [c for c in made.custom_ids() if c.startswith("imagine:animate:")]
    assert len(animate_id) <= 100
    await bot.wait_for_job(made_by)

    animator = fresh_user()
    opened = await fake_discord.press_button(made, animate_id, user_id=animator)
    assert (await opened.wait_for_callback())["type"] == MODAL
    assert opened.modal is not None
    assert opened.modal["title"] == EN["modal_animate_title"]
    motion, which, seconds = (c["custom_id"] for c in text_inputs(opened.modal))
    fake_api.video_plans.append(VideoPlan(pending=1))
    before = len(fake_api.video_submissions)
    submitted = await fake_discord.submit_modal(
        opened, {motion: "the boats drift apart", which: "2", seconds: "3"}
    )
    assert (await submitted.wait_for_callback())["type"] == DEFER
    await fake_discord.wait_for(
        lambda: any(m.attachments for m in submitted.messages), 30, "the clip posted"
    )
    [clip] = [a for m in submitted.messages for a in m.attachments]
    assert check_mp4(clip.data).mime_type == "video/mp4"
    [call] = fake_api.video_submissions[before:]
    assert (call.body["prompt"], call.body["duration"]) == ("the boats drift apart", 3)
    assert first_frame_of(call.body) == made.attachments[1].data
    # A clip is neither animated again nor edited.
    [result] = [m for m in submitted.messages if m.attachments]
    assert not [
        c for c in result.custom_ids() if c.startswith(("imagine:animate:", "imagine:edit:"))
    ]
    await bot.wait_for_job(animator)


async def test_a_wrong_length_in_the_animate_modal_is_answered_privately(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    user = fresh_user()
    asked = await fake_discord.send_slash_command("imagine", {"prompt": "a kite"}, user_id=user)
    [made, *_] = await asked.wait_for_messages(1)
    await bot.wait_for_job(user)
    animate_id = next(c for c in made.custom_ids() if c.startswith("imagine:animate:"))
    opened = await fake_discord.press_button(made, animate_id, user_id=user)
    assert (await opened.wait_for_callback())["type"] == MODAL
    assert opened.modal is not None
    # One image: no question which.
    motion, seconds = (c["custom_id"] for c in text_inputs(opened.modal))
    before = len(fake_api.video_submissions)
    submitted = await fake_discord.submit_modal(opened, {motion: "it flies", seconds: "40"})
    assert await private_answer(submitted) == EN["modal_animate_seconds_bad"].format(
        first=1, last=15
    )
    assert len(fake_api.video_submissions) == before


async def test_a_gateway_without_video_is_told_once_and_charges_nothing(
    bot: BotProcess, fake_discord: FakeDiscord, fake_api: FakeImageAPI
) -> None:
    """Last: video stays off for a while afterwards."""
    fake_api.videos_enabled = False
    user = fresh_user()
    try:
        await told(fake_discord, await animate(fake_discord, user), EN["video_unavailable"])
        await bot.wait_for_job(user, outcome="video_unavailable")
        # The command says so at once for a while, without asking the gateway again.
        before = len(fake_api.requests)
        content = await private_answer(await animate(fake_discord, fresh_user()))
        assert content == EN["video_unavailable"]
        assert len(fake_api.requests) == before
    finally:
        fake_api.videos_enabled = True
