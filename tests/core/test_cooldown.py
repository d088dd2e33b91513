"""Cooldown rules as pure functions."""

from __future__ import annotations

from core.cooldown import (
    STALE_RUNNING_SECONDS,
    CooldownState,
    Verdict,
    after_finish,
    decide,
)


def test_a_new_user_is_allowed() -> None:
    assert decide(CooldownState(), now=1000.0).allowed


def test_cooldown_reports_the_time_left() -> None:
    decision = decide(CooldownState(available_at=1030.0), now=1000.0)
    assert decision.verdict is Verdict.ON_COOLDOWN
    assert decision.retry_after == 30.0


def test_cooldown_ends_exactly_at_its_time() -> None:
    assert decide(CooldownState(available_at=1000.0), now=1000.0).allowed


def test_a_running_job_blocks_a_second_one() -> None:
    state = CooldownState(running_job="a", running_since=990.0)
    assert decide(state, now=1000.0).verdict is Verdict.ALREADY_RUNNING


def test_a_stale_running_job_no_longer_blocks() -> None:
    state = CooldownState(running_job="a", running_since=1000.0)
    assert decide(state, now=1000.0 + STALE_RUNNING_SECONDS + 1).allowed


def test_a_delivered_job_starts_the_cooldown_from_its_start() -> None:
    state = CooldownState(running_job="a", running_since=1000.0)
    after = after_finish(state, "a", delivered=True, cooldown_seconds=30)
    assert after == CooldownState(available_at=1030.0)


def test_a_failed_job_costs_nothing() -> None:
    state = CooldownState(available_at=900.0, running_job="a", running_since=1000.0)
    after = after_finish(state, "a", delivered=False, cooldown_seconds=30)
    assert after == CooldownState(available_at=900.0)


def test_finishing_someone_elses_claim_changes_nothing() -> None:
    state = CooldownState(running_job="b", running_since=1000.0)
    assert after_finish(state, "a", delivered=True, cooldown_seconds=30) == state


def test_zero_cooldown_still_allows_the_next_job_at_once() -> None:
    state = CooldownState(running_job="a", running_since=1000.0)
    after = after_finish(state, "a", delivered=True, cooldown_seconds=0)
    assert decide(after, now=1000.0).allowed
