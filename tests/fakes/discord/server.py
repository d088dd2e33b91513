"""The fake Discord itself: one loopback aiohttp server composed of the parts.

:class:`FakeDiscord` is the shared state (:class:`DiscordState`) plus the parts working on
it: the users and guilds (:class:`World`), the messages, the synced commands, the
interactions sent to the bot, the REST routes and the gateway.  Its public methods are
what tests use; each hands over to the part that does the work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Any

from aiohttp import web

from tests.fakes.discord.constants import DEFAULT_GUILD_ID, DEFAULT_USER_ID, Json
from tests.fakes.discord.gateway import Gateway
from tests.fakes.discord.interactions import Interactions
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.models import FakeInteraction, FakeMessage, RecordedRequest
from tests.fakes.discord.rest import Failure, Rest
from tests.fakes.discord.routes.channels import ChannelRoutes
from tests.fakes.discord.routes.commands import Commands
from tests.fakes.discord.routes.directory import DirectoryRoutes
from tests.fakes.discord.routes.permissions import CommandPermissions
from tests.fakes.discord.routes.webhooks import WebhookRoutes
from tests.fakes.discord.sessions import GatewaySession
from tests.fakes.discord.state import API_PREFIX, DiscordState
from tests.fakes.discord.world import World

log = logging.getLogger(__name__)


class FakeDiscord(DiscordState):
    """A local Discord: REST, gateway and CDN on one loopback aiohttp server."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        attachment_size_limit: int = 10 * 1024 * 1024,
        request_size_limit: int = 25 * 1024 * 1024,
        token_lifetime: float = 15 * 60,
        defer_deadline: float = 3.0,
        heartbeat_ack_delay: float = 0.03,
        guild_ids: Sequence[int] | None = None,
        allowed_intents: int | None = None,
        recommended_shards: int = 1,
        message_events: bool = True,
        bot_name: str = "ImagineBot",
        application_flags: int = 0,
    ) -> None:
        super().__init__(
            token=token,
            attachment_size_limit=attachment_size_limit,
            request_size_limit=request_size_limit,
            token_lifetime=token_lifetime,
            defer_deadline=defer_deadline,
            heartbeat_ack_delay=heartbeat_ack_delay,
            allowed_intents=allowed_intents,
            recommended_shards=recommended_shards,
            message_events=message_events,
            bot_name=bot_name,
            application_flags=application_flags,
        )
        self._world = World(self)
        self._messages = Messages(self, self._world)
        self._commands = Commands(self, self._world)
        self._interactions = Interactions(self, self._world, self._messages, self._commands)
        self._directory = DirectoryRoutes(self, self._world)
        self._webhooks = WebhookRoutes(self, self._messages)
        self._permissions = CommandPermissions(self, self._world)
        self._rest = Rest(
            self,
            [
                *self._directory.routes(),
                *self._commands.routes(),
                *self._permissions.routes(),
                *self._webhooks.routes(),
                *ChannelRoutes(self, self._world, self._messages).routes(),
            ],
        )
        self._gateway = Gateway(self, self._world)
        self._runner: web.AppRunner | None = None

        self._world.add_user(self.bot_user_id, bot_name, bot=True)
        self._world.add_user(self.owner_user_id, "owner")
        ids = list(guild_ids) if guild_ids else [DEFAULT_GUILD_ID]
        for index, gid in enumerate(ids):
            self.add_guild(gid, name=f"Test Server {index + 1}" if index else "Test Server")
        self.guild_id = ids[0]
        self.channel_id, self.nsfw_channel_id = self.guild_channel_ids(ids[0])
        self.add_member(self.default_user_id, name="tester")

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1, on a port the system picks."""
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)
        app.router.add_get("/attachments/{cid}/{aid}/{filename}", self._rest.handle_cdn)
        app.router.add_get("/media-attachments/{cid}/{aid}/{filename}", self._rest.handle_cdn)
        app.router.add_get("/", self._gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        log.info("fake Discord listening on 127.0.0.1:%s", self._port)

    async def close(self) -> None:
        """Close the sockets, cancel background work and stop listening."""
        await self._gateway.close()
        await self.cancel_tasks()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def env(self) -> dict[str, str]:
        """Environment variables that point the bot at this server."""
        return {"DISCORD_API_BASE_URL": self.rest_base, "DISCORD_GATEWAY_URL": self.gateway_url}

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        """The handler of ``/api/v10/...`` (a subclass may wrap it, to time requests)."""
        return await self._rest.handle(request)

    # ----------------------------------------------------------------- waiting

    async def wait_until_ready(self, timeout: float = 15, count: int = 1) -> None:
        """Until ``count`` sessions in total got READY and their GUILD_CREATEs.

        The count is cumulative (a restarted bot makes it 2) and counts IDENTIFYs only: a
        RESUME continues a session.
        """
        await self.wait_for(
            lambda: self.ready_count >= count, timeout, f"{count} ready gateway session(s)"
        )

    async def wait_for_command_sync(self, timeout: float = 15, count: int = 1) -> None:
        """Until ``count`` command PUTs (global or guild) arrived in total."""
        await self.wait_for(
            lambda: self.command_sync_count >= count, timeout, f"{count} command sync(s)"
        )

    async def wait_for_channel_messages(
        self,
        count: int = 1,
        timeout: float = 30,
    ) -> list[FakeMessage]:
        """Until the bot posted ``count`` channel messages (outside interactions)."""
        await self.wait_for(
            lambda: len(self.channel_messages) >= count, timeout, f"{count} channel message(s)"
        )
        return list(self.channel_messages)

    async def wait_for_request(
        self,
        method: str,
        path_contains: str,
        *,
        count: int = 1,
        timeout: float = 15,
    ) -> list[RecordedRequest]:
        """Until ``count`` answered requests match; returns every matching one."""

        def matching() -> list[RecordedRequest]:
            return [
                r
                for r in self.requests
                if r.method == method and path_contains in r.path and r.status
            ]

        await self.wait_for(
            lambda: len(matching()) >= count, timeout, f"{count} {method} *{path_contains}*"
        )
        return matching()

    # ----------------------------------------------------------------- users and guilds

    def user_json(self, user_id: int | None) -> Json:
        """A user as Discord sends it (an unknown id becomes a new user)."""
        return self._world.user_json(user_id)

    def add_guild(self, guild_id: int, *, name: str = "Test Server", locale: str = "en-US") -> int:
        """Add a guild (with @everyone, a bot role, a text channel and an NSFW text channel)."""
        return self._world.add_guild(guild_id, name=name, locale=locale)

    @property
    def guild_ids(self) -> list[int]:
        """Every guild's id, the first one first."""
        return list(self._world.guilds)

    def guild_channel_ids(self, guild_id: int) -> tuple[int, int]:
        """(default text channel, NSFW text channel) of a guild."""
        g = self._world.guilds[guild_id]
        return g.default_channel_id, g.nsfw_channel_id

    def add_channel(self, name: str, *, guild_id: int | None = None, nsfw: bool = False) -> int:
        """Add a text channel to a guild (the first one by default)."""
        return self._world.add_channel(name, guild_id=guild_id, nsfw=nsfw)

    def add_thread(self, name: str, *, parent_id: int, guild_id: int | None = None) -> int:
        """Add a public thread under a text channel (the first guild by default)."""
        return self._world.add_thread(name, parent_id=parent_id, guild_id=guild_id)

    def add_role(
        self,
        name: str,
        *,
        permissions: int = 0,
        guild_id: int | None = None,
        role_id: int | None = None,
    ) -> int:
        """Add a role to a guild (the first one by default)."""
        return self._world.add_role(
            name, permissions=permissions, guild_id=guild_id, role_id=role_id
        )

    def bot_role_id(self, guild_id: int | None = None) -> int:
        """The id of the bot's own (managed) role in a guild."""
        return self._world.bot_role_id(guild_id)

    def set_role_permissions(
        self, role_id: int, permissions: int, *, guild_id: int | None = None
    ) -> None:
        """Change a role's permissions (the guild's id is @everyone) and tell the bot."""
        self._world.set_role_permissions(role_id, permissions, guild_id=guild_id)

    def add_member(
        self,
        user_id: int,
        *,
        name: str | None = None,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        guild_id: int | None = None,
        nick: str | None = None,
    ) -> Json:
        """Add (or replace) a member; unknown role ids become roles without permissions.

        ``permissions`` fixes what interactions report for this member; by default it is
        computed from @everyone and the roles.
        """
        return self._world.add_member(
            user_id,
            name=name,
            roles=roles,
            permissions=permissions,
            guild_id=guild_id,
            nick=nick,
        )

    def member_permissions(self, user_id: int, guild_id: int | None = None) -> int:
        """What a member may do in a guild: the override, or @everyone and the roles."""
        return self._world.member_permissions(user_id, guild_id)

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the bot's DM channel with a user (made on first use)."""
        return self._world.dm_channel_id(user_id)

    # ----------------------------------------------------------------- REST

    def inject_failure(
        self,
        *,
        path_contains: str,
        method: str = "POST",
        status: int,
        json: Json | None = None,
        headers: Mapping[str, str | None] | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` matching REST requests with this error (``method="*"``: any).

        A 429 gets ``retry_after`` 0.05 s, ``global`` false and a ``Via`` header unless given
        (``headers={"Via": None}`` drops it, as Cloudflare's own 429 would).
        """
        failure = Failure(path_contains, method.upper(), status, json, dict(headers or {}), count)
        self._rest.inject_failure(failure)

    def drop_connection(self, *, path_contains: str, method: str = "POST", count: int = 1) -> None:
        """Cut the connection of the next ``count`` matching REST requests without an answer,
        as a network failure would (``method="*"``: any)."""
        self._rest.inject_failure(Failure(path_contains, method.upper(), 0, None, {}, count, True))

    def application_json(self) -> Json:
        """The application, as login's second call gets it."""
        return self._directory.application_json()

    def find_command(
        self, name: str, guild_id: int | None = None, command_type: int = 1
    ) -> Json | None:
        """The synced command a user would invoke: the guild's own first, then the global one."""
        return self._commands.find(name, guild_id, command_type)

    async def set_command_permissions(
        self, guild_id: int, command_id: int, overwrites: Sequence[Json]
    ) -> Json:
        """Set a command's overwrites in a guild as an admin does under Integrations (the
        application's id as ``command_id``: every command's), and dispatch
        ``APPLICATION_COMMAND_PERMISSIONS_UPDATE``. Each overwrite is
        ``{"id": "<role, user or channel id>", "type": 1 | 2 | 3, "permission": bool}``; the
        guild's id is @everyone, ``guild_id - 1`` all channels; an empty list removes them."""
        return await self._permissions.set(guild_id, command_id, overwrites)

    def command_permissions(self, guild_id: int) -> dict[int, list[Json]]:
        """What a guild set, by command (or application) id."""
        return {k: list(v) for k, v in self.registry.command_permissions.get(guild_id, {}).items()}

    # ----------------------------------------------------------------- messages

    def message_json(self, message: FakeMessage) -> Json:
        """The message as Discord returns it."""
        return self._messages.json(message)

    def get_message(self, message_id: int) -> FakeMessage:
        """A message by id (deleted ones included)."""
        return self._messages.get(message_id)

    @property
    def all_messages(self) -> list[FakeMessage]:
        """Every message, in order of creation (deferred replies included, even while loading)."""
        return list(self._messages.by_id.values())

    # ----------------------------------------------------------------- interactions

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
        return await self._interactions.send_slash_command(
            name,
            options,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            nsfw_channel=nsfw_channel,
            app_permissions=app_permissions,
            raw_options=raw_options,
            autocomplete_focus=autocomplete_focus,
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
        return await self._interactions.press_button(
            message,
            custom_id,
            user_id=user_id,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            permissions=permissions,
            values=values,
            component_type=component_type,
            check=check,
        )

    def post_member_message(
        self,
        user_id: int,
        *,
        guild_id: int | EllipsisType | None = ...,
        channel_id: int | None = None,
        content: str = "",
        files: Sequence[tuple[str, bytes]] = (),
    ) -> FakeMessage:
        """A message a member posted in a channel (the default one of the default server
        unless told), with files the CDN serves."""
        gid = self.guild_id if isinstance(guild_id, EllipsisType) else guild_id
        if channel_id is None:
            channel_id = (
                self.guild_channel_ids(gid)[0] if gid is not None else self.dm_channel_id(user_id)
            )
        return self._interactions.post_member_message(
            user_id, guild_id=gid, channel_id=channel_id, content=content, files=files
        )

    async def send_message_command(
        self,
        name: str,
        message: FakeMessage,
        *,
        user_id: int = DEFAULT_USER_ID,
        locale: str = "en-US",
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Run a message command (right-click a message → Apps) on ``message``."""
        return await self._interactions.send_message_command(
            name, message, user_id=user_id, locale=locale, permissions=permissions
        )

    async def submit_modal(
        self, opened: FakeInteraction, values: Mapping[str, str], *, locale: str = "en-US"
    ) -> FakeInteraction:
        """Fill in the modal the bot answered ``opened`` with, and submit it (type 5)."""
        return await self._interactions.submit_modal(opened, values, locale=locale)

    def get_interaction(self, token_or_id: str | int) -> FakeInteraction:
        """An interaction by token or id."""
        return self._interactions.get(token_or_id)

    # ----------------------------------------------------------------- gateway

    def live_sessions(self) -> list[GatewaySession]:
        """The sessions with an open socket."""
        return self._gateway.live_sessions()

    async def dispatch_event(self, event: str, data: Any, *, guild_id: int | None = None) -> bool:
        """Send any DISPATCH event to the session that owns ``guild_id``."""
        return await self._gateway.dispatch_event(event, data, guild_id=guild_id)

    async def disconnect_all(self, *, code: int = 4000, invalidate: bool = False) -> None:
        """Close every gateway socket (discord.py reconnects and RESUMEs).

        ``code`` 1006 drops the connections with no close frame. With ``invalidate``
        the sessions are forgotten, so a RESUME gets op 9 and the client has to IDENTIFY
        again.
        """
        await self._gateway.disconnect_all(code=code, invalidate=invalidate)

    async def gateway_down(self) -> None:
        """Take the gateway down: close every socket and refuse new ones until
        :meth:`gateway_up` (discord.py keeps trying, backing off)."""
        self._gateway.refusing = True
        await self._gateway.disconnect_all()

    def gateway_up(self) -> None:
        """Accept gateway connections again."""
        self._gateway.refusing = False
