"""A local fake of the Grok image API, faithful to the contract the bot is written against.

It validates requests as the contract says (key, content type, fields), answers with real
JPEGs of the contract's pixel sizes and realistic byte sizes, serves URL answers itself,
and can be scripted to misbehave: error answers, delays, dropped connections, truncated
bodies, withheld or garbage images, and hostile answers (far too many items, URLs that
point into the bot's own network or redirect there, animated images).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import functools
import io
import itertools
import json
import os
import random
import time
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from multidict import CIMultiDict
from PIL import Image

from core.video import make_clip

DEFAULT_API_KEY = "test-grok-key"
DEFAULT_MODELS = (
    "grok-imagine-image",
    "grok-imagine-image-pro",
    "grok-imagine-image-quality",
    "grok-imagine-image-2.0",
)
GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
#: The API's limit per input picture of an edit.
MAX_EDIT_INPUT_BYTES = 10 * 1024 * 1024
FILES_PATH = "/files/"
MODELS_PATH = "/v1/models"
VIDEOS_PATH = "/v1/videos/generations"
VIDEO_PATH = "/v1/videos/"
VIDEO_MODEL = "grok-imagine-video"
VIDEO_RESOLUTIONS = ("480p", "720p")
ASPECT_RATIOS = (
    "1:1",
    "16:9",
    "9:16",
    "4:3",
    "3:4",
    "3:2",
    "2:3",
    "2:1",
    "1:2",
    "19.5:9",
    "9:19.5",
    "20:9",
    "9:20",
    "auto",
)
RESOLUTIONS = ("1k", "2k")
RESPONSE_FORMATS = ("url", "b64_json")
UNSUPPORTED_FIELDS = ("size", "style")
MAX_IMAGES = 10
#: What xAI bills per image, in ticks of 1e-10 USD ($0.02).
COST_TICKS_PER_IMAGE = 200_000_000
#: Pixel sizes at 1k. 1:1, 16:9 and 9:16 are the published ones; the others follow the
#: same class (long side at most 1408, about a megapixel). 2k doubles each side.
PIXEL_SIZES_1K: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "16:9": (1408, 768),
    "9:16": (768, 1408),
    "4:3": (1152, 864),
    "3:4": (864, 1152),
    "3:2": (1248, 832),
    "2:3": (832, 1248),
    "2:1": (1408, 704),
    "1:2": (704, 1408),
    "19.5:9": (1408, 648),
    "9:19.5": (648, 1408),
    "20:9": (1408, 632),
    "9:20": (632, 1408),
    "auto": (1024, 1024),
}
#: Distinct images per pixel size; requests cycle through them.
VARIANTS = 3
#: Noise share that makes a JPEG at quality 90 as large as real answers: about 2.2 MB at
#: 2048x2048 and 0.55 MB at 1024x1024.
DEFAULT_NOISE = 0.3
#: URL-mode files kept for download; older ones expire like real temporary URLs.
MAX_FILES = 256

B64Style = Literal["bare", "data_uri", "urlsafe", "wrapped"]

_STATUS_TEXT = {
    400: "Client specified an invalid argument",
    401: "Unauthenticated",
    403: "Permission denied",
    404: "Some requested entity was not found",
    405: "Method not allowed",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def pixel_size(aspect_ratio: str | None, resolution: str | None) -> tuple[int, int]:
    """The (width, height) the fake answers with for these options."""
    width, height = PIXEL_SIZES_1K.get(aspect_ratio or "1:1", (1024, 1024))
    if resolution == "2k":
        return width * 2, height * 2
    return width, height


def _canvas(width: int, height: int, noise: float, variant: int) -> Image.Image:
    # A coloured gradient (so variants look different) plus seeded uniform noise (so JPEG
    # sizes are realistic, as for detailed real pictures).
    gradients = [
        Image.linear_gradient("L"),
        Image.radial_gradient("L"),
        Image.linear_gradient("L").rotate(90),
    ]
    shift = variant % 3
    channels = [g.resize((width, height)) for g in gradients[shift:] + gradients[:shift]]
    base = Image.merge("RGB", channels)
    if noise <= 0:
        return base
    rng = random.Random(f"{width}x{height}/{variant}")
    grain = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    return Image.blend(base, grain, min(1.0, noise))


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@functools.lru_cache(maxsize=32)
def _jpeg(width: int, height: int, quality: int, noise: float, variant: int) -> bytes:
    return _encode(_canvas(width, height, noise, variant), "JPEG", quality=quality)


@functools.lru_cache(maxsize=16)
def _jpeg_near(width: int, height: int, quality: int, target: int, variant: int) -> bytes:
    # Bisect the noise share: JPEG size grows steadily with it.
    low, high = 0.0, 1.0
    best = _encode(_canvas(width, height, high, variant), "JPEG", quality=quality)
    if len(best) < target:
        return best
    for _ in range(10):
        middle = (low + high) / 2
        data = _encode(_canvas(width, height, middle, variant), "JPEG", quality=quality)
        if abs(len(data) - target) < abs(len(best) - target):
            best = data
        if abs(len(data) - target) <= target * 0.02:
            break
        if len(data) < target:
            low = middle
        else:
            high = middle
    return best


def make_jpeg(
    width: int,
    height: int,
    *,
    target_bytes: int | None = None,
    quality: int = 90,
    variant: int = 0,
    noise: float = DEFAULT_NOISE,
) -> bytes:
    """A real JPEG of this size; about ``target_bytes`` long when given (cached)."""
    if target_bytes is not None:
        return _jpeg_near(width, height, quality, target_bytes, variant)
    return _jpeg(width, height, quality, noise, variant)


@functools.lru_cache(maxsize=16)
def make_png(width: int, height: int, *, variant: int = 0, noise: float = 0.05) -> bytes:
    """A real PNG of this size (cached)."""
    return _encode(_canvas(width, height, noise, variant), "PNG")


@functools.lru_cache(maxsize=16)
def make_webp(width: int, height: int, *, variant: int = 0, noise: float = 0.05) -> bytes:
    """A real WebP of this size (cached)."""
    return _encode(_canvas(width, height, noise, variant), "WEBP", quality=80)


def make_animated_png(
    width: int, height: int, frames: int = 3, *, corrupt_frame: int | None = None
) -> bytes:
    """A real animated PNG (APNG) of ``frames`` frames; with ``corrupt_frame``, that
    frame's compressed data is damaged (its checksum made to match, so that only a full
    decode of that frame notices)."""
    images = [_canvas(width, height, 0.05, variant) for variant in range(frames)]
    data = bytearray(_encode(images[0], "PNG", save_all=True, append_images=images[1:]))
    if corrupt_frame is not None:
        _damage_chunk(data, b"fdAT" if corrupt_frame else b"IDAT", max(0, corrupt_frame - 1))
    return bytes(data)


def _damage_chunk(data: bytearray, kind: bytes, nth: int) -> None:
    position = 8
    seen = 0
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        if data[position + 4 : position + 8] == kind:
            if seen == nth:
                body = position + 8
                # Past the sequence number of an fdAT chunk and the zlib header.
                start = body + (4 if kind == b"fdAT" else 0) + 2
                data[start : start + 16] = bytes(16)
                crc = zlib.crc32(bytes(data[position + 4 : body + length]))
                data[body + length : body + length + 4] = crc.to_bytes(4, "big")
                return
            seen += 1
        position += 12 + length
    raise ValueError(f"no {kind!r} chunk number {nth}")


def tag_jpeg(data: bytes, text: str) -> bytes:
    """``data`` with a JPEG comment segment, so each answered image is distinct bytes."""
    comment = text.encode("utf-8")[:60000]
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    position = 2
    # Keep the JFIF APP0 segment first, as the JFIF spec asks.
    if data[2:4] == b"\xff\xe0":
        position = 4 + int.from_bytes(data[4:6], "big")
    return data[:position] + segment + data[position:]


def encode_b64(data: bytes, style: B64Style, mime_type: str = "image/jpeg") -> str:
    """``data`` as base64 in one of the shapes the API (or a gateway) may use."""
    text = base64.b64encode(data).decode("ascii")
    if style == "data_uri":
        return f"data:{mime_type};base64,{text}"
    if style == "urlsafe":
        return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    if style == "wrapped":
        return "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    return text


@dataclass
class RecordedCall:
    """One request the fake received (downloads of files are kept apart)."""

    method: str
    path: str
    headers: Mapping[str, str]
    #: The parsed JSON body, or None when it was not JSON.
    body: Any
    raw: bytes
    #: ``time.monotonic()`` when the request arrived.
    time: float
    #: The status answered; 0 when the connection was dropped, None while in flight.
    status: int | None = None


@dataclass
class Scripted:
    """How to answer one call instead of the normal behaviour.

    With ``json``, ``text`` or ``body`` given, or a status other than 200, the answer is
    sent as is, without validating the request. Otherwise the request is validated and
    answered normally, with the overrides below applied.
    """

    status: int = 200
    json: Any = None
    text: str | None = None
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    delay: float = 0.0
    #: Close the connection without answering.
    drop_connection: bool = False
    #: Announce the full Content-Length, send half the body, then close.
    truncate: bool = False
    #: Indices of images withheld by moderation.
    withheld: Collection[int] = ()
    b64_style: B64Style | None = None
    image_size: tuple[int, int] | None = None
    #: Answer with bytes that are not an image.
    garbage_images: bool = False
    #: Answer in this format whatever the request asked.
    response_format: str | None = None
    #: Number of items to answer with, whatever ``n`` asked.
    count: int | None = None
    #: URL mode: build URLs on this base instead of the fake's own (e.g. another host).
    url_base: str | None = None
    #: URL mode: indices whose URL answers 404.
    broken_urls: Collection[int] = ()
    #: Extra top-level fields merged into a normal answer (e.g. ``block_reason``).
    extra: Mapping[str, Any] | None = None
    #: Hostile: this many bare ``0`` entries appended to ``data``.
    junk_items: int = 0
    #: URL mode: answer with these URLs, one item each, wherever they point.
    urls: Sequence[str] | None = None
    #: URL mode: the files of this answer answer 302 to this URL.
    redirect_to: str | None = None
    #: Answer with these image bytes (e.g. animated ones), one item each, instead of
    #: generated JPEGs.
    images: Sequence[bytes] | None = None

    @property
    def raw(self) -> bool:
        """Whether this answer is sent verbatim rather than generated."""
        return (
            self.json is not None
            or self.text is not None
            or self.body is not None
            or self.status != 200
        )


@dataclass
class VideoPlan:
    """How one submitted video renders: ``pending`` polls answer 202 with growing
    progress, then the poll answers ``final`` (``done``, ``failed`` or ``expired``);
    ``delay`` holds each poll's answer back; ``clip`` is the MP4 served (a small one made
    with PyAV by default); ``retry_after`` goes on pending answers; the first
    ``broken_links`` ``done`` answers give a link that is gone already (404)."""

    pending: int = 2
    final: str = "done"
    delay: float = 0.0
    clip: bytes | None = None
    retry_after: float | None = None
    cost_usd_ticks: int = 2_500_000_000
    broken_links: int = 0


@dataclass
class _Video:
    request_id: str
    body: Any
    plan: VideoPlan
    polls: int = 0
    links: int = 0


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeImageAPI:
    """An aiohttp server on 127.0.0.1 (random port) that behaves like the image API."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        models: Sequence[str] = DEFAULT_MODELS,
        latency: float = 0.0,
        b64_style: B64Style = "bare",
        jpeg_quality: int = 90,
    ) -> None:
        self.api_key = api_key
        self.models = tuple(models)
        self.latency = latency
        self.b64_style: B64Style = b64_style
        self.jpeg_quality = jpeg_quality
        self.requests: list[RecordedCall] = []
        #: Generation calls being answered now, and the most ever at once.
        self.in_flight = 0
        self.max_in_flight = 0
        #: Paths of file downloads, in order.
        self.downloads: list[str] = []
        #: Whether ``/v1/images/edits`` exists; False plays a gateway without edits (404).
        self.edits_enabled = True
        self._queue: collections.deque[Scripted] = collections.deque()
        self._withheld: frozenset[int] = frozenset()
        self._files: collections.OrderedDict[str, bytes] = collections.OrderedDict()
        self._redirects: dict[str, str] = {}
        self._file_ids = itertools.count(1)
        self._calls = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        #: Serve ``GET /v1/models`` (off: it answers 404, as on gateways without it).
        self.serves_models = True
        #: Whether the video paths exist; False plays a gateway without video (404).
        self.videos_enabled = True
        #: How the next submitted videos render (then :attr:`video_plan`).
        self.video_plans: collections.deque[VideoPlan] = collections.deque()
        self.video_plan = VideoPlan()
        self.videos: dict[str, _Video] = {}
        self._video_ids = itertools.count(1)

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        # Three 10 MiB inputs of an edit, as base64, come to about 40 MiB.
        app = web.Application(client_max_size=48 * 1024 * 1024)
        app.router.add_route("*", GENERATIONS_PATH, self._generations)
        app.router.add_route("*", EDITS_PATH, self._edits)
        app.router.add_get(FILES_PATH + "{file_id}", self._file)
        app.router.add_get(MODELS_PATH, self._models)
        app.router.add_post(VIDEOS_PATH, self._submit_video)
        app.router.add_get(VIDEO_PATH + "{request_id}", self._poll_video)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Stop listening and drop open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeImageAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; the client posts to ``{base_url}/v1/images/generations``."""
        if self._port is None:
            raise RuntimeError("the fake image API is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        """The port the fake listens on."""
        if self._port is None:
            raise RuntimeError("the fake image API is not started")
        return self._port

    # -- scripting --------------------------------------------------------------------

    def script(self, *responses: Scripted) -> None:
        """Answer the next calls with these, in order; then back to normal."""
        self._queue.extend(responses)

    def set_withheld(self, indices: Collection[int]) -> None:
        """Withhold these image indices in every normal answer from now on."""
        self._withheld = frozenset(indices)

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        return len(self._queue)

    @property
    def generation_calls(self) -> list[RecordedCall]:
        """Recorded POSTs to the generations endpoint."""
        return [c for c in self.requests if c.path == GENERATIONS_PATH and c.method == "POST"]

    @property
    def edit_calls(self) -> list[RecordedCall]:
        """Recorded POSTs to the edits endpoint (those answered 404 included)."""
        return [c for c in self.requests if c.path == EDITS_PATH and c.method == "POST"]

    @property
    def video_submissions(self) -> list[RecordedCall]:
        """Recorded POSTs to the video endpoint (those answered 404 included)."""
        return [c for c in self.requests if c.path == VIDEOS_PATH and c.method == "POST"]

    @property
    def video_polls(self) -> list[RecordedCall]:
        """Recorded polls of videos."""
        return [c for c in self.requests if c.path.startswith(VIDEO_PATH) and c.path != VIDEOS_PATH]

    # -- video ------------------------------------------------------------------------

    def _record(self, request: web.Request, raw: bytes) -> RecordedCall:
        """Keep a call the fake received."""
        call = RecordedCall(
            method=request.method,
            path=request.path,
            headers=CIMultiDict(request.headers),
            body=_json_or_none(raw),
            raw=raw,
            time=time.monotonic(),
        )
        self.requests.append(call)
        return call

    async def _submit_video(self, request: web.Request) -> web.StreamResponse:
        if not self.videos_enabled:
            return await self._not_found(request)
        call = self._record(request, await request.read())
        refusal = self._validate(request, call.body, video=True)
        if refusal is None and isinstance(call.body, dict) and "image" in call.body:
            refusal = _validate_first_frame(call.body["image"])
        if refusal is not None:
            call.status = refusal.status
            return web.Response(
                status=refusal.status, body=refusal.body, content_type=refusal.content_type
            )
        plan = self.video_plans.popleft() if self.video_plans else self.video_plan
        request_id = f"video-{next(self._video_ids):04d}"
        self.videos[request_id] = _Video(request_id, call.body, plan)
        call.status = 200
        return web.json_response({"request_id": request_id})

    async def _poll_video(self, request: web.Request) -> web.StreamResponse:
        if not self.videos_enabled:
            return await self._not_found(request)
        call = self._record(request, b"")
        video = self.videos.get(request.match_info["request_id"])
        if video is None:
            call.status = 404
            return web.json_response({"error": "request not found"}, status=404)
        plan = video.plan
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        video.polls += 1
        if video.polls <= plan.pending:
            call.status = 202
            progress = int(100 * (video.polls - 1) / max(1, plan.pending))
            headers = {} if plan.retry_after is None else {"Retry-After": f"{plan.retry_after:g}"}
            return web.json_response(
                {"status": "pending", "progress": progress}, status=202, headers=headers
            )
        call.status = 200
        if plan.final != "done":
            return web.json_response({"status": plan.final})
        clip = plan.clip
        if clip is None:
            clip = await asyncio.to_thread(_small_clip)
        file_id = f"{next(self._file_ids):06d}-video.mp4"
        video.links += 1
        if video.links > plan.broken_links:
            self._files[file_id] = clip
        duration = video.body.get("duration", 5) if isinstance(video.body, dict) else 5
        return web.json_response(
            {
                "status": "done",
                "video": {"url": f"{self.base_url}{FILES_PATH}{file_id}", "duration": duration},
                "usage": {"cost_in_usd_ticks": plan.cost_usd_ticks},
            }
        )

    # -- handlers ---------------------------------------------------------------------

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer_generation(request)
        finally:
            self.in_flight -= 1

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        if not self.edits_enabled:
            return await self._not_found(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer_generation(request, edit=True)
        finally:
            self.in_flight -= 1

    async def _answer_generation(
        self, request: web.Request, *, edit: bool = False
    ) -> web.StreamResponse:
        call = self._record(request, await request.read())
        scripted = self._queue.popleft() if self._queue else None
        delay = self.latency + (scripted.delay if scripted else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if scripted is not None and scripted.drop_connection:
            call.status = 0
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=500)

        if scripted is not None and scripted.raw:
            answer = _scripted_answer(scripted)
        elif request.method != "POST":
            answer = _error(405, f"Method {request.method} not allowed")
        else:
            refusal = self._validate(request, call.body)
            if refusal is None and edit:
                refusal = _validate_edit(call.body)
            if refusal is not None:
                answer = refusal
            else:
                # Making, encoding and serialising ten 2k images takes a while: keep the
                # loop (shared with other fakes in end-to-end tests) responsive.
                answer = await asyncio.to_thread(
                    self._generate, call.body, scripted or Scripted(), next(self._calls)
                )
        call.status = answer.status
        if scripted is not None and scripted.truncate:
            return await _send_truncated(request, answer)
        return web.Response(
            status=answer.status,
            body=answer.body,
            content_type=answer.content_type,
            headers=answer.headers,
        )

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.downloads.append(request.path)
        location = self._redirects.get(request.match_info["file_id"])
        if location is not None:
            return web.Response(status=302, headers={"Location": location})
        data = self._files.get(request.match_info["file_id"])
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type=_sniff(data))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/models``: the models, behind the same key check as generating."""
        if not self.serves_models:
            return await self._not_found(request)
        authorization = request.headers.get("Authorization", "")
        if authorization != f"Bearer {self.api_key}":
            answer = _error(401, "Incorrect API key provided")
            return web.Response(status=401, body=answer.body, content_type=answer.content_type)
        data = [{"id": model, "object": "model", "owned_by": "xai"} for model in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.requests.append(
            RecordedCall(
                method=request.method,
                path=request.path,
                headers=CIMultiDict(request.headers),
                body=_json_or_none(raw),
                raw=raw,
                time=time.monotonic(),
                status=404,
            )
        )
        answer = _error(404, f"Path {request.path} not found")
        return web.Response(status=404, body=answer.body, content_type=answer.content_type)

    # -- the contract -----------------------------------------------------------------

    def _validate(self, request: web.Request, body: Any, *, video: bool = False) -> _Answer | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return _error(401, "Missing bearer authentication in header")
        given = authorization[len("Bearer ") :]
        if given != self.api_key:
            return _error(
                401,
                f"Incorrect API key provided: {_mask(given)}. "
                "You can obtain an API key from the console.",
            )
        if request.content_type != "application/json":
            return _error(415, "Expected request with `Content-Type: application/json`")
        if not isinstance(body, dict):
            return _error(400, "Failed to deserialize the JSON body into the target type")
        for name in UNSUPPORTED_FIELDS:
            if name in body:
                return _error(400, f"Argument not supported: {name}")

        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return _error(422, "Failed to deserialize the JSON body: field `prompt` is required")
        if not prompt.strip():
            return _error(400, "Prompt must not be empty")
        model = body.get("model")
        if not isinstance(model, str):
            return _error(422, "Failed to deserialize the JSON body: field `model` is required")
        if model not in ((VIDEO_MODEL,) if video else self.models):
            return _error(
                404,
                f"The model {model} does not exist or your team does not have access to it.",
            )
        n = body.get("n", 1)
        if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
            return _error(422, "Failed to deserialize the JSON body: `n` must be an integer")
        if n is not None and not 1 <= n <= MAX_IMAGES:
            return _error(400, f"n must be between 1 and {MAX_IMAGES}")
        for name, allowed in (
            ("aspect_ratio", ASPECT_RATIOS),
            ("resolution", VIDEO_RESOLUTIONS if video else RESOLUTIONS),
            ("response_format", RESPONSE_FORMATS),
        ):
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                return _error(422, f"Failed to deserialize the JSON body: `{name}` is a string")
            if value not in allowed:
                return _error(400, f"Invalid {name} {value!r}; expected one of {list(allowed)}")
        duration = body.get("duration", 5)
        if video and (not isinstance(duration, int) or not 1 <= duration <= 15):
            return _error(400, "duration must be between 1 and 15 seconds")
        user = body.get("user")
        if user is not None and not isinstance(user, str):
            return _error(422, "Failed to deserialize the JSON body: `user` is a string")
        return None

    def _generate(self, body: dict[str, Any], scripted: Scripted, call_number: int) -> _Answer:
        n = body.get("n") or 1
        count = scripted.count if scripted.count is not None else n
        if scripted.images is not None:
            count = len(scripted.images)
        if scripted.urls is not None:
            count = len(scripted.urls)
        response_format = scripted.response_format or body.get("response_format") or "url"
        style = scripted.b64_style or self.b64_style
        withheld = set(scripted.withheld or self._withheld)
        width, height = scripted.image_size or pixel_size(
            body.get("aspect_ratio"), body.get("resolution")
        )
        items: list[dict[str, Any]] = []
        for index in range(count):
            item: dict[str, Any] = {
                "mime_type": "image/jpeg",
                "revised_prompt": "",
                "respect_moderation": index not in withheld,
            }
            key = "url" if response_format == "url" else "b64_json"
            if index in withheld:
                item[key] = ""
                items.append(item)
                continue
            if scripted.urls is not None:
                item["url"] = scripted.urls[index]
                items.append(item)
                continue
            if scripted.images is not None:
                data = scripted.images[index]
            elif scripted.garbage_images:
                data = os.urandom(4096)
            else:
                data = tag_jpeg(
                    make_jpeg(width, height, quality=self.jpeg_quality, variant=index % VARIANTS),
                    f"fake-image call={call_number} index={index}",
                )
            if key == "url":
                item["url"] = self._store(data, scripted, index)
            else:
                item["b64_json"] = encode_b64(data, style)
            items.append(item)
        document: dict[str, Any] = {
            "created": int(time.time()),
            "data": items + [0] * scripted.junk_items,
            "usage": {"cost_in_usd_ticks": COST_TICKS_PER_IMAGE * count},
        }
        if scripted.extra:
            document.update(scripted.extra)
        return _Answer(200, json.dumps(document).encode("ascii"), "application/json")

    def _store(self, data: bytes, scripted: Scripted, index: int) -> str:
        file_id = f"{next(self._file_ids):06d}-{index}.jpg"
        if scripted.redirect_to is not None:
            self._redirects[file_id] = scripted.redirect_to
        elif index not in scripted.broken_urls:
            self._files[file_id] = data
            while len(self._files) > MAX_FILES:
                self._files.popitem(last=False)
        base = (scripted.url_base or self.base_url).rstrip("/")
        return f"{base}{FILES_PATH}{file_id}"


def _validate_edit(body: dict[str, Any]) -> _Answer | None:
    """The edit's inputs as the API documents them: one ``image`` or two or three
    ``images``, each ``{"url": ...}`` with an https URL or an image data URI."""
    if ("image" in body) == ("images" in body):
        return _error(400, "Exactly one of `image` or `images` must be given")
    pictures = [body["image"]] if "image" in body else body["images"]
    if not isinstance(pictures, list) or not 1 <= len(pictures) <= 3:
        return _error(400, "`images` takes 2 or 3 inputs")
    if "images" in body and len(pictures) < 2:
        return _error(400, "`images` takes 2 or 3 inputs; give one input as `image`")
    for picture in pictures:
        if not isinstance(picture, dict) or not isinstance(picture.get("url"), str):
            return _error(422, "Failed to deserialize the JSON body: an input needs `url`")
        if picture.get("type", "image_url") != "image_url":
            return _error(422, "Failed to deserialize the JSON body: input `type`")
        problem = _input_problem(picture["url"])
        if problem:
            return _error(400, problem)
    return None


def _validate_first_frame(picture: Any) -> _Answer | None:
    """A video's first frame as the API documents it: ``{"url": ...}`` (an object, not a
    string) with an https URL or an image data URI."""
    if not isinstance(picture, dict) or not isinstance(picture.get("url"), str):
        return _error(422, "Failed to deserialize the JSON body: `image` needs `url`")
    problem = _input_problem(picture["url"])
    return _error(400, problem) if problem else None


def _input_problem(url: str) -> str:
    """Why an input URL would be refused ('' when it is fine)."""
    if url.startswith("https://"):
        return ""
    if not url.startswith("data:"):
        return "Input image URL must be https or a data URI"
    header, _, payload = url.partition(",")
    if header not in ("data:image/jpeg;base64", "data:image/png;base64", "data:image/webp;base64"):
        return f"Unsupported input image type {header[5:]!r}"
    try:
        data = base64.b64decode(payload, validate=True)
    except ValueError:
        return "Input image is not valid base64"
    if len(data) > MAX_EDIT_INPUT_BYTES:
        return "Input image exceeds 10 MiB"
    if _sniff(data) != header[5:].split(";")[0]:
        return "Input image does not match its type"
    return ""


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _mask(key: str) -> str:
    # xAI echoes a wrong key masked, never in full.
    if len(key) < 8:
        return "***"
    return f"{key[:2]}***{key[-2:]}"


def _error(status: int, message: str) -> _Answer:
    document = {"code": _STATUS_TEXT.get(status, "Error"), "error": message}
    return _Answer(status, json.dumps(document).encode("utf-8"), "application/json")


def _scripted_answer(scripted: Scripted) -> _Answer:
    headers = dict(scripted.headers or {})
    content_type = next(
        (headers.pop(k) for k in list(headers) if k.lower() == "content-type"), None
    )
    if scripted.json is not None:
        body = json.dumps(scripted.json).encode("utf-8")
        content_type = content_type or "application/json"
    elif scripted.text is not None:
        body = scripted.text.encode("utf-8")
        content_type = content_type or "text/plain"
    elif scripted.body is not None:
        body = scripted.body
        content_type = content_type or "application/octet-stream"
    else:
        answer = _error(scripted.status, f"scripted {scripted.status}")
        body, content_type = answer.body, content_type or answer.content_type
    return _Answer(scripted.status, body, content_type, headers)


async def _send_truncated(request: web.Request, answer: _Answer) -> web.StreamResponse:
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_type = answer.content_type
    response.content_length = len(answer.body)
    await response.prepare(request)
    await response.write(answer.body[: len(answer.body) // 2])
    transport = request.transport
    if transport is not None:
        transport.close()
    return response


@functools.cache
def _small_clip() -> bytes:
    """A small playable MP4, made once with PyAV."""
    return make_clip(seconds=1.0, width=64, height=48)


def _sniff(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"
