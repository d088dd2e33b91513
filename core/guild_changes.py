"""Every change ``/imagine-admin`` can make to a server's settings, as a pure function.

Each function takes the current :class:`GuildSettings` first and returns the new value, or
raises :class:`SettingRefused` saying why the change cannot be made. Returning the settings
unchanged means there was nothing to do (adding what is there, removing what is not). The
store may run a change again when another one landed first, so none of them has effects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from core.guild_settings import (
    MAX_CHANNELS,
    MAX_COOLDOWN_SECONDS,
    MAX_DAILY_IMAGES,
    MAX_EXEMPT_ROLES,
    MAX_TERM_LENGTH,
    MAX_TERMS,
    GuildSettings,
)
from core.limits import capped
from core.moderation import TermProblem, check_term, same_term
from core.options import MAX_IMAGES, RESOLUTIONS

#: A change as the store applies it: the settings in, the new settings out.
Change = Callable[[GuildSettings], GuildSettings]


class Refusal(StrEnum):
    """Why a change cannot be made (the words are the message keys that say so)."""

    CHANNELS_FULL = "channels_full"
    TERM_TOO_LONG = "term_too_long"
    TERM_EMPTY = "term_empty"
    TERM_EXISTS = "term_exists"
    TERM_MISSING = "term_missing"
    TERMS_FULL = "terms_full"
    ROLES_FULL = "roles_full"
    #: Past the operator's ceilings (``limit``: the bound).
    COOLDOWN_TOO_SHORT = "cooldown_below_min"
    USER_QUOTA_TOO_HIGH = "user_quota_above_max"
    GUILD_BUDGET_TOO_HIGH = "guild_budget_above_max"
    USER_VIDEO_TOO_HIGH = "user_video_above_max"
    GUILD_VIDEO_TOO_HIGH = "guild_video_above_max"


class SettingRefused(Exception):
    """A change that cannot be made: ``reason`` says why, ``limit`` the limit it met."""

    def __init__(self, reason: Refusal, limit: int | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.limit = limit


def clamp(value: int | float, low: int, high: int) -> int:
    """``value`` as a whole number within ``low`` and ``high``."""
    # discord.py passes Range values through unchecked; a buggy client could send anything.
    return max(low, min(high, int(value)))


def _appended(listed: tuple[int, ...], item: int, most: int, full: Refusal) -> tuple[int, ...]:
    """``listed`` with ``item`` at the end, once; refused as ``full`` past ``most`` items."""
    if item in listed:
        return listed
    if len(listed) >= most:
        raise SettingRefused(full, most)
    return (*listed, item)


# -- switches --------------------------------------------------------------------------


def set_enabled(settings: GuildSettings, on: bool) -> GuildSettings:
    """Turn /imagine on or off in the server."""
    return replace(settings, enabled=on)


def set_nsfw_only(settings: GuildSettings, on: bool) -> GuildSettings:
    """Allow /imagine only in age-restricted channels, or everywhere again."""
    return replace(settings, nsfw_only=on)


def set_spoilers(settings: GuildSettings, on: bool) -> GuildSettings:
    """Send every result as a spoiler, or not."""
    return replace(settings, spoilers=on)


def set_reroll_open(settings: GuildSettings, on: bool) -> GuildSettings:
    """Let anyone press Re-roll, or only the requester."""
    return replace(settings, reroll_open=on)


def set_edits(settings: GuildSettings, on: bool) -> GuildSettings:
    """Let members edit pictures in the server, or not."""
    return replace(settings, edits=on)


def set_video(
    settings: GuildSettings,
    on: bool,
    *,
    user_seconds: int | None = None,
    guild_seconds: int | None = None,
    user_ceiling: int | None = None,
    guild_ceiling: int | None = None,
) -> GuildSettings:
    """Let members make video clips in the server (/animate), or not; with seconds, also
    set the daily seconds of video of each member and of the whole server (0: no limit),
    at most the operator's ceilings (left out: unchanged)."""
    user = settings.user_video_seconds
    if user_seconds is not None:
        user = _daily_limit(user_seconds, user_ceiling, Refusal.USER_VIDEO_TOO_HIGH)
    guild = settings.guild_video_seconds
    if guild_seconds is not None:
        guild = _daily_limit(guild_seconds, guild_ceiling, Refusal.GUILD_VIDEO_TOO_HIGH)
    return replace(settings, video=on, user_video_seconds=user, guild_video_seconds=guild)


def set_edit_uploads(settings: GuildSettings, on: bool) -> GuildSettings:
    """Let members edit uploaded pictures too, or only the bot's own results."""
    return replace(settings, edit_uploads=on)


# -- limits (None: the bot's default) ------------------------------------------------------


def set_cooldown(
    settings: GuildSettings, seconds: int | float | None, floor: float = 0.0
) -> GuildSettings:
    """Seconds a member waits after each delivered job, within 0 and a week; refused below
    the operator's ``floor``."""
    value = None if seconds is None else float(clamp(seconds, 0, MAX_COOLDOWN_SECONDS))
    if value is not None and value < floor:
        # The command takes whole seconds: the least it accepts.
        raise SettingRefused(Refusal.COOLDOWN_TOO_SHORT, math.ceil(floor))
    return replace(settings, cooldown_seconds=value)


def set_max_n(settings: GuildSettings, count: int | None) -> GuildSettings:
    """The most images one request may ask for, within 1 and the command's own limit."""
    value = None if count is None else clamp(count, 1, MAX_IMAGES)
    return replace(settings, max_n=value)


def _daily_limit(images: int | None, ceiling: int | None, past: Refusal) -> int | None:
    """A daily limit as stored (0: no limit), refused as ``past`` beyond the operator's
    ``ceiling`` (no limit is beyond any ceiling)."""
    value = None if images is None else clamp(images, 0, MAX_DAILY_IMAGES)
    if value is not None and capped(value, ceiling) != value:
        assert ceiling is not None
        raise SettingRefused(past, ceiling)
    return value


def set_user_quota(
    settings: GuildSettings, images: int | None, ceiling: int | None = None
) -> GuildSettings:
    """Images each member may make per UTC day (0: no limit), at most the operator's
    ``ceiling``."""
    value = _daily_limit(images, ceiling, Refusal.USER_QUOTA_TOO_HIGH)
    return replace(settings, user_quota=value)


def set_guild_budget(
    settings: GuildSettings, images: int | None, ceiling: int | None = None
) -> GuildSettings:
    """Images the whole server may make per UTC day (0: no limit), at most the operator's
    ``ceiling``."""
    value = _daily_limit(images, ceiling, Refusal.GUILD_BUDGET_TOO_HIGH)
    return replace(settings, guild_budget=value)


# -- channels --------------------------------------------------------------------------


def add_channel(settings: GuildSettings, channel_id: int) -> GuildSettings:
    """Allow /imagine in a channel (the list holds at most ``MAX_CHANNELS``)."""
    listed = _appended(settings.channels, channel_id, MAX_CHANNELS, Refusal.CHANNELS_FULL)
    return replace(settings, channels=listed)


def remove_channel(settings: GuildSettings, channel_id: int) -> GuildSettings:
    """Take a channel off the list; an empty list allows every channel."""
    return replace(settings, channels=tuple(c for c in settings.channels if c != channel_id))


def clear_channels(settings: GuildSettings) -> GuildSettings:
    """Allow /imagine in every channel again."""
    return replace(settings, channels=())


# -- blocked terms ---------------------------------------------------------------------


def add_term(settings: GuildSettings, term: str) -> GuildSettings:
    """Block a word or phrase, as typed (trimmed); one that blocks the same is refused."""
    term = term.strip()
    problem = check_term(term)
    if problem is TermProblem.TOO_LONG:
        raise SettingRefused(Refusal.TERM_TOO_LONG, MAX_TERM_LENGTH)
    if problem is TermProblem.EMPTY:
        raise SettingRefused(Refusal.TERM_EMPTY)
    if any(same_term(term, known) for known in settings.blocked_terms):
        raise SettingRefused(Refusal.TERM_EXISTS)
    if len(settings.blocked_terms) >= MAX_TERMS:
        raise SettingRefused(Refusal.TERMS_FULL, MAX_TERMS)
    return replace(settings, blocked_terms=(*settings.blocked_terms, term))


def remove_term(settings: GuildSettings, term: str) -> GuildSettings:
    """Unblock every listed term that blocks the same as ``term``."""
    term = term.strip()
    kept = tuple(t for t in settings.blocked_terms if not same_term(term, t))
    if len(kept) == len(settings.blocked_terms):
        raise SettingRefused(Refusal.TERM_MISSING)
    return replace(settings, blocked_terms=kept)


# -- models and resolutions --------------------------------------------------------------


def _allowing(current: tuple[str, ...], value: str, available: tuple[str, ...]) -> tuple[str, ...]:
    """``current`` with ``value`` added (only a known one), in the order of ``available``."""
    if value not in available or value in current:
        return current
    return tuple(v for v in available if v in current or v == value)


def _forbidding(
    current: tuple[str, ...], value: str, available: tuple[str, ...]
) -> tuple[str, ...]:
    """``current`` without ``value``. With no list (everything allowed), the others stay
    allowed; taking off the only one left empties the list, which allows everything again."""
    listed = current or available
    kept = tuple(v for v in listed if v != value)
    return current if kept == listed else kept


def add_model(settings: GuildSettings, model: str, configured: tuple[str, ...]) -> GuildSettings:
    """Allow a model (one of the ``configured`` ones)."""
    return replace(settings, models=_allowing(settings.models, model, configured))


def remove_model(settings: GuildSettings, model: str, configured: tuple[str, ...]) -> GuildSettings:
    """Take a model off the allowed ones."""
    return replace(settings, models=_forbidding(settings.models, model, configured))


def clear_models(settings: GuildSettings) -> GuildSettings:
    """Allow every configured model again."""
    return replace(settings, models=())


def add_resolution(
    settings: GuildSettings, resolution: str, available: tuple[str, ...] = RESOLUTIONS
) -> GuildSettings:
    """Allow a resolution."""
    return replace(settings, resolutions=_allowing(settings.resolutions, resolution, available))


def remove_resolution(
    settings: GuildSettings, resolution: str, available: tuple[str, ...] = RESOLUTIONS
) -> GuildSettings:
    """Take a resolution off the allowed ones."""
    return replace(settings, resolutions=_forbidding(settings.resolutions, resolution, available))


def clear_resolutions(settings: GuildSettings) -> GuildSettings:
    """Allow every resolution again."""
    return replace(settings, resolutions=())


# -- exempt roles ----------------------------------------------------------------------


def add_exempt_role(settings: GuildSettings, role_id: int) -> GuildSettings:
    """Exempt a role from the cooldown and the per-member quota."""
    listed = _appended(settings.exempt_roles, role_id, MAX_EXEMPT_ROLES, Refusal.ROLES_FULL)
    return replace(settings, exempt_roles=listed)


def remove_exempt_role(settings: GuildSettings, role_id: int) -> GuildSettings:
    """End a role's exemption."""
    return replace(settings, exempt_roles=tuple(r for r in settings.exempt_roles if r != role_id))


# -- the mod log -----------------------------------------------------------------------


def set_modlog(settings: GuildSettings, channel_id: int) -> GuildSettings:
    """Log every job and settings change in a channel."""
    return replace(settings, modlog_channel=channel_id)


def clear_modlog(settings: GuildSettings) -> GuildSettings:
    """Stop the mod log."""
    return replace(settings, modlog_channel=None)


# -- spend -----------------------------------------------------------------------------

#: The largest daily spend ceiling a server may set, in ticks (a million dollars).
MAX_SPEND_LIMIT_TICKS = 1_000_000 * 10_000_000_000


def set_spend_limit(settings: GuildSettings, ticks: int | None) -> GuildSettings:
    """The server's daily spend ceiling in ticks; None or 0: no ceiling."""
    value = None if not ticks else clamp(ticks, 1, MAX_SPEND_LIMIT_TICKS)
    return replace(settings, spend_limit_ticks=value)
