"""The video bench's helpers: its virtual clock, the fake that renders by it, and the
arithmetic of how many clips a share of a core can poll."""

from __future__ import annotations

import math

import aiohttp
import pytest

from bench.fakes import RenderingFakeImageAPI
from bench.video import VirtualClock, clips_per_core_share
from core.client import ImageClient
from core.video import DONE, PENDING, VideoRequest


def test_a_poll_of_a_millisecond_every_15_s_fits_1500_clips_in_a_tenth_of_a_core() -> None:
    assert clips_per_core_share(0.001, 0.10) == 1500
    assert clips_per_core_share(0.001, 0.10, interval=30.0) == 3000


def test_no_cost_measured_means_no_capacity_claimed() -> None:
    assert clips_per_core_share(0.0, 0.10) == 0
    assert clips_per_core_share(math.nan, 0.10) == 0


@pytest.mark.asyncio
async def test_the_virtual_clock_moves_only_when_slept_on() -> None:
    clock = VirtualClock(start=5.0)
    assert clock() == 5.0
    await clock.sleep(2.5)
    await clock.sleep(-1.0)
    assert clock() == 7.5


@pytest.mark.asyncio
async def test_a_video_renders_for_its_seconds_on_the_given_clock() -> None:
    clock = VirtualClock()
    async with RenderingFakeImageAPI(clock) as api, aiohttp.ClientSession() as session:
        client = ImageClient(session, base_url=api.base_url, api_key=api.api_key)
        api.render_seconds = 30.0
        request_id = await client.submit_video(VideoRequest(prompt="waves"))
        statuses = []
        for _ in range(3):
            statuses.append((await client.video_status(request_id)).status)
            await clock.sleep(14.0)
        statuses.append((await client.video_status(request_id)).status)
    assert statuses == [PENDING, PENDING, PENDING, DONE]
