"""A member's effective limits: defaults, a server's own settings, and exempt roles."""

from __future__ import annotations

from core.guild_settings import GuildSettings
from core.limits import LimitDefaults, Limits, limits_for

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
