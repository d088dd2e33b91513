"""A server's mod log: one embed per job and per settings change, in the server's language.

Posting is best effort: a missing permission or a deleted channel is logged for the
operator and never breaks the job or the command that caused the entry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

import aiohttp
import discord

from cogs.common.answers import NO_MENTIONS, timestamp, usd_text
from cogs.common.bounds import fit_embed
from cogs.common.catalog import text
from cogs.common.markdown import plain_text
from core import outcomes, stats
from core.jobs import JobSummary, MemberPaused, SpendCeilingReached
from core.jobs.admission import SPEND_NOTICE_SECONDS
from core.models import InputSource
from core.outcomes import Family

log = logging.getLogger(__name__)

#: How long a closing bot waits for mod-log entries still being posted.
DRAIN_SECONDS = 5.0

_OUTCOME_COLOURS = {
    "delivered": discord.Colour.green(),
    "refused": discord.Colour.orange(),
    "blocked": discord.Colour.red(),
    "cancelled": discord.Colour.light_grey(),
    "interrupted": discord.Colour.gold(),
    "waited_too_long": discord.Colour.gold(),
    "failed": discord.Colour.dark_grey(),
}

#: The families with a kind of their own in the mod log; every other outcome is "failed".
_OWN_KINDS = frozenset(
    {
        Family.DELIVERED,
        Family.REFUSED,
        Family.BLOCKED,
        Family.CANCELLED,
        Family.INTERRUPTED,
        Family.WAITED_TOO_LONG,
    }
)


def server_locale(interaction: discord.Interaction) -> str | None:
    """The server's preferred language, in which its mod log is written."""
    return str(interaction.guild_locale) if interaction.guild_locale is not None else None


def message_link(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """The link Discord's clients open at a message."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def sources_text(sources: Sequence[InputSource], guild_id: int | None, locale: str | None) -> str:
    """An edit's inputs in words: a link to each source message, or that it was uploaded."""
    parts = []
    for source in sources:
        if source.channel_id is not None and source.message_id is not None:
            url = message_link(guild_id, source.channel_id, source.message_id)
            parts.append(text("edit_source_message", locale, url=url))
        else:
            parts.append(text("edit_source_upload", locale))
    return ", ".join(parts)[:1024]


def outcome_kind(outcome: str) -> str:
    """The mod log's kinds of outcome: delivered, refused, blocked, cancelled, interrupted
    (by a restart), waited_too_long (closed in line, too busy to start) or failed."""
    family = outcomes.family(outcome)
    return family.value if family in _OWN_KINDS else "failed"


def spend_text(cost_usd_ticks: int | None, locale: str | None) -> str:
    """A reported cost in dollars, or "not reported"."""
    if cost_usd_ticks is None:
        return text("spend_unknown", locale)
    return text("spend_value", locale, usd=cost_usd_ticks / stats.TICKS_PER_USD)


def cost_text(entry: JobSummary, locale: str | None) -> str:
    """A job's cost in dollars, saying when it is the price table's estimate."""
    spend = spend_text(entry.cost_usd_ticks, locale)
    return text("spend_estimated", locale, spend=spend) if entry.cost_estimated else spend


def job_embed(entry: JobSummary, locale: str | None) -> discord.Embed:
    """The mod-log entry of a job."""
    kind = outcome_kind(entry.outcome)
    embed = discord.Embed(
        title=text(
            "modlog_job", locale, job_id=entry.job_id, outcome=text(f"outcome_{kind}", locale)
        ),
        description=plain_text(entry.prompt),
        colour=_OUTCOME_COLOURS[kind],
    )
    embed.add_field(name=text("field_user", locale), value=f"<@{entry.user_id}>", inline=True)
    if entry.channel_id is not None:
        embed.add_field(
            name=text("field_channel", locale), value=f"<#{entry.channel_id}>", inline=True
        )
    embed.add_field(
        name=text("field_parameters", locale),
        value=text(
            "params_value",
            locale,
            model=entry.model,
            n=entry.n,
            aspect=entry.aspect_ratio or text("model_picks", locale),
            resolution=entry.resolution or text("api_default", locale),
        ),
        inline=False,
    )
    embed.add_field(name=text("field_images", locale), value=str(entry.images), inline=True)
    embed.add_field(
        name=text("field_cost", locale),
        value=cost_text(entry, locale),
        inline=True,
    )
    if kind == "failed":
        embed.add_field(name=text("field_reason", locale), value=entry.outcome, inline=True)
    if entry.term is not None:
        term = plain_text(entry.term)
        embed.add_field(name=text("field_term", locale), value=f"||{term}||", inline=True)
    if entry.result_message_id is not None and entry.channel_id is not None:
        link = message_link(entry.guild_id, entry.channel_id, entry.result_message_id)
        embed.add_field(
            name=text("field_result", locale), value=f"[{text('jump', locale)}]({link})"
        )
    if entry.sources:
        # An edit's inputs: where each came from, and a small picture of the first.
        embed.add_field(
            name=text("field_edit_of", locale),
            value=sources_text(entry.sources, entry.guild_id, locale),
            inline=False,
        )
        embed.set_thumbnail(url=entry.sources[0].url)
    return embed


def paused_embed(entry: MemberPaused, locale: str | None) -> discord.Embed:
    """The one mod-log entry of a member paused for sending too many blocked prompts."""
    embed = discord.Embed(
        title=text("modlog_paused", locale),
        description=text(
            "modlog_paused_detail",
            locale,
            user=f"<@{entry.user_id}>",
            attempts=entry.attempts,
            minutes=max(1, round(entry.window_seconds / 60)),
            when=timestamp(entry.paused_until),
        ),
        colour=_OUTCOME_COLOURS["blocked"],
    )
    embed.add_field(name=text("field_user", locale), value=f"<@{entry.user_id}>", inline=True)
    if entry.channel_id is not None:
        embed.add_field(
            name=text("field_channel", locale), value=f"<#{entry.channel_id}>", inline=True
        )
    embed.add_field(name=text("field_last_job", locale), value=entry.job_id, inline=True)
    if entry.term is not None:
        term = plain_text(entry.term)
        embed.add_field(name=text("field_term", locale), value=f"||{term}||", inline=True)
    return embed


def spend_reached_embed(entry: SpendCeilingReached, locale: str | None) -> discord.Embed:
    """The mod-log entry of a spend ceiling turning requests away: which ceiling, its
    amount, what is left and when it starts again (one entry for a while, not one a
    member)."""
    key = "modlog_spend_guild" if entry.ceiling == "guild_spend_limit" else "modlog_spend_bot"
    detail = text(
        key,
        locale,
        limit=usd_text(entry.limit, locale),
        left=usd_text(entry.left, locale),
        when=timestamp(entry.resets_at),
    )
    minutes = round(SPEND_NOTICE_SECONDS / 60)
    embed = discord.Embed(
        title=text("modlog_spend_reached", locale),
        description=f"{detail}\n{text('modlog_spend_throttled', locale, minutes=minutes)}",
        colour=discord.Colour.orange(),
    )
    embed.add_field(
        name=text("field_first_refused", locale), value=f"<@{entry.user_id}>", inline=True
    )
    if entry.channel_id is not None:
        embed.add_field(
            name=text("field_channel", locale), value=f"<#{entry.channel_id}>", inline=True
        )
    return embed


def settings_embed(admin_id: int, change: str, locale: str | None) -> discord.Embed:
    """The mod-log entry of a settings change; ``change`` is the admin's confirmation."""
    embed = discord.Embed(
        title=text("modlog_settings", locale), description=change, colour=discord.Colour.blue()
    )
    embed.add_field(name=text("field_by", locale), value=f"<@{admin_id}>")
    return embed


def deleted_embed(job_id: str, user_id: int, channel_id: int, locale: str | None) -> discord.Embed:
    """The mod-log entry of a result deleted with its Delete button."""
    embed = discord.Embed(
        title=text("modlog_deleted", locale, job_id=job_id), colour=discord.Colour.dark_grey()
    )
    embed.add_field(name=text("field_by", locale), value=f"<@{user_id}>", inline=True)
    embed.add_field(name=text("field_channel", locale), value=f"<#{channel_id}>", inline=True)
    return embed


class ModLog:
    """Posts mod-log entries; owned by the bot, shared by the cogs."""

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._pending: set[asyncio.Task[bool]] = set()

    async def post(self, channel_id: int, embed: discord.Embed) -> bool:
        """Post an entry now (cut to Discord's limits); False (and a log line) if Discord
        refused it."""
        channel = self._client.get_partial_messageable(channel_id)
        try:
            await channel.send(embed=fit_embed(embed), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as failure:
            log.warning(
                "could not post to mod-log channel %s: HTTP %s (code %s)",
                channel_id,
                failure.status,
                failure.code,
            )
            return False
        except (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordException) as failure:
            # Only the type: the text of a connection failure can carry a URL.
            log.warning(
                "could not post to mod-log channel %s: %s", channel_id, type(failure).__name__
            )
            return False
        return True

    def post_soon(self, channel_id: int, embed: discord.Embed) -> None:
        """Post an entry in the background, so the job or command need not wait."""
        self._track(self.post(channel_id, embed))

    def _track(self, coroutine: Coroutine[Any, Any, bool]) -> None:
        task = asyncio.create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait a little for entries still being posted (at shutdown)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=seconds)
