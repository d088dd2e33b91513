"""Video as a kind of job: submitted once, its request id journaled at once, polled
(backing off, through transient errors) until done, failed, expired or too late; a job
taken over after a restart polls the same request id and never submits again. On both
real stores with a fake port."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from core import errors, journal
from core.delivery import DeliveryLimits
from core.guild_changes import set_video
from core.jobs import CancelAnswer, GenerationKind, JobService, Stage
from core.jobs.kinds import Unattended
from core.jobs.video import REQUEST_ID_PARAM, VideoKind
from core.models import ImageFile
from core.storage import Store
from core.video import DONE, EXPIRED, FAILED, PENDING, VideoRequest, VideoStatus, make_clip
from tests.clock import Clock as PacedClock
from tests.core.jobs.fakes import (
    COOLDOWN,
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    eventually,
    origin,
)
from tests.core.store_calls import admit

CLIP = make_clip()


class FakeVideoClient:
    """The video calls of ``core.client.ImageClient``: each poll answers the next status
    of ``script`` (the last repeats); a status may be an error to raise."""

    def __init__(self, *script: VideoStatus | errors.GenerationError) -> None:
        self.script = list(script) or [VideoStatus(DONE, 100, "https://x/clip.mp4")]
        self.submitted: list[VideoRequest] = []
        self.polled: list[str] = []
        self.submit_error: errors.GenerationError | None = None
        self.clip = CLIP

    async def submit_video(self, request: VideoRequest) -> str:
        self.submitted.append(request)
        if self.submit_error is not None:
            raise self.submit_error
        return f"vid-{len(self.submitted)}"

    async def video_status(self, request_id: str) -> VideoStatus:
        self.polled.append(request_id)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, errors.GenerationError):
            raise step
        return step

    async def download_video(self, url: str) -> bytes:
        return self.clip


class Notes:
    def __init__(self) -> None:
        self.noted: list[tuple[str, dict[str, object]]] = []

    async def journal_params(self, job_id: str, params: object) -> bool:
        assert isinstance(params, dict)
        self.noted.append((job_id, params))
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def video_kind(
    client: FakeVideoClient, notes: object, *, max_wait: float = 600.0, clock: Clock | None = None
) -> VideoKind:
    clock = clock or Clock()
    return VideoKind(
        client,
        notes,  # type: ignore[arg-type]
        max_wait_seconds=max_wait,
        clock=clock,
        sleep=clock.sleep,
    )


def pending(progress: int) -> VideoStatus:
    return VideoStatus(PENDING, progress)


DONE_STATUS = VideoStatus(DONE, 100, "https://x/clip.mp4", 1.0, 500)


# -- the kind -------------------------------------------------------------------------------


def test_options_are_checked_and_kept_without_the_request_id_for_a_reroll() -> None:
    kind = video_kind(FakeVideoClient(), Notes())
    request = kind.build(
        {"prompt": " waves ", "duration": 8, "aspect": "16:9", "resolution": "720p"},
        user_id=7,
        guild_settings=None,
    )
    assert (request.prompt, request.duration, request.resolution) == ("waves", 8, "720p")
    assert request.to_body()["duration"] == 8
    assert kind.build({"prompt": "x"}, user_id=7, guild_settings=None).duration == 5
    for bad in ({"duration": 0}, {"duration": 16}, {"resolution": "1k"}, {"aspect": "auto"}):
        with pytest.raises(errors.InvalidOption):
            kind.build({"prompt": "x", **bad}, user_id=7, guild_settings=None)


@pytest.mark.asyncio
async def test_the_request_id_is_noted_at_once_and_the_clip_checked() -> None:
    client, notes, clock = FakeVideoClient(pending(10), pending(60), DONE_STATUS), Notes(), Clock()
    kind = video_kind(client, notes, clock=clock)
    seen: list[tuple[str, int]] = []

    async def progress(stage: str, percent: int) -> None:
        seen.append((stage, percent))

    request = kind.build({"prompt": "waves"}, user_id=7, guild_settings=None)
    result = await kind.make(request, Unattended("job1", progress))
    assert notes.noted == [("job1", {REQUEST_ID_PARAM: "vid-1"})]
    assert client.polled == ["vid-1"] * 3
    # Backing off: seconds, growing.
    assert clock.slept[0] >= 1
    assert clock.slept[1] > clock.slept[0]
    assert seen == [("rendering", 10), ("rendering", 60), ("downloading", 100)]
    [clip] = result.images
    assert (clip.mime_type, clip.extension, result.cost_usd_ticks) == ("video/mp4", "mp4", 500)


@pytest.mark.asyncio
async def test_a_request_with_an_id_polls_and_never_submits() -> None:
    client = FakeVideoClient(DONE_STATUS)
    kind = video_kind(client, Notes())
    request = VideoRequest(prompt="waves", request_id="vid-old")
    await kind.make(request, Unattended("job1"))
    assert client.submitted == []
    assert client.polled == ["vid-old"]


@pytest.mark.asyncio
async def test_transient_poll_errors_do_not_lose_the_clip_and_retry_after_is_honoured() -> None:
    client = FakeVideoClient(
        errors.TransientError("502"),
        errors.RateLimited("429", retry_after=30.0),
        pending(50),
        DONE_STATUS,
    )
    clock = Clock()
    kind = video_kind(client, Notes(), clock=clock)
    await kind.make(kind.build({"prompt": "w"}, user_id=1, guild_settings=None), Unattended())
    assert len(client.submitted) == 1
    assert len(client.polled) == 4
    assert clock.slept[1] == 30.0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "error"),
    [(VideoStatus(FAILED), errors.VideoFailed), (VideoStatus(EXPIRED), errors.VideoExpired)],
)
async def test_failed_and_expired_end_with_their_own_error(
    status: VideoStatus, error: type[errors.GenerationError]
) -> None:
    kind = video_kind(FakeVideoClient(pending(5), status), Notes())
    with pytest.raises(error):
        await kind.make(kind.build({"prompt": "w"}, user_id=1, guild_settings=None), Unattended())


@pytest.mark.asyncio
async def test_a_clip_not_done_in_time_times_out() -> None:
    kind = video_kind(FakeVideoClient(pending(5)), Notes(), max_wait=20.0)
    with pytest.raises(errors.VideoTimedOut):
        await kind.make(kind.build({"prompt": "w"}, user_id=1, guild_settings=None), Unattended())


@pytest.mark.asyncio
async def test_a_gateway_without_video_turns_it_off_for_a_while() -> None:
    client = FakeVideoClient()
    client.submit_error = errors.VideoUnavailable("HTTP 404", status=404)
    clock = Clock()
    kind = video_kind(client, Notes(), clock=clock)
    request = kind.build({"prompt": "w"}, user_id=1, guild_settings=None)
    with pytest.raises(errors.VideoUnavailable):
        await kind.make(request, Unattended())
    with pytest.raises(errors.VideoUnavailable):
        kind.build({"prompt": "w"}, user_id=1, guild_settings=None)
    clock.now += 16 * 60
    assert kind.offered


@pytest.mark.asyncio
async def test_a_clip_over_the_limit_is_re_encoded_as_a_clip() -> None:
    from core.video import check_mp4

    big = await asyncio.to_thread(make_clip, seconds=2, width=320, height=240, noise=True)
    clip = check_mp4(big)
    kind = video_kind(FakeVideoClient(), Notes())
    limits = DeliveryLimits.for_interaction(len(big) // 3)
    [fitted] = await kind.fit_files([clip], limits)
    assert isinstance(fitted, ImageFile)
    assert fitted.size <= limits.file_budget()
    assert check_mp4(fitted.data).mime_type == "video/mp4"


# -- the service ----------------------------------------------------------------------------


def video_service(
    store: Store, client: FakeVideoClient, *, owner: str = "one", ports: FakePorts | None = None
) -> JobService:
    images = GenerationKind(FakeImageClient(), models=MODELS, default_model=MODELS[0])
    return JobService(
        store,
        config=config(),
        owner=owner,
        kinds=[images, video_kind(client, store)],
        ports=ports or FakePorts(),
    )


@pytest.mark.asyncio
async def test_video_is_off_in_a_server_until_an_admin_turns_it_on(store: Store) -> None:
    client = FakeVideoClient()
    service = video_service(store, client)
    with pytest.raises(errors.RefusedByServer) as refused:
        await service.submit(FakePort(), origin(5), {"prompt": "waves"}, kind="video")
    assert refused.value.rule == "video"
    assert client.submitted == []
    assert (await store.usage_today(GUILD, 5)).user_used == 0


async def video_on(store: Store) -> None:
    await store.update_guild_settings(GUILD, partial(set_video, on=True))


@pytest.mark.asyncio
async def test_a_clip_is_delivered_and_its_request_id_journaled(store: Store) -> None:
    await video_on(store)
    client = FakeVideoClient(pending(40), DONE_STATUS)
    service = video_service(store, client)
    port = FakePort()
    await service.submit(port, origin(5), {"prompt": "waves"}, kind="video")
    await eventually(lambda: service.queue.running == 0)
    [file] = port.files
    assert file.name.endswith(".mp4")
    assert file.file.mime_type == "video/mp4"
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.outcome, record.params[REQUEST_ID_PARAM]) == ("delivered", "vid-1")
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_clip_taken_over_polls_the_same_request_id_and_never_submits(
    store: Store,
) -> None:
    admission = await admit(store, 5, "video00001", guild_id=GUILD, user_limit=10, guild_limit=100)
    assert admission.quota is not None
    await store.journal_job(
        "video00001",
        user_id=5,
        guild_id=GUILD,
        channel_id=600,
        prompt="waves",
        params={"kind": "video", "model": "grok-imagine-video", "n": 1, "duration": 5},
        locale="en-US",
        interaction=origin(5).interaction,  # type: ignore[arg-type]
        reservation=admission.quota.reservation,
        cooldown_seconds=COOLDOWN,
        owner="other",
        state=journal.RUNNING,
    )
    # The process that submitted it noted the request id, then died.
    assert await store.journal_params("video00001", {REQUEST_ID_PARAM: "vid-before"})
    await store.hand_back_jobs("other")
    client, ports = FakeVideoClient(pending(70), DONE_STATUS), FakePorts()
    service = video_service(store, client, ports=ports)
    await service.sweep_once()
    await eventually(lambda: "video00001" in ports.built and bool(ports.built["video00001"].files))
    await eventually(lambda: service.queue.running == 0)
    assert client.submitted == []
    assert client.polled == ["vid-before", "vid-before"]
    record = await store.get_job("video00001")
    assert record is not None
    assert record.outcome == "delivered"
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_failed_clip_is_told_and_refunded(store: Store) -> None:
    await video_on(store)
    client = FakeVideoClient(VideoStatus(FAILED))
    service = video_service(store, client)
    port = FakePort()
    await service.submit(port, origin(5), {"prompt": "waves"}, kind="video")
    await eventually(lambda: service.queue.running == 0)
    assert port.files == []
    assert any(isinstance(said, errors.VideoFailed) for said in port.said)
    assert (await store.usage_today(GUILD, 5)).user_used == 0
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_rendering_clip_shows_its_progress_and_can_be_cancelled(store: Store) -> None:
    await video_on(store)
    client = FakeVideoClient(pending(30))
    # A clock whose sleeps give the loop real turns: Cancel is pressed between polls.
    clock = PacedClock()
    kind = VideoKind(client, store, clock=clock, sleep=clock.sleep)
    images = GenerationKind(FakeImageClient(), models=MODELS, default_model=MODELS[0])
    service = JobService(
        store, config=config(), owner="one", kinds=[images, kind], ports=FakePorts()
    )
    port = FakePort()
    task = asyncio.create_task(service.submit(port, origin(5), {"prompt": "waves"}, kind="video"))
    await eventually(lambda: any(s.stage is Stage.RENDERING for s in port.statuses))
    rendering = [s for s in port.statuses if s.stage is Stage.RENDERING]
    assert rendering[0].progress == 30
    # Polls come every few hundredths here; the status is edited far less often.
    await eventually(lambda: len(client.polled) >= 5)
    assert len([s for s in port.statuses if s.stage is Stage.RENDERING]) == 1
    assert service.cancel(port.job_id, 6) is CancelAnswer.NOT_YOURS
    assert service.cancel(port.job_id, 5) is CancelAnswer.CANCELLED
    await task
    await eventually(lambda: service.queue.running == 0)
    record = await store.get_job(port.job_id)
    assert record is not None
    assert record.outcome == "cancelled"
    assert port.files == []
    assert (await store.usage_today(GUILD, 5)).user_used == 0
    await service.drain(1.0)
