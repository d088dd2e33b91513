"""Health and metrics over HTTP for operators: the extension ``cogs.ops``.

The metrics themselves (:mod:`cogs.ops.metrics`) are made with the bot, so that the image
client and the job service report to them from the start; this extension serves them,
with ``/healthz`` and ``/readyz``, when ``HTTP_PORT`` is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.ops.cog import OpsCog

if TYPE_CHECKING:
    from bot import ImagineBot

__all__ = ["OpsCog", "setup"]


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(OpsCog(bot))
