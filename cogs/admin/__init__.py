"""``/imagine-admin``: a server's own settings for ``/imagine``, and its usage figures.

The commands live in :mod:`cogs.admin.cog`, what they show in :mod:`cogs.admin.embeds`, and
every change they make is a pure function of :mod:`core.guild_changes`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.admin.cog import AdminCog

if TYPE_CHECKING:
    from bot import ImagineBot

__all__ = ["AdminCog", "setup"]


async def setup(bot: ImagineBot) -> None:
    """Load the extension: add the cog, which adds the ``/imagine-admin`` group."""
    await bot.add_cog(AdminCog(bot))
