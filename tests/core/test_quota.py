"""Quota arithmetic: UTC day keys, limits and refunds, across midnight."""

from __future__ import annotations

import datetime

import pytest

from core.quota import (
    Meter,
    QuotaVerdict,
    after_refund,
    day_key,
    day_start,
    decide,
    guild_scope,
    metered,
    next_reset,
    remaining,
    unmetered,
    user_scope,
)

MIDNIGHT = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC).timestamp()


def test_day_keys_change_exactly_at_utc_midnight() -> None:
    assert day_key(MIDNIGHT - 0.001) == "2025-02-28"
    assert day_key(MIDNIGHT) == "2025-03-01"
    assert day_start(MIDNIGHT + 3600) == MIDNIGHT
    assert day_start(MIDNIGHT - 1) == MIDNIGHT - 86400
    assert next_reset(MIDNIGHT - 1) == MIDNIGHT
    assert next_reset(MIDNIGHT) == MIDNIGHT + 86400


def test_scopes_keep_servers_and_direct_messages_apart() -> None:
    assert user_scope(5, 7) != user_scope(6, 7)
    assert user_scope(None, 7) == "user:dm:7"
    assert guild_scope(5) == "guild:5"


@pytest.mark.parametrize(
    ("limit", "used", "left"), [(0, 99, None), (10, 3, 7), (10, 10, 0), (10, 12, 0)]
)
def test_remaining(limit: int, used: int, left: int | None) -> None:
    assert remaining(limit, used) == left


def test_a_request_fits_exactly_up_to_the_limit() -> None:
    assert decide(3, user_used=7, user_limit=10, guild_used=0, guild_limit=0).allowed
    refused = decide(4, user_used=7, user_limit=10, guild_used=0, guild_limit=0)
    assert (refused.verdict, refused.limit, refused.left) == (QuotaVerdict.USER, 10, 3)


def test_the_server_budget_applies_after_the_member_quota() -> None:
    refused = decide(2, user_used=0, user_limit=5, guild_used=99, guild_limit=100)
    assert (refused.verdict, refused.left) == (QuotaVerdict.GUILD, 1)
    both = decide(9, user_used=0, user_limit=5, guild_used=99, guild_limit=100)
    assert both.verdict is QuotaVerdict.USER


def test_zero_means_no_limit() -> None:
    assert decide(10, user_used=10**6, user_limit=0, guild_used=10**6, guild_limit=0).allowed


def test_refunds_never_go_below_zero() -> None:
    assert after_refund(5, 3) == 2
    assert after_refund(2, 3) == 0
    assert after_refund(2, -1) == 2


def test_usage_figures_fold_outcomes_and_spend() -> None:
    from core.stats import OutcomeCount, fold, week_start

    figures = fold(
        [
            OutcomeCount("delivered", jobs=3, images=7, cost_usd_ticks=1_400_000_000),
            OutcomeCount("refused", jobs=2, images=0, cost_usd_ticks=None),
            OutcomeCount("blocked", jobs=1, images=0, cost_usd_ticks=None),
            OutcomeCount("api_unavailable", jobs=1, images=0, cost_usd_ticks=None),
            OutcomeCount("delivery_failed", jobs=1, images=0, cost_usd_ticks=200_000_000),
        ]
    )
    assert (figures.images, figures.refused, figures.blocked, figures.failed) == (7, 2, 1, 2)
    assert figures.spend_usd == pytest.approx(0.16)
    assert fold([]).spend_usd is None
    assert week_start(MIDNIGHT + 5) == MIDNIGHT - 6 * 86400


def test_video_seconds_have_scopes_of_their_own() -> None:
    assert metered(user_scope(1, 7), Meter.IMAGES) == "user:1:7"
    assert metered(user_scope(1, 7), Meter.VIDEO_SECONDS) == "video:user:1:7"
    assert metered(guild_scope(1), Meter.VIDEO_SECONDS) == "video:guild:1"
    assert metered(user_scope(None, 7), Meter.VIDEO_SECONDS) == "video:user:dm:7"
    assert unmetered("video:guild:1") == unmetered("guild:1") == "guild:1"
