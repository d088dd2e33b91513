"""Figures 1, 2 and 6: deferral latency under bursts, overhead per job, the naive design.

Each bot under test is its own process with its own fake Discord (one interaction goes to
one gateway session), all sharing one fake image API. Latencies are measured where
Discord measures them: from the moment the fake sends INTERACTION_CREATE to the moment the
callback request reaches it (``time.monotonic()`` in this process).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.fakes import TimedFakeDiscord, TimedFakeImageAPI
from bench.procs import FLOOR_BOT, NAIVE_BOT, REAL_BOT, Child, start_child
from bench.settings import BenchSettings
from bench.stats import percentile
from tests.fakes.discord import FakeInteraction
from tests.fakes.image_api import make_jpeg, pixel_size

#: The line each job of the bot logs when it ends, whatever its outcome.
_JOB_LINE = re.compile(r"\buser=(\d+) .*\boutcome=")
#: User ids never seen before in a run, so no cooldown or running job is in the way.
_users = itertools.count(700_000_000_000_000_001)


def fresh_users(count: int) -> list[int]:
    return [next(_users) for _ in range(count)]


@dataclass
class Burst:
    """One burst of interactions to one bot: when each deferral reached Discord."""

    who: str
    size: int
    #: Seconds from INTERACTION_CREATE to the first callback Discord accepted (a deferral,
    #: or a reply such as a refusal), for the interactions that got one.
    latencies: list[float] = field(default_factory=list)
    #: Interactions answered with a reply rather than a deferral.
    replied: int = 0
    #: Seconds to the first callback attempt, accepted or refused as too late; missing
    #: attempts count as ``window`` (a lower bound).
    attempts: list[float] = field(default_factory=list)
    #: Interactions with no callback Discord accepted (too late, or never sent).
    missed: int = 0
    #: Interactions with no callback attempt at all within the window.
    unanswered: int = 0
    #: Jobs that did not end with images delivered (the real bot only).
    undelivered: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def max(self) -> float:
        return max(self.latencies, default=math.nan)

    @property
    def attempt_p99(self) -> float:
        return percentile(self.attempts, 99)


@dataclass
class Job:
    """One job measured end to end (figure 2)."""

    images: int
    end_to_end: float
    api: float
    upload: float

    @property
    def overhead(self) -> float:
        return self.end_to_end - self.api - self.upload


@dataclass
class LatencyRun:
    """Everything figures 1, 2 and 6 need from one run."""

    #: Bursts by (bot, size), in the order sent: the floor's and the bot's alternate.
    bursts: dict[tuple[str, int], list[Burst]] = field(default_factory=dict)
    light: list[Job] = field(default_factory=list)
    heavy: list[Job] = field(default_factory=list)


def _callback_attempt(discord: TimedFakeDiscord, interaction: FakeInteraction) -> float | None:
    times = [
        r.time for r in interaction.requests() if r.method == "POST" and "/callback" in r.route
    ]
    return min(times) - interaction.created if times else None


async def send_burst(
    discord: TimedFakeDiscord, size: int, options: dict[str, object]
) -> list[FakeInteraction]:
    """``size`` slash commands from distinct users, sent as fast as the gateway takes them."""
    users = fresh_users(size)
    for user in users:
        # Members are known in advance so that the burst itself is only dispatches.
        discord.add_member(user)
    await asyncio.sleep(0.05)
    return list(
        await asyncio.gather(
            *(discord.send_slash_command("imagine", options, user_id=u) for u in users)
        )
    )


def settle_burst(
    who: str, discord: TimedFakeDiscord, interactions: list[FakeInteraction], window: float
) -> Burst:
    burst = Burst(who, len(interactions))
    for interaction in interactions:
        if interaction.callback_latency is not None:
            burst.latencies.append(interaction.callback_latency)
            burst.replied += 0 if interaction.deferred else 1
        else:
            burst.missed += 1
        attempt = _callback_attempt(discord, interaction)
        if attempt is None:
            burst.unanswered += 1
            attempt = window
        burst.attempts.append(attempt)
    return burst


async def wait_for_callbacks(
    discord: TimedFakeDiscord, interactions: list[FakeInteraction], seconds: float
) -> None:
    """Until every interaction has a callback attempt, or ``seconds`` pass."""

    def settled() -> bool:
        return all(_callback_attempt(discord, i) is not None for i in interactions)

    with contextlib.suppress(TimeoutError):
        await discord.wait_for(settled, seconds, "callback attempts")


async def wait_for_jobs(
    discord: TimedFakeDiscord,
    interactions: list[FakeInteraction],
    images: int,
    seconds: float,
    log: Callable[[], str] | None = None,
) -> int:
    """Until every job has delivered ``images`` images, or (with the bot's ``log``) has
    written its job line, or ``seconds`` pass; returns how many did not deliver them all.

    Polled rather than woken by every change of the fake, which a burst makes thousands
    of; the log is read less often still.
    """

    def delivered(interaction: FakeInteraction) -> bool:
        if sum(len(m.attachments) for m in interaction.messages) < images:
            return False
        uploads = discord.uploads_of(interaction)
        return all(u.record.answered is not None for u in uploads)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pending = list(interactions)
    polls = 0
    while pending and loop.time() < deadline:
        pending = [i for i in pending if not delivered(i)]
        polls += 1
        if pending and log is not None and polls % 5 == 0:
            ended = {int(m) for m in _JOB_LINE.findall(log())}
            pending = [i for i in pending if i.user_id not in ended]
        if pending:
            await asyncio.sleep(0.05)
    return sum(1 for i in interactions if not delivered(i))


async def burst_floor(discord: TimedFakeDiscord, size: int) -> Burst:
    interactions = await send_burst(discord, size, {"prompt": "a red fox in fresh snow"})
    await wait_for_callbacks(discord, interactions, discord.defer_deadline + 2)
    burst = settle_burst("floor", discord, interactions, discord.defer_deadline + 2)
    discord.forget()
    return burst


async def burst_bot(
    discord: TimedFakeDiscord, size: int, seconds: float, log: Callable[[], str] | None = None
) -> Burst:
    interactions = await send_burst(discord, size, {"prompt": "a red fox in fresh snow"})
    await wait_for_callbacks(discord, interactions, discord.defer_deadline + 2)
    undelivered = await wait_for_jobs(discord, interactions, 1, seconds, log)
    burst = settle_burst("bot", discord, interactions, discord.defer_deadline + 2)
    burst.undelivered = undelivered
    discord.forget()
    return burst


async def burst_naive(
    discord: TimedFakeDiscord, api: TimedFakeImageAPI, size: int, window: float, workdir: Path
) -> Burst:
    """A fresh naive bot per burst: once it blocks it may not come back for minutes."""
    child = await start_child("naive", NAIVE_BOT, discord, api, workdir)
    try:
        interactions = await send_burst(discord, size, {"prompt": "a red fox in fresh snow"})
        await wait_for_callbacks(discord, interactions, window)
        return settle_burst("naive", discord, interactions, window)
    finally:
        await child.stop(grace=2)
        discord.forget()


async def one_job(
    discord: TimedFakeDiscord,
    api: TimedFakeImageAPI,
    images: int,
    resolution: str,
    seconds: float,
    log: Callable[[], str] | None = None,
) -> Job | None:
    """One job on an idle bot, timed end to end and split into API, upload and the rest."""
    (user,) = fresh_users(1)
    discord.add_member(user)
    await asyncio.sleep(0.05)
    options: dict[str, object] = {"prompt": "a lighthouse at dusk", "n": images}
    if resolution != "1k":
        options["resolution"] = resolution
    interaction = await discord.send_slash_command("imagine", options, user_id=user)
    undelivered = await wait_for_jobs(discord, [interaction], images, seconds, log)
    uploads = discord.uploads_of(interaction)
    calls = api.calls_of(user)
    try:
        if undelivered or not uploads or not calls:
            return None
        finished = max(u.record.answered or u.started for u in uploads)
        return Job(
            images=images,
            end_to_end=finished - interaction.created,
            api=sum(c.seconds for c in calls),
            upload=sum(u.seconds for u in uploads),
        )
    finally:
        discord.forget()
        api.forget()


def warm_fake_images(settings: BenchSettings) -> None:
    """Make the fake's pictures once, before anything is timed (they are cached)."""
    sizes = {pixel_size("1:1", "1k"), pixel_size("1:1", settings.resolution)}
    for width, height in sizes:
        for variant in range(3):
            make_jpeg(width, height, variant=variant)


class LatencyBench:
    """The real bot and the floor bot, running for the whole benchmark."""

    def __init__(self, settings: BenchSettings, workdir: Path) -> None:
        self.settings = settings
        self.workdir = workdir
        self.api = TimedFakeImageAPI(latency=settings.api_latency)
        self.bot_discord = TimedFakeDiscord()
        self.floor_discord = TimedFakeDiscord()
        self.naive_discord = TimedFakeDiscord()
        self.bot: Child | None = None
        self.floor: Child | None = None

    async def __aenter__(self) -> LatencyBench:
        warm_fake_images(self.settings)
        for server in (self.api, self.bot_discord, self.floor_discord, self.naive_discord):
            await server.start()
        self.bot = await start_child(
            "bot",
            REAL_BOT,
            self.bot_discord,
            self.api,
            self.workdir,
            extra={"EVENT_LOOP": self.settings.event_loop},
        )
        self.floor = await start_child(
            "floor", FLOOR_BOT, self.floor_discord, self.api, self.workdir
        )
        # A first small burst each, so that connections and lazy imports are in place as
        # in a bot that has been up for a while.
        await burst_floor(self.floor_discord, 3)
        await burst_bot(self.bot_discord, 3, self.settings.job_timeout, self.bot_output)
        self.api.forget()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for child in (self.bot, self.floor):
            if child is not None:
                await child.stop()
        for server in (self.bot_discord, self.floor_discord, self.naive_discord, self.api):
            await server.close()

    def bot_output(self) -> str:
        return self.bot.output() if self.bot is not None else ""

    async def run_once(self, index: int) -> LatencyRun:
        settings = self.settings
        run = LatencyRun()
        for round_ in range(settings.burst_rounds):
            for size in settings.bursts:
                order = ("floor", "bot") if (index + round_) % 2 == 0 else ("bot", "floor")
                for who in order:
                    if who == "floor":
                        burst = await burst_floor(self.floor_discord, size)
                    else:
                        burst = await burst_bot(
                            self.bot_discord, size, settings.job_timeout, self.bot_output
                        )
                        self.api.forget()
                    run.bursts.setdefault((who, size), []).append(burst)
        for _ in range(settings.light_jobs):
            job = await one_job(
                self.bot_discord, self.api, 1, "1k", settings.job_timeout, self.bot_output
            )
            if job is not None:
                run.light.append(job)
        for _ in range(settings.heavy_jobs):
            job = await one_job(
                self.bot_discord,
                self.api,
                settings.images,
                settings.resolution,
                settings.job_timeout,
                self.bot_output,
            )
            if job is not None:
                run.heavy.append(job)
        for size in settings.naive_bursts:
            naive = await burst_naive(
                self.naive_discord, self.api, size, settings.naive_window, self.workdir
            )
            run.bursts[("naive", size)] = [naive]
            self.api.forget()
        return run
