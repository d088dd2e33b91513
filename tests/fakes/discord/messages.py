"""The messages the bot made: creating, changing and deleting them, and their JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.fakes.discord.changes import MessageChange
from tests.fakes.discord.constants import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES, Json
from tests.fakes.discord.models import FakeInteraction, FakeMessage
from tests.fakes.discord.sessions import broadcast
from tests.fakes.discord.snowflakes import dumps, iso
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World


def _embeds_json(message: FakeMessage) -> list[Json]:
    """The embeds with ``attachment://`` URLs turned into the attachments' own URLs."""
    by_name = {a.filename: a for a in message.attachments}

    def resolve(url: Any) -> Any:
        if isinstance(url, str) and url.startswith("attachment://"):
            att = by_name.get(url.removeprefix("attachment://"))
            if att is not None:
                return att.url
        return url

    embeds: list[Json] = []
    for raw in message.embeds:
        embed = json.loads(dumps(raw))
        embed.setdefault("type", "rich")
        for key in ("image", "thumbnail"):
            if isinstance(embed.get(key), dict) and "url" in embed[key]:
                embed[key]["url"] = resolve(embed[key]["url"])
                embed[key]["proxy_url"] = embed[key]["url"]
        for key in ("author", "footer"):
            if isinstance(embed.get(key), dict) and "icon_url" in embed[key]:
                embed[key]["icon_url"] = resolve(embed[key]["icon_url"])
        embeds.append(embed)
    return embeds


class Messages:
    """Every message the bot created, by id, and what the bot's changes do to them."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world
        self.by_id = state.registry.messages

    def new(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        interaction: FakeInteraction | None = None,
        mtype: int = 0,
    ) -> FakeMessage:
        """A new, empty message (filled by :meth:`apply`)."""
        message = FakeMessage(
            id=self.state.new_id(),
            channel_id=channel_id,
            guild_id=guild_id,
            type=mtype,
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.state.application_id if interaction else None,
        )
        self.by_id[message.id] = message
        return message

    def apply(
        self, message: FakeMessage, change: MessageChange, payload: Json, *, edit: bool
    ) -> None:
        """Make a checked change; new attachments get ids and CDN URLs."""
        now = time.monotonic()
        for att in change.attachments:
            if not att.id:
                att.id = self.state.new_id()
                att.url = (
                    f"{self.state.http_base}/attachments/{message.channel_id}/{att.id}/"
                    f"{att.filename}"
                )
                self.state.registry.attachments[att.id] = att
        message.content = change.content
        message.embeds = change.embeds
        message.components = change.components
        message.attachments = change.attachments
        message.flags = change.flags
        message.allowed_mentions = change.allowed_mentions
        message.tts = change.tts
        message.sticker_ids = change.sticker_ids
        message.poll = change.poll
        message.message_reference = change.message_reference
        message.payloads.append(payload)
        if edit:
            message.edits += 1
            message.edited = now
            message.wall_edited = time.time()
        message.history.append(message.snapshot(now))

    def fill_deferred(
        self, inter: FakeInteraction, message: FakeMessage, change: MessageChange, payload: Json
    ) -> None:
        """Give a "thinking…" reply its content: it becomes visible now."""
        message.loading = False
        self.apply(message, change, payload, edit=False)
        message.created = time.monotonic()
        message.wall_created = time.time()
        inter.messages.append(message)

    def delete(self, message: FakeMessage) -> None:
        """Mark a message deleted."""
        message.deleted = True
        message.deleted_at = time.monotonic()
        self.state.notify()

    def get(self, message_id: int) -> FakeMessage:
        """A message by id (deleted ones included)."""
        return self.by_id[message_id]

    def json(self, message: FakeMessage) -> Json:
        """The message as Discord returns it."""
        data: Json = {
            "id": str(message.id),
            "type": message.type,
            "content": message.content,
            "channel_id": str(message.channel_id),
            "author": self.world.user_json(message.author_id),
            "attachments": [a.to_json(ephemeral=message.ephemeral) for a in message.attachments],
            "embeds": _embeds_json(message),
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": message.tts,
            "timestamp": iso(message.wall_created),
            "edited_timestamp": iso(message.wall_edited) if message.wall_edited else None,
            "flags": message.flags,
            "components": message.components,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
            data["application_id"] = str(self.state.application_id)
        if message.message_reference is not None:
            data["message_reference"] = message.message_reference
        if message.sticker_ids:
            data["sticker_items"] = []
        if message.poll is not None:
            data["poll"] = message.poll
        inter = self.state.interaction_by_id(message.interaction_id)
        if inter is not None:
            self._add_interaction(data, message, inter)
        return data

    def _add_interaction(self, data: Json, message: FakeMessage, inter: FakeInteraction) -> None:
        """``interaction_metadata`` (and the older ``interaction``) of a message."""
        user = self.world.user_json(inter.user_id)
        meta: Json = {
            "id": str(inter.id),
            "type": inter.type,
            "user": user,
            "authorizing_integration_owners": inter.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        if inter.original is not None and inter.original is not message:
            meta["original_response_message_id"] = str(inter.original.id)
        if inter.component_message is not None:
            meta["interacted_message_id"] = str(inter.component_message.id)
        if inter.type == 2:
            meta["name"] = inter.name
            meta["command_type"] = 1
        data["interaction_metadata"] = meta
        data["interaction"] = {
            "id": str(inter.id),
            "type": inter.type,
            "name": inter.name or "",
            "user": user,
        }

    async def event(self, message: FakeMessage, event: str) -> None:
        """MESSAGE_CREATE/UPDATE/DELETE to the sessions that would see it (not if ephemeral)."""
        if not self.state.message_events or message.ephemeral:
            return
        if event == "MESSAGE_DELETE":
            data: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
        else:
            data = self.json(message)
        intent = INTENT_GUILD_MESSAGES if message.guild_id is not None else INTENT_DIRECT_MESSAGES
        await broadcast(self.state.sessions, message.guild_id, event, data, intent)
