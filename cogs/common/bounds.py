"""Discord's size limits, and fitting every message the bot builds within them.

Discord refuses a whole message when one part is too long, and the member then gets
nothing: a list the operator or a server admin made long (25 models of 100 characters,
hundreds of channels) must be cut with "…and N more", never sent whole. :func:`bounded_list`
cuts lists; :func:`clip` and :func:`fit_embed` are the last guard for any text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import discord

from cogs.common.catalog import text

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
#: All the text of a message's embeds together.
MAX_EMBED_TOTAL = 6000
ELLIPSIS = "…"


def clip(value: str, limit: int) -> str:
    """``value`` cut to at most ``limit`` characters, ending in "…" when it was cut."""
    if len(value) <= limit:
        return value
    if limit <= 0:
        return ""
    return value[: limit - 1] + ELLIPSIS


def more_text(locale: str | None) -> Callable[[int], str]:
    """ "…and N more" in ``locale``."""
    return lambda count: text("list_more", locale, count=count)


def bounded_list(
    items: Sequence[str], budget: int, more: Callable[[int], str], separator: str = ", "
) -> str:
    """As many of ``items`` as fit in ``budget`` characters, joined by ``separator``; when
    some are left out, ``more(count left out)`` follows them, within the budget too."""
    whole = separator.join(items)
    if len(whole) <= budget:
        return whole
    kept: list[str] = []
    size = 0
    for index, item in enumerate(items):
        added = len(item) + (len(separator) if kept else 0)
        tail = more(len(items) - index - 1)
        if size + added + len(separator) + len(tail) > budget:
            break
        kept.append(item)
        size += added
    tail = more(len(items) - len(kept))
    if not kept:
        return clip(tail, budget)
    return f"{separator.join(kept)}{separator}{tail}"


def budget_for(template: Callable[[str], str], limit: int = MAX_CONTENT) -> int:
    """The characters left for a value in a message ``template(value)`` of ``limit``."""
    return max(0, limit - len(template("")))


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """``embed`` cut to Discord's limits: each part, then the whole (the description and the
    last fields give way first). Within the limits it is returned untouched."""
    if embed.title:
        embed.title = clip(embed.title, MAX_TITLE)
    if embed.description:
        embed.description = clip(embed.description, MAX_DESCRIPTION)
    for index, field in enumerate(embed.fields[:MAX_FIELDS]):
        embed.set_field_at(
            index,
            name=clip(field.name or "\u200b", MAX_FIELD_NAME),
            value=clip(field.value or "\u200b", MAX_FIELD_VALUE),
            inline=bool(field.inline),
        )
    while len(embed.fields) > MAX_FIELDS:
        embed.remove_field(MAX_FIELDS)
    if embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, MAX_FOOTER), icon_url=embed.footer.icon_url)
    excess = len(embed) - MAX_EMBED_TOTAL
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - excess))
        excess = len(embed) - MAX_EMBED_TOTAL
    while excess > 0 and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
        excess = len(embed) - MAX_EMBED_TOTAL
    return embed
