"""Usage figures of a server, folded from the job records' outcomes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.quota import SECONDS_PER_DAY, day_start

#: Job outcomes with a figure of their own; every other recorded outcome is a failure.
DELIVERED = "delivered"
REFUSED = "refused"
BLOCKED = "blocked"
#: 1 tick = 1e-10 USD, as the image API reports cost.
TICKS_PER_USD = 10_000_000_000
#: The longer period of ``/imagine-admin stats``, in UTC days, today included.
WEEK_DAYS = 7


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    """What the store sums per outcome: jobs, images delivered and reported cost."""

    outcome: str
    jobs: int
    images: int
    cost_usd_ticks: int | None


@dataclass(frozen=True, slots=True)
class UsageFigures:
    images: int = 0
    delivered_jobs: int = 0
    refused: int = 0
    blocked: int = 0
    failed: int = 0
    #: Total reported cost in ticks; None when the API reported none.
    cost_usd_ticks: int | None = None

    @property
    def spend_usd(self) -> float | None:
        if self.cost_usd_ticks is None:
            return None
        return self.cost_usd_ticks / TICKS_PER_USD


def fold(counts: Iterable[OutcomeCount]) -> UsageFigures:
    """Sum per-outcome counts into the figures the stats show."""
    images = delivered = refused = blocked = failed = 0
    cost: int | None = None
    for count in counts:
        if count.outcome == DELIVERED:
            images += count.images
            delivered += count.jobs
        elif count.outcome == REFUSED:
            refused += count.jobs
        elif count.outcome == BLOCKED:
            blocked += count.jobs
        else:
            failed += count.jobs
        if count.cost_usd_ticks is not None:
            cost = (cost or 0) + count.cost_usd_ticks
    return UsageFigures(images, delivered, refused, blocked, failed, cost)


def week_start(now: float) -> float:
    """The start of the seven UTC days that end with today."""
    return day_start(now) - (WEEK_DAYS - 1) * SECONDS_PER_DAY
