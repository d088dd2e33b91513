"""Application commands: syncing them (global and per guild) and finding the synced ones."""

from __future__ import annotations

import logging
import time
from typing import Any

from tests.fakes.discord.constants import Json
from tests.fakes.discord.errors import ApiError
from tests.fakes.discord.rest import SNOWFLAKE, Req, Route, route
from tests.fakes.discord.state import DiscordState
from tests.fakes.discord.validation import validate_command, validate_command_list
from tests.fakes.discord.world import World

log = logging.getLogger(__name__)


class Commands:
    """The synced commands; Discord keeps a command's id as long as its name and type stay."""

    def __init__(self, state: DiscordState, world: World) -> None:
        self.state = state
        self.world = world
        self.ids = state.registry.command_ids

    def routes(self) -> list[Route]:
        """This area's routes."""
        snow = SNOWFLAKE
        return [
            route("GET", rf"/applications/{snow}/commands", self.get_global),
            route("PUT", rf"/applications/{snow}/commands", self.put_global),
            route("GET", rf"/applications/{snow}/guilds/{snow}/commands", self.get_guild),
            route("PUT", rf"/applications/{snow}/guilds/{snow}/commands", self.put_guild),
        ]

    def _check_app(self, app_id: str) -> None:
        if int(app_id) != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access")

    def _stored(self, guild_id: int | None, cmd: Json, name: str, ctype: int) -> Json:
        """A valid command as Discord keeps and returns it."""
        key = (guild_id, name, ctype)
        cid = self.ids.get(key)
        if cid is None:
            cid = self.ids[key] = self.state.new_id()
        stored: Json = {
            "id": str(cid),
            "application_id": str(self.state.application_id),
            "version": str(self.state.new_id()),
            "default_member_permissions": cmd.get("default_member_permissions"),
            "type": ctype,
            "name": name,
            "name_localizations": cmd.get("name_localizations"),
            "description": cmd.get("description", ""),
            "description_localizations": cmd.get("description_localizations"),
            "dm_permission": cmd.get("dm_permission", True),
            "contexts": cmd.get("contexts"),
            "integration_types": cmd.get("integration_types", [0]),
            "nsfw": bool(cmd.get("nsfw", False)),
        }
        if cmd.get("options"):
            stored["options"] = cmd["options"]
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def store(self, guild_id: int | None, body: Any) -> list[Json]:
        """Check a bulk overwrite and record it as a sync; the commands as Discord answers."""
        out: list[Json] = []
        seen: set[tuple[str, int]] = set()
        for i, cmd in enumerate(validate_command_list(body)):
            name, ctype = validate_command(cmd, i, seen)
            out.append(self._stored(guild_id, cmd, name, ctype))
        self.state.command_sync_count += 1
        self.state.command_syncs.append((time.monotonic(), guild_id, out))
        return out

    async def get_global(self, req: Req) -> list[Json]:
        """``GET /applications/{id}/commands``."""
        self._check_app(req.match[0])
        return self.state.global_commands

    async def put_global(self, req: Req) -> list[Json]:
        """``PUT /applications/{id}/commands``: replace the global commands."""
        self._check_app(req.match[0])
        self.state.global_commands = self.store(None, req.json)
        log.info("global commands synced: %s", [c["name"] for c in self.state.global_commands])
        return self.state.global_commands

    async def get_guild(self, req: Req) -> list[Json]:
        """``GET /applications/{id}/guilds/{guild_id}/commands``."""
        self._check_app(req.match[0])
        return self.state.guild_commands.get(self.world.guild(req.match[1]).id, [])

    async def put_guild(self, req: Req) -> list[Json]:
        """``PUT /applications/{id}/guilds/{guild_id}/commands``: replace a guild's commands."""
        self._check_app(req.match[0])
        gid = self.world.guild(req.match[1]).id
        self.state.guild_commands[gid] = self.store(gid, req.json)
        return self.state.guild_commands[gid]

    def find(self, name: str, guild_id: int | None = None, command_type: int = 1) -> Json | None:
        """The synced command a user would invoke: the guild's own first, then the global one."""
        state = self.state
        lists = [state.guild_commands.get(guild_id, [])] if guild_id is not None else []
        lists.append(state.global_commands)
        for commands in lists:
            for cmd in commands:
                if cmd["name"] == name and cmd.get("type", 1) == command_type:
                    return cmd
        return None
