"""The result buttons' custom ids, the Animate button's place under a result, and the
Animate form's length field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cogs.common.catalog import text
from cogs.imagine.edit_views import clip_seconds, which_image
from cogs.imagine.port import DiscordPort, all_pictures
from cogs.imagine.views import JOB_BUTTON_TEMPLATE, job_button_id, result_view
from core.jobs import OutgoingFile
from core.models import ImageFile

JOB = "0123456789abcdef0123456789abcdef"


def parse_job_button_id(custom_id: str) -> tuple[str, str] | None:
    """The action and job id a job button's custom id carries, as its template reads it."""
    match = re.fullmatch(JOB_BUTTON_TEMPLATE, custom_id)
    return None if match is None else (match["action"], match["job"])


@pytest.mark.parametrize("action", ["reroll", "delete", "cancel", "animate"])
def test_a_job_buttons_id_round_trips_within_discords_limit(action: str) -> None:
    custom_id = job_button_id(action, JOB)
    assert custom_id == f"imagine:{action}:{JOB}"
    assert len(custom_id) <= 100
    assert parse_job_button_id(custom_id) == (action, JOB)


@pytest.mark.parametrize(
    "custom_id",
    [
        f"imagine:edit:{JOB}",  # the Edit button's own
        f"imagine:animate:{JOB.upper()}",
        f"imagine:animate:{JOB}0",
        "imagine:animate:abc",
        f"imagine:animate:{JOB}:2",
        f"other:animate:{JOB}",
    ],
)
def test_other_ids_are_not_job_buttons(custom_id: str) -> None:
    assert parse_job_button_id(custom_id) is None


def buttons(view: Any) -> list[tuple[str, str]]:
    return [
        (button["custom_id"], button["label"])
        for row in view.to_components()
        for button in row["components"]
    ]


@pytest.mark.asyncio
async def test_animate_is_under_a_result_only_when_offered() -> None:
    plain = [custom_id for custom_id, _ in buttons(result_view(JOB, "en-US"))]
    assert plain == [f"imagine:reroll:{JOB}", f"imagine:delete:{JOB}", f"imagine:edit:{JOB}"]
    *_, animate = buttons(result_view(JOB, "zh-CN", animate=True))
    assert animate == (f"imagine:animate:{JOB}", text("button_animate", "zh-CN"))
    clip = [custom_id for custom_id, _ in buttons(result_view(JOB, "en-US", edit=False))]
    assert clip == [f"imagine:reroll:{JOB}", f"imagine:delete:{JOB}"]


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [("", 5), (" ", 5), ("3", 3), (" 15s ", 15), ("1", 1), ("0", None), ("16", None)],
)
def test_the_clip_length_a_member_types(typed: str, seconds: int | None) -> None:
    assert clip_seconds(typed) == seconds


@pytest.mark.parametrize("typed", ["-1", "2.5", "five", "1e1"])
def test_lengths_that_name_no_whole_seconds(typed: str) -> None:
    assert clip_seconds(typed) is None


def test_which_image_is_shared_by_edit_and_animate() -> None:
    assert which_image("#2", 2) == 2
    assert which_image("3", 2) is None


PICTURE = OutgoingFile(ImageFile(b"\xff\xd8\xff", "image/jpeg", "jpg", 1, 1), "a.jpg")
CLIP = OutgoingFile(ImageFile(b"mp4", "video/mp4", "mp4", 1, 1), "a.mp4")


def port(offer: Any) -> DiscordPort:
    client: Any = object()
    modlog: Any = object()
    return DiscordPort(
        client,
        None,
        user_id=7,
        guild_id=42,
        channel_id=1,
        locale="en-US",
        filesize_limit=1,
        modlog=modlog,
        offers_animate=offer,
    )


@pytest.mark.asyncio
async def test_the_port_offers_animate_where_video_is_on() -> None:
    asked: list[int | None] = []

    async def on(guild_id: int | None) -> bool:
        asked.append(guild_id)
        return True

    async def off(guild_id: int | None) -> bool:
        return False

    async def broken(guild_id: int | None) -> bool:
        raise RuntimeError("store down")

    assert await port(on)._animate()
    assert asked == [42]
    assert not await port(off)._animate()
    assert not await port(broken)._animate()
    assert not await port(None)._animate()


def test_edit_and_animate_are_for_pictures_not_clips() -> None:
    assert all_pictures([PICTURE, PICTURE])
    assert not all_pictures([CLIP])
    assert not all_pictures([PICTURE, CLIP])
    assert not all_pictures([])
