"""A member's effective limits: the operator's defaults, the server's settings, exemptions.

The one place the exempt rule is written: a member with one of the server's exempt roles
skips the cooldown and the per-user quota, of images and of seconds of video alike (the
server's budgets still count their images and seconds).
In a direct message no server's settings apply: the operator's defaults do.

The operator's ceilings (:class:`Ceilings`) bound every value a server may use: a server's
setting stored before a ceiling was lowered, or an operator default past it, is held to
the ceiling when read. A daily limit of 0 ("no limit") is past any ceiling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.guild_settings import GuildSettings
from core.moderation import AttemptLimit, is_exempt
from core.quota import Meter


@dataclass(frozen=True, slots=True)
class Ceilings:
    """The operator's bounds on what a server may set (``MAX_USER_DAILY_QUOTA``,
    ``MAX_GUILD_DAILY_BUDGET``, ``MIN_COOLDOWN_SECONDS``); None: no ceiling."""

    user_quota: int | None = None
    guild_budget: int | None = None
    min_cooldown_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LimitDefaults:
    """The operator's limits (``COOLDOWN_SECONDS``, ``DAILY_USER_QUOTA``,
    ``DAILY_GUILD_BUDGET``), for servers that set none, and the ceilings every value is
    held to. A quota of 0 is no limit."""

    cooldown_seconds: float
    user_quota: int
    guild_budget: int
    #: Blocked prompts before a member is paused in a server (``BLOCKED_ATTEMPTS_*``).
    blocked_attempts: AttemptLimit = field(default_factory=AttemptLimit)
    ceilings: Ceilings = Ceilings()
    #: Seconds of video a member may make per day in a server, and the whole server
    #: (``DAILY_USER_VIDEO_SECONDS``, ``DAILY_GUILD_VIDEO_SECONDS``; 0: no limit).
    user_video_seconds: int = 0
    guild_video_seconds: int = 0


def capped(images: int, ceiling: int | None) -> int:
    """A daily limit held to the operator's ceiling: 0 (no limit) and anything past it
    become the ceiling."""
    if ceiling is None:
        return images
    return ceiling if images == 0 or images > ceiling else images


def floored(seconds: float, floor: float) -> float:
    """A cooldown held to the operator's least."""
    return max(seconds, floor)


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
    #: Seconds of video the member, and the whole server, may make per day (0: no
    #: limit; the member's is 0 for an exempt member).
    user_video_seconds: int = 0
    guild_video_seconds: int = 0

    def daily(self, meter: Meter) -> tuple[int, int]:
        """The member's and the server's daily limits of ``meter`` (0: no limit)."""
        if meter is Meter.VIDEO_SECONDS:
            return self.user_video_seconds, self.guild_video_seconds
        return self.user_quota, self.guild_budget


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
    seconds = default if guild_settings is None else guild_settings.cooldown_or(default)
    return floored(seconds, defaults.ceilings.min_cooldown_seconds)


def user_quota_for(
    defaults: LimitDefaults, guild_settings: GuildSettings | None, *, exempt: bool
) -> int:
    """Images a member may make per day (0: no limit)."""
    if exempt:
        return 0
    default = defaults.user_quota
    images = default if guild_settings is None else guild_settings.user_quota_or(default)
    return capped(images, defaults.ceilings.user_quota)


def guild_budget_for(defaults: LimitDefaults, guild_settings: GuildSettings | None) -> int:
    """Images the server may make per day (0: no limit); exemptions do not touch it."""
    default = defaults.guild_budget
    images = default if guild_settings is None else guild_settings.guild_budget_or(default)
    return capped(images, defaults.ceilings.guild_budget)


def video_ceiling(operator_seconds: int) -> int | None:
    """The bound the operator's daily seconds of video put on a server's own: the
    operator's value itself (none when it is 0, no limit)."""
    return operator_seconds or None


def user_video_seconds_for(
    defaults: LimitDefaults, guild_settings: GuildSettings | None, *, exempt: bool
) -> int:
    """Seconds of video a member may make per day (0: no limit): the server's own, held
    to the operator's ``DAILY_USER_VIDEO_SECONDS``."""
    if exempt:
        return 0
    default = defaults.user_video_seconds
    seconds = default if guild_settings is None else guild_settings.user_video_seconds_or(default)
    return capped(seconds, video_ceiling(default))


def guild_video_seconds_for(defaults: LimitDefaults, guild_settings: GuildSettings | None) -> int:
    """Seconds of video the server may make per day (0: no limit): the server's own, held
    to the operator's ``DAILY_GUILD_VIDEO_SECONDS``; exemptions do not touch it."""
    default = defaults.guild_video_seconds
    seconds = default if guild_settings is None else guild_settings.guild_video_seconds_or(default)
    return capped(seconds, video_ceiling(default))


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
        user_video_seconds=user_video_seconds_for(defaults, guild_settings, exempt=exempt),
        guild_video_seconds=guild_video_seconds_for(defaults, guild_settings),
    )
