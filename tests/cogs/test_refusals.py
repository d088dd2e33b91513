"""Refusals by a server's rules and daily limits: short, and naming nothing to probe."""

from __future__ import annotations

import re

import pytest

from cogs.common.answers import message_for
from core import errors
from core.outcomes import Outcome


def test_a_blocked_prompt_names_no_term() -> None:
    message = message_for(errors.RefusedByServer("blocked"), "en-US")
    assert "can't be used in this server" in message
    chinese = message_for(errors.RefusedByServer("blocked"), "zh-CN")
    assert chinese != message


def test_a_channel_refusal_names_the_allowed_channels_briefly() -> None:
    message = message_for(errors.RefusedByServer("channel", channels=(1, 2)), "en-US")
    assert "<#1>, <#2>" in message
    many = message_for(errors.RefusedByServer("channel", channels=tuple(range(50))), None)
    assert many.count("<#") == 20
    assert len(many) < 2000


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (errors.RefusedByServer("disabled"), "turned off"),
        (errors.RefusedByServer("nsfw_only"), "age-restricted"),
        (errors.RefusedByServer("max_n", max_n=3), "at most 3 images"),
        (errors.RefusedByServer("model", choices=("a", "b")), "Allowed: a, b"),
        (errors.RefusedByServer("resolution", choices=("2k",)), "Allowed: 2k"),
        (errors.DirectMessagesOff(), "servers only"),
    ],
)
def test_each_rule_says_what_stopped_the_request(
    error: errors.GenerationError, needle: str
) -> None:
    assert needle in message_for(error, "en-US")


def test_daily_limits_say_what_is_left_and_when_it_starts_again() -> None:
    user = errors.DailyLimitReached("user_quota", limit=5, left=1, needed=2, resets_at=1e9)
    message = message_for(user, "en-US")
    assert "1 of your 5 daily images" in message
    assert re.search(r"<t:\d+:R>", message)
    server = errors.DailyLimitReached("guild_budget", limit=9, left=0, needed=1, resets_at=1e9)
    assert "This server has 0 of its 9" in message_for(server, "en-US")


def test_video_allowances_say_the_seconds_left_and_when_they_start_again() -> None:
    user = errors.DailyLimitReached(
        "user_quota", limit=60, left=4, needed=6, resets_at=1e9, video=True
    )
    message = message_for(user, "en-US")
    assert "4 of your 60 daily seconds of video" in message
    assert "needs 6" in message
    assert re.search(r"<t:\d+:R>", message)
    assert "秒" in message_for(user, "zh-CN")
    server = errors.DailyLimitReached(
        "guild_budget", limit=300, left=0, needed=5, resets_at=1e9, video=True
    )
    assert "This server has 0 of its 300 daily seconds of video" in message_for(server, "en-US")
    # Counted in the usage figures as the image limits are.
    assert (user.outcome, server.outcome) == (Outcome.USER_QUOTA, Outcome.GUILD_BUDGET)
