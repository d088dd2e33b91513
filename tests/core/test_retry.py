"""The retry policy: which failures are retried, and after how long."""

from __future__ import annotations

import random

import pytest

from core.errors import (
    AuthenticationFailed,
    BadResponse,
    ContentRefused,
    GenerationError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from core.retry import RetryPolicy


def rng() -> random.Random:
    return random.Random(1234)


@pytest.mark.parametrize(
    "error",
    [
        ContentRefused("refused"),
        InvalidRequest("bad"),
        AuthenticationFailed("key"),
        QuotaExceeded("credits"),
        BadResponse("garbage"),
        GenerationError("generic"),
    ],
)
def test_non_retryable_errors_give_up_at_once(error: GenerationError) -> None:
    assert RetryPolicy().delay(1, error, rng()) is None


def test_content_refusal_is_never_retried_even_if_flagged_retryable() -> None:
    error = ContentRefused("refused", retry_after=0.0)
    error.retryable = True
    assert RetryPolicy().delay(1, error, rng()) is None


@pytest.mark.parametrize("error", [RateLimited("busy"), TransientError("502")])
def test_retryable_errors_are_retried_until_attempts_run_out(error: GenerationError) -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.delay(1, error, rng()) is not None
    assert policy.delay(2, error, rng()) is not None
    assert policy.delay(3, error, rng()) is None
    assert policy.delay(7, error, rng()) is None


def test_a_single_attempt_policy_never_retries() -> None:
    assert RetryPolicy(max_attempts=1).delay(1, TransientError(), rng()) is None


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_equal_jitter_stays_in_the_upper_half_of_the_step(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=20.0)
    step = min(20.0, 2.0 ** (attempt - 1))
    source = random.Random(attempt)
    waits = [policy.delay(attempt, TransientError(), source) for _ in range(200)]
    assert all(w is not None and step / 2 <= w <= step for w in waits)
    # Jitter: not every job waits the same.
    assert len({round(w or 0, 6) for w in waits}) > 100


def test_full_jitter_spreads_over_the_whole_step() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=2.0, jitter="full")
    source = random.Random(5)
    waits = [policy.delay(2, TransientError(), source) or 0.0 for _ in range(500)]
    assert all(0.0 <= w <= 4.0 for w in waits)
    assert min(waits) < 1.0 < 3.0 < max(waits)


def test_backoff_is_capped_by_max_delay() -> None:
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=20.0)
    for attempt in (10, 50, 99):
        wait = policy.delay(attempt, TransientError(), rng())
        assert wait is not None
        assert 10.0 <= wait <= 20.0


def test_backoff_grows_with_attempts() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1000.0)
    first = [policy.delay(1, TransientError(), random.Random(i)) or 0.0 for i in range(50)]
    fourth = [policy.delay(4, TransientError(), random.Random(i)) or 0.0 for i in range(50)]
    assert max(first) <= 1.0
    assert min(fourth) >= 4.0


def test_same_seed_same_waits() -> None:
    policy = RetryPolicy()
    assert policy.delay(2, RateLimited(), random.Random(9)) == policy.delay(
        2, RateLimited(), random.Random(9)
    )


def test_retry_after_is_honoured_exactly() -> None:
    policy = RetryPolicy(max_delay=20.0)
    assert policy.delay(1, RateLimited(retry_after=3.0), rng()) == 3.0
    assert policy.delay(1, RateLimited(retry_after=0.0), rng()) == 0.0
    assert policy.delay(2, TransientError(retry_after=20.0), rng()) == 20.0


def test_retry_after_longer_than_max_delay_gives_up() -> None:
    assert RetryPolicy(max_delay=20.0).delay(1, RateLimited(retry_after=20.5), rng()) is None


@pytest.mark.parametrize("bogus", [-1.0, float("nan"), float("inf")])
def test_bogus_retry_after_falls_back_to_backoff(bogus: float) -> None:
    wait = RetryPolicy(base_delay=1.0).delay(1, RateLimited(retry_after=bogus), rng())
    assert wait is not None
    assert 0.5 <= wait <= 1.0


def test_budget_bounds_the_wait() -> None:
    policy = RetryPolicy(max_attempts=5, total_budget=600.0, max_delay=20.0)
    assert policy.delay(1, RateLimited(retry_after=5.0), rng(), elapsed=594.0) == 5.0
    assert policy.delay(1, RateLimited(retry_after=5.0), rng(), elapsed=596.0) is None
    assert policy.delay(1, TransientError(), rng(), elapsed=600.0) is None
    assert policy.delay(1, TransientError(), rng(), elapsed=10_000.0) is None
    # A negative elapsed (a clock oddity) counts as none.
    assert policy.delay(1, RateLimited(retry_after=5.0), rng(), elapsed=-50.0) == 5.0


def test_zero_delays_are_allowed_for_tests() -> None:
    policy = RetryPolicy(base_delay=0.0)
    assert policy.delay(1, TransientError(), rng()) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay": -1.0},
        {"max_delay": float("nan")},
        {"total_budget": float("inf")},
        {"jitter": "none"},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
