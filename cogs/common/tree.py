"""The bot's command tree, with the one error handler every command and button shares."""

from __future__ import annotations

import discord
from discord import app_commands

from cogs.common.answers import answer_error


async def on_tree_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    """Turn any error of an application command into a short reply and a log line."""
    original: BaseException = error
    if isinstance(error, app_commands.CommandInvokeError):
        original = error.original
    await answer_error(interaction, original)


class ImagineTree(app_commands.CommandTree):
    """The bot's command tree: every command error goes through ``on_tree_error``."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await on_tree_error(interaction, error)
