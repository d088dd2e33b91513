"""When to try an image request again, and after how long: a pure policy.

Generation is not idempotent (a timed-out request may still be billed), so retries are
few and bounded in time; content refusals are never retried.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal

from core.errors import ContentRefused, GenerationError

#: The backoff jitter styles :class:`RetryPolicy` knows.
JITTER_STYLES = ("equal", "full")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter that honours ``Retry-After``.

    ``max_attempts`` counts every attempt, the first included. ``total_budget`` bounds the
    seconds from the first attempt until the start of the last one.
    """

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0
    total_budget: float = 600.0
    #: "equal" waits at least half the backoff step, which keeps a burst of failing jobs
    #: from retrying all at once; "full" spreads them over the whole step.
    jitter: Literal["equal", "full"] = "equal"

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for name in ("base_delay", "max_delay", "total_budget"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0")
        if self.jitter not in JITTER_STYLES:
            raise ValueError(f"jitter must be one of {JITTER_STYLES}")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The jittered exponential wait after failed attempt number ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        # Bound the exponent so 2**exponent cannot overflow a float for silly inputs.
        step = min(self.max_delay, self.base_delay * 2.0 ** min(exponent, 62))
        if self.jitter == "full":
            return rng.uniform(0.0, step)
        return step / 2.0 + rng.uniform(0.0, step / 2.0)

    def delay(
        self,
        attempt: int,
        error: GenerationError,
        rng: random.Random,
        elapsed: float = 0.0,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        ``attempt`` is the number of attempts made so far (1 after the first failure),
        ``elapsed`` the seconds since the first attempt started. Gives up when the error is
        not retryable, the attempts are used up, the server asks for a longer wait than
        ``max_delay`` (hammering it sooner would not help), or the wait would overrun what
        is left of ``total_budget``.
        """
        if isinstance(error, ContentRefused) or not error.retryable:
            return None
        if attempt >= self.max_attempts:
            return None
        retry_after = error.retry_after
        if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
            if retry_after > self.max_delay:
                return None
            wait = retry_after
        else:
            wait = self.backoff(attempt, rng)
        remaining = self.total_budget - max(0.0, elapsed)
        if wait > remaining:
            return None
        return wait
