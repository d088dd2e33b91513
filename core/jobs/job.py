"""One accepted job, and the one log line that says how it went."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from core.guild_settings import GuildSettings
from core.jobs.kinds import DEFAULT_KIND, JobKind, JobRequest
from core.jobs.port import JobPort, JobSummary
from core.journal import InteractionRef
from core.observe import JobObserver
from core.outcomes import Outcome
from core.quota import Reservation

#: The job log line's logger: the package, whichever module of it writes the line.
log = logging.getLogger("core.jobs")


@dataclass
class JobReport:
    """What the job log line says."""

    job_id: str
    user_id: int
    guild_id: int | None
    model: str = "-"
    n: int = 0
    outcome: Outcome = Outcome.STARTED
    delivered: int = 0
    api_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    cost_usd_ticks: int | None = None
    #: The result messages, in order (the first carries the card and the buttons).
    message_ids: list[int] = field(default_factory=list)
    #: The job's kind, for the metrics (the text line does not show it).
    kind: str = DEFAULT_KIND
    #: Hears of the job line (the bot's metrics), if anything listens.
    observer: JobObserver | None = None
    #: Images the API made (billed whether or not delivered), and the job's settled cost
    #: in ticks: the API's, else estimated from the price table (``cost_estimated``).
    billed_images: int = 0
    spend_ticks: int | None = None
    cost_estimated: bool = False

    def log(self) -> None:
        total = time.monotonic() - self.started
        log.info(
            "job=%s user=%s guild=%s model=%s n=%d outcome=%s images=%d api=%.2fs total=%.2fs",
            self.job_id,
            self.user_id,
            self.guild_id or "dm",
            self.model,
            self.n,
            self.outcome.value,
            self.delivered,
            self.api_seconds,
            total,
            extra=self._fields(total),
        )
        if self.observer is not None:
            self.observer.job_ended(
                kind=self.kind,
                outcome=self.outcome.value,
                images=self.delivered,
                api_seconds=self.api_seconds,
                total_seconds=total,
            )

    def _fields(self, total: float) -> dict[str, object]:
        """The job line's facts as fields of their own, for structured (JSON) logs."""
        return {
            "job_id": self.job_id,
            "user_id": self.user_id,
            "guild_id": self.guild_id,
            "kind": self.kind,
            "model": self.model,
            "n": self.n,
            "outcome": self.outcome.value,
            "images": self.delivered,
            "api_seconds": round(self.api_seconds, 3),
            "total_seconds": round(total, 3),
        }


@dataclass
class Job:
    """One accepted job: what running, delivering and closing it take."""

    id: str
    user_id: int
    guild_id: int | None
    channel_id: int | None
    locale: str | None
    kind: JobKind
    request: JobRequest
    port: JobPort
    report: JobReport
    cooldown_seconds: float
    reservation: Reservation | None
    guild_settings: GuildSettings | None
    interaction: InteractionRef | None = None
    #: Taken over from the journal (after a restart) rather than from a live request.
    resumed: bool = False
    #: Written to the job journal (so closing it there decides who refunds).
    journaled: bool = False

    @property
    def spoiler(self) -> bool:
        return self.guild_settings is not None and self.guild_settings.spoilers

    @property
    def modlog_channel(self) -> int | None:
        return None if self.guild_settings is None else self.guild_settings.modlog_channel


def summary_of(
    job_id: str,
    report: JobReport,
    request: JobRequest,
    channel_id: int | None,
    *,
    term: str | None = None,
) -> JobSummary:
    """A job's mod-log entry."""
    return JobSummary(
        job_id=job_id,
        user_id=report.user_id,
        guild_id=report.guild_id,
        channel_id=channel_id,
        prompt=request.prompt,
        model=request.model,
        n=request.n,
        aspect_ratio=request.aspect_ratio,
        resolution=request.resolution,
        outcome=report.outcome.value,
        images=report.delivered,
        cost_usd_ticks=report.cost_usd_ticks if report.spend_ticks is None else report.spend_ticks,
        cost_estimated=report.cost_estimated,
        result_message_id=report.message_ids[0] if report.message_ids else None,
        term=term,
        sources=tuple(request.sources),
    )
