"""The cog that serves health and metrics while the bot runs (see :mod:`cogs.ops`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from cogs.ops.health import HealthServer, Probe, store_answers
from cogs.ops.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

#: A key read to see that the store answers (any key does; this one is never written).
PROBE_KEY = "readyz"


def gateway_connected(bot: commands.Bot) -> bool:
    """Whether every gateway connection this process runs is open (and was ready once)."""
    if not bot.is_ready() or bot.is_closed():
        return False
    if isinstance(bot, commands.AutoShardedBot):
        shards = bot.shards
        expected = bot.shard_ids if bot.shard_ids is not None else range(bot.shard_count or 1)
        return all(shard in shards and not shards[shard].is_closed() for shard in expected)
    return bot.ws is not None and bot.ws.open


class OpsCog(commands.Cog):
    """Serves ``/healthz``, ``/readyz`` and ``/metrics`` when ``HTTP_PORT`` is set."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.server: HealthServer | None = None

    async def cog_load(self) -> None:
        settings = self.bot.settings
        self.bot.metrics.watch_gateway(lambda: self.bot.latency)
        if settings.http_port is None:
            return
        self.server = HealthServer(
            host=settings.http_host,
            port=settings.http_port,
            probe=self.probe,
            metrics=self.bot.metrics.exposition,
            content_type=CONTENT_TYPE,
        )
        await self.server.start()

    async def cog_unload(self) -> None:
        # Unloaded when the bot closes, after the jobs were drained: /readyz said 503
        # (draining) until then.
        if self.server is not None:
            await self.server.stop()

    async def probe(self) -> Probe:
        """The facts readiness is decided on, as they are now."""
        draining = self.bot.draining
        connected = gateway_connected(self.bot)
        store_ok = await store_answers(lambda: self.bot.store.get_meta(PROBE_KEY))
        return Probe(gateway_connected=connected, store_answers=store_ok, draining=draining)
