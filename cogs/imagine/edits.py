"""Edits on the Discord side: the input pictures of a request, from Discord's payload.

Only attachments Discord itself resolved in the interaction are used (their URLs are
Discord's own); nothing a member types is ever fetched. The pictures are fetched and
checked before the job is submitted, so a bad one is answered privately before anything
is reserved; a fetch that would outlast Discord's 3-second deadline is left to the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import discord

from core.edit_inputs import MAX_INPUTS, PreparedInput
from core.jobs.edits import InputLoader
from core.models import InputSource
from core.storage import JobRecord

log = logging.getLogger(__name__)

#: Time the pictures may take to fetch and check before the interaction must be answered
#: (Discord allows 3 seconds); past it the job fetches them itself.
PREFETCH_SECONDS = 2.0


def attachment_sources(
    interaction: discord.Interaction, attachments: Sequence[discord.Attachment]
) -> list[InputSource]:
    """The input sources of attachments given as options of ``interaction`` (uploads)."""
    return [
        InputSource(
            url=attachment.url,
            size=attachment.size,
            filename=attachment.filename,
            channel_id=interaction.channel_id,
        )
        for attachment in attachments
    ]


async def prefetch(kind: InputLoader, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
    """The pictures (of an edit, or a clip's first frame), fetched and checked (raises
    ``InvalidInput``); empty when they take longer than :data:`PREFETCH_SECONDS` (the
    job fetches them then)."""
    try:
        return await asyncio.wait_for(kind.load(sources), PREFETCH_SECONDS)
    except TimeoutError:
        log.info("input pictures not fetched within %.1fs; the job fetches them", PREFETCH_SECONDS)
        return ()


def is_picture(attachment: discord.Attachment) -> bool:
    """Whether an attachment is a picture (by Discord's type, else by its name)."""
    kind = attachment.content_type or ""
    if kind:
        return kind.startswith("image/")
    return attachment.filename.lower().endswith((".jpg", ".jpeg", ".png", ".webp", ".gif"))


async def result_pictures(
    interaction: discord.Interaction, record: JobRecord
) -> list[tuple[int, discord.Attachment]]:
    """The pictures of a result, in order, with the id of the message each is in: from
    the message the interaction came from, and the others fetched from Discord."""
    if record.channel_id is None:
        return []
    channel = interaction.client.get_partial_messageable(
        record.channel_id, guild_id=record.guild_id
    )
    pictures: list[tuple[int, discord.Attachment]] = []
    message_ids = record.message_ids
    if not message_ids and interaction.message is not None:
        # Pressed while the job was still closing: its messages are not recorded yet.
        message_ids = (interaction.message.id,)
    for message_id in message_ids:
        message = interaction.message
        if message is None or message.id != message_id:
            try:
                message = await channel.fetch_message(message_id)
            except discord.HTTPException:
                continue  # deleted since, or out of reach: its pictures are gone
        pictures.extend((message_id, a) for a in message.attachments if is_picture(a))
    return pictures


def message_sources(message: discord.Message, own: bool) -> list[InputSource]:
    """The input sources of a message's pictures (up to three): its picture attachments,
    then the images of its embeds through Discord's own media proxy (never the link a
    member posted)."""
    sources = [
        InputSource(
            url=a.url,
            size=a.size,
            filename=a.filename,
            channel_id=message.channel.id,
            message_id=message.id,
            own=own,
        )
        for a in message.attachments
        if is_picture(a)
    ]
    for embed in message.embeds:
        for proxy in (embed.image.proxy_url, embed.thumbnail.proxy_url):
            if proxy:
                sources.append(
                    InputSource(
                        url=proxy, channel_id=message.channel.id, message_id=message.id, own=own
                    )
                )
    return sources[:MAX_INPUTS]


def picture_count(interaction: discord.Interaction, record: JobRecord) -> int:
    """How many pictures a result has (those of the pressed message while the job is
    still closing and its count is not recorded yet)."""
    shown = (
        0
        if interaction.message is None
        else sum(1 for a in interaction.message.attachments if is_picture(a))
    )
    return max(record.images, shown)


def own_source(record: JobRecord, message_id: int, attachment: discord.Attachment) -> InputSource:
    """The input source of one of the bot's own result pictures."""
    return InputSource(
        url=attachment.url,
        size=attachment.size,
        filename=attachment.filename,
        channel_id=record.channel_id,
        message_id=message_id,
        own=True,
    )
