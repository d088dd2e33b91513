"""The floor: a bare discord.py bot whose ``/imagine`` only defers.

Whatever the real bot takes to defer beyond what this takes is the real bot's own cost.
"""

from __future__ import annotations

import discord

from bench.common_bot import run


async def defer_only(
    interaction: discord.Interaction, prompt: str, n: int, resolution: str | None
) -> None:
    await interaction.response.defer(thinking=True)


if __name__ == "__main__":
    run(defer_only)
