"""What the floor bot and the naive bot share: settings from the environment, the URL seam,
and a ``/imagine`` command with the real bot's options, so that Discord's side and
discord.py's option parsing cost them what they cost the real bot."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

import discord
import yarl
from discord import app_commands

Handler = Callable[[discord.Interaction, str, int, str | None], Awaitable[None]]


def point_at_fakes() -> None:
    """The same seam as ``bot.apply_discord_urls``."""
    if base := os.environ.get("DISCORD_API_BASE_URL"):
        discord.http.Route.BASE = base
    if gateway := os.environ.get("DISCORD_GATEWAY_URL"):
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


class BenchClient(discord.Client):
    """A bare client with one ``/imagine`` command that calls ``handler``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(intents=discord.Intents(guilds=True))
        self.tree = app_commands.CommandTree(self)
        self.handler = handler

        @self.tree.command(name="imagine", description="Create images from a text prompt.")
        async def imagine(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, 1000],
            model: str | None = None,
            n: app_commands.Range[int, 1, 10] = 1,
            aspect: str | None = None,
            resolution: str | None = None,
        ) -> None:
            await self.handler(interaction, prompt, n, resolution)

    async def setup_hook(self) -> None:
        await self.tree.sync()


def run(handler: Handler) -> None:
    """Log like the real bot, connect to the fakes and run until killed."""
    discord.utils.setup_logging(level=logging.INFO, root=True)
    point_at_fakes()
    client = BenchClient(handler)
    asyncio.run(client.start(os.environ["DISCORD_TOKEN"]))
