"""A fake Discord (REST API and gateway) that the real, unmodified discord.py talks to.

The end-to-end tests point the bot at this server through ``DISCORD_API_BASE_URL`` and
``DISCORD_GATEWAY_URL`` (``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``).  It listens on 127.0.0.1 only, on a
port chosen by the system, and serves on one aiohttp server:

* ``/api/v10/...``: the REST routes the bot uses (login, command sync, interaction callbacks,
  webhook follow-ups, channel messages) with Discord's error codes and limits;
* ``/``: the gateway websocket (HELLO, IDENTIFY, READY, GUILD_CREATE, heartbeats, RESUME,
  several shards and sessions at once), in plain JSON text frames;
* ``/attachments/...``: a small CDN serving the files the bot uploaded.

Tests drive it from the user's side (:meth:`FakeDiscord.send_slash_command`,
:meth:`FakeDiscord.press_button`) and inspect what the bot did: every REST request, every
interaction callback and every message, each with a ``time.monotonic()`` timestamp.

The modules, from the bottom up: ``constants`` and ``snowflakes`` (Discord's numbers and
ids), ``models`` and ``guilds`` (what is recorded and known), ``errors``, ``multipart``,
``validation`` and ``changes`` (Discord's checks), ``state`` (what every part shares),
``world``, ``messages``, ``interactions`` and ``gateway`` (the parts), ``rest`` and
``routes/`` (the REST side), and ``server`` (:class:`FakeDiscord`, composing them).
"""

from __future__ import annotations

from tests.fakes.discord.constants import (
    ALL_PERMISSIONS,
    APPLICATION_ID,
    BOT_USER_ID,
    DEFAULT_APP_PERMISSIONS,
    DEFAULT_CHANNEL_ID,
    DEFAULT_GUILD_ID,
    DEFAULT_MEMBER_PERMISSIONS,
    DEFAULT_NSFW_CHANNEL_ID,
    DEFAULT_USER_ID,
    OWNER_USER_ID,
)
from tests.fakes.discord.models import (
    FakeAttachment,
    FakeInteraction,
    FakeMessage,
    RecordedPart,
    RecordedRequest,
)
from tests.fakes.discord.server import FakeDiscord
from tests.fakes.discord.sessions import GatewaySession
from tests.fakes.discord.snowflakes import guild_id_for_shard, make_snowflake, shard_for

__all__ = [
    "ALL_PERMISSIONS",
    "APPLICATION_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_PERMISSIONS",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_GUILD_ID",
    "DEFAULT_MEMBER_PERMISSIONS",
    "DEFAULT_NSFW_CHANNEL_ID",
    "DEFAULT_USER_ID",
    "OWNER_USER_ID",
    "FakeAttachment",
    "FakeDiscord",
    "FakeInteraction",
    "FakeMessage",
    "GatewaySession",
    "RecordedPart",
    "RecordedRequest",
    "guild_id_for_shard",
    "make_snowflake",
    "shard_for",
]
