"""Figures 8 and 9: the bot's work per clip of video.

Figure 8, polling. Clips go through the bot's own code, ``core.jobs.video.VideoKind``
with the real ``core.client.ImageClient``, against the fake image API on loopback,
whose videos render for a set number of seconds (10 s to 2 minutes) and answer pending
until then, with or without a ``Retry-After`` header. The waits between polls run on a
virtual clock (injected into the kind and the fake alike): a clip that renders two
minutes is polled exactly as it would be, request for request, in milliseconds. What
each clip cost is counted where the fake received it: one submission, the polls, one
download. Then one poll's own cost, in real time: a clip that never finishes polled
again and again.

Figure 9, the clip. A 15 s 720p clip (made by :func:`make_source_clip`) is served by
the fake, and a fresh process (``bench.video_child``) downloads, checks and re-encodes
it as the bot does, for Discord's default 10 MiB upload limit, noting the wall and CPU
time, the event loop's stalls meanwhile, and its peak resident set.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import av
from PIL import Image

from bench.fakes import RenderingFakeImageAPI, TimedFakeDiscord
from bench.latency import fresh_users
from bench.procs import REAL_BOT, start_child
from bench.settings import BenchSettings
from bench.stats import percentile
from core.client import ImageClient
from core.jobs.kinds import Unattended
from core.jobs.video import VideoKind
from core.video import MAX_POLL_SECONDS, VideoRequest
from tests.e2e.harness import REPO
from tests.fakes.discord import ALL_PERMISSIONS
from tests.fakes.image_api import FakeImageAPI, VideoPlan

#: The longest wait for the re-encoding process, seconds.
CHILD_TIMEOUT = 300.0
#: The longest wait for the bot's clip beyond its render (a few polls, download, post).
BOT_CLIP_SLACK = 60.0
#: The interaction callback of a deferral.
DEFERRED = 5
#: The bot's video limits lifted for the bench: nothing may refuse its one clip.
BOT_VIDEO_SETTINGS = {"DAILY_USER_VIDEO_SECONDS": "0", "DAILY_GUILD_VIDEO_SECONDS": "0"}


class VirtualClock:
    """A clock that moves only when slept on: waits between polls take no real time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class NoNotes:
    """No journal: the clips are not jobs of a store."""

    async def journal_params(self, job_id: str, params: Mapping[str, Any]) -> bool:
        return True


@dataclass
class ClipPolls:
    """One clip polled until done."""

    #: How long it rendered: ``render`` (the figure's) plus ``offset``, seconds.
    render: float
    offset: float
    retry_after: float | None
    polls: int
    #: Requests the fake received for the clip: submission, polls, download.
    requests: int
    #: Seconds (on the virtual clock) from the submission to the clip seen done.
    seen: float

    @property
    def late(self) -> float:
        """How long after it was rendered the clip was seen done."""
        return self.seen - self.render - self.offset


@dataclass
class ClipRun:
    """The re-encoding process's figures (see ``bench.video_child``)."""

    clip_bytes: int
    width: int
    height: int
    budget: int
    download_seconds: float
    reencode_seconds: float
    reencode_cpu: float
    download_lates: list[float]
    reencode_lates: list[float]
    base_rss: int
    peak_download: int
    peak_reencode: int
    out_bytes: int = 0
    out_width: int = 0
    out_height: int = 0
    error: str = ""

    @property
    def stall_max(self) -> float:
        return max(self.reencode_lates, default=math.nan)

    @property
    def stall_p99(self) -> float:
        return percentile(self.reencode_lates, 99)

    @property
    def download_growth(self) -> int:
        """Peak resident set over the idle process's, by the end of the download."""
        return self.peak_download - self.base_rss

    @property
    def reencode_growth(self) -> int:
        """The same by the end of the re-encode (peaks only grow: the larger of both)."""
        return self.peak_reencode - self.base_rss


@dataclass
class BotClip:
    """One ``/animate`` through the real bot, in real time."""

    render: float
    #: Requests the fake image API received: submission, polls, download.
    polls: int = 0
    api_requests: int = 0
    #: Requests the bot sent Discord for the interaction (its token): the deferral,
    #: the edits of its answer (the progress, then the clip).
    discord_requests: int = 0
    edits: int = 0
    #: From the command to the clip's message answered, seconds.
    seconds: float = math.nan
    delivered: bool = False


@dataclass
class VideoRun:
    clips: list[ClipPolls] = field(default_factory=list)
    #: One poll's round trip over loopback, client and fake in one process: wall, CPU.
    poll_wall: float = math.nan
    poll_cpu: float = math.nan
    polls_timed: int = 0
    clip: ClipRun | None = None
    bot: BotClip | None = None


def clips_per_core_share(poll_cpu: float, share: float, interval: float = MAX_POLL_SECONDS) -> int:
    """How many clips, each polled once every ``interval`` seconds, one process can poll
    for ``share`` of one core when a poll costs ``poll_cpu`` seconds of CPU."""
    if poll_cpu <= 0 or not math.isfinite(poll_cpu):
        return 0
    return int(share * interval / poll_cpu)


# -- figure 8 --------------------------------------------------------------------------


async def poll_clips(settings: BenchSettings) -> VideoRun:
    """Every render time (plus each offset) with every ``Retry-After``, one clip each;
    then one poll's cost."""
    clock = VirtualClock()
    run = VideoRun()
    async with RenderingFakeImageAPI(clock) as api, aiohttp.ClientSession() as session:
        client = ImageClient(session, base_url=api.base_url, api_key=api.api_key)
        for retry_after in settings.video_retry_afters:
            for render in settings.video_renders:
                for offset in settings.video_render_offsets:
                    run.clips.append(
                        await _one_clip(api, client, clock, render, offset, retry_after)
                    )
        run.poll_wall, run.poll_cpu = await _poll_cost(api, client, settings.video_poll_repeats)
        run.polls_timed = settings.video_poll_repeats
    return run


async def _one_clip(
    api: RenderingFakeImageAPI,
    client: ImageClient,
    clock: VirtualClock,
    render: float,
    offset: float,
    retry_after: float | None,
) -> ClipPolls:
    api.render_seconds = render + offset
    api.video_plans.append(VideoPlan(retry_after=retry_after))
    kind = VideoKind(client, NoNotes(), clock=clock, sleep=clock.sleep)
    request = kind.build(
        {"prompt": "waves on a harbour wall", "duration": 15, "resolution": "720p"},
        user_id=1,
        guild_settings=None,
    )
    before = len(api.requests) + len(api.downloads)
    result = await kind.make(request, Unattended())
    return ClipPolls(
        render=render,
        offset=offset,
        retry_after=retry_after,
        polls=kind.polls,
        requests=len(api.requests) + len(api.downloads) - before,
        seen=result.api_seconds,
    )


async def _poll_cost(
    api: RenderingFakeImageAPI, client: ImageClient, repeats: int
) -> tuple[float, float]:
    """Seconds of wall time and of CPU per poll of a clip still rendering."""
    api.render_seconds = math.inf
    request_id = await client.submit_video(VideoRequest(prompt="a clip that never ends"))
    await client.video_status(request_id)  # the connection is open before timing
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        await client.video_status(request_id)
    count = max(1, repeats)
    return (time.perf_counter() - started) / count, (time.process_time() - cpu) / count


# -- figure 9 --------------------------------------------------------------------------

_SOURCES: dict[tuple[float, int, int, int, int], bytes] = {}


def make_source_clip(seconds: float, width: int, height: int, fps: int, bitrate: int) -> bytes:
    """A clip as a generator might make one: a detailed picture panning slowly, with a
    light grain that changes every frame, H.264 at ``bitrate`` bits a second (a real
    scene's detail and motion, not ``make_clip``'s noise, which x264 cannot compress:
    15 s of it at 720p is some 150 MB). Made once per size."""
    key = (seconds, width, height, fps, bitrate)
    if key not in _SOURCES:
        _SOURCES[key] = _encode_source(seconds, width, height, fps, bitrate)
    return _SOURCES[key]


def _encode_source(seconds: float, width: int, height: int, fps: int, bitrate: int) -> bytes:
    rng = random.Random(13)
    margin = max(16, width // 5)
    small = (width // 4 + margin, height // 4 + margin)
    texture = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3)).resize(
        (width + margin, height + margin), Image.Resampling.BICUBIC
    )
    out = io.BytesIO()
    frames = max(1, round(seconds * fps))
    with av.open(out, mode="w", format="mp4") as target:
        stream = target.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bitrate
        for index in range(frames):
            x = margin * index // frames
            picture = texture.crop((x, x // 2, x + width, x // 2 + height))
            grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
            picture = Image.blend(picture, grain.convert("RGB"), 0.08)
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()


async def reencode_clip(settings: BenchSettings) -> ClipRun:
    """The source clip served by the fake, downloaded and re-encoded in a fresh process."""
    clip = await asyncio.to_thread(
        make_source_clip,
        settings.video_seconds,
        settings.video_width,
        settings.video_height,
        settings.video_fps,
        settings.video_bitrate,
    )
    async with FakeImageAPI() as api:
        api.video_plan = VideoPlan(pending=1, clip=clip)
        config = {
            "api": api.base_url,
            "key": api.api_key,
            "budget": settings.video_budget,
            "loop": settings.event_loop,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.video_child",
            json.dumps(config),
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CHILD_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RuntimeError("the re-encoding process did not finish") from None
    if process.returncode != 0:
        raise RuntimeError(f"the re-encoding process failed:\n{err.decode(errors='replace')}")
    return ClipRun(**json.loads(out.decode().strip().splitlines()[-1]))


async def animate_through_the_bot(settings: BenchSettings, workdir: Path) -> BotClip:
    """One clip through the real bot (``python bot.py``) against the fakes, rendering
    ``video_bot_render`` seconds of real time: what the whole bot does for it, counted at
    both fakes (the kind's count of figure 8, and Discord's side besides)."""
    api = RenderingFakeImageAPI(time.monotonic)
    discord = TimedFakeDiscord()
    await api.start()
    await discord.start()
    result = BotClip(render=settings.video_bot_render)
    try:
        child = await start_child(
            "video",
            REAL_BOT,
            discord,
            api,
            workdir,
            extra={"EVENT_LOOP": settings.event_loop, **BOT_VIDEO_SETTINGS},
        )
        try:
            await _animate(settings, discord, api, result)
        finally:
            await child.stop()
    finally:
        await discord.close()
        await api.close()
    return result


async def _animate(
    settings: BenchSettings, discord: TimedFakeDiscord, api: RenderingFakeImageAPI, out: BotClip
) -> None:
    switch = await discord.send_slash_command(
        "imagine-admin",
        {"video": {"on": True}},
        user_id=discord.owner_user_id,
        permissions=ALL_PERMISSIONS,
    )
    await switch.wait_for_callback()
    (user,) = fresh_users(1)
    discord.add_member(user)
    api.render_seconds = settings.video_bot_render
    before = len(api.requests) + len(api.downloads)
    started = time.monotonic()
    interaction = await discord.send_slash_command(
        "animate", {"prompt": "waves on a harbour wall", "duration": 15}, user_id=user
    )
    if (await interaction.wait_for_callback()).get("type") != DEFERRED:
        return  # refused (a limit of this build the bench does not lift): not delivered
    try:
        await discord.wait_for(
            lambda: any(m.attachments for m in interaction.messages),
            settings.video_bot_render + BOT_CLIP_SLACK,
            "the clip posted",
        )
    except TimeoutError:
        return
    mine = [r for r in discord.requests if r.token == interaction.token]
    out.seconds = max((r.answered or r.time for r in mine), default=math.nan) - started
    out.delivered = True
    out.polls = len(api.video_polls)
    out.api_requests = len(api.requests) + len(api.downloads) - before
    out.discord_requests = len(mine)
    out.edits = sum(1 for r in mine if r.method == "PATCH")


async def run_video(settings: BenchSettings, workdir: Path, *, with_bot: bool) -> VideoRun:
    """Figures 8 and 9, one run; ``with_bot`` adds the clip through the real bot."""
    run = await poll_clips(settings)
    if with_bot:
        run.bot = await animate_through_the_bot(settings, workdir)
    run.clip = await reencode_clip(settings)
    return run
