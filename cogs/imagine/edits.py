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

from core.edit_inputs import PreparedInput
from core.jobs import EditKind
from core.models import InputSource

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


async def prefetch(kind: EditKind, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
    """The pictures, fetched and checked (raises ``InvalidInput``); empty when they take
    longer than :data:`PREFETCH_SECONDS` (the job fetches them then)."""
    try:
        return await asyncio.wait_for(kind.load(sources), PREFETCH_SECONDS)
    except TimeoutError:
        log.info("input pictures not fetched within %.1fs; the job fetches them", PREFETCH_SECONDS)
        return ()
