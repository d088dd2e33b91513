"""A member's effective limits: the operator's defaults, the server's settings, exemptions.

The one place the exempt rule is written: a member with one of the server's exempt roles
skips the cooldown and the per-user quota (the server's budget still counts their images).
In a direct message no server's settings apply: the operator's defaults do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.guild_settings import GuildSettings
from core.moderation import AttemptLimit, is_exempt


@dataclass(frozen=True, slots=True)
class LimitDefaults:
    """The operator's limits (``COOLDOWN_SECONDS``, ``DAILY_USER_QUOTA``,
    ``DAILY_GUILD_BUDGET``), for servers that set none. A quota of 0 is no limit."""

    cooldown_seconds: float
    user_quota: int
    guild_budget: int
    #: Blocked prompts before a member is paused in a server (``BLOCKED_ATTEMPTS_*``).
    blocked_attempts: AttemptLimit = field(default_factory=AttemptLimit)


@dataclass(frozen=True, slots=True)
class Limits:
    """What holds for one member where they are."""

    exempt: bool
    #: Seconds to wait after a delivered job (0 for an exempt member).
    cooldown_seconds: float
    #: Images the member may make per day (0: no limit, as for an exempt member).
    user_quota: int
    #: Images the whole server may make per day (0: no limit).
    guild_budget: int


def member_is_exempt(guild_settings: GuildSettings | None, role_ids: Iterable[int]) -> bool:
    """Whether the member skips the cooldown and their own quota (never in a DM)."""
    return guild_settings is not None and is_exempt(guild_settings, role_ids)


def cooldown_for(
    defaults: LimitDefaults, guild_settings: GuildSettings | None, *, exempt: bool
) -> float:
    """Seconds a member waits after a delivered job."""
    if exempt:
        return 0.0
    default = defaults.cooldown_seconds
    return default if guild_settings is None else guild_settings.cooldown_or(default)


def user_quota_for(
    defaults: LimitDefaults, guild_settings: GuildSettings | None, *, exempt: bool
) -> int:
    """Images a member may make per day (0: no limit)."""
    if exempt:
        return 0
    default = defaults.user_quota
    return default if guild_settings is None else guild_settings.user_quota_or(default)


def guild_budget_for(defaults: LimitDefaults, guild_settings: GuildSettings | None) -> int:
    """Images the server may make per day (0: no limit); exemptions do not touch it."""
    default = defaults.guild_budget
    return default if guild_settings is None else guild_settings.guild_budget_or(default)


def limits_for(
    defaults: LimitDefaults, guild_settings: GuildSettings | None, role_ids: Iterable[int]
) -> Limits:
    """Every effective limit of a member with these roles, where they are."""
    exempt = member_is_exempt(guild_settings, role_ids)
    return Limits(
        exempt=exempt,
        cooldown_seconds=cooldown_for(defaults, guild_settings, exempt=exempt),
        user_quota=user_quota_for(defaults, guild_settings, exempt=exempt),
        guild_budget=guild_budget_for(defaults, guild_settings),
    )
