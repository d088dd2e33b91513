"""A clip holds a slot only while it submits and downloads, not while it renders: the
polls of many clips share the process, other jobs run meanwhile, the clip waits in line
again to download, a stop keeps it for the next process, and the job deadline does not cut
a long render short. On both real stores (the API slots live in the store) with a fake
port."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import partial

import pytest

from core import errors, journal
from core.guild_changes import set_video
from core.jobs import CancelAnswer, GenerationKind, JobService, Stage
from core.jobs import service as service_module
from core.jobs.video import REQUEST_ID_PARAM, VideoKind
from core.storage import Store
from core.video import DONE, PENDING, VideoStatus, make_clip
from tests.core.jobs.fakes import (
    GUILD,
    MODELS,
    FakeImageClient,
    FakePort,
    FakePorts,
    config,
    eventually,
    options,
    origin,
)
from tests.core.store_calls import admit

CLIP = make_clip()


class RenderingClient:
    """The video calls of ``core.client.ImageClient``: every clip renders until the test
    says it is done (``finish``), each poll answered at once."""

    def __init__(self) -> None:
        self.submitted: list[str] = []
        self.polled: list[str] = []
        self.done: set[str] = set()
        self.downloads = 0

    async def submit_video(self, request: object) -> str:
        request_id = f"vid-{len(self.submitted) + 1}"
        self.submitted.append(request_id)
        return request_id

    async def video_status(self, request_id: str) -> VideoStatus:
        self.polled.append(request_id)
        if request_id in self.done:
            return VideoStatus(DONE, 100, f"https://x/{request_id}.mp4", 1.0, 500)
        return VideoStatus(PENDING, 40)

    def finish(self, *request_ids: str) -> None:
        self.done.update(request_ids)

    async def download_video(self, url: str) -> bytes:
        self.downloads += 1
        return CLIP


class Clock:
    """The kind's clock, moved on by its sleeps (or the real one's, with ``real``); each
    sleep lets the loop run a hundredth of a second."""

    def __init__(self, *, real: bool = False) -> None:
        self.real = real
        self.now = 0.0

    def __call__(self) -> float:
        return time.monotonic() if self.real else self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0.01)


def services(
    store: Store,
    client: RenderingClient,
    *,
    max_running: int = 1,
    owner: str = "one",
    ports: FakePorts | None = None,
    max_wait: float = 600.0,
    real_time: bool = False,
) -> tuple[JobService, FakeImageClient]:
    images = FakeImageClient()
    clock = Clock(real=real_time)
    video = VideoKind(
        client,
        store,
        max_wait_seconds=max_wait,
        clock=clock,
        sleep=clock.sleep,
    )
    service = JobService(
        store,
        config=config(max_running=max_running),
        owner=owner,
        kinds=[GenerationKind(images, models=MODELS, default_model=MODELS[0]), video],
        ports=ports or FakePorts(),
    )
    return service, images


async def video_on(store: Store) -> None:
    await store.update_guild_settings(GUILD, partial(set_video, on=True))


def animate(service: JobService, port: FakePort, user_id: int) -> asyncio.Task[None]:
    return asyncio.create_task(
        service.submit(port, origin(user_id), {"prompt": "waves"}, kind="video")
    )


@pytest.mark.asyncio
async def test_clips_render_together_and_images_run_meanwhile_with_one_slot(
    store: Store,
) -> None:
    await video_on(store)
    client = RenderingClient()
    service, images = services(store, client, max_running=1)
    first, second = FakePort(), FakePort()
    jobs = [animate(service, first, 5), animate(service, second, 6)]
    # Both submitted, and both polled, with one slot: neither holds it while rendering.
    await eventually(lambda: len(client.submitted) == 2)
    await eventually(lambda: {"vid-1", "vid-2"} <= set(client.polled))
    assert service.queue.running == 0
    assert not service.slots.held
    # An image job runs and is delivered while both clips still render.
    picture = FakePort()
    await service.submit(picture, origin(7), options())
    assert len(picture.files) == 1
    assert first.files == second.files == []
    client.finish("vid-1", "vid-2")
    await asyncio.gather(*jobs)
    assert [len(port.files) for port in (first, second)] == [1, 1]
    assert service.queue.peak_running == 1
    for port in (first, second):
        record = await store.get_job(port.job_id)
        assert record is not None
        assert record.outcome == "delivered"
    assert images.calls  # the image job called the API while the clips rendered
    await service.drain(1.0)


@dataclass
class Waiting:
    """A clip done rendering, waiting in line to download behind an image job that holds
    the only slot (its API call hangs until ``images.gate`` is set)."""

    service: JobService
    client: RenderingClient
    images: FakeImageClient
    clip: FakePort
    job: asyncio.Task[None]
    image_job: asyncio.Task[None]


async def waiting_to_download(store: Store) -> Waiting:
    await video_on(store)
    client = RenderingClient()
    service, images = services(store, client, max_running=1)
    clip = FakePort()
    job = animate(service, clip, 5)
    await eventually(lambda: bool(client.polled))
    images.gate = asyncio.Event()
    image_job = asyncio.create_task(service.submit(FakePort(), origin(7), options()))
    await images.started.wait()
    client.finish("vid-1")
    # Its place is shown (with Cancel).
    await eventually(lambda: any(s.stage is Stage.WAITING for s in clip.statuses))
    return Waiting(service, client, images, clip, job, image_job)


@pytest.mark.asyncio
async def test_a_rendered_clip_waits_in_line_for_its_slot_to_download(store: Store) -> None:
    waiting = await waiting_to_download(store)
    assert waiting.client.downloads == 0
    record = await store.get_job(waiting.clip.job_id)
    assert record is not None
    assert record.state == journal.RUNNING  # the image service has the job: it may be billed
    assert waiting.images.gate is not None
    waiting.images.gate.set()
    await asyncio.gather(waiting.job, waiting.image_job)
    assert waiting.client.downloads == 1
    assert len(waiting.clip.files) == 1
    assert waiting.service.queue.peak_running == 1
    await waiting.service.drain(1.0)


@pytest.mark.asyncio
async def test_a_clip_waiting_to_download_can_be_cancelled(store: Store) -> None:
    waiting = await waiting_to_download(store)
    service, job_id = waiting.service, waiting.clip.job_id
    assert service.cancel(job_id, 6) is CancelAnswer.NOT_YOURS
    assert service.cancel(job_id, 5) is CancelAnswer.CANCELLED
    await waiting.job
    record = await store.get_job(job_id)
    assert record is not None
    assert record.outcome == "cancelled"
    assert waiting.client.downloads == 0
    assert waiting.images.gate is not None
    waiting.images.gate.set()
    await waiting.image_job
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_render_longer_than_the_job_deadline_is_bounded_by_the_video_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job deadline counts only while the job holds or waits for its slots.
    monkeypatch.setattr(service_module, "JOB_DEADLINE_SECONDS", 0.3)
    await video_on(store)
    client = RenderingClient()
    service, _ = services(store, client, real_time=True)
    port = FakePort()
    job = animate(service, port, 5)
    await eventually(lambda: bool(client.polled))
    await asyncio.sleep(0.6)
    client.finish("vid-1")
    await job
    assert len(port.files) == 1
    assert port.said == []
    # The video's own limit still ends a render that takes too long.
    slow = FakePort()
    await video_on(store)
    service_slow, _ = services(store, RenderingClient(), max_wait=30.0, owner="two")
    await service_slow.submit(slow, origin(8), {"prompt": "waves"}, kind="video")
    assert any(isinstance(said, errors.VideoTimedOut) for said in slow.said)
    await service.drain(1.0)
    await service_slow.drain(1.0)


@pytest.mark.asyncio
async def test_a_stop_keeps_a_rendering_clip_for_the_next_process(store: Store) -> None:
    await video_on(store)
    client = RenderingClient()
    service, _ = services(store, client)
    port = FakePort()
    job = animate(service, port, 5)
    await eventually(lambda: bool(client.polled))
    loop = asyncio.get_running_loop()
    started = loop.time()
    # It holds no slot, so the grace period is not waited out for it: it stops at once.
    await service.drain(30.0)
    assert loop.time() - started < 5.0
    assert job.done()
    assert port.statuses[-1].stage is Stage.SUSPENDED
    record = await store.get_job(port.job_id)
    assert record is not None
    assert (record.outcome, record.state) == (None, journal.RUNNING)
    assert record.params[REQUEST_ID_PARAM] == "vid-1"
    await store.hand_back_jobs("one")
    # The next process polls the same request id, and never submits again.
    ports = FakePorts()
    client.finish("vid-1")
    after, _ = services(store, client, owner="two", ports=ports)
    await after.sweep_once()
    await eventually(lambda: port.job_id in ports.built and bool(ports.built[port.job_id].files))
    assert client.submitted == ["vid-1"]
    await after.drain(1.0)


async def journal_dead_clip(store: Store, job_id: str, *, request_id: str | None) -> None:
    """A clip asked for 20 minutes ago (its token is dead), handed back by its process:
    submitted (``running``, its request id kept) or still waiting (``queued``)."""
    reservation = None
    if request_id is not None:
        admission = await admit(store, 5, job_id, guild_id=GUILD, user_limit=10, guild_limit=100)
        assert admission.quota is not None
        reservation = admission.quota.reservation
    await store.journal_job(
        job_id,
        user_id=5,
        guild_id=GUILD,
        channel_id=600,
        prompt="waves",
        params={"kind": "video", "model": "grok-imagine-video", "n": 1, "duration": 5},
        locale="en-US",
        interaction=origin(5, token_left=-5 * 60.0).interaction,  # type: ignore[arg-type]
        reservation=reservation,
        cooldown_seconds=30.0,
        owner="other",
        state=journal.QUEUED if request_id is None else journal.RUNNING,
    )
    if request_id is not None:
        assert await store.journal_params(job_id, {REQUEST_ID_PARAM: request_id})
    await store.hand_back_jobs("other")


@pytest.mark.asyncio
async def test_a_submitted_clip_whose_token_died_is_taken_over_all_the_same(
    store: Store,
) -> None:
    # Its token is dead, but the image service has the clip.
    await journal_dead_clip(store, "video00002", request_id="vid-paid")
    client, ports = RenderingClient(), FakePorts()
    client.finish("vid-paid")
    service, _ = services(store, client, ports=ports)
    await service.sweep_once()
    await eventually(lambda: "video00002" in ports.built and bool(ports.built["video00002"].files))
    await eventually(lambda: service.queue.running == 0)
    assert client.submitted == []
    assert client.polled == ["vid-paid"]
    record = await store.get_job("video00002")
    assert record is not None
    assert record.outcome == "delivered"
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_clip_taken_over_is_polled_at_once_while_the_slot_is_busy(store: Store) -> None:
    """The image service has the clip: it is asked for at once, not after the picture
    that holds the only slot; it waits in line only to download."""
    await journal_dead_clip(store, "video00004", request_id="vid-busy")
    client, ports = RenderingClient(), FakePorts()
    service, images = services(store, client, ports=ports)
    images.gate = asyncio.Event()
    picture = FakePort()
    running = asyncio.create_task(service.submit(picture, origin(7), options()))
    await images.started.wait()
    await service.sweep_once()
    await eventually(lambda: "vid-busy" in client.polled)
    assert picture.files == []
    client.finish("vid-busy")
    images.gate.set()
    await running
    await eventually(lambda: "video00004" in ports.built and bool(ports.built["video00004"].files))
    assert client.submitted == []
    await service.drain(1.0)


@pytest.mark.asyncio
async def test_a_clip_never_submitted_whose_token_died_is_closed_as_before(store: Store) -> None:
    await journal_dead_clip(store, "video00003", request_id=None)
    client, ports = RenderingClient(), FakePorts()
    service, _ = services(store, client, ports=ports)
    await service.sweep_once()
    await eventually(lambda: "video00003" in ports.built and bool(ports.built["video00003"].said))
    assert client.submitted == client.polled == []
    record = await store.get_job("video00003")
    assert record is not None
    assert record.outcome == "interrupted"
    await service.drain(1.0)
