"""Where a job's messages go: the Discord side of the job service's port.

A job answers an interaction through the interaction's webhook: live, from the interaction
itself, or rebuilt from the job journal after a restart (the token stays good for 15
minutes). Once Discord says the token is dead, the job posts in its channel instead, as a
plain bot message that names the requester without pinging them; when the bot may not
post there, the operator's log names the missing permission, and so does a message in the
channel or the server's mod log where one can be posted.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
import discord

from cogs.common.answers import NO_MENTIONS, message_for
from cogs.common.bounds import MAX_CONTENT, clip
from cogs.common.catalog import text
from cogs.common.modlog import (
    ModLog,
    job_embed,
    paused_embed,
    server_locale,
    spend_reached_embed,
)
from cogs.imagine.embeds import build_embed
from cogs.imagine.views import cancel_view, result_view
from core import errors
from core.jobs import (
    JobSummary,
    MemberPaused,
    ModLogEntry,
    Notice,
    OutgoingFile,
    ResultCard,
    SpendCeilingReached,
    Stage,
    Status,
    UploadRefused,
    UploadTooLarge,
)

log = logging.getLogger(__name__)

#: The path Discord gives the interaction's first message on its webhook.
ORIGINAL: Any = "@original"
#: Discord's codes for a dead interaction token: "Invalid Webhook Token" (after 15 minutes)
#: and "Unknown Webhook".
DEAD_TOKEN_CODES = frozenset({50027, 10015})
#: The channel permissions a result needs, with their catalog keys, in the order to name them.
RESULT_PERMISSIONS = (
    ("view_channel", "perm_view_channel"),
    ("send_messages", "perm_send_messages"),
    ("embed_links", "perm_embed_links"),
    ("attach_files", "perm_attach_files"),
)
#: Without these nothing at all can be posted in the channel.
_POSTING = frozenset({"perm_view_channel", "perm_send_messages"})

FilesFactory = Callable[[], list[discord.File]]
#: Whether a clip can be made of a picture result in a server (or a DM: None).
AnimateOffer = Callable[[int | None], Awaitable[bool]]
#: Failures of the connection to Discord itself (no answer came). Their text can carry the
#: webhook URL, and with it the interaction's token: only their type is logged.
CONNECTION_ERRORS = (aiohttp.ClientError, TimeoutError)


def token_is_dead(failure: discord.HTTPException) -> bool:
    """Whether Discord refused a webhook call because the interaction token is no good."""
    return failure.code in DEAD_TOKEN_CODES or failure.status == 401


def missing_permissions(client: discord.Client, channel_id: int | None) -> list[str] | None:
    """Catalog keys of the result permissions the bot lacks in a channel, by the cache;
    None when the cache cannot tell (an unknown channel, a direct message)."""
    if channel_id is None:
        return None
    channel = client.get_channel(channel_id)
    if not isinstance(channel, discord.abc.GuildChannel | discord.Thread):
        return None
    me = channel.guild.me
    if me is None:
        return None
    permissions = channel.permissions_for(me)
    return [key for attribute, key in RESULT_PERMISSIONS if not getattr(permissions, attribute)]


def permission_names(keys: Sequence[str], locale: str | None) -> str:
    return ", ".join(text(key, locale) for key in keys)


def all_pictures(files: Sequence[OutgoingFile]) -> bool:
    """Whether a result's files are pictures (not a clip)."""
    return bool(files) and all(f.file.mime_type.startswith("image/") for f in files)


class DiscordPort:
    """Where a job's messages go: its interaction's webhook, then its channel.

    The Discord side of ``core.jobs.JobPort``: notices become words from the catalog in
    the requester's language, result cards become embeds with the Re-roll and Delete
    buttons, mod-log entries become embeds in the server's language.
    """

    def __init__(
        self,
        client: discord.Client,
        webhook: discord.Webhook | None,
        *,
        job_id: str = "-",
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        locale: str | None,
        filesize_limit: int,
        modlog: ModLog,
        modlog_channel: int | None = None,
        guild_locale: str | None = None,
        interaction: discord.Interaction | None = None,
        offers_animate: AnimateOffer | None = None,
    ) -> None:
        self._client = client
        #: The live interaction, to acknowledge (None for a job taken over from the journal).
        self._interaction = interaction
        self._webhook = webhook
        self.job_id = job_id
        self.user_id = user_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.locale = locale
        self.filesize_limit = filesize_limit
        self._modlog = modlog
        self._modlog_channel = modlog_channel
        self._guild_locale = guild_locale
        #: The interaction's first message shows a status (a place in line) rather than
        #: "thinking…": the next message replaces it instead of following it.
        self.status_shown = False
        #: The token is dead (or there is none): messages go to the channel.
        self.in_channel = webhook is None
        #: The missing permissions were named once already.
        self._permissions_reported = False
        self._cancel_view: discord.ui.View | None = None
        self._offers_animate = offers_animate

    @classmethod
    def for_interaction(
        cls,
        interaction: discord.Interaction,
        modlog: ModLog,
        offers_animate: AnimateOffer | None = None,
    ) -> DiscordPort:
        """The port of a job asked for by a live interaction."""
        return cls(
            interaction.client,
            interaction.followup,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            locale=str(interaction.locale),
            filesize_limit=interaction.filesize_limit,
            modlog=modlog,
            guild_locale=server_locale(interaction),
            interaction=interaction,
            offers_animate=offers_animate,
        )

    # -- core.jobs.JobPort -------------------------------------------------------------

    async def acknowledge(self, job_id: str, *, modlog_channel: int | None) -> bool:
        """Defer the interaction (public "thinking…"); False when Discord says too late."""
        self.job_id = job_id
        self._modlog_channel = modlog_channel
        if self._interaction is None:
            return True
        try:
            await self._interaction.response.defer(thinking=True)
        except discord.HTTPException as late:
            # Past Discord's 3-second deadline (10062) or answered elsewhere.
            log.warning(
                "job %s: could not defer the interaction: HTTP %s (code %s)",
                job_id,
                late.status,
                late.code,
            )
            return False
        except CONNECTION_ERRORS as failure:
            log.warning(
                "job %s: could not defer the interaction: %s", job_id, type(failure).__name__
            )
            return False
        return True

    async def show_status(self, status: Status) -> None:
        """Show the place in line (with Cancel), that the job started, or that it waits
        for the next start."""
        if status.stage is Stage.WAITING:
            if self._cancel_view is None:
                self._cancel_view = cancel_view(self.job_id, self.locale)
            content = text("queue_place", self.locale, place=status.place)
            await self._show(content, self._cancel_view)
        elif status.stage is Stage.RENDERING:
            if self._cancel_view is None:
                self._cancel_view = cancel_view(self.job_id, self.locale)
            content = text(
                f"video_{status.detail or 'rendering'}",
                self.locale,
                progress=status.progress,
                elapsed=int(status.elapsed),
            )
            await self._show(content, self._cancel_view)
        elif status.stage is Stage.STARTED:
            await self._show(text("queue_started", self.locale))
        else:
            await self._show(text("suspended", self.locale))

    async def send(self, files: Sequence[OutgoingFile], card: ResultCard | None) -> int:
        """Post one message of the result; the card (with the buttons) on the first."""

        def attachments() -> list[discord.File]:
            return [
                discord.File(io.BytesIO(f.file.data), filename=f.name, spoiler=f.spoiler)
                for f in files
            ]

        embed = None if card is None else build_embed(card, self.locale)
        view = None
        if card is not None:
            # Edit and Animate take a picture: a clip gets neither.
            pictures = all_pictures(files)
            animate = pictures and await self._animate()
            view = result_view(self.job_id, self.locale, edit=pictures, animate=animate)
        try:
            message = await self._post(files=attachments, embed=embed, view=view)
        except discord.HTTPException as failure:
            refused = UploadTooLarge if failure.status == 413 else UploadRefused
            raise refused(status=failure.status, code=failure.code) from failure
        except CONNECTION_ERRORS as failure:
            log.warning(
                "job %s: the connection to Discord failed during an upload: %s",
                self.job_id,
                type(failure).__name__,
            )
            # No answer: status 0. Nothing of the failure is kept (its text holds the URL).
            raise UploadRefused(status=0, code=0) from None
        return message.id

    async def _animate(self) -> bool:
        """Whether a picture result's card offers Animate: where clips can be made now.
        Asked as the result is posted; a press checks again."""
        if self._offers_animate is None:
            return False
        try:
            return await self._offers_animate(self.guild_id)
        except Exception:
            # The result matters more than one of its buttons.
            log.exception("job %s: could not tell whether to offer Animate", self.job_id)
            return False

    async def say(self, notice: Notice | errors.GenerationError, *, private: bool = True) -> None:
        """Tell the requester a notice or an error, in their language."""
        if isinstance(notice, Notice):
            content = text(notice.key, self.locale, **notice.values)
        else:
            content = message_for(notice, self.locale, job_id=self.job_id)
        await self._say(content, private=private)

    async def say_in_channel(self, notice: Notice) -> None:
        """Post a notice in the job's channel, naming the requester."""
        mention = f"<@{self.user_id}>"
        await self._post_in_channel(text(notice.key, self.locale, user=mention, **notice.values))

    def post_modlog(self, channel_id: int, entry: ModLogEntry) -> None:
        """Post a mod-log entry in the background, in the server's language."""
        if isinstance(entry, JobSummary):
            embed = job_embed(entry, self._guild_locale)
        elif isinstance(entry, MemberPaused):
            embed = paused_embed(entry, self._guild_locale)
        elif isinstance(entry, SpendCeilingReached):
            embed = spend_reached_embed(entry, self._guild_locale)
        else:
            embed = discord.Embed(
                description=text("modlog_out_of_credits", self._guild_locale),
                colour=discord.Colour.red(),
            )
        self._modlog.post_soon(channel_id, embed)

    # -- the webhook, then the channel -------------------------------------------------

    @property
    def _ephemeral_ok(self) -> bool:
        # A webhook rebuilt from a token is not known as the application's own, and
        # discord.py sends ephemeral messages only through the application's.
        return self._webhook is not None and self._webhook.type is discord.WebhookType.application

    def _token_died(self, failure: discord.HTTPException) -> None:
        if not self.in_channel:
            log.warning(
                "job %s: the interaction token no longer works (HTTP %s, code %s); "
                "posting in channel %s instead",
                self.job_id,
                failure.status,
                failure.code,
                self.channel_id,
            )
        self.in_channel = True

    async def _show(self, content: str, view: discord.ui.View | None = None) -> None:
        """Show ``content`` in the interaction's first message (best effort)."""
        if self._webhook is None or self.in_channel:
            return
        try:
            await self._webhook.edit_message(
                ORIGINAL, content=content, view=view, allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as failure:
            if token_is_dead(failure):
                self._token_died(failure)
                return
            log.warning(
                "job %s: could not show a status: HTTP %s (code %s)",
                self.job_id,
                failure.status,
                failure.code,
            )
            return
        except CONNECTION_ERRORS as failure:
            log.warning("job %s: could not show a status: %s", self.job_id, type(failure).__name__)
            return
        self.status_shown = True

    async def _post(
        self,
        *,
        files: FilesFactory,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> discord.Message:
        """Post one message of the result. Raises ``discord.HTTPException`` as Discord
        answered (a 413 among them), after moving to the channel if the token died."""
        if self._webhook is not None and not self.in_channel:
            try:
                if self.status_shown:
                    message: discord.Message = await self._webhook.edit_message(
                        ORIGINAL,
                        content=None,
                        embed=embed,
                        attachments=files(),
                        view=view,
                        allowed_mentions=NO_MENTIONS,
                    )
                    self.status_shown = False
                    return message
                return await self._send_followup(
                    self._webhook, files=files(), embed=embed, view=view
                )
            except discord.HTTPException as failure:
                if not token_is_dead(failure):
                    raise
                self._token_died(failure)
        return await self._send_in_channel(files=files, embed=embed, view=view)

    @staticmethod
    async def _send_followup(
        webhook: discord.Webhook,
        *,
        files: list[discord.File],
        embed: discord.Embed | None,
        view: discord.ui.View | None,
    ) -> discord.Message:
        if embed is not None and view is not None:
            return await webhook.send(
                embed=embed, files=files, view=view, allowed_mentions=NO_MENTIONS, wait=True
            )
        if embed is not None:
            return await webhook.send(
                embed=embed, files=files, allowed_mentions=NO_MENTIONS, wait=True
            )
        return await webhook.send(files=files, allowed_mentions=NO_MENTIONS, wait=True)

    async def _send_in_channel(
        self,
        *,
        files: FilesFactory,
        embed: discord.Embed | None,
        view: discord.ui.View | None,
    ) -> discord.Message:
        if self.channel_id is None:
            raise errors.DeliveryFailed("the token is dead and the job has no channel")
        channel = self._client.get_partial_messageable(self.channel_id, guild_id=self.guild_id)
        content = text("result_for", self.locale, user=f"<@{self.user_id}>")
        try:
            if embed is not None and view is not None:
                return await channel.send(
                    content, embed=embed, files=files(), view=view, allowed_mentions=NO_MENTIONS
                )
            if embed is not None:
                return await channel.send(
                    content, embed=embed, files=files(), allowed_mentions=NO_MENTIONS
                )
            return await channel.send(files=files(), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden as failure:
            await self._report_permissions(failure)
            raise

    async def _say(self, content: str, *, private: bool = True) -> None:
        """Tell the requester something (an error, a notice), wherever that still works.

        ``private`` asks for an ephemeral follow-up where one can be had (the first message
        after a public "thinking…" is public whatever is asked)."""
        if self._webhook is not None and not self.in_channel:
            try:
                if self.status_shown:
                    await self._webhook.edit_message(
                        ORIGINAL, content=content, view=None, allowed_mentions=NO_MENTIONS
                    )
                elif private and self._ephemeral_ok:
                    await self._webhook.send(
                        content, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
                    )
                else:
                    await self._webhook.send(content, allowed_mentions=NO_MENTIONS, wait=True)
                return
            except discord.HTTPException as failure:
                if not token_is_dead(failure):
                    log.warning(
                        "job %s: could not tell user %s: HTTP %s (code %s)",
                        self.job_id,
                        self.user_id,
                        failure.status,
                        failure.code,
                    )
                    return
                self._token_died(failure)
            except CONNECTION_ERRORS as failure:
                log.warning(
                    "job %s: could not tell user %s: %s",
                    self.job_id,
                    self.user_id,
                    type(failure).__name__,
                )
                return
        if not self._permissions_reported:
            await self._post_in_channel(f"<@{self.user_id}> {content}")

    async def _post_in_channel(self, content: str) -> bool:
        """Post ``content`` in the job's channel; False (and a log line) if that failed."""
        if self.channel_id is None:
            return False
        channel = self._client.get_partial_messageable(self.channel_id, guild_id=self.guild_id)
        try:
            await channel.send(clip(content, MAX_CONTENT), allowed_mentions=NO_MENTIONS)
        except discord.Forbidden as failure:
            await self._report_permissions(failure, text_only=True)
            return False
        except discord.HTTPException as failure:
            log.warning(
                "job %s: could not post in channel %s: HTTP %s (code %s)",
                self.job_id,
                self.channel_id,
                failure.status,
                failure.code,
            )
            return False
        except CONNECTION_ERRORS as failure:
            log.warning(
                "job %s: could not post in channel %s: %s",
                self.job_id,
                self.channel_id,
                type(failure).__name__,
            )
            return False
        return True

    async def _report_permissions(
        self, failure: discord.HTTPException, *, text_only: bool = False
    ) -> None:
        """Name the permissions the bot lacks: in the log, and to the server where possible."""
        if self._permissions_reported:
            return
        self._permissions_reported = True
        missing = missing_permissions(self._client, self.channel_id)
        if not missing:
            # The cache saw nothing missing (or knows nothing): name everything a result needs.
            missing = [key for _, key in RESULT_PERMISSIONS]
        if text_only:
            missing = [key for key in missing if key in _POSTING] or missing
        log.warning(
            "job %s: Discord refused a message in channel %s (HTTP %s, code %s): the bot "
            "needs the permission(s) %s there",
            self.job_id,
            self.channel_id,
            failure.status,
            failure.code,
            permission_names(missing, None),
        )
        if not text_only and not _POSTING.intersection(missing):
            # The bot may post text there: say what it lacks where the requester looks.
            notice = text(
                "missing_permissions",
                self.locale,
                job_id=self.job_id,
                permissions=permission_names(missing, self.locale),
            )
            if await self._post_in_channel(notice):
                return
        if self._modlog_channel is not None:
            notice = text(
                "modlog_missing_permissions",
                self._guild_locale,
                job_id=self.job_id,
                channel=f"<#{self.channel_id}>",
                permissions=permission_names(missing, self._guild_locale),
            )
            await self._modlog.post(
                self._modlog_channel,
                discord.Embed(description=notice, colour=discord.Colour.orange()),
            )
