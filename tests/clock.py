"""A clock the tests move by hand, for the stores and anything else that takes one (and a
sleep on it, for what takes a sleep)."""

from __future__ import annotations

import asyncio

#: 2025-02-19 21:20 UTC: the time a clock starts at unless told otherwise.
NOW = 1_740_000_000.0


class Clock:
    """Callable like ``time.time``; returns :attr:`now`, which a test sets or moves."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """A sleep on this clock: moves it on by ``seconds`` at once, and lets the event
        loop run a hundredth of a second (so that what waits on the sleeper gets a turn)."""
        self.now += seconds
        await asyncio.sleep(0.01)
