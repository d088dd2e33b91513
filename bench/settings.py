"""How big each benchmark is: the full run, the quick run, and a tiny one for the smoke test."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BenchSettings:
    #: Runs of everything; figures are the medians over runs.
    runs: int = 3
    #: Latency of the fake image API, seconds.
    api_latency: float = 2.0
    #: Figure 1: interactions arriving at once, one burst of each size a run.
    bursts: tuple[int, ...] = (50, 200)
    #: Figure 1: bursts of each size to each bot per run, the floor's and the bot's in turn.
    burst_rounds: int = 3
    #: Figure 6: burst sizes sent to the naive bot.
    naive_bursts: tuple[int, ...] = (50, 200)
    #: Figure 6: how long after a burst the naive bot's deferrals are waited for.
    naive_window: float = 6.0
    #: Figure 2: jobs of one 1k image, one after another.
    light_jobs: int = 5
    #: Figure 2: jobs of ``images`` images at ``resolution``, one after another.
    heavy_jobs: int = 3
    #: Images a heavy job asks for, and at what resolution.
    images: int = 10
    resolution: str = "2k"
    #: Figure 3: heavy jobs in flight at once while the loop is probed.
    lag_jobs: int = 20
    #: Figure 4: heavy jobs in flight at once while memory is watched.
    memory_jobs: int = 50
    #: Figure 5: repetitions of each decode, the median is kept.
    decode_repeats: int = 15
    #: Longest wait for one burst's or load's jobs to end, seconds.
    job_timeout: float = 180.0
    #: The bot's EVENT_LOOP (figures 1-4, 9): ``auto`` is uvloop where installed.
    event_loop: str = "auto"
    #: Figure 8: how long each clip renders at the fake, seconds, each plus every offset
    #: (a render rarely ends just as a poll comes: spread over the longest wait) ...
    video_renders: tuple[float, ...] = (10.0, 30.0, 60.0, 120.0)
    video_render_offsets: tuple[float, ...] = tuple(1.5 * i for i in range(10))
    #: ... and the Retry-After its pending answers carry (None: no header).
    video_retry_afters: tuple[float | None, ...] = (None, 5.0, 30.0)
    #: Figure 8: how long the clip sent through the real bot renders (real time), seconds.
    video_bot_render: float = 10.0
    #: Figure 8: polls of one clip timed for the cost of a poll.
    video_poll_repeats: int = 300
    #: Figure 9: the clip downloaded and re-encoded: length, size, frame rate, bitrate ...
    video_seconds: float = 15.0
    video_width: int = 1280
    video_height: int = 720
    video_fps: int = 24
    video_bitrate: int = 10_000_000
    #: ... and the upload limit it is fitted to (Discord's default for a server).
    video_budget: int = 10 * 1024 * 1024

    def label(self) -> list[tuple[str, str]]:
        """(name, value) rows for the report."""
        return [
            ("runs", f"{self.runs} (figures are medians over runs)"),
            ("fake API latency", f"{self.api_latency:g} s"),
            (
                "bursts (fig. 1)",
                ", ".join(str(b) for b in self.bursts)
                + f" interactions at once, {self.burst_rounds} of each a run to each bot",
            ),
            ("naive bursts (fig. 6)", ", ".join(str(b) for b in self.naive_bursts)),
            (
                "jobs (fig. 2)",
                f"{self.light_jobs} x 1 image at 1k, {self.heavy_jobs} x {self.images} images"
                f" at {self.resolution}, one at a time",
            ),
            ("in flight (fig. 3)", f"{self.lag_jobs} jobs of {self.images} at {self.resolution}"),
            (
                "in flight (fig. 4)",
                f"{self.memory_jobs} jobs of {self.images} at {self.resolution}",
            ),
            ("decode repeats (fig. 5)", str(self.decode_repeats)),
            (
                "clips (fig. 8)",
                "rendering "
                + ", ".join(f"{r:g}" for r in self.video_renders)
                + " s, each plus "
                + ", ".join(f"{o:g}" for o in self.video_render_offsets)
                + " s; Retry-After "
                + ", ".join("none" if r is None else f"{r:g} s" for r in self.video_retry_afters)
                + f"; {self.video_poll_repeats} polls timed; through the bot: one"
                + f" rendering {self.video_bot_render:g} s",
            ),
            (
                "clip (fig. 9)",
                f"{self.video_seconds:g} s at {self.video_width}x{self.video_height},"
                f" {self.video_fps} fps, {self.video_bitrate / 1e6:g} Mbit/s, fitted to"
                f" {self.video_budget / (1024 * 1024):.3g} MiB",
            ),
            ("the bot's EVENT_LOOP", self.event_loop),
        ]


FULL = BenchSettings()
QUICK = BenchSettings(
    runs=1,
    bursts=(20, 50),
    burst_rounds=1,
    naive_bursts=(20,),
    naive_window=4.0,
    light_jobs=2,
    heavy_jobs=1,
    lag_jobs=5,
    memory_jobs=8,
    decode_repeats=3,
    job_timeout=60.0,
    video_poll_repeats=100,
)
#: For the smoke test: every code path, nothing of any size.
TINY = replace(
    QUICK,
    api_latency=0.05,
    bursts=(3,),
    naive_bursts=(3,),
    naive_window=1.0,
    light_jobs=1,
    heavy_jobs=1,
    images=2,
    resolution="1k",
    lag_jobs=2,
    memory_jobs=2,
    decode_repeats=1,
    job_timeout=60.0,
    video_renders=(10.0, 60.0),
    video_render_offsets=(0.0, 7.5),
    video_bot_render=1.0,
    video_retry_afters=(None, 30.0),
    video_poll_repeats=5,
    video_seconds=2.0,
    video_width=320,
    video_height=180,
    video_fps=12,
    video_bitrate=1_000_000,
    video_budget=100_000,
)
