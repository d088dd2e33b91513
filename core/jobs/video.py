"""Video as a kind of job: a clip from a prompt, or from a picture as its first frame.

A video is submitted once: the image service answers a request id at once, which the
job's journal entry keeps the moment it is known (:meth:`VideoKind.make`). The clip
is then polled, backing off, until it is done, failed or expired, or until
``max_wait_seconds``, while its job holds no slot (the polls of many clips share the
process); a job taken over after a restart that has a request id polls it
again and never submits again (submitting again bills again).

A gateway without the video path (404/405) turns video off for
:data:`UNAVAILABLE_SECONDS`; the job ends as ``video_unavailable``, which charges nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from core import errors
from core.delivery import DeliveryLimits
from core.edit_inputs import PreparedInput
from core.guild_settings import GuildSettings
from core.jobs.edits import InputLoader, edits_not_offered
from core.jobs.kinds import JobContext, JobRequest, ProgressHook
from core.models import GenerationResult, ImageFile, InputSource
from core.options import ASPECT_RATIOS, MAX_PROMPT_LENGTH, clean_prompt
from core.storage import JobRecord
from core.video import (
    DEFAULT_SECONDS,
    DONE,
    EXPIRED,
    FAILED,
    MAX_SECONDS,
    MIN_SECONDS,
    VIDEO_MODEL,
    VIDEO_RESOLUTIONS,
    VideoRequest,
    VideoStatus,
    check_mp4,
    poll_delay,
    shrink_clip,
)
from core.video_fit import fitting_resolution

log = logging.getLogger(__name__)

VIDEO_KIND = "video"
#: The job parameter keeping the image service's id of the submitted video.
REQUEST_ID_PARAM = "request_id"
#: How long video stays off once the gateway said it has none.
UNAVAILABLE_SECONDS = 15 * 60.0
#: The longest wait for a clip, by default (``VIDEO_MAX_WAIT_SECONDS``).
DEFAULT_MAX_WAIT_SECONDS = 10 * 60.0
#: Clips re-encoded at once by one process (each takes a core and about 200 MB at 720p).
MAX_REENCODES = 1
#: Times a done clip is downloaded (each after asking for its link again) before the job
#: gives up: the clip is paid for, and links expire.
DOWNLOAD_ROUNDS = 3
#: Polls that fail in a row (transient errors) before the job gives up.
MAX_POLL_FAILURES = 20


class VideoService(Protocol):
    """The image service's client, as video uses it (``core.client.ImageClient``)."""

    async def submit_video(self, request: VideoRequest) -> str: ...

    async def video_status(self, request_id: str) -> VideoStatus: ...

    async def download_video(self, url: str) -> bytes: ...


class ParamNotes(Protocol):
    """Where a job's request id is journaled (``core.storage.Store``)."""

    async def journal_params(self, job_id: str, params: Mapping[str, Any]) -> bool: ...


def first_frame_source(value: object) -> InputSource | None:
    """The first frame's source an option or a job parameter holds: a source
    (:meth:`~core.models.InputSource.to_param`), or, in records written before sources
    were kept, the picture's URL; None for a clip from a prompt alone."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return InputSource(url=value)
    try:
        return InputSource.from_param(value)
    except ValueError:
        raise errors.InvalidOption("image", "not a picture's source") from None


def check_video_rules(guild_settings: GuildSettings | None) -> None:
    """Raise ``RefusedByServer("video")`` when the server has video off (it is off until
    an admin turns it on). Outside a server nothing refuses."""
    if guild_settings is not None and not guild_settings.video:
        raise errors.RefusedByServer("video")


def _first_frame(value: object) -> str | None:
    """A first frame fetched already (at admission), as the data URI the API gets."""
    if isinstance(value, PreparedInput):
        return value.data_uri
    if isinstance(value, str) and value.startswith("data:image/"):
        return value
    return None


def _int_option(value: object, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise errors.InvalidOption(name, f"{name} out of range")
    return value


class VideoKind:
    """``POST /v1/videos/generations``, then ``GET /v1/videos/{request_id}`` until done."""

    name: str = VIDEO_KIND
    models: tuple[str, ...] = (VIDEO_MODEL,)
    resolutions: tuple[str, ...] = VIDEO_RESOLUTIONS
    max_n: int = 1

    def __init__(
        self,
        client: VideoService,
        notes: ParamNotes,
        *,
        inputs: InputLoader | None = None,
        max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.notes = notes
        #: Fetches the first frame of a clip from a picture.
        self.inputs = inputs
        self.max_wait_seconds = max_wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._unavailable_until = 0.0
        #: Clips re-encoded at once by this process (see :meth:`fit_files`).
        self._encoding = asyncio.Semaphore(MAX_REENCODES)
        #: Polls made, over the process's life (the bench reads it).
        self.polls = 0

    # -- whether video is offered ------------------------------------------------------

    @property
    def offered(self) -> bool:
        """Whether the gateway has not said lately that it has no video."""
        return self._clock() >= self._unavailable_until

    def check_offered(self) -> None:
        """Raise :class:`~core.errors.VideoUnavailable` while video is not offered."""
        if not self.offered:
            raise errors.VideoUnavailable("video is not offered")

    # -- the kind ----------------------------------------------------------------------

    def build(
        self, options: Mapping[str, object], *, user_id: int, guild_settings: GuildSettings | None
    ) -> VideoRequest:
        """The clip the options ask for (``prompt``, ``duration``, ``aspect``,
        ``resolution``, lowered when the server's ``upload_limit`` says it would not fit,
        ``image`` the first frame's source, ``first_frame`` the picture when fetched
        already, ``request_id`` once submitted)."""
        self.check_offered()
        check_video_rules(guild_settings)
        return self._build(options, user_id=user_id)

    def _build(self, options: Mapping[str, object], *, user_id: int) -> VideoRequest:
        text = clean_prompt(options.get("prompt"))
        if not text:
            raise errors.InvalidOption("prompt", "blank prompt")
        if len(text) > MAX_PROMPT_LENGTH:
            raise errors.InvalidOption("prompt", f"prompt of {len(text)} characters")
        duration = _int_option(
            options.get("duration"), "duration", DEFAULT_SECONDS, MIN_SECONDS, MAX_SECONDS
        )
        aspect = options.get("aspect")
        if aspect is not None and (aspect not in ASPECT_RATIOS or aspect == "auto"):
            raise errors.InvalidOption("aspect", "unknown aspect ratio")
        resolution = options.get("resolution") or VIDEO_RESOLUTIONS[0]
        if resolution not in VIDEO_RESOLUTIONS:
            raise errors.InvalidOption("resolution", "unknown resolution")
        # A clip that would come out larger than the server takes is asked for at a lower
        # resolution when that fits: it would be scaled down anyway, and costs less.
        limit = options.get("upload_limit")
        resolution = fitting_resolution(
            str(resolution),
            duration,
            limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
            VIDEO_RESOLUTIONS,
        )
        image = first_frame_source(options.get("image"))
        request_id = options.get("request_id")
        return VideoRequest(
            prompt=text,
            duration=duration,
            aspect_ratio=aspect if isinstance(aspect, str) else None,
            resolution=str(resolution),
            user=str(user_id),
            image=image,
            first_frame=None if image is None else _first_frame(options.get("first_frame")),
            request_id=request_id if isinstance(request_id, str) and request_id else None,
        )

    def params_of(self, request: JobRequest) -> dict[str, Any]:
        """What a job record keeps: the options, the first frame's source (never the
        picture), and the request id once there is one."""
        assert isinstance(request, VideoRequest)
        params: dict[str, Any] = {
            "model": request.model,
            "n": 1,
            "duration": request.duration,
            "aspect_ratio": request.aspect_ratio,
            "resolution": request.resolution,
            "image": None if request.image is None else request.image.to_param(),
        }
        if request.request_id:
            params[REQUEST_ID_PARAM] = request.request_id
        return params

    def options_of(self, record: JobRecord) -> dict[str, object]:
        """A recorded clip's options (for Re-roll: without its request id)."""
        params = record.params
        return {
            "prompt": record.prompt,
            "duration": params.get("duration"),
            "aspect": params.get("aspect_ratio"),
            "resolution": params.get("resolution"),
            "image": params.get("image"),
        }

    def rebuild(self, record: JobRecord) -> VideoRequest:
        """The journaled clip, with its request id when it was submitted (it is polled
        again, never submitted again)."""
        options = self.options_of(record)
        options["request_id"] = record.params.get(REQUEST_ID_PARAM)
        return self._build(options, user_id=record.user_id)

    async def make(self, request: JobRequest, context: JobContext) -> GenerationResult:
        """Submit the clip (unless it has a request id already: then only poll), note the
        request id in the job's journal entry at once, poll until it is done holding no
        slot (the clips of many jobs render at once), then, holding the job's slots
        again, download it and check it is a playable MP4."""
        assert isinstance(request, VideoRequest)
        started = self._clock()
        request_id = request.request_id
        if request_id is None:
            request_id = await self._submit(request)
            if context.job_id is not None:
                await self._note(context.job_id, request_id)
        else:
            log.info(
                "job %s: polling video %s again (not submitting twice)", context.job_id, request_id
            )
        async with context.released():
            done = await self.wait(request_id, context.progress)
        await context.progress("downloading", 100)
        clip = await self._fetch(request_id, done)
        return GenerationResult(
            images=[clip],
            cost_usd_ticks=done.cost_usd_ticks,
            api_seconds=self._clock() - started,
        )

    async def _fetch(self, request_id: str, done: VideoStatus) -> ImageFile:
        """The done clip, downloaded and checked playable. It is paid for: when its link
        fails (gone, cut short, unplayable), the clip is asked for again (a fresh link)
        and fetched again, up to :data:`DOWNLOAD_ROUNDS` times."""
        for round_ in range(1, DOWNLOAD_ROUNDS + 1):
            assert done.url is not None
            try:
                data = await self.client.download_video(done.url)
                return await asyncio.to_thread(check_mp4, data)
            except errors.BadResponse as error:
                if round_ == DOWNLOAD_ROUNDS:
                    raise
                log.info("video %s: %s; asking for its link again", request_id, error.detail)
            await self._sleep(poll_delay(round_ - 1))
            done = await self.wait(request_id)
        raise AssertionError("unreachable")  # pragma: no cover

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        """The first frame's picture, ready for the API (raises ``InvalidInput``)."""
        if self.inputs is None:
            raise errors.InvalidInput("download", detail="no picture fetcher")
        if len(sources) != 1:
            raise errors.InvalidInput("too_many" if sources else "none", index=1)
        return await self.inputs.load(sources)

    def submitted(self, request: JobRequest) -> bool:
        """Whether the clip has its request id: run again, it is polled, never submitted."""
        return isinstance(request, VideoRequest) and request.request_id is not None

    async def _submit(self, request: VideoRequest) -> str:
        self.check_offered()
        if request.image is not None and request.first_frame is None:
            # Fetched only now, just before submitting: a job that was submitted already
            # (it has a request id) is polled and never fetches anything.
            [prepared] = await self.load([request.image])
            request = replace(request, first_frame=prepared.data_uri)
        try:
            return await self.client.submit_video(request)
        except errors.GenerationError as error:
            if not isinstance(error, errors.VideoUnavailable) and not edits_not_offered(error):
                raise
            self._unavailable_until = self._clock() + UNAVAILABLE_SECONDS
            log.warning(
                "the image service has no video endpoints; video is off for %.0f minutes",
                UNAVAILABLE_SECONDS / 60,
            )
            raise errors.VideoUnavailable(error.detail, status=error.status) from None

    async def _note(self, job_id: str, request_id: str) -> None:
        try:
            await self.notes.journal_params(job_id, {REQUEST_ID_PARAM: request_id})
        except Exception:
            # The clip still renders; only a restart now would submit it again.
            log.exception("job %s: could not journal video request %s", job_id, request_id)

    async def wait(self, request_id: str, progress: ProgressHook | None = None) -> VideoStatus:
        """Poll until the clip is done; ``VideoFailed``, ``VideoExpired`` or
        ``VideoTimedOut`` otherwise. A transient error while polling is polled again."""
        deadline = self._clock() + self.max_wait_seconds
        polls = failures = 0
        retry_after: float | None = None
        while True:
            try:
                status = await self.client.video_status(request_id)
            except errors.GenerationError as error:
                if not error.retryable or failures >= MAX_POLL_FAILURES:
                    raise
                failures += 1
                retry_after = error.retry_after
                log.info("video %s: poll failed (%s); polling again", request_id, error.detail)
            else:
                failures = 0
                retry_after = status.retry_after
                if status.status == DONE:
                    return status
                if status.status == FAILED:
                    raise errors.VideoFailed(f"video {request_id} failed")
                if status.status == EXPIRED:
                    raise errors.VideoExpired(f"video {request_id} expired")
                if progress is not None:
                    await progress("rendering", status.progress)
            finally:
                polls += 1
                self.polls += 1
            delay = poll_delay(polls - 1, retry_after)
            if self._clock() + delay > deadline:
                raise errors.VideoTimedOut(
                    f"video {request_id} not done within {self.max_wait_seconds:g}s"
                )
            await self._sleep(delay)

    # -- the files ---------------------------------------------------------------------

    def file_name(self, job_id: str, index: int, file: ImageFile) -> str:
        return f"animate-{job_id}.{file.extension}"

    async def fit_files(
        self, files: list[ImageFile | None], limits: DeliveryLimits
    ) -> list[ImageFile | None]:
        """A clip over the per-file budget, re-encoded smaller off the event loop (never
        through the image re-encoder); None when even that does not fit."""
        budget = limits.file_budget()
        fitted: list[ImageFile | None] = []
        for clip in files:
            if clip is None or clip.size <= budget:
                fitted.append(clip)
                continue
            # One at a time: a 720p re-encode takes a core and about 200 MB while it runs.
            async with self._encoding:
                fitted.append(await asyncio.to_thread(shrink_clip, clip, budget))
        return fitted


def with_request_id(request: VideoRequest, request_id: str) -> VideoRequest:
    """The request, once submitted."""
    return replace(request, request_id=request_id)
