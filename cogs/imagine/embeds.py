"""The embeds of a job: its result card, and its mod-log entry's data."""

from __future__ import annotations

import discord

from cogs.common.bounds import fit_embed
from cogs.common.catalog import text
from cogs.common.markdown import plain_text
from cogs.common.modlog import sources_text
from core.jobs import ResultCard


def build_embed(card: ResultCard, locale: str | None) -> discord.Embed:
    """The result embed: the prompt, its parameters, who asked and how long it took."""
    prompt = plain_text(card.prompt)
    embed = discord.Embed(
        title=text("result_title", locale),
        description=f"||{prompt}||" if card.spoiler else prompt,
        colour=discord.Colour.blurple(),
    )
    delivered = card.delivered
    images = str(delivered) if delivered == card.n else f"{delivered} / {card.n}"
    embed.add_field(name=text("field_model", locale), value=card.model, inline=True)
    embed.add_field(
        name=text("field_aspect", locale),
        value=card.aspect_ratio or text("model_picks", locale),
        inline=True,
    )
    embed.add_field(
        name=text("field_resolution", locale),
        value=card.resolution or text("api_default", locale),
        inline=True,
    )
    embed.add_field(name=text("field_images", locale), value=images, inline=True)
    embed.add_field(
        name=text("field_requester", locale), value=f"<@{card.requester_id}>", inline=True
    )
    embed.add_field(
        name=text("field_time", locale),
        value=text("seconds", locale, value=card.elapsed),
        inline=True,
    )
    notes = []
    if card.withheld:
        notes.append(text("withheld", locale, count=card.withheld, total=card.n))
    if card.unusable:
        notes.append(text("unusable", locale, count=card.unusable, total=card.n))
    if card.left_out:
        notes.append(text("undeliverable", locale, count=card.left_out, total=card.n))
    if notes:
        embed.add_field(name="\u200b", value="\n".join(notes), inline=False)
    if card.sources:
        embed.add_field(
            name=text("field_edit_of", locale),
            value=sources_text(card.sources, card.guild_id, locale),
            inline=False,
        )
    embed.set_footer(text=text("footer", locale, job_id=card.job_id))
    return fit_embed(embed)
