"""Channel messages: the bot's own posts outside interactions, and edits and deletes."""

from __future__ import annotations

from tests.fakes.discord.changes import prepare_change
from tests.fakes.discord.constants import FLAG_EPHEMERAL, Json
from tests.fakes.discord.errors import unknown
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.models import FakeMessage
from tests.fakes.discord.rest import SNOWFLAKE, Req, Route, route
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World


class ChannelRoutes:
    """``/channels/{id}/messages...``."""

    def __init__(self, state: DiscordState, world: World, messages: Messages) -> None:
        self.state = state
        self.world = world
        self.messages = messages

    def routes(self) -> list[Route]:
        """This area's routes."""
        snow = SNOWFLAKE
        return [
            route("POST", rf"/channels/{snow}/messages", self.create_message),
            route("GET", rf"/channels/{snow}/messages/{snow}", self.get_message),
            route("PATCH", rf"/channels/{snow}/messages/{snow}", self.edit_message),
            route("DELETE", rf"/channels/{snow}/messages/{snow}", self.delete_message),
        ]

    async def create_message(self, req: Req) -> Json:
        """``POST /channels/{id}/messages``."""
        ch = self.world.text_channel(req.match[0])
        payload = req.payload()
        change = prepare_change(
            payload,
            req.uploads(),
            size_limit=self.state.attachment_size_limit,
            existing=None,
            creating=True,
        )
        if change.flags & FLAG_EPHEMERAL:
            change.flags &= ~FLAG_EPHEMERAL  # only interaction replies can be ephemeral
        message = self.messages.new(ch.id, ch.guild_id, mtype=19 if change.message_reference else 0)
        self.messages.apply(message, change, payload, edit=False)
        self.state.channel_messages.append(message)
        self.state.notify()
        await self.messages.event(message, "MESSAGE_CREATE")
        return self.messages.json(message)

    def _message(self, req: Req) -> FakeMessage:
        self.world.text_channel(req.match[0])
        message = self.messages.by_id.get(int(req.match[1]))
        if (
            message is None
            or message.deleted
            or message.ephemeral
            or message.channel_id != int(req.match[0])
        ):
            raise unknown("Message", 10008)
        return message

    async def get_message(self, req: Req) -> Json:
        """``GET /channels/{id}/messages/{message_id}``."""
        return self.messages.json(self._message(req))

    async def edit_message(self, req: Req) -> Json:
        """``PATCH /channels/{id}/messages/{message_id}``."""
        message = self._message(req)
        payload = req.payload()
        change = prepare_change(
            payload,
            req.uploads(),
            size_limit=self.state.attachment_size_limit,
            existing=message,
            creating=False,
        )
        self.messages.apply(message, change, payload, edit=True)
        self.state.notify()
        await self.messages.event(message, "MESSAGE_UPDATE")
        return self.messages.json(message)

    async def delete_message(self, req: Req) -> None:
        """``DELETE /channels/{id}/messages/{message_id}``."""
        message = self._message(req)
        self.messages.delete(message)
        await self.messages.event(message, "MESSAGE_DELETE")
