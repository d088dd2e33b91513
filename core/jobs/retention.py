"""The retention pass: job records older than ``JOB_RETENTION_DAYS`` are removed.

The usage figures do not need them: the stores keep daily totals as jobs close. Unfinished
jobs are never removed (the journal still owes them an answer). The pass runs once the
platform is connected, then every hour, in every process: it is idempotent, so several
processes sharing a store may run it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from core.quota import SECONDS_PER_DAY
from core.storage import Store

log = logging.getLogger(__name__)

#: Seconds between two retention passes.
RETENTION_PASS_SECONDS = 3600.0
#: Days a finished job's record is kept, unless the operator says otherwise.
DEFAULT_JOB_RETENTION_DAYS = 30


def retention_cutoff(now: float, days: int) -> float:
    """Job records made before this time are past their keeping."""
    return now - days * SECONDS_PER_DAY


async def retention_pass(store: Store, days: int, now: float | None = None) -> int:
    """Remove the finished job records older than ``days``; how many went (never raises)."""
    try:
        removed = await store.prune_jobs(
            retention_cutoff(time.time() if now is None else now, days)
        )
    except Exception:
        log.exception("could not remove old job records")
        return 0
    if removed:
        log.info("removed %d job record(s) older than %d day(s)", removed, days)
    return removed


async def keep_bounded(
    store: Store,
    days: int,
    ready: Callable[[], Awaitable[object]],
    stopping: Callable[[], bool],
    *,
    every: float = RETENTION_PASS_SECONDS,
) -> None:
    """Run :func:`retention_pass` once ``ready()`` returns, then every ``every`` seconds
    until ``stopping()``."""
    await ready()
    while not stopping():
        await retention_pass(store, days)
        await asyncio.sleep(every)
