"""Answering interactions, and the one place where errors become words.

Known errors (``core.errors``) map to a short message from the catalog; anything else is
logged with its traceback and the user gets a generic message with the job id. Users never
see exception text. The command tree's error handler (``cogs.common.tree``) and every
button answer through :func:`answer_error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import aiohttp
import discord
from discord import app_commands

from cogs.common.bounds import MAX_CONTENT, bounded_list, budget_for, clip, more_text
from cogs.common.catalog import text
from core import errors, stats

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()

_INVALID_OPTION_KEYS = {
    "prompt": "invalid_prompt",
    "model": "invalid_model",
    "n": "invalid_n",
    "aspect": "invalid_aspect",
    "resolution": "invalid_resolution",
}

_ERROR_KEYS: tuple[tuple[type[errors.GenerationError], str], ...] = (
    (errors.AlreadyRunning, "already_running"),
    (errors.QueueFull, "queue_full"),
    (errors.ShuttingDown, "shutting_down"),
    (errors.ContentRefused, "content_refused"),
    (errors.InvalidRequest, "invalid_request"),
    (errors.AuthenticationFailed, "auth_failed"),
    (errors.QuotaExceeded, "quota_exceeded"),
    (errors.RateLimited, "rate_limited"),
    (errors.TransientError, "transient"),
    (errors.BadResponse, "bad_response"),
    (errors.DeliveryFailed, "delivery_failed"),
    (errors.EditsUnavailable, "edits_unavailable"),
    (errors.VideoUnavailable, "video_unavailable"),
    (errors.VideoFailed, "video_failed"),
    (errors.VideoExpired, "video_expired"),
    (errors.VideoTimedOut, "video_timed_out"),
)


#: At most this many allowed channels are named in a refusal, to keep it short.
MAX_CHANNELS_NAMED = 20
#: How model names are joined in ``choices`` (names never hold a comma: GROK_MODELS is
#: comma-separated).
CHOICES_SEPARATOR = ", "


def timestamp(unix_time: float) -> str:
    """A Discord timestamp that each user sees as a relative time in their own language."""
    return f"<t:{int(unix_time + 0.999)}:R>"


def listed(key: str, locale: str | None, name: str, items: Sequence[str]) -> str:
    """The message ``key`` whose ``{name}`` lists ``items``: as many as fit in one message,
    then "…and N more"."""
    budget = budget_for(lambda value: text(key, locale, **{name: value}))
    joined = bounded_list(items, budget, more_text(locale), CHOICES_SEPARATOR)
    return text(key, locale, **{name: joined})


def _server_refusal(error: errors.RefusedByServer, locale: str | None) -> str:
    if error.rule == "channel":
        named = [f"<#{channel}>" for channel in error.channels[:MAX_CHANNELS_NAMED]]
        more = len(error.channels) - len(named)
        if more:
            named.append(text("list_more", locale, count=more))
        return listed("rule_channel", locale, "channels", named)
    if error.rule == "max_n":
        return text("rule_max_n", locale, max_n=error.max_n)
    if error.rule in ("model", "resolution"):
        return listed(f"rule_{error.rule}", locale, "choices", error.choices)
    if error.rule in ("disabled", "nsfw_only", "blocked", "edits", "video"):
        return text(f"rule_{error.rule}", locale)
    return text("rule_disabled", locale)


def message_for(
    error: BaseException, locale: str | None, *, job_id: str = "-", choices: str = ""
) -> str:
    """The user's message for ``error``: short, fixed, under Discord's 2,000 characters."""
    if isinstance(error, errors.OnCooldown):
        return text("cooldown", locale, when=timestamp(time.time() + (error.retry_after or 0)))
    if isinstance(error, errors.RefusedByServer):
        return _server_refusal(error, locale)
    if isinstance(error, errors.SpendLimitReached):
        return spend_limit_text(error, locale)
    if isinstance(error, errors.DailyLimitReached):
        key = "quota_guild" if error.scope == "guild_budget" else "quota_user"
        if error.video:
            key = f"video_{key}"
        return text(
            key,
            locale,
            left=error.left,
            limit=error.limit,
            n=error.needed,
            when=timestamp(error.resets_at),
        )
    if isinstance(error, errors.DirectMessagesOff):
        return text("dm_off", locale)
    if isinstance(error, errors.MemberPaused):
        return text("blocked_paused", locale, when=timestamp(error.paused_until))
    if isinstance(error, errors.InvalidInput):
        return text(f"input_{error.reason}", locale, index=error.index + 1)
    if isinstance(error, errors.InvalidOption):
        if error.option == "prompt" and error.detail.startswith("prompt of "):
            return text("invalid_prompt_long", locale)
        if error.option == "prompt" and error.detail == "blank prompt":
            return text("invalid_prompt_blank", locale)
        key = _INVALID_OPTION_KEYS.get(error.option, "invalid_option")
        if key == "invalid_model":
            return listed(key, locale, "choices", choices.split(CHOICES_SEPARATOR))
        return text(key, locale)
    for kind, key in _ERROR_KEYS:
        if isinstance(error, kind):
            return text(key, locale, job_id=job_id)
    return text("internal", locale, job_id=job_id)


async def reply(interaction: discord.Interaction, content: str, *, ephemeral: bool = True) -> None:
    """Answer whether or not the interaction was already answered or deferred (cut to
    Discord's 2,000 characters, should a message ever come out longer)."""
    content = clip(content, MAX_CONTENT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(
                content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.response.send_message(
                content, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as failure:
        log.warning(
            "could not tell user %s about an error: HTTP %s (code %s)",
            interaction.user.id,
            failure.status,
            failure.code,
        )
    except (aiohttp.ClientError, OSError, TimeoutError) as failure:
        # The connection to Discord failed or is closing (the bot is stopping).
        log.warning(
            "could not tell user %s about an error: %s", interaction.user.id, type(failure).__name__
        )


async def answer_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Turn any error of a command or a button into a short reply and a log line."""
    job_id = getattr(error, "job_id", "-")
    locale = str(interaction.locale)
    if isinstance(error, errors.GenerationError):
        # Expected failures; the command already logged the job line.
        choices = getattr(error, "choices", "")
        if not isinstance(choices, str):
            choices = ""
        await reply(interaction, message_for(error, locale, job_id=job_id, choices=choices))
        return
    if isinstance(error, app_commands.TransformerError):
        log.info("user %s sent an unusable option value: %s", interaction.user.id, error)
        await reply(interaction, text("invalid_option", locale))
        return
    if isinstance(error, app_commands.MissingPermissions):
        log.info("user %s lacks %s for a command", interaction.user.id, error.missing_permissions)
        await reply(interaction, text("admin_needs_manage", locale))
        return
    if isinstance(error, app_commands.NoPrivateMessage):
        await reply(interaction, text("guild_only", locale))
        return
    if isinstance(error, app_commands.CheckFailure):
        await reply(interaction, text("invalid_option", locale))
        return
    if interaction.command is not None:
        where = f"/{interaction.command.qualified_name}"
    else:
        data: dict[str, object] = dict(interaction.data or {})
        where = f"component {data.get('custom_id', '?')}"
    log.error(
        "unexpected error in %s for user %s (job %s)",
        where,
        interaction.user.id,
        job_id,
        exc_info=error,
    )
    await reply(interaction, text("internal", locale, job_id=job_id))


def spend_limit_text(error: errors.SpendLimitReached, locale: str | None) -> str:
    """The message of a spend ceiling reached: the bot's, or the server's with what is
    left and what the request would cost."""
    key = "spend_limit_guild" if error.scope == "guild_spend_limit" else "spend_limit_bot"
    return text(
        key,
        locale,
        limit=usd_text(error.limit, locale),
        left=usd_text(error.left, locale),
        needed=usd_text(error.needed, locale),
        when=timestamp(error.resets_at),
    )


def usd_text(ticks: int, locale: str | None) -> str:
    """An amount in ticks as dollars, as the catalog writes them."""
    return text("spend_value", locale, usd=ticks / stats.TICKS_PER_USD)
