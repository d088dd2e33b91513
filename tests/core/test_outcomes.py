"""Outcomes: every error names its own, and each outcome counts in one family."""

from __future__ import annotations

import pytest

from core import errors, outcomes
from core.outcomes import Family, Outcome


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (errors.ContentRefused(), Outcome.REFUSED),
        (errors.InvalidRequest(), Outcome.INVALID_REQUEST),
        (errors.AuthenticationFailed(), Outcome.AUTH_FAILED),
        (errors.QuotaExceeded(), Outcome.OUT_OF_CREDITS),
        (errors.RateLimited(), Outcome.RATE_LIMITED),
        (errors.TransientError(), Outcome.API_UNAVAILABLE),
        (errors.BadResponse(), Outcome.BAD_RESPONSE),
        (errors.DeliveryFailed(), Outcome.DELIVERY_FAILED),
        (errors.QueueFull(), Outcome.QUEUE_FULL),
        (errors.ShuttingDown(), Outcome.SHUTTING_DOWN),
        (errors.DirectMessagesOff(), Outcome.DM_OFF),
        (errors.OnCooldown(3.0), Outcome.ON_COOLDOWN),
        (errors.AlreadyRunning(), Outcome.ALREADY_RUNNING),
        (errors.InvalidOption("aspect"), Outcome.INVALID_ASPECT),
        (errors.RefusedByServer("channel"), Outcome.RULE_CHANNEL),
        (errors.RefusedByServer("blocked"), Outcome.BLOCKED),
        (
            errors.DailyLimitReached("guild_budget", limit=5, left=0, needed=1, resets_at=0),
            Outcome.GUILD_BUDGET,
        ),
        (errors.GenerationError("odd"), Outcome.ERROR),
    ],
)
def test_each_error_carries_its_outcome(error: errors.GenerationError, outcome: Outcome) -> None:
    assert error.outcome is outcome


def test_the_words_are_those_of_the_log_line_and_the_records() -> None:
    assert Outcome.DELIVERED == "delivered"
    assert f"outcome={Outcome.RULE_NSFW_ONLY}" == "outcome=rule_nsfw_only"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("delivered", Family.DELIVERED),
        ("refused", Family.REFUSED),
        ("blocked", Family.BLOCKED),
        ("cancelled", Family.CANCELLED),
        ("interrupted", Family.INTERRUPTED),
        ("waited_too_long", Family.WAITED_TOO_LONG),
        ("bad_response", Family.FAILED),
        ("delivery_failed", Family.FAILED),
        ("error", Family.FAILED),
        ("queue_full", Family.TURNED_AWAY),
        ("rule_channel", Family.TURNED_AWAY),
        ("something-an-old-version-wrote", Family.FAILED),
        (None, Family.FAILED),
    ],
)
def test_families(word: str | None, expected: Family) -> None:
    assert outcomes.family(word) is expected


def test_every_outcome_has_a_family() -> None:
    for outcome in Outcome:
        assert isinstance(outcomes.family(outcome), Family)
