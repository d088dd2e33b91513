"""What ``/imagine-admin`` shows: a server's settings as admins read them, and its figures."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from cogs.common.answers import usd_text
from cogs.common.bounds import MAX_FIELD_VALUE, bounded_list, fit_embed, more_text
from cogs.common.catalog import text
from cogs.common.markdown import plain_text
from cogs.common.modlog import spend_text
from config import Settings
from core.guild_settings import GuildSettings
from core.limits import capped, floored, video_ceiling
from core.options import MAX_IMAGES, RESOLUTIONS
from core.stats import UsageFigures

#: Room kept under Discord's 2,000 characters when listing terms.
MAX_LIST_CHARS = 1800
#: Room for a list in one embed field (or a confirmation), with the words around it.
MAX_LISTED_CHARS = MAX_FIELD_VALUE - 64


def listing(items: Sequence[str], locale: str | None) -> str:
    """``items`` joined by commas, as many as fit in an embed field, then "…and N more"."""
    return bounded_list(items, MAX_LISTED_CHARS, more_text(locale))


def mention_channel(channel_id: int) -> str:
    """How Discord shows a channel in a message."""
    return f"<#{channel_id}>"


def mention_role(role_id: int) -> str:
    """How Discord shows a role in a message."""
    return f"<@&{role_id}>"


# -- values as admins read them ----------------------------------------------------------


def limit_text(
    value: int | None, default: int, locale: str | None, ceiling: int | None = None
) -> str:
    """A daily limit: its number, "no limit" for 0, or the bot's default when unset; held
    to the operator's ``ceiling`` (saying so) when it is past it."""

    def shown(number: int) -> str:
        return text("value_none_limit", locale) if number == 0 else str(number)

    number = default if value is None else value
    stored = shown(number)
    if value is None:
        stored = text("value_default", locale, value=stored)
    held = capped(number, ceiling)
    if held != number:
        return text("value_held", locale, limit=shown(held), value=stored)
    return stored


def cooldown_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's cooldown, or the bot's when the server has none of its own; held to
    the operator's least (saying so) when it is below it."""
    own = settings.cooldown_seconds
    seconds = config.cooldown_seconds if own is None else own
    stored = text("value_seconds", locale, seconds=f"{seconds:g}")
    if own is None:
        stored = text("value_default", locale, value=stored)
    held = floored(seconds, config.min_cooldown_seconds)
    if held != seconds:
        bound = text("value_seconds", locale, seconds=f"{held:g}")
        return text("value_held", locale, limit=bound, value=stored)
    return stored


def user_quota_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's daily images per member, as it holds."""
    return limit_text(
        settings.user_quota, config.daily_user_quota, locale, config.max_user_daily_quota
    )


def guild_budget_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's daily image budget, as it holds."""
    return limit_text(
        settings.guild_budget, config.daily_guild_budget, locale, config.max_guild_daily_budget
    )


def user_video_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's daily seconds of video per member, as it holds (the operator's value
    is its ceiling)."""
    seconds = config.daily_user_video_seconds
    return limit_text(settings.user_video_seconds, seconds, locale, video_ceiling(seconds))


def guild_video_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's own daily seconds of video, as they hold (the operator's value is
    their ceiling)."""
    seconds = config.daily_guild_video_seconds
    return limit_text(settings.guild_video_seconds, seconds, locale, video_ceiling(seconds))


def video_seconds_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The server's daily seconds of video, a member's and its own, in one line."""
    return text(
        "set_video_seconds",
        locale,
        member=user_video_text(settings, config, locale),
        server=guild_video_text(settings, config, locale),
    )


def max_n_text(settings: GuildSettings, locale: str | None) -> str:
    """The most images one request may ask for here."""
    if settings.max_n is None:
        return text("value_default", locale, value=str(MAX_IMAGES))
    return str(settings.max_n)


def models_text(settings: GuildSettings, config: Settings, locale: str | None) -> str:
    """The models members may pick here ("all" when nothing is left out)."""
    models = settings.effective_models(config.grok_models)
    if models == config.grok_models:
        return text("value_all", locale, value=listing(models, locale))
    return listing(models, locale)


def resolutions_text(settings: GuildSettings, locale: str | None) -> str:
    """The resolutions members may pick here ("all" when nothing is left out)."""
    resolutions = settings.effective_resolutions(RESOLUTIONS)
    if resolutions == RESOLUTIONS:
        return text("value_all", locale, value=listing(resolutions, locale))
    return listing(resolutions, locale)


def _yes_no(value: bool, locale: str | None) -> str:
    return text("value_yes" if value else "value_no", locale)


# -- the embeds --------------------------------------------------------------------------


def show_embed(settings: GuildSettings, config: Settings, locale: str | None) -> discord.Embed:
    """``/imagine-admin show``: every setting of the server."""
    none = text("value_none", locale)
    embed = discord.Embed(title=text("show_title", locale), colour=discord.Colour.blurple())
    fields = (
        ("show_enabled", _yes_no(settings.enabled, locale)),
        (
            "show_channels",
            listing([mention_channel(c) for c in settings.channels], locale)
            or text("value_everywhere", locale),
        ),
        ("show_terms", str(len(settings.blocked_terms))),
        ("show_nsfw", _yes_no(settings.nsfw_only, locale)),
        ("show_spoilers", _yes_no(settings.spoilers, locale)),
        ("show_cooldown", cooldown_text(settings, config, locale)),
        ("show_max_n", max_n_text(settings, locale)),
        ("show_models", models_text(settings, config, locale)),
        ("show_resolutions", resolutions_text(settings, locale)),
        ("show_exempt", listing([mention_role(r) for r in settings.exempt_roles], locale) or none),
        (
            "show_modlog",
            none if settings.modlog_channel is None else mention_channel(settings.modlog_channel),
        ),
        ("show_reroll", _yes_no(settings.reroll_open, locale)),
        ("show_edits", _yes_no(settings.edits, locale)),
        ("show_edit_uploads", _yes_no(settings.edit_uploads, locale)),
        ("show_video", _yes_no(settings.video, locale)),
        ("show_user_video", user_video_text(settings, config, locale)),
        ("show_guild_video", guild_video_text(settings, config, locale)),
        ("show_user_quota", user_quota_text(settings, config, locale)),
        ("show_guild_budget", guild_budget_text(settings, config, locale)),
        ("show_spend_limit", spend_limit_text(settings, locale)),
    )
    for key, value in fields:
        embed.add_field(name=text(key, locale), value=value, inline=True)
    return fit_embed(embed)


def figures_text(figures: UsageFigures, locale: str | None) -> str:
    """One period's figures, one a line; cancelled, interrupted and waited-too-long jobs
    apart from failed."""
    return "\n".join(
        (
            text(
                "stats_lines",
                locale,
                images=figures.images,
                refused=figures.refused,
                blocked=figures.blocked,
                failed=figures.failed,
                spend=recorded_spend_text(figures, locale),
            ),
            text("stats_cancelled", locale, count=figures.cancelled),
            text("stats_interrupted", locale, count=figures.interrupted),
            text("stats_waited_too_long", locale, count=figures.waited_too_long),
        )
    )


def stats_embed(periods: Sequence[tuple[str, UsageFigures]], locale: str | None) -> discord.Embed:
    """``/imagine-admin stats``: one field per period, named by its catalog key."""
    embed = discord.Embed(title=text("stats_title", locale), colour=discord.Colour.blurple())
    for key, figures in periods:
        embed.add_field(name=text(key, locale), value=figures_text(figures, locale), inline=True)
    return fit_embed(embed)


def terms_listing(terms: tuple[str, ...], locale: str | None) -> str:
    """The blocked terms, one a line, cut to fit one message."""
    if not terms:
        return text("terms_none", locale)
    lines = [text("terms_list", locale, count=len(terms))]
    size = len(lines[0])
    for index, term in enumerate(terms):
        line = f"• {plain_text(term)}"
        if size + len(line) + 1 > MAX_LIST_CHARS:
            lines.append(text("terms_more", locale, count=len(terms) - index))
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


# -- spend (see core.spend) ----------------------------------------------------------------


def spend_limit_text(settings: GuildSettings, locale: str | None) -> str:
    """The server's daily spend ceiling in dollars, or "no limit"."""
    if not settings.spend_limit_ticks:
        return text("value_none_limit", locale)
    return usd_text(settings.spend_limit_ticks, locale)


def recorded_spend_text(figures: UsageFigures, locale: str | None) -> str:
    """A period's spend: as the image service reported it, or, when the price table
    estimated part of it, the recorded total with the reported and estimated parts."""
    estimated = figures.estimated_ticks
    if not estimated:
        return spend_text(figures.cost_usd_ticks, locale)
    return text(
        "spend_split",
        locale,
        spend=usd_text(figures.recorded_ticks, locale),
        reported=usd_text(figures.cost_usd_ticks or 0, locale),
        estimated=usd_text(estimated, locale),
    )
