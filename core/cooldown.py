"""Cooldown rules, as pure functions over a user's stored state.

A user may start a job when no job of theirs is running and their cooldown has passed.
Only a delivered job starts a cooldown (counted from when it started), so a failure or a
refusal costs the user nothing. A job marked running longer than ``STALE_RUNNING_SECONDS``
(past the 15-minute interaction lifetime) is taken as lost, so a crash cannot lock a user
out for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

STALE_RUNNING_SECONDS = 16 * 60.0


@dataclass(frozen=True, slots=True)
class CooldownState:
    """What the store keeps per user (times are UNIX seconds)."""

    available_at: float = 0.0
    running_job: str | None = None
    running_since: float | None = None


class Verdict(Enum):
    ALLOWED = "allowed"
    ON_COOLDOWN = "on_cooldown"
    ALREADY_RUNNING = "already_running"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    #: Seconds until the user may try again (0 when allowed or unknown).
    retry_after: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


def decide(state: CooldownState, now: float) -> Decision:
    """May this user start a job now?"""
    if (
        state.running_job is not None
        and state.running_since is not None
        and now - state.running_since < STALE_RUNNING_SECONDS
    ):
        return Decision(Verdict.ALREADY_RUNNING)
    if state.available_at > now:
        return Decision(Verdict.ON_COOLDOWN, state.available_at - now)
    return Decision(Verdict.ALLOWED)


def after_finish(
    state: CooldownState, job_id: str, *, delivered: bool, cooldown_seconds: float
) -> CooldownState:
    """The state once ``job_id`` ends: a delivered job starts the cooldown from its start."""
    if state.running_job != job_id:
        # Another job took over (ours was stale); leave its claim alone.
        return state
    available_at = state.available_at
    if delivered and state.running_since is not None:
        available_at = max(available_at, state.running_since + cooldown_seconds)
    return CooldownState(available_at=available_at)
