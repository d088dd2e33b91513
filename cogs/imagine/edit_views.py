"""The Edit button under every result, and the modals of Edit and Animate.

The button's custom id (``imagine:edit:<job id>``) carries all it needs, so the buttons of
results posted before a restart keep working. The modal asks what to change and, when the
result has several images, which one; it lives for :data:`MODAL_SECONDS`. Animate's modal
(its button is a job button, ``cogs.imagine.views``) asks the same, the motion rather
than the change, and how long the clip is.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord.ext import commands

from cogs.common.answers import answer_error
from cogs.common.catalog import text
from core.options import MAX_PROMPT_LENGTH
from core.video import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS

#: The Edit button of a result.
EDIT_BUTTON_TEMPLATE = r"imagine:edit:(?P<job>[0-9a-f]{6,32})"
#: The cog whose ``open_edit(interaction, job_id)`` handles a press.
COG_NAME = "ImagineCog"
#: How long an open modal waits for its member.
MODAL_SECONDS = 15 * 60.0

#: What a submitted modal runs: ``(interaction, what to change, which image from 1)``.
EditHandler = Callable[[discord.Interaction, str, int], Awaitable[None]]
#: What a submitted Animate modal runs: ``(interaction, the motion, which image from 1,
#: seconds)``.
AnimateHandler = Callable[[discord.Interaction, str, int, int], Awaitable[None]]


class EditButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=EDIT_BUTTON_TEMPLATE
):
    """Edit one image of a result: opens a modal asking what to change."""

    def __init__(self, job_id: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or text("button_edit"),
                emoji="✏️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"imagine:edit:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> EditButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        cog = client.get_cog(COG_NAME) if isinstance(client, commands.Bot) else None
        handler = getattr(cog, "open_edit", None)
        if handler is not None:
            await handler(interaction, self.job_id)


def which_image(value: str, count: int) -> int | None:
    """The image a member named (1 to ``count``), or None when the answer names none."""
    digits = value.strip().lstrip("#")
    if not digits.isdigit():
        return None
    index = int(digits)
    return index if 1 <= index <= count else None


def clip_seconds(value: str) -> int | None:
    """The clip length a member typed (whole seconds, :data:`MIN_SECONDS` to
    :data:`MAX_SECONDS`; blank is the default), or None when it names none."""
    digits = value.strip().removesuffix("s").strip()
    if not digits:
        return DEFAULT_SECONDS
    if not digits.isdigit():
        return None
    seconds = int(digits)
    return seconds if MIN_SECONDS <= seconds <= MAX_SECONDS else None


class EditModal(discord.ui.Modal):
    """What to change (and which image, when there are several)."""

    def __init__(
        self,
        handler: EditHandler,
        *,
        count: int,
        locale: str | None,
        title_key: str = "modal_edit_title",
        label_key: str = "modal_edit_change",
        prompt: str = "",
    ) -> None:
        super().__init__(
            title=text(title_key, locale),
            timeout=MODAL_SECONDS,
            custom_id=f"imagine:modal:{secrets.token_hex(8)}",
        )
        self._handler = handler
        self._count = count
        self._locale = locale
        self.change: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label=text(label_key, locale),
            style=discord.TextStyle.paragraph,
            max_length=MAX_PROMPT_LENGTH,
            default=prompt or None,
            required=True,
        )
        self.add_item(self.change)
        self.which: discord.ui.TextInput[EditModal] | None = None
        if count > 1:
            self.which = discord.ui.TextInput(
                label=text("modal_edit_which", locale, count=count),
                style=discord.TextStyle.short,
                max_length=3,
                default="1",
                required=True,
            )
            self.add_item(self.which)

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        index = 1 if self.which is None else which_image(self.which.value, self._count)
        if index is None:
            await interaction.response.send_message(
                text("modal_edit_which_bad", self._locale, count=self._count), ephemeral=True
            )
            return
        await self._handler(interaction, self.change.value, index)

    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        await answer_error(interaction, error)


class AnimateModal(EditModal):
    """How the picture moves, which image when there are several, and for how long."""

    def __init__(self, handler: AnimateHandler, *, count: int, locale: str | None) -> None:
        super().__init__(
            self._animate,
            count=count,
            locale=locale,
            title_key="modal_animate_title",
            label_key="modal_animate_motion",
        )
        self._animate_handler = handler
        self.seconds: discord.ui.TextInput[EditModal] = discord.ui.TextInput(
            label=text("modal_animate_seconds", locale, first=MIN_SECONDS, last=MAX_SECONDS),
            style=discord.TextStyle.short,
            max_length=3,
            default=str(DEFAULT_SECONDS),
            required=False,
        )
        self.add_item(self.seconds)

    async def _animate(self, interaction: discord.Interaction, motion: str, index: int) -> None:
        seconds = clip_seconds(self.seconds.value)
        if seconds is None:
            await interaction.response.send_message(
                text(
                    "modal_animate_seconds_bad", self._locale, first=MIN_SECONDS, last=MAX_SECONDS
                ),
                ephemeral=True,
            )
            return
        await self._animate_handler(interaction, motion, index, seconds)
