"""Figures 3 and 4: event-loop lag and peak memory of the real bot under heavy jobs.

The bot runs as ``bench.probe_bot``: the real ``bot.run`` in its own process with a lag
probe beside it, so the fakes' own work (making, encoding and receiving hundreds of MB)
never runs on the loop being measured. Memory is read from ``/proc/<pid>/status``:
``VmHWM`` is the peak resident set of the bot's process over its life.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from bench.fakes import TimedFakeDiscord, TimedFakeImageAPI
from bench.latency import fresh_users, wait_for_jobs, warm_fake_images
from bench.procs import PROBED_BOT, memory_kib, start_child
from bench.settings import BenchSettings
from bench.stats import percentile


@dataclass
class LoadRun:
    """One load of ``jobs`` heavy jobs sent at once to a fresh bot."""

    jobs: int
    images: int
    #: Overshoots of the probe's 1 ms sleeps while the jobs were being handled, seconds.
    lags: list[float] = field(default_factory=list)
    #: Seconds from the first answer of the API to the last upload answered.
    window: float = 0.0
    #: Resident set of the idle bot before the load, and its peak, in bytes.
    idle_rss: int = 0
    peak_rss: int = 0
    #: Image bytes the jobs carried (what Discord received).
    image_bytes: int = 0
    undelivered: int = 0

    @property
    def lag_p99(self) -> float:
        return percentile(self.lags, 99)

    @property
    def lag_max(self) -> float:
        return max(self.lags, default=math.nan)

    @property
    def memory_ratio(self) -> float:
        return self.peak_rss / self.image_bytes if self.image_bytes else math.nan


async def run_load(settings: BenchSettings, jobs: int, workdir: Path, name: str) -> LoadRun:
    warm_fake_images(settings)
    api = TimedFakeImageAPI(latency=settings.api_latency)
    discord = TimedFakeDiscord()
    await api.start()
    await discord.start()
    output = workdir / f"{name}-probe.json"
    child = await start_child(
        name,
        PROBED_BOT,
        discord,
        api,
        workdir,
        extra={"BENCH_PROBE_OUTPUT": str(output), "EVENT_LOOP": settings.event_loop},
    )
    result = LoadRun(jobs=jobs, images=settings.images)
    start = end = 0.0
    try:
        # One small job first, so lazy imports and connections are in place.
        (warm_user,) = fresh_users(1)
        warm = await discord.send_slash_command("imagine", {"prompt": "warm up"}, user_id=warm_user)
        await wait_for_jobs(discord, [warm], 1, settings.job_timeout, child.output)
        discord.forget()
        api.forget()
        await asyncio.sleep(0.2)
        result.idle_rss = memory_kib(child.pid).get("VmRSS", 0) * 1024

        users = fresh_users(jobs)
        for user in users:
            discord.add_member(user)
        await asyncio.sleep(0.05)
        options: dict[str, object] = {"prompt": "a harbour at night", "n": settings.images}
        if settings.resolution != "1k":
            options["resolution"] = settings.resolution
        interactions = list(
            await asyncio.gather(
                *(discord.send_slash_command("imagine", options, user_id=u) for u in users)
            )
        )
        result.undelivered = await wait_for_jobs(
            discord, interactions, settings.images, settings.job_timeout, child.output
        )
        result.peak_rss = memory_kib(child.pid).get("VmHWM", 0) * 1024
        uploads = [u for i in interactions for u in discord.uploads_of(i)]
        result.image_bytes = sum(u.bytes for u in uploads)
        answered = [c.answered for c in api.calls]
        finished = [u.record.answered for u in uploads if u.record.answered is not None]
        start = min(answered, default=0.0)
        end = max(finished, default=start)
        result.window = end - start
    finally:
        await child.stop()
        await discord.close()
        await api.close()
    if output.exists():
        samples = json.loads(output.read_text())
        result.lags = [
            lag
            for began, lag in zip(samples["starts"], samples["lags"], strict=True)
            if start <= began <= end
        ]
        output.unlink()
    return result
