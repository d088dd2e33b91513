"""A clock the tests move by hand, for the stores and anything else that takes one."""

from __future__ import annotations

#: 2025-02-19 21:20 UTC: the time a clock starts at unless told otherwise.
NOW = 1_740_000_000.0


class Clock:
    """Callable like ``time.time``; returns :attr:`now`, which a test sets or moves."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
