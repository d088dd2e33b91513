"""What Discord's command permissions say of ``/imagine`` for a button press.

Discord applies a server's command permissions (Server Settings → Integrations) to the
command, not to the buttons of its results. Re-roll makes a new job, so it asks here
whether the member could use ``/imagine`` in the channel the button was pressed in. The
server's overwrites are read with the bot token
(``GET /applications/{app}/guilds/{guild}/commands/permissions``) and kept for a short
while; Discord's ``APPLICATION_COMMAND_PERMISSIONS_UPDATE`` event drops them, so a change
applies at the next press. The decision itself is :func:`core.command_permissions.decide`.

When Discord does not answer, or refuses the read, the last overwrites read (up to
:data:`STALE_SECONDS` old) are used; without any, the answer is "unknown" and the press is
refused: a press is better refused for a moment than allowed against the server's rules.
A server that never touched Integrations has no overwrites, which allows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from core.command_permissions import Access, Asker, Overwrite, Overwrites, TargetType, decide_any

if TYPE_CHECKING:
    from discord.app_commands import AppCommand

log = logging.getLogger(__name__)

#: How long a server's overwrites are used before they are read again.
FRESH_SECONDS = 60.0
#: How long the last overwrites read stand in when a new read fails.
STALE_SECONDS = 600.0
#: The command whose permissions the buttons follow.
COMMAND_NAME = "imagine"
#: The command whose permissions Animate (and a clip's Re-roll) follows.
ANIMATE_COMMAND = "animate"


@dataclass(frozen=True, slots=True)
class _Read:
    overwrites: Overwrites
    at: float


def overwrites_of(payloads: list[Any]) -> dict[int, list[Overwrite]]:
    """Discord's ``GuildApplicationCommandPermissions`` list, by command (or application) id."""
    out: dict[int, list[Overwrite]] = {}
    for entry in payloads:
        kept = out.setdefault(int(entry["id"]), [])
        for item in entry.get("permissions") or ():
            try:
                kind = TargetType(int(item["type"]))
            except ValueError:
                continue  # a target type this bot does not know: it cannot be one of ours
            kept.append(Overwrite(int(item["id"]), kind, bool(item["permission"])))
    return out


def asker_of(interaction: discord.Interaction) -> Asker | None:
    """Who pressed, and where, as the decision sees them (None outside a server)."""
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    user = interaction.user
    channel = interaction.channel
    roles = tuple(role.id for role in user.roles) if isinstance(user, discord.Member) else ()
    return Asker(
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        user_id=user.id,
        role_ids=(interaction.guild_id, *roles),
        permissions=interaction.permissions.value,
        parent_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
    )


class CommandAccess:
    """``/imagine``'s command permissions per server, read from Discord and kept briefly."""

    def __init__(self, client: commands.Bot, *, dev_guild_id: int | None = None) -> None:
        self._client = client
        self._dev_guild_id = dev_guild_id
        self._reads: dict[int, _Read] = {}
        #: Bumped when Discord says a server's permissions changed: a read begun before
        #: the change is not kept.
        self._generation: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        #: Each command's ids (global, and in the development server) with their
        #: ``default_member_permissions``, by scope and name; ids stay while a command
        #: keeps its name.
        self._commands: dict[tuple[int | None, str], dict[int, int | None]] = {}

    def forget(self, guild_id: int) -> None:
        """Discord says the server's command permissions changed: read them anew."""
        self._reads.pop(guild_id, None)
        self._generation[guild_id] = self._generation.get(guild_id, 0) + 1

    async def check(
        self, interaction: discord.Interaction, command: str = COMMAND_NAME
    ) -> Access | None:
        """Whether Discord would let the presser use ``command`` (``/imagine`` unless
        told) where they pressed; None when that cannot be known now. Outside servers
        there is nothing to apply."""
        asker = asker_of(interaction)
        application_id = self._client.application_id
        if asker is None or application_id is None:
            return Access.ALLOWED
        overwrites = await self._overwrites(asker.guild_id, application_id)
        if overwrites is None:
            return None
        commands = await self._command_ids(asker.guild_id, command)
        return decide_any(overwrites, asker, application_id=application_id, commands=commands)

    # -- reading -----------------------------------------------------------------------

    async def _overwrites(self, guild_id: int, application_id: int) -> Overwrites | None:
        read = self._reads.get(guild_id)
        if read is not None and time.monotonic() - read.at < FRESH_SECONDS:
            return read.overwrites
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            read = self._reads.get(guild_id)
            if read is not None and time.monotonic() - read.at < FRESH_SECONDS:
                return read.overwrites  # read meanwhile by the press before this one
            generation = self._generation.get(guild_id, 0)
            fresh = await self._read(guild_id, application_id)
            if fresh is None:
                stale = self._reads.get(guild_id)
                if stale is not None and time.monotonic() - stale.at < STALE_SECONDS:
                    return stale.overwrites
                return None
            if self._generation.get(guild_id, 0) == generation:
                self._reads[guild_id] = _Read(fresh, time.monotonic())
            return fresh

    async def _read(self, guild_id: int, application_id: int) -> Overwrites | None:
        http = self._client.http
        try:
            payloads = await http.get_guild_application_command_permissions(
                application_id, guild_id
            )
        except discord.HTTPException as failure:
            log.warning(
                "could not read the command permissions of guild %s: HTTP %s (code %s)",
                guild_id,
                failure.status,
                failure.code,
            )
            return None
        except (aiohttp.ClientError, TimeoutError) as failure:
            log.warning(
                "could not read the command permissions of guild %s: %s",
                guild_id,
                type(failure).__name__,
            )
            return None
        return overwrites_of(list(payloads))

    async def _command_ids(self, guild_id: int, name: str) -> Mapping[int, int | None]:
        """The command's ids that apply in the server; empty while unknown."""
        scopes: list[int | None] = [None]
        if guild_id == self._dev_guild_id:
            scopes.append(guild_id)
        found: dict[int, int | None] = {}
        for scope in scopes:
            found.update(await self._commands_in(scope, name))
        return found

    async def _commands_in(self, scope: int | None, name: str) -> dict[int, int | None]:
        known = self._commands.get((scope, name))
        if known is not None:
            return known
        try:
            guild = None if scope is None else discord.Object(id=scope)
            fetched: list[AppCommand] = await self._client.tree.fetch_commands(guild=guild)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as failure:
            log.warning("could not read the bot's commands: %s", type(failure).__name__)
            return {}
        ids = {
            command.id: (
                None
                if command.default_member_permissions is None
                else command.default_member_permissions.value
            )
            for command in fetched
            if command.name == name and command.type is discord.AppCommandType.chat_input
        }
        if ids:
            self._commands[(scope, name)] = ids
        return ids
