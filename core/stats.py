"""Usage figures of a server, folded from its daily totals per outcome.

The stores keep those totals as jobs close (by the UTC day each job was made on), so the
figures outlive the job records, which are removed after ``JOB_RETENTION_DAYS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core import outcomes
from core.outcomes import Family
from core.quota import SECONDS_PER_DAY, day_key, day_start

#: 1 tick = 1e-10 USD, as the image API reports cost.
TICKS_PER_USD = 10_000_000_000
#: The longer period of ``/imagine-admin stats``, in UTC days, today included.
WEEK_DAYS = 7
#: How long the daily totals are kept, in UTC days (well past what the stats show).
KEEP_TOTALS_DAYS = 90


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
    #: Jobs the requester cancelled while they waited.
    cancelled: int = 0
    #: Jobs a restart cut short.
    interrupted: int = 0
    #: Jobs closed in line because they could not start in time (the bot was too busy).
    waited_too_long: int = 0
    #: Spend recorded by the daily spend counters (see core.spend): the reported costs and
    #: the estimates of the jobs reported none for (jobs under way count their estimate).
    recorded_ticks: int = 0

    @property
    def spend_usd(self) -> float | None:
        if self.cost_usd_ticks is None:
            return None
        return self.cost_usd_ticks / TICKS_PER_USD

    @property
    def estimated_ticks(self) -> int:
        """The recorded spend the image service did not report: the estimated part."""
        return max(0, self.recorded_ticks - (self.cost_usd_ticks or 0))


def fold(counts: Iterable[OutcomeCount]) -> UsageFigures:
    """Sum per-outcome counts into the figures the stats show, one figure per family.

    A request turned away before it became a job counts as failed, as an unknown word does.
    """
    jobs = dict.fromkeys(Family, 0)
    images = 0
    cost: int | None = None
    for count in counts:
        family = outcomes.family(count.outcome)
        jobs[family] += count.jobs
        if family is Family.DELIVERED:
            images += count.images
        if count.cost_usd_ticks is not None:
            cost = (cost or 0) + count.cost_usd_ticks
    return UsageFigures(
        images=images,
        delivered_jobs=jobs[Family.DELIVERED],
        refused=jobs[Family.REFUSED],
        blocked=jobs[Family.BLOCKED],
        failed=jobs[Family.FAILED] + jobs[Family.TURNED_AWAY],
        cost_usd_ticks=cost,
        cancelled=jobs[Family.CANCELLED],
        interrupted=jobs[Family.INTERRUPTED],
        waited_too_long=jobs[Family.WAITED_TOO_LONG],
    )


def week_start(now: float) -> float:
    """The start of the seven UTC days that end with today."""
    return day_start(now) - (WEEK_DAYS - 1) * SECONDS_PER_DAY


def days_since(since: float, now: float) -> list[str]:
    """The UTC days from the one of ``since`` to today, oldest first (none if ``since``
    is still to come)."""
    first = int(since // SECONDS_PER_DAY)
    last = int(now // SECONDS_PER_DAY)
    return [day_key(day * SECONDS_PER_DAY) for day in range(first, last + 1)]


def totals_cutoff(now: float) -> str:
    """The oldest UTC day whose totals are kept."""
    return day_key(now - (KEEP_TOTALS_DAYS - 1) * SECONDS_PER_DAY)
