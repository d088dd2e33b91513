"""The buttons of a job: Re-roll, Delete, Edit and Animate under a result, Cancel under a
place in line.

Everything a button needs is in its custom id (``imagine:<action>:<job id>``), so the
buttons of results posted before a restart keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord
from discord.ext import commands

from cogs.common.catalog import text
from cogs.imagine.edit_views import EditButton

#: Result buttons: the job id in the custom id is all they need, so they outlive restarts.
JOB_BUTTON_TEMPLATE = r"imagine:(?P<action>reroll|delete|cancel|animate):(?P<job>[0-9a-f]{6,32})"
#: The cog whose methods handle the presses.
COG_NAME = "ImagineCog"


@dataclass(frozen=True, slots=True)
class _ButtonKind:
    label_key: str
    emoji: str | None
    #: The cog's method that handles a press: ``(interaction, job_id) -> None``.
    handler: str


_BUTTON_KINDS = {
    "reroll": _ButtonKind("button_reroll", "🎲", "reroll"),
    "delete": _ButtonKind("button_delete", "🗑️", "delete_result"),
    "cancel": _ButtonKind("button_cancel", None, "cancel_job"),
    "animate": _ButtonKind("button_animate", "🎬", "open_animate"),
}


def job_button_id(action: str, job_id: str) -> str:
    """A job button's custom id (at most 48 characters: Discord allows 100)."""
    return f"imagine:{action}:{job_id}"


class JobButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=JOB_BUTTON_TEMPLATE
):
    """A button acting on one job: Re-roll (the same parameters again, under the presser's
    own limits), Delete (the requester or Manage Messages removes the result), Cancel (the
    requester takes a waiting job out of the line) or Animate (a clip of one of the
    result's pictures, asked in a form). All it needs is in its custom id, so it keeps
    working after a restart."""

    def __init__(self, action: str, job_id: str, label: str | None = None) -> None:
        kind = _BUTTON_KINDS[action]
        super().__init__(
            discord.ui.Button(
                label=label or text(kind.label_key),
                emoji=kind.emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=job_button_id(action, job_id),
            )
        )
        self.action = action
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> JobButton:
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        cog = client.get_cog(COG_NAME) if isinstance(client, commands.Bot) else None
        handler = getattr(cog, _BUTTON_KINDS[self.action].handler, None)
        if handler is not None:
            await handler(interaction, self.job_id)


def result_view(
    job_id: str, locale: str | None, *, edit: bool = True, animate: bool = False
) -> discord.ui.View:
    """The buttons under a result, labelled in the requester's language: Edit under
    pictures (``edit``), Animate only where a clip can be made of them (``animate``)."""
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("reroll", job_id, text("button_reroll", locale)))
    view.add_item(JobButton("delete", job_id, text("button_delete", locale)))
    if edit:
        view.add_item(EditButton(job_id, text("button_edit", locale)))
    if animate:
        view.add_item(JobButton("animate", job_id, text("button_animate", locale)))
    return view


def cancel_view(job_id: str, locale: str | None) -> discord.ui.View:
    """The Cancel button under a waiting job's place in line."""
    view = discord.ui.View(timeout=None)
    view.add_item(JobButton("cancel", job_id, text("button_cancel", locale)))
    return view
