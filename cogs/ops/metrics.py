"""The bot's Prometheus metrics, in a registry of its own.

:class:`BotMetrics` is the observer the core calls (:mod:`core.observe`) as jobs end and
the image API is retried, and it counts Discord's 429s through discord.py's HTTP trace.
The line's length, the running jobs and the gateway latency are read when scraped. No
label carries anything unbounded: kinds, outcomes and retry reasons come from fixed sets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.queue import JobQueue
from core.stats import TICKS_PER_USD

#: Every name starts so, the bot's own namespace beside the process metrics.
NAMESPACE = "imagine"
#: A generation takes seconds to minutes, retries included.
API_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: The bot's own time around a job (waiting in line, uploading, bookkeeping).
OVERHEAD_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: The text format's media type, for the HTTP answer.
CONTENT_TYPE = CONTENT_TYPE_LATEST
_RATE_LIMITED = 429


class BotMetrics:
    """The metrics of one bot process; see the module docstring."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.jobs = Counter(
            "jobs",
            "Jobs ended, by kind and outcome (refusals before the API call included).",
            ["kind", "outcome"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.images = Counter(
            "images_delivered",
            "Images delivered to Discord.",
            ["kind"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.api_latency = Histogram(
            "api_latency_seconds",
            "Time a job spent waiting for the image API, retries included.",
            ["kind"],
            namespace=NAMESPACE,
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "bot_overhead_seconds",
            "Time a job that called the image API spent in the bot besides that call.",
            ["kind"],
            namespace=NAMESPACE,
            buckets=OVERHEAD_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "api_retries",
            "Image API attempts that failed and were tried again, by reason.",
            ["reason"],
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "discord_rate_limited",
            "Discord REST answers with HTTP 429 (discord.py waits and tries again).",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.replans = Counter(
            "upload_replans",
            "Uploads Discord refused as too large (413), planned again smaller.",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.waiting = Gauge(
            "jobs_waiting", "Jobs waiting in line.", namespace=NAMESPACE, registry=self.registry
        )
        self.running = Gauge(
            "jobs_running", "Jobs running.", namespace=NAMESPACE, registry=self.registry
        )
        self.gateway_latency = Gauge(
            "gateway_latency_seconds",
            "Latency of the Discord gateway heartbeat (NaN while not connected).",
            namespace=NAMESPACE,
            registry=self.registry,
        )
        self.gateway_latency.set(math.nan)
        self.spend = Counter(
            "spend_usd",
            "Spend in US dollars, by kind and model: the cost the image API reported, else "
            "the estimate from the price table (GROK_PRICES).",
            ["kind", "model"],
            namespace=NAMESPACE,
            registry=self.registry,
        )

    # -- what the core tells (core.observe) ----------------------------------------------

    def job_ended(
        self, *, kind: str, outcome: str, images: int, api_seconds: float, total_seconds: float
    ) -> None:
        """Count the job; time it when it called the image API."""
        self.jobs.labels(kind=kind, outcome=outcome).inc()
        if images:
            self.images.labels(kind=kind).inc(images)
        if api_seconds > 0:
            self.api_latency.labels(kind=kind).observe(api_seconds)
            self.overhead.labels(kind=kind).observe(max(0.0, total_seconds - api_seconds))

    def upload_replanned(self) -> None:
        """Count a 413 re-plan."""
        self.replans.inc()

    def job_spent(self, *, kind: str, model: str, ticks: int) -> None:
        """Count a closed job's cost in dollars (models come from GROK_MODELS: bounded)."""
        self.spend.labels(kind=kind, model=model).inc(ticks / TICKS_PER_USD)

    def api_retry(self, reason: str) -> None:
        """Count an image API retry."""
        self.retries.labels(reason=reason).inc()

    # -- what is read when scraped -------------------------------------------------------

    def watch_queue(self, queue: JobQueue) -> None:
        """Read the line's length and the running jobs from ``queue`` at each scrape."""
        self.waiting.set_function(lambda: queue.waiting)
        self.running.set_function(lambda: queue.running)

    def watch_gateway(self, latency: Callable[[], float]) -> None:
        """Read the gateway latency (seconds; NaN or infinite while not connected)."""
        self.gateway_latency.set_function(
            lambda: value if math.isfinite(value := latency()) else math.nan
        )

    def discord_trace(self) -> aiohttp.TraceConfig:
        """A trace for discord.py's HTTP session that counts Discord's 429 answers."""

        async def on_request_end(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            if params.response.status == _RATE_LIMITED:
                self.rate_limited.inc()

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_request_end)
        return trace

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)
