"""Interactions from the user's side: slash commands and button presses sent to the bot.

Each becomes an INTERACTION_CREATE on the session that owns its guild, with a fresh token
and everything discord.py 2.7 needs (member or user, channel, permissions, resolved data).
"""

from __future__ import annotations

import base64
import logging
import mimetypes
import secrets
import time
from collections.abc import Mapping, Sequence
from types import EllipsisType

from tests.fakes.discord.constants import (
    DEFAULT_APP_PERMISSIONS,
    DEFAULT_USER_ID,
    Json,
)
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.modals import submission
from tests.fakes.discord.models import FakeAttachment, FakeInteraction, FakeMessage
from tests.fakes.discord.options import Options
from tests.fakes.discord.routes.commands import Commands
from tests.fakes.discord.sessions import session_for
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World

log = logging.getLogger(__name__)


class Interactions:
    """Sends interactions to the bot and keeps them, by token."""

    def __init__(
        self,
        state: DiscordState,
        world: World,
        messages: Messages,
        commands: Commands,
    ) -> None:
        self.state = state
        self.world = world
        self.messages = messages
        self.commands = commands
        self.by_token = state.registry.interactions_by_token
        self.options = Options(state, world)

    # ----------------------------------------------------------------- creating

    def _new_token(self, interaction_id: int) -> str:
        raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        while token in self.by_token:
            token = base64.urlsafe_b64encode(raw + secrets.token_bytes(4)).decode().rstrip("=")
        return token

    def _in_guild(
        self,
        payload: Json,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        *,
        permissions: int | None,
        nsfw_channel: bool,
        app_permissions: int | None,
    ) -> int:
        """Add what an interaction in a guild carries; returns its channel's id."""
        g = self.world.guilds[guild_id]
        if channel_id is None:
            channel_id = g.nsfw_channel_id if nsfw_channel else g.default_channel_id
        ch = g.channels.get(channel_id)
        if user_id not in g.members:
            self.world.add_member(user_id, guild_id=guild_id)
        perms = (
            self.world.member_permissions(user_id, guild_id) if permissions is None else permissions
        )
        app_perms = (
            self.world.member_permissions(self.state.bot_user_id, guild_id)
            if app_permissions is None
            else app_permissions
        )
        channel: Json = {
            "id": str(channel_id),
            "type": ch.type if ch else 0,
            "guild_id": str(guild_id),
            "name": ch.name if ch else "channel",
            "position": ch.position if ch else 0,
            "parent_id": None if ch is None or ch.parent_id is None else str(ch.parent_id),
            "topic": None,
            "nsfw": (ch.nsfw if ch else False) or nsfw_channel,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
            "permissions": str(perms),
        }
        if ch is not None and ch.is_thread:
            channel.update(ch.thread_fields())
        payload.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": g.locale, "features": []},
                "guild_locale": g.locale,
                "channel_id": str(channel_id),
                "channel": channel,
                "member": self.world.member_json(g, user_id, permissions=perms),
                "app_permissions": str(app_perms),
                "authorizing_integration_owners": {"0": str(guild_id)},
                "context": 0,
            }
        )
        return channel_id

    def _in_dm(
        self, payload: Json, user_id: int, channel_id: int | None, app_permissions: int | None
    ) -> int:
        """Add what an interaction in a DM carries; returns its channel's id."""
        if channel_id is None:
            channel_id = self.world.dm_channel_id(user_id)
        dm_perms = DEFAULT_APP_PERMISSIONS if app_permissions is None else app_permissions
        payload.update(
            {
                "channel_id": str(channel_id),
                "channel": {
                    "id": str(channel_id),
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [self.world.user_json(user_id)],
                },
                "user": self.world.user_json(user_id),
                "app_permissions": str(dm_perms),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )
        return channel_id

    async def create(
        self,
        itype: int,
        data: Json,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        locale: str,
        attachment_size_limit: int | None,
        permissions: int | None,
        nsfw_channel: bool,
        app_permissions: int | None,
        message: FakeMessage | None = None,
        name: str | None = None,
        custom_id: str | None = None,
    ) -> FakeInteraction:
        """Send an INTERACTION_CREATE to the session that owns the guild, and keep it."""
        state = self.state
        if guild_id is not None and guild_id not in self.world.guilds:
            raise ValueError(f"unknown guild {guild_id}")
        interaction_id = state.new_id()
        token = self._new_token(interaction_id)
        limit = (
            state.attachment_size_limit if attachment_size_limit is None else attachment_size_limit
        )
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": itype,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": limit,
        }
        if guild_id is not None:
            channel_id = self._in_guild(
                payload,
                guild_id,
                user_id,
                channel_id,
                permissions=permissions,
                nsfw_channel=nsfw_channel,
                app_permissions=app_permissions,
            )
        else:
            channel_id = self._in_dm(payload, user_id, channel_id, app_permissions)
        if message is not None:
            payload["message"] = self.messages.json(message)
        inter = FakeInteraction(
            id=interaction_id,
            token=token,
            application_id=state.application_id,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            created=time.monotonic(),
            type=itype,
            name=name,
            custom_id=custom_id,
            payload=payload,
            attachment_size_limit=limit,
            defer_deadline=state.defer_deadline,
            token_lifetime=state.token_lifetime,
            component_message=message,
            _fake=state,
        )
        await self._deliver(inter)
        return inter

    async def _deliver(self, inter: FakeInteraction) -> None:
        session = session_for(self.state.sessions, inter.guild_id)
        inter.shard_id = session.shard_id
        inter.session_id = session.session_id
        self.state.interactions.append(inter)
        self.by_token[inter.token] = inter
        inter.created = time.monotonic()
        inter.delivered = await session.dispatch("INTERACTION_CREATE", inter.payload)
        if not inter.delivered:
            log.warning(
                "interaction %s buffered: session %s has no live socket",
                inter.id,
                session.session_id,
            )
        self.state.notify()

    # ----------------------------------------------------------------- what users do

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        user_id: int = DEFAULT_USER_ID,
        guild_id: int | EllipsisType | None = ...,
        channel_id: int | None = None,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        permissions: int | None = None,
        nsfw_channel: bool = False,
        app_permissions: int | None = None,
        raw_options: list[Json] | None = None,
        autocomplete_focus: str | None = None,
    ) -> FakeInteraction:
        """Send a slash command (INTERACTION_CREATE type 2) as a user would, and return at once.

        Option types come from the synced command schema; ``guild_id=None`` is a DM with the
        bot.  ``raw_options`` replaces the built options verbatim (for values no Discord client
        would send).  With ``autocomplete_focus`` the interaction is an autocomplete (type 4).
        """
        gid: int | None = self.state.guild_id if isinstance(guild_id, EllipsisType) else guild_id
        command = self.commands.find(name, gid)
        if command is None:
            log.warning("command %r is not synced; option types are guessed from the values", name)
            cmd_id = self.commands.ids.setdefault((None, name, 1), self.state.new_id())
            schema: list[Json] | None = None
        else:
            cmd_id = int(command["id"])
            schema = command.get("options") or []
            contexts = command.get("contexts")
            if contexts is not None and (1 if gid is None else 0) not in contexts:
                log.warning(
                    "command %r is not offered in this context; Discord would not send it", name
                )
        resolved: Json = {}
        built = self.options.build(schema, options or {}, gid, resolved, autocomplete_focus)
        data: Json = {"id": str(cmd_id), "name": name, "type": 1}
        opts = raw_options if raw_options is not None else built
        if opts:
            data["options"] = opts
        if resolved:
            data["resolved"] = resolved
        if command is not None and "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self.create(
            4 if autocomplete_focus else 2,
            data,
            user_id=user_id,
            guild_id=gid,
            channel_id=channel_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            nsfw_channel=nsfw_channel,
            app_permissions=app_permissions,
            name=name,
        )

    async def press_button(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        permissions: int | None = None,
        values: list[str] | None = None,
        component_type: int | None = None,
        check: bool = True,
    ) -> FakeInteraction:
        """Click a component of a message (INTERACTION_CREATE type 3 with the whole message).

        With ``check`` (the default) the component must exist, be enabled and the message
        must not be deleted, as only then can a user click it.  ``values`` makes it a select.
        """
        component = message.find_component(custom_id)
        if check:
            if message.deleted:
                raise ValueError(f"message {message.id} is deleted")
            if component is None:
                have = message.custom_ids()
                raise ValueError(
                    f"message {message.id} has no component {custom_id!r} (has {have})"
                )
            if component.get("disabled"):
                raise ValueError(f"component {custom_id!r} is disabled")
        ctype = component_type or (
            int(component["type"]) if component else (3 if values is not None else 2)
        )
        data: Json = {"custom_id": custom_id, "component_type": ctype}
        if values is not None:
            data["values"] = values
        if component is not None and "id" in component:
            data["id"] = component["id"]
        return await self.create(
            3,
            data,
            user_id=user_id,
            guild_id=message.guild_id,
            channel_id=message.channel_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            nsfw_channel=False,
            app_permissions=None,
            message=message,
            custom_id=custom_id,
        )

    def post_member_message(
        self,
        user_id: int,
        *,
        guild_id: int | None,
        channel_id: int,
        content: str = "",
        files: Sequence[tuple[str, bytes]] = (),
    ) -> FakeMessage:
        """A message a member posted (with files served by the CDN), for message commands."""
        message = self.messages.new(channel_id, guild_id)
        message.author_id = user_id
        message.content = content
        for filename, data in files:
            att = FakeAttachment(filename, mimetypes.guess_type(filename)[0], data)
            att.id = self.state.new_id()
            att.url = f"{self.state.http_base}/attachments/{channel_id}/{att.id}/{filename}"
            self.state.registry.attachments[att.id] = att
            message.attachments.append(att)
        return message

    async def send_message_command(
        self,
        name: str,
        message: FakeMessage,
        *,
        user_id: int = DEFAULT_USER_ID,
        locale: str = "en-US",
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Run a message command (right-click → Apps) on ``message``: INTERACTION_CREATE type
        2 with command type 3, its ``target_id`` and the message in ``resolved.messages``."""
        command = self.commands.find(name, message.guild_id, command_type=3)
        if command is None:
            raise ValueError(f"message command {name!r} is not synced")
        data: Json = {
            "id": str(command["id"]),
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self.messages.json(message)}},
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return await self.create(
            2,
            data,
            user_id=user_id,
            guild_id=message.guild_id,
            channel_id=message.channel_id,
            locale=locale,
            attachment_size_limit=None,
            permissions=permissions,
            nsfw_channel=False,
            app_permissions=None,
            name=name,
        )

    async def submit_modal(
        self, opened: FakeInteraction, values: Mapping[str, str], *, locale: str = "en-US"
    ) -> FakeInteraction:
        """Fill in and submit the modal the bot answered ``opened`` with (INTERACTION_CREATE
        type 5, carrying the message of the component that opened it, as Discord does)."""
        if opened.modal is None:
            raise ValueError(f"interaction {opened.id} was not answered with a modal")
        return await self.create(
            5,
            submission(opened.modal, values),
            user_id=opened.user_id,
            guild_id=opened.guild_id,
            channel_id=opened.channel_id,
            locale=locale,
            attachment_size_limit=None,
            permissions=None,
            nsfw_channel=False,
            app_permissions=None,
            message=opened.component_message,
            custom_id=opened.modal["custom_id"],
        )

    def get(self, token_or_id: str | int) -> FakeInteraction:
        """An interaction by token or id."""
        if isinstance(token_or_id, str) and token_or_id in self.by_token:
            return self.by_token[token_or_id]
        found = self.state.interaction_by_id(int(token_or_id))
        if found is None:
            raise KeyError(token_or_id)
        return found
