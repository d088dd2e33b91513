"""``/imagine``, ``/imagine-quota`` and the job buttons: the extension ``cogs.imagine``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.imagine.cog import ImagineCog

if TYPE_CHECKING:
    from bot import ImagineBot

__all__ = ["ImagineCog", "setup"]


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(ImagineCog(bot))
