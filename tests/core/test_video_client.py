"""The client's video calls against the fake image service: submission, polls with
progress and Retry-After, done with a playable clip, failed, expired, and a gateway
without video; and the pure parts of core.video."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from core import errors
from core.client import ImageClient
from core.edit_inputs import prepare_input
from core.jobs.kinds import Unattended
from core.jobs.video import VideoKind
from core.video import (
    DONE,
    MAX_POLL_SECONDS,
    PENDING,
    VideoRequest,
    check_mp4,
    parse_status,
    poll_delay,
)
from tests.fakes.image_api import FakeImageAPI, VideoPlan, make_png


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as server:
        yield server


@pytest_asyncio.fixture
async def client(api: FakeImageAPI) -> AsyncIterator[ImageClient]:
    async with aiohttp.ClientSession() as session:
        yield ImageClient(session, base_url=api.base_url, api_key=api.api_key, rng=random.Random(0))


class NoNotes:
    async def journal_params(self, job_id: str, params: object) -> bool:
        return True


async def no_sleep(seconds: float) -> None:
    return None


@pytest.mark.asyncio
async def test_a_submitted_video_is_polled_until_done_and_its_clip_plays(
    api: FakeImageAPI, client: ImageClient
) -> None:
    api.video_plan = VideoPlan(pending=2, retry_after=1.0)
    request_id = await client.submit_video(
        VideoRequest(prompt="waves", duration=3, resolution="720p", user="7")
    )
    [call] = api.video_submissions
    assert call.body == {
        "model": "grok-imagine-video",
        "prompt": "waves",
        "duration": 3,
        "resolution": "720p",
        "user": "7",
    }
    first = await client.video_status(request_id)
    assert (first.status, first.progress, first.retry_after) == (PENDING, 0, 1.0)
    second = await client.video_status(request_id)
    assert (second.status, second.progress) == (PENDING, 50)
    done = await client.video_status(request_id)
    assert done.status == DONE
    assert done.url is not None
    clip = check_mp4(await client.download_video(done.url))
    assert clip.mime_type == "video/mp4"


@pytest.mark.asyncio
async def test_the_kind_delivers_a_clip_through_the_real_client(
    api: FakeImageAPI, client: ImageClient
) -> None:
    frame = prepare_input(make_png(8, 8))
    kind = VideoKind(client, NoNotes(), sleep=no_sleep)
    request = kind.build(
        {"prompt": "waves", "image": {"url": "https://cdn.example/a.png"}, "first_frame": frame},
        user_id=1,
        guild_settings=None,
    )
    result = await kind.make(request, Unattended("job"))
    assert result.images[0].extension == "mp4"
    assert api.video_submissions[0].body["image"] == {"url": frame.data_uri}
    assert len(api.video_polls) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "image",
    [
        "data:image/png;base64,AA==",
        {"url": "http://plain.example/a.png"},
        {"url": "data:image/png;base64,not base64!"},
        {"uri": "https://cdn.example/a.png"},
    ],
)
async def test_the_fake_refuses_a_first_frame_the_api_would_refuse(
    api: FakeImageAPI, client: ImageClient, image: object
) -> None:
    async with aiohttp.ClientSession() as session:
        body = {"model": "grok-imagine-video", "prompt": "waves", "image": image}
        headers = {"Authorization": f"Bearer {api.api_key}"}
        async with session.post(
            f"{api.base_url}/v1/videos/generations", json=body, headers=headers
        ) as resp:
            assert resp.status in (400, 422)
    assert api.videos == {}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("final", "error"), [("failed", errors.VideoFailed), ("expired", errors.VideoExpired)]
)
async def test_failed_and_expired_are_told(
    api: FakeImageAPI, client: ImageClient, final: str, error: type[Exception]
) -> None:
    api.video_plan = VideoPlan(pending=1, final=final)
    kind = VideoKind(client, NoNotes(), sleep=no_sleep)
    with pytest.raises(error):
        await kind.make(kind.build({"prompt": "w"}, user_id=1, guild_settings=None), Unattended())


@pytest.mark.asyncio
async def test_a_gateway_without_video_is_told_in_one_error(
    api: FakeImageAPI, client: ImageClient
) -> None:
    api.videos_enabled = False
    kind = VideoKind(client, NoNotes(), sleep=no_sleep)
    request = kind.build({"prompt": "w"}, user_id=1, guild_settings=None)
    with pytest.raises(errors.VideoUnavailable):
        await kind.make(request, Unattended())
    assert not kind.offered
    assert len(api.video_submissions) == 1


@pytest.mark.asyncio
async def test_an_unknown_request_id_is_an_error_not_a_clip(client: ImageClient) -> None:
    with pytest.raises(errors.GenerationError):
        await client.video_status("nope")


def test_polls_back_off_from_seconds_and_honour_retry_after() -> None:
    delays = [poll_delay(n) for n in range(10)]
    assert 1 <= delays[0] < delays[1] < delays[2]
    assert max(delays) == MAX_POLL_SECONDS
    assert poll_delay(0, retry_after=30.0) == 30.0
    assert poll_delay(5, retry_after=0.5) == poll_delay(5)


def test_odd_status_answers_are_bad_responses() -> None:
    for answer in ([], {"status": "done"}, {"status": "weird"}):
        with pytest.raises(errors.BadResponse):
            parse_status(answer)
    assert parse_status({"status": "pending", "progress": 150}).progress == 100


def test_bytes_that_are_not_an_mp4_are_refused() -> None:
    with pytest.raises(errors.BadResponse):
        check_mp4(b"\x00\x00\x00\x18ftypmp42" + b"x" * 100)


def test_a_clip_is_priced_by_the_second() -> None:
    from core.spend import price_table, usd_to_ticks

    prices = price_table({})
    request = VideoRequest(prompt="w", duration=10, resolution="720p")
    estimate = prices.estimate(request.model, request.resolution, request.billed_images)
    assert estimate == usd_to_ticks("0.70")
