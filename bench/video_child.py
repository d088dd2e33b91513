"""Figure 9's process: one clip downloaded, checked and re-encoded as the bot does it.

Run by ``bench.video`` as ``python -m bench.video_child CONFIG`` (CONFIG a JSON object:
the fake API's base URL and key, the per-file budget, the event loop), in a fresh process
so that its peak resident set (``VmHWM``) says what this clip costs and nothing else:
PyAV and FFmpeg allocate outside Python's allocator, where ``tracemalloc`` does not see
them.

The clip goes through ``core.jobs.video.VideoKind`` with the real
``core.client.ImageClient`` (submit, poll, ``download_video``, ``check_mp4`` in a
thread), then ``VideoKind.fit_files`` (``shrink_clip`` in a thread) for the budget. A
ticker sleeps 10 ms again and again meanwhile and notes how late it wakes: the loop's
stalls while the work runs in threads. The figures go to stdout as one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

import bot
from bench.video import NoNotes
from core.client import ImageClient
from core.delivery import DeliveryLimits
from core.jobs.kinds import Unattended
from core.jobs.video import VideoKind
from core.models import ImageFile
from core.video import make_clip, shrink_clip

TICK = 0.010


async def no_sleep(seconds: float) -> None:
    """The clip is done at once; the waits between polls are figure 8's business."""


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss() -> int:
    """The process's peak resident set so far, bytes: ``VmHWM``, the high-water mark of
    its own memory. (``getrusage``'s ``ru_maxrss`` would do on a process started from a
    shell, but after fork and exec it keeps the forking parent's size: some 300 MB
    of the bench's own.)"""
    return _status_bytes("VmHWM")


def current_rss() -> int:
    """The process's resident set now, bytes."""
    return _status_bytes("VmRSS")


async def tick(lates: list[float]) -> None:
    """Sleep ``TICK`` again and again, noting by how much each sleep overshot."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        lates.append(time.perf_counter() - started - TICK)


class Ticker:
    """The ticker running for the length of a ``with`` block; its overshoots after."""

    def __init__(self) -> None:
        self.lates: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(tick(self.lates))
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def warm_up() -> None:
    """Load the codecs and their code once, on a tiny clip, so that the peak measured
    after is the clip's and not the libraries'."""
    small = make_clip(seconds=1.0, width=64, height=48, fps=8, noise=True)
    shrink_clip(ImageFile(small, "video/mp4", "mp4", 64, 48), len(small) // 2)


async def measure(config: Mapping[str, Any]) -> dict[str, Any]:
    await asyncio.to_thread(warm_up)
    figures: dict[str, Any] = {"base_rss": current_rss()}
    limits = DeliveryLimits.for_interaction(int(config["budget"]))
    figures["budget"] = limits.file_budget()
    async with aiohttp.ClientSession() as session:
        client = ImageClient(session, base_url=config["api"], api_key=config["key"])
        kind = VideoKind(client, NoNotes(), sleep=no_sleep)
        request = kind.build(
            {"prompt": "a harbour at dusk", "duration": 15, "resolution": "720p"},
            user_id=1,
            guild_settings=None,
        )
        async with Ticker() as ticker:
            started = time.perf_counter()
            result = await kind.make(request, Unattended())
            figures["download_seconds"] = time.perf_counter() - started
        figures["download_lates"] = ticker.lates
        figures["peak_download"] = peak_rss()
    [clip] = result.images
    figures.update(clip_bytes=clip.size, width=clip.width, height=clip.height)
    async with Ticker() as ticker:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            [fitted] = await kind.fit_files([clip], limits)
        except Exception as error:  # the figure says so rather than the bench failing
            fitted = None
            figures["error"] = f"{type(error).__name__}: {error}"
        figures["reencode_seconds"] = time.perf_counter() - started
        figures["reencode_cpu"] = time.process_time() - cpu
    figures["reencode_lates"] = ticker.lates
    figures["peak_reencode"] = peak_rss()
    if fitted is not None:
        figures.update(out_bytes=fitted.size, out_width=fitted.width, out_height=fitted.height)
    return figures


def main() -> int:
    config = json.loads(sys.argv[1])
    return bot.run_in_loop(bot.loop_factory(config.get("loop", "auto")), _report(config))


async def _report(config: Mapping[str, Any]) -> int:
    print(json.dumps(await measure(config)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
