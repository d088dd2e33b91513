"""A clip's seconds on the job service: reserved against the video counters (never the
images'), kept when the clip is delivered, given back in full when it fails or is cancelled. On
both real stores with a fake port."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from core import errors
from core.jobs import CancelAnswer, GenerationKind, JobService
from core.jobs.video import VideoKind
from core.quota import Meter
from core.storage import Store
from core.video import FAILED, VideoStatus
from tests.clock import Clock as PacedClock
from tests.core.jobs.fakes import (
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    eventually,
)
from tests.core.jobs.fakes import origin as origin_of
from tests.core.jobs.test_video import (
    DONE_STATUS,
    FakeVideoClient,
    pending,
    video_kind,
    video_on,
)

#: A member's daily seconds of video in these tests.
SECONDS = 10


def service_with_allowance(
    store: Store, client: FakeVideoClient, kind: VideoKind | None = None
) -> JobService:
    base = config()
    limits = replace(base.limits, user_video_seconds=SECONDS, guild_video_seconds=0)
    images = GenerationKind(FakeImageClient(), models=MODELS, default_model=MODELS[0])
    return JobService(
        store,
        config=replace(base, limits=limits),
        owner="one",
        kinds=[images, kind or video_kind(client, store)],
        ports=FakePorts(),
    )


async def seconds_used(store: Store, user_id: int) -> int:
    return (await store.usage_today(GUILD, user_id, Meter.VIDEO_SECONDS)).user_used


async def clip(service: JobService, user_id: int, seconds: int) -> FakePort:
    port = FakePort()
    options = {"prompt": "waves", "duration": seconds}
    await service.submit(port, origin_of(user_id), options, kind="video")
    await eventually(lambda: service.queue.running == 0)
    return port


@pytest.mark.asyncio
async def test_a_delivered_clip_keeps_its_seconds_and_the_next_is_refused(store: Store) -> None:
    await video_on(store)
    service = service_with_allowance(store, FakeVideoClient(DONE_STATUS))
    port = await clip(service, 5, 6)
    assert port.files
    assert await seconds_used(store, 5) == 6
    assert (await store.usage_today(GUILD, 5)).user_used == 0  # no image counted
    with pytest.raises(errors.DailyLimitReached) as refused:
        await service.submit(
            FakePort(), origin_of(6), {"prompt": "w", "duration": 11}, kind="video"
        )
    assert (refused.value.video, refused.value.left, refused.value.needed) == (True, 10, 11)
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_failed_clip_gives_all_its_seconds_back(store: Store) -> None:
    await video_on(store)
    service = service_with_allowance(store, FakeVideoClient(VideoStatus(FAILED)))
    port = await clip(service, 5, 8)
    assert port.files == []
    assert await seconds_used(store, 5) == 0
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_cancelled_clip_gives_all_its_seconds_back(store: Store) -> None:
    await video_on(store)
    client = FakeVideoClient(pending(30))
    # A clock whose sleeps give the loop real turns: Cancel is pressed between polls.
    clock = PacedClock()
    kind = VideoKind(client, store, clock=clock, sleep=clock.sleep)
    service = service_with_allowance(store, client, kind)
    port = FakePort()
    options = {"prompt": "waves", "duration": 7}
    task = asyncio.create_task(service.submit(port, origin_of(5), options, kind="video"))
    await eventually(lambda: len(client.polled) >= 2)
    assert await seconds_used(store, 5) == 7
    assert service.cancel(port.job_id, 5) is CancelAnswer.CANCELLED
    await task
    await eventually(lambda: service.queue.running == 0)
    assert await seconds_used(store, 5) == 0
    await service.drain(1.0)
