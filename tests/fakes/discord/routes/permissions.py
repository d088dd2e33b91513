"""Application command permissions: what a server set under Integrations, read with the bot
token, and the gateway event that tells the bot when they change.

Discord keeps one list of overwrites per command (or per application, under the
application's id) and server. A bot token may read them
(``GET .../guilds/{guild}/commands/permissions`` for all, ``.../commands/{id}/permissions``
for one) but not change them: that takes a user's Bearer token, so a bot's ``PUT`` is
refused with code 20001. Tests set them as a server admin would, with
:meth:`CommandPermissions.set`, which also dispatches ``APPLICATION_COMMAND_PERMISSIONS_UPDATE``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from tests.fakes.discord.constants import Json
from tests.fakes.discord.errors import ApiError, unknown
from tests.fakes.discord.rest import SNOWFLAKE, Req, Route, route
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.world import World

log = logging.getLogger(__name__)

#: Discord keeps at most this many overwrites per command and server.
MAX_OVERWRITES = 100
#: Role, user, channel.
TARGET_TYPES = (1, 2, 3)


def check_overwrites(overwrites: Sequence[Json]) -> list[Json]:
    """Overwrites as Discord's schema has them (``id`` snowflake string, ``type`` 1-3,
    ``permission`` bool), at most 100; a test's mistake raises ValueError."""
    if len(overwrites) > MAX_OVERWRITES:
        raise ValueError(f"at most {MAX_OVERWRITES} overwrites per command")
    out: list[Json] = []
    seen: set[tuple[str, int]] = set()
    for item in overwrites:
        target, kind, allow = item.get("id"), item.get("type"), item.get("permission")
        if not str(target).isdigit() or kind not in TARGET_TYPES or not isinstance(allow, bool):
            raise ValueError(f"not an application command permission: {item!r}")
        if (str(target), int(kind)) in seen:
            raise ValueError(f"two overwrites of {target} (type {kind})")
        seen.add((str(target), int(kind)))
        out.append({"id": str(target), "type": int(kind), "permission": allow})
    return out


class CommandPermissions:
    """The servers' command permissions, by guild and then by command (or application) id."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world
        self.by_guild = state.registry.command_permissions

    def routes(self) -> list[Route]:
        """This area's routes."""
        snow = SNOWFLAKE
        base = rf"/applications/{snow}/guilds/{snow}/commands"
        return [
            route("GET", rf"{base}/permissions", self.get_all),
            route("GET", rf"{base}/{snow}/permissions", self.get_one),
            route("PUT", rf"{base}/{snow}/permissions", self.put_one),
        ]

    # ----------------------------------------------------------------- what tests do

    async def set(self, guild_id: int, target_id: int, overwrites: Sequence[Json]) -> Json:
        """Set a command's (or, under the application's id, every command's) overwrites in a
        server, as an admin does under Integrations, and tell the bot with
        ``APPLICATION_COMMAND_PERMISSIONS_UPDATE``. An empty list removes them."""
        self.world.guild(guild_id)
        if target_id != self.state.application_id and not self._is_command(guild_id, target_id):
            raise ValueError(f"no command {target_id} in guild {guild_id}")
        checked = check_overwrites(overwrites)
        kept = self.by_guild.setdefault(guild_id, {})
        if checked:
            kept[target_id] = checked
        else:
            kept.pop(target_id, None)
        data = self._json(guild_id, target_id, checked)
        for session in self.state.sessions:
            # No intent needed: every session that serves the guild gets it.
            if session.live and session.ready and session.owns(guild_id):
                await session.dispatch("APPLICATION_COMMAND_PERMISSIONS_UPDATE", data)
        self.state.notify()
        return data

    # ----------------------------------------------------------------- routes

    def _json(self, guild_id: int, target_id: int, overwrites: list[Json]) -> Json:
        return {
            "id": str(target_id),
            "application_id": str(self.state.application_id),
            "guild_id": str(guild_id),
            "permissions": [dict(o) for o in overwrites],
        }

    def _is_command(self, guild_id: int, command_id: int) -> bool:
        commands = [*self.state.global_commands, *self.state.guild_commands.get(guild_id, [])]
        return any(int(c["id"]) == command_id for c in commands)

    def _guild(self, req: Req) -> int:
        """The guild of a request: the bot's application, in a server the bot is in."""
        if int(req.match[0]) != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access")
        guild_id = int(req.match[1])
        if guild_id not in self.world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return guild_id

    async def get_all(self, req: Req) -> list[Json]:
        """``GET .../guilds/{guild}/commands/permissions``: every list the server set."""
        guild_id = self._guild(req)
        kept = self.by_guild.get(guild_id, {})
        return [self._json(guild_id, target, overwrites) for target, overwrites in kept.items()]

    async def get_one(self, req: Req) -> Json:
        """``GET .../commands/{id}/permissions``: one command's (or the application's) list;
        404 when the server set none, as Discord answers."""
        guild_id = self._guild(req)
        target = int(req.match[2])
        if target != self.state.application_id and not self._is_command(guild_id, target):
            raise unknown("application command", 10063)
        overwrites = self.by_guild.get(guild_id, {}).get(target)
        if overwrites is None:
            raise unknown("application command permissions", 10066)
        return self._json(guild_id, target, overwrites)

    async def put_one(self, req: Req) -> Json:
        """``PUT .../commands/{id}/permissions`` takes a user's Bearer token: a bot is refused."""
        self._guild(req)
        raise ApiError(403, 20001, "Bots cannot use this endpoint")
