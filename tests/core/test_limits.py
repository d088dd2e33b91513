"""A member's effective limits: defaults, a server's own settings, and exempt roles."""

from __future__ import annotations

from dataclasses import replace

from core.guild_settings import GuildSettings
from core.limits import Ceilings, LimitDefaults, Limits, capped, floored, limits_for
from core.quota import Meter

DEFAULTS = LimitDefaults(cooldown_seconds=30.0, user_quota=20, guild_budget=200)


def test_a_direct_message_gets_the_operators_defaults() -> None:
    assert limits_for(DEFAULTS, None, [1, 2]) == Limits(
        exempt=False, cooldown_seconds=30.0, user_quota=20, guild_budget=200
    )


def test_a_server_without_settings_gets_the_defaults() -> None:
    assert limits_for(DEFAULTS, GuildSettings(), []) == limits_for(DEFAULTS, None, [])


def test_a_servers_own_settings_win_and_zero_means_no_limit() -> None:
    server = GuildSettings(cooldown_seconds=5.0, user_quota=0, guild_budget=7)
    assert limits_for(DEFAULTS, server, []) == Limits(
        exempt=False, cooldown_seconds=5.0, user_quota=0, guild_budget=7
    )


def test_an_exempt_member_skips_cooldown_and_own_quota_but_not_the_budget() -> None:
    server = GuildSettings(exempt_roles=(9,), cooldown_seconds=60.0, user_quota=3, guild_budget=7)
    assert limits_for(DEFAULTS, server, [4, 9]) == Limits(
        exempt=True, cooldown_seconds=0.0, user_quota=0, guild_budget=7
    )
    assert not limits_for(DEFAULTS, server, [4]).exempt


def test_exempt_roles_mean_nothing_in_a_direct_message() -> None:
    assert not limits_for(DEFAULTS, None, [9]).exempt


CEILED = LimitDefaults(
    cooldown_seconds=30.0,
    user_quota=20,
    guild_budget=200,
    ceilings=Ceilings(user_quota=10, guild_budget=100, min_cooldown_seconds=45.0),
)


def test_a_ceiling_holds_no_limit_and_anything_past_it_to_the_ceiling() -> None:
    assert [capped(n, 10) for n in (0, 1, 10, 11, 10**6)] == [10, 1, 10, 10, 10]
    assert [capped(n, None) for n in (0, 11)] == [0, 11]
    assert [floored(s, 45.0) for s in (0.0, 45.0, 60.0)] == [45.0, 45.0, 60.0]


def test_values_stored_before_a_ceiling_was_lowered_are_held_to_it() -> None:
    generous = GuildSettings(cooldown_seconds=0.0, user_quota=0, guild_budget=5000)
    assert limits_for(CEILED, generous, []) == Limits(
        exempt=False, cooldown_seconds=45.0, user_quota=10, guild_budget=100
    )
    within = GuildSettings(cooldown_seconds=90.0, user_quota=3, guild_budget=7)
    assert limits_for(CEILED, within, []) == Limits(
        exempt=False, cooldown_seconds=90.0, user_quota=3, guild_budget=7
    )


def test_the_operators_own_defaults_are_held_to_the_ceilings_too() -> None:
    assert limits_for(CEILED, None, []) == Limits(
        exempt=False, cooldown_seconds=45.0, user_quota=10, guild_budget=100
    )
    assert limits_for(CEILED, GuildSettings(), []) == limits_for(CEILED, None, [])


def test_an_exempt_member_still_counts_against_the_capped_budget() -> None:
    server = GuildSettings(exempt_roles=(9,), guild_budget=0)
    assert limits_for(CEILED, server, [9]) == Limits(
        exempt=True, cooldown_seconds=0.0, user_quota=0, guild_budget=100
    )


VIDEO_DEFAULTS = LimitDefaults(
    cooldown_seconds=30.0,
    user_quota=20,
    guild_budget=200,
    user_video_seconds=60,
    guild_video_seconds=300,
)


def test_seconds_of_video_have_limits_of_their_own() -> None:
    limits = limits_for(VIDEO_DEFAULTS, GuildSettings(), [])
    assert limits.daily(Meter.IMAGES) == (20, 200)
    assert limits.daily(Meter.VIDEO_SECONDS) == (60, 300)


def test_an_exempt_member_skips_their_own_seconds_but_not_the_servers() -> None:
    limits = limits_for(VIDEO_DEFAULTS, GuildSettings(exempt_roles=(9,)), [9])
    assert limits.daily(Meter.VIDEO_SECONDS) == (0, 300)
    assert limits.daily(Meter.IMAGES) == (0, 200)


def test_a_servers_own_seconds_are_held_to_the_operators() -> None:
    lower = GuildSettings(user_video_seconds=20, guild_video_seconds=100)
    assert limits_for(VIDEO_DEFAULTS, lower, []).daily(Meter.VIDEO_SECONDS) == (20, 100)
    # Stored before the operator lowered theirs (or no limit): held to the operator's.
    higher = GuildSettings(user_video_seconds=0, guild_video_seconds=900)
    assert limits_for(VIDEO_DEFAULTS, higher, []).daily(Meter.VIDEO_SECONDS) == (60, 300)
    # An operator with no limit leaves the server's own as they are.
    unlimited = replace(VIDEO_DEFAULTS, user_video_seconds=0, guild_video_seconds=0)
    assert limits_for(unlimited, lower, []).daily(Meter.VIDEO_SECONDS) == (20, 100)
    assert limits_for(unlimited, None, []).daily(Meter.VIDEO_SECONDS) == (0, 0)
