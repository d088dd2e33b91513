"""Video: the request, the pace of polling, and the clip's checks and re-encoding.

A video is asynchronous at the image service: a submission answers a request id at once,
and the clip is polled until it is done. Polling costs nothing; submitting again bills
again, so the request id is what a job keeps (see ``core.jobs.video``).

The media work (checking that a clip is a playable MP4, re-encoding one smaller) uses PyAV,
whose wheels carry FFmpeg; it is CPU-bound and blocking: callers run it in a thread.
"""

from __future__ import annotations

import io
import logging
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from core.errors import BadResponse
from core.models import ImageFile, InputSource
from core.quota import Meter

log = logging.getLogger(__name__)

VIDEO_MODEL = "grok-imagine-video"
VIDEO_RESOLUTIONS = ("480p", "720p")
MIN_SECONDS = 1
MAX_SECONDS = 15
DEFAULT_SECONDS = 5
#: The first wait between polls, its growth, and the longest.
FIRST_POLL_SECONDS = 2.0
POLL_GROWTH = 1.5
MAX_POLL_SECONDS = 15.0
#: A Retry-After longer than this is not waited for in full (the wait is capped).
MAX_RETRY_AFTER = 60.0

PENDING = "pending"
DONE = "done"
FAILED = "failed"
EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class VideoRequest:
    """One validated video: ``POST /v1/videos/generations``."""

    prompt: str
    model: str = VIDEO_MODEL
    duration: int = DEFAULT_SECONDS
    aspect_ratio: str | None = None
    resolution: str | None = "480p"
    user: str = ""
    #: Where the first frame comes from (image-to-video), or None: what a job keeps.
    image: InputSource | None = None
    #: The first frame as a data URI, once fetched (never kept in a job record): the API
    #: fetches URLs with a short timeout, and attachment URLs expire.
    first_frame: str | None = None
    #: The image service's id of the submitted video, once it is known.
    request_id: str | None = None

    @property
    def n(self) -> int:
        return 1

    @property
    def meter(self) -> Meter:
        """What a clip counts against the daily limits: seconds of video, not images."""
        return Meter.VIDEO_SECONDS

    @property
    def units(self) -> int:
        """How many it counts: its seconds."""
        return self.duration

    @property
    def billed_images(self) -> int:
        """A video is billed by the second: the price table prices the video model per
        second, so the units billed are its seconds."""
        return self.duration

    @property
    def sources(self) -> tuple[InputSource, ...]:
        """The pictures the request reads, as the mod log and the card name them: none
        (the first frame is a URL of its own, ``image_url``)."""
        return ()

    def to_body(self) -> dict[str, Any]:
        """The submission's JSON body."""
        body: dict[str, Any] = {"model": self.model, "prompt": self.prompt}
        body["duration"] = self.duration
        if self.aspect_ratio:
            body["aspect_ratio"] = self.aspect_ratio
        if self.resolution:
            body["resolution"] = self.resolution
        if self.user:
            body["user"] = self.user
        if self.first_frame:
            body["image"] = {"url": self.first_frame}
        return body


@dataclass(frozen=True, slots=True)
class VideoStatus:
    """One poll's answer."""

    status: str
    progress: int = 0
    url: str | None = None
    duration: float | None = None
    cost_usd_ticks: int | None = None
    #: How long the service asked to wait before the next poll.
    retry_after: float | None = None


def parse_status(answer: Any) -> VideoStatus:
    """A poll's JSON answer; ``BadResponse`` when it says nothing usable."""
    if not isinstance(answer, dict):
        raise BadResponse("video status is not an object")
    status = str(answer.get("status") or "").lower()
    video = answer.get("video") if isinstance(answer.get("video"), dict) else {}
    url = video.get("url") if isinstance(video, dict) else None
    if status == DONE or (not status and isinstance(url, str)):
        if not isinstance(url, str) or not url:
            raise BadResponse("video done without a url")
        usage = answer.get("usage")
        ticks = usage.get("cost_in_usd_ticks") if isinstance(usage, dict) else None
        duration = video.get("duration") if isinstance(video, dict) else None
        return VideoStatus(
            DONE,
            100,
            url,
            float(duration) if isinstance(duration, int | float) else None,
            int(ticks) if isinstance(ticks, int) else None,
        )
    if status in (FAILED, EXPIRED):
        return VideoStatus(status)
    if status in (PENDING, "queued", "processing", "in_progress", "running"):
        progress = answer.get("progress")
        value = int(progress) if isinstance(progress, int | float) else 0
        return VideoStatus(PENDING, max(0, min(100, value)))
    raise BadResponse(f"unknown video status {status[:40]!r}")


def poll_delay(polls: int, retry_after: float | None = None) -> float:
    """How long to wait before the next poll, after ``polls`` polls: seconds, growing to
    :data:`MAX_POLL_SECONDS`; the service's ``Retry-After`` wins when it asks for longer."""
    delay = min(MAX_POLL_SECONDS, FIRST_POLL_SECONDS * POLL_GROWTH ** max(0, polls))
    if retry_after is not None and math.isfinite(retry_after) and retry_after > delay:
        return min(retry_after, MAX_RETRY_AFTER)
    return delay


# -- the clip ------------------------------------------------------------------------------


def check_mp4(data: bytes) -> ImageFile:
    """The clip as a file to post, once it is known to be a playable MP4 (a video stream
    whose first frame decodes); ``BadResponse`` otherwise. Blocking: run it in a thread."""
    try:
        with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
            streams = container.streams.video
            if not streams:
                raise BadResponse("the clip has no video stream")
            stream = streams[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            for _frame in container.decode(stream):
                break
            else:
                raise BadResponse("the clip has no frame")
    except BadResponse:
        raise
    except (av.FFmpegError, ValueError, OSError) as error:
        raise BadResponse(f"the clip is not a playable MP4 ({type(error).__name__})") from None
    return ImageFile(data, "video/mp4", "mp4", width, height)


def shrink_clip(clip: ImageFile, max_bytes: int) -> ImageFile | None:
    """The clip re-encoded (H.264, scaled down step by step, bitrate fitted to its length)
    until it fits ``max_bytes``; None when even the smallest try does not, or when the
    clip cannot be re-encoded at all. Blocking."""
    if clip.size <= max_bytes:
        return clip
    try:
        return _shrink(clip.data, max_bytes)
    except (av.FFmpegError, ValueError, OSError) as error:
        log.warning("could not re-encode a clip (%s)", type(error).__name__)
        return None


def _shrink(data: bytes, max_bytes: int) -> ImageFile | None:
    duration = clip_seconds(data) or 1.0
    scale, target = 1.0, float(max_bytes)
    for _attempt in range(4):
        # Aim below the budget: the container and the audio-less stream's overhead.
        bitrate = max(50_000, int(target * 8 * 0.85 / duration))
        encoded = _encode(data, bitrate=bitrate, scale=scale)
        if len(encoded) <= max_bytes:
            return check_mp4(encoded)
        # Too large still: smaller pictures, at a lower aim.
        scale, target = scale * 0.75, target * 0.9
    return None


def clip_seconds(data: bytes) -> float | None:
    """A clip's length in seconds, when its container says."""
    with av.open(io.BytesIO(data), mode="r", format="mp4") as container:
        if container.duration is None:
            return None
        return float(container.duration) / av.time_base


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _encode(data: bytes, *, bitrate: int, scale: float) -> bytes:
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(data), mode="r", format="mp4") as source,
        av.open(out, mode="w", format="mp4") as target,
    ):
        stream_in = source.streams.video[0]
        rate = stream_in.average_rate or Fraction(24)
        stream_out = target.add_stream("libx264", rate=rate)
        stream_out.width = _even(stream_in.codec_context.width * scale)
        stream_out.height = _even(stream_in.codec_context.height * scale)
        stream_out.pix_fmt = "yuv420p"
        stream_out.bit_rate = bitrate
        for frame in source.decode(stream_in):
            scaled = frame.reformat(
                width=stream_out.width, height=stream_out.height, format="yuv420p"
            )
            for packet in stream_out.encode(scaled):
                target.mux(packet)
        for packet in stream_out.encode():
            target.mux(packet)
    return out.getvalue()


def make_clip(
    *, seconds: float = 1.0, width: int = 64, height: int = 48, fps: int = 8, noise: bool = False
) -> bytes:
    """A small playable MP4 (moving colours; with ``noise``, hard to compress): for the
    fake image service, the tests and the bench."""
    from PIL import Image

    out = io.BytesIO()
    rng = random.Random(7)
    with av.open(out, mode="w", format="mp4") as target:
        stream = target.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(max(1, round(seconds * fps))):
            if noise:
                picture = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
            else:
                picture = Image.new("RGB", (width, height), ((index * 16) % 256, 200, 40))
            frame = av.VideoFrame.from_image(picture)
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()
