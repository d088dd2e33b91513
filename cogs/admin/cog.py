"""The ``/imagine-admin`` commands: each turns an interaction into one settings change.

The group needs Manage Server by default (``default_permissions``), and every command
checks it again when run, since a server can open a command to other roles in its
Integrations settings. Each change is a pure function of :mod:`core.guild_changes`, applied
atomically by the store, confirmed privately and written to the server's mod log. The group
is built from the bot's settings (the model choices come from ``GROK_MODELS``), as
``/imagine`` is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.admin.embeds import (
    cooldown_text,
    guild_budget_text,
    max_n_text,
    mention_channel,
    mention_role,
    models_text,
    resolutions_text,
    show_embed,
    spend_limit_text,
    stats_embed,
    terms_listing,
    user_quota_text,
    video_seconds_text,
)
from cogs.common.answers import reply
from cogs.common.catalog import text
from cogs.common.modlog import server_locale, settings_embed
from cogs.common.translator import localized
from config import Settings
from config.settings import MAX_SPEND_LIMIT_USD
from core import guild_changes as changes
from core import stats
from core.guild_changes import Change, SettingRefused
from core.guild_settings import (
    MAX_COOLDOWN_SECONDS,
    MAX_DAILY_IMAGES,
    MAX_TERM_LENGTH,
    GuildSettings,
)
from core.limits import video_ceiling
from core.options import MAX_IMAGES, RESOLUTIONS
from core.quota import day_start
from core.spend import usd_to_ticks

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

Describe = Callable[[GuildSettings, "str | None"], str]
AnyChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class ManageServerGroup(app_commands.Group):
    """A command group whose every command needs Manage Server when it runs."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            raise app_commands.MissingPermissions(["manage_guild"])
        return True


def _fixed(key: str, **values: object) -> Describe:
    """A confirmation that does not depend on the new settings."""
    return lambda _settings, locale: text(key, locale, **values)


def _switch(on: bool, when_on: str, when_off: str) -> Describe:
    """The confirmation of a switch turned on or off."""
    return _fixed(when_on if on else when_off)


def _said(key: str, value_of: Describe) -> Describe:
    """A confirmation that names the new value, as admins read it."""
    return lambda settings, locale: text(key, locale, value=value_of(settings, locale))


def _video_said(switch: Describe, config: Settings) -> Describe:
    """The confirmation of video turned on or off, with the seconds it allows now."""
    return lambda settings, locale: "\n".join(
        (switch(settings, locale), video_seconds_text(settings, config, locale))
    )


def _counted(key: str, count_of: Callable[[GuildSettings], int], **values: object) -> Describe:
    """A confirmation that says how many are listed now."""
    return lambda settings, locale: text(key, locale, count=count_of(settings), **values)


def _channel_removed(channel_id: int) -> Describe:
    """The confirmation of a channel taken off the list (the last one: every channel)."""
    return lambda settings, locale: text(
        "set_channel_removed" if settings.channels else "set_channels_cleared",
        locale,
        channel=mention_channel(channel_id),
        count=len(settings.channels),
    )


def _term_count(settings: GuildSettings) -> int:
    return len(settings.blocked_terms)


class AdminCog(commands.Cog):
    """Server settings for /imagine."""

    def __init__(self, bot: ImagineBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self.group = self._build_group()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.group.name)

    # -- applying a change ---------------------------------------------------------------

    async def _change(
        self, interaction: discord.Interaction, change: Change, describe: Describe
    ) -> None:
        """Apply ``change`` atomically, confirm it privately and write it to the mod log."""
        assert interaction.guild_id is not None  # the group's check made sure
        locale = str(interaction.locale)
        try:
            before, after = await self.bot.store.update_guild_settings(interaction.guild_id, change)
        except SettingRefused as refused:
            await reply(interaction, text(refused.reason.value, locale, max=refused.limit))
            return
        if after == before:
            await reply(interaction, text("set_unchanged", locale))
            return
        await reply(interaction, describe(after, locale))
        log.info(
            "server %s: settings changed by user %s", interaction.guild_id, interaction.user.id
        )
        entry = settings_embed(
            interaction.user.id,
            describe(after, server_locale(interaction)),
            server_locale(interaction),
        )
        if before.modlog_channel is not None and before.modlog_channel != after.modlog_channel:
            # The old log learns where the log went (or that it stopped).
            self.bot.modlog.post_soon(before.modlog_channel, entry)
        if after.modlog_channel is None:
            return
        if after.modlog_channel == before.modlog_channel:
            self.bot.modlog.post_soon(after.modlog_channel, entry)
        elif not await self.bot.modlog.post(after.modlog_channel, entry):
            # A new mod log: tell the admin at once if the bot cannot post there.
            await reply(
                interaction,
                text("modlog_failed", locale, channel=mention_channel(after.modlog_channel)),
            )

    # -- the commands --------------------------------------------------------------------

    def _build_group(self) -> app_commands.Group:
        group = ManageServerGroup(
            name="imagine-admin",
            description=localized("cmd_admin"),
            default_permissions=discord.Permissions(manage_guild=True),
            guild_only=True,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )
        self._add_switches(group)
        self._add_edit_switches(group)
        self._add_limits(group)
        self._add_lists(group)
        self._add_reports(group)
        self._add_spend(group)
        return group

    def _add_switches(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="enable", description=localized("cmd_admin_enable"))
        async def enable(interaction: discord.Interaction) -> None:
            """Turn /imagine on in this server."""
            await cog._change(
                interaction, partial(changes.set_enabled, on=True), _fixed("set_enabled")
            )

        @group.command(name="disable", description=localized("cmd_admin_disable"))
        async def disable(interaction: discord.Interaction) -> None:
            """Turn /imagine off in this server."""
            await cog._change(
                interaction, partial(changes.set_enabled, on=False), _fixed("set_disabled")
            )

        @group.command(name="nsfw-only", description=localized("cmd_nsfw_only"))
        @app_commands.describe(on=localized("opt_on"))
        async def nsfw_only(interaction: discord.Interaction, on: bool) -> None:
            """Allow /imagine only in age-restricted channels."""
            said = _switch(on, "set_nsfw_on", "set_nsfw_off")
            await cog._change(interaction, partial(changes.set_nsfw_only, on=on), said)

        @group.command(name="spoilers", description=localized("cmd_spoilers"))
        @app_commands.describe(on=localized("opt_on"))
        async def spoilers(interaction: discord.Interaction, on: bool) -> None:
            """Send every result as a spoiler."""
            said = _switch(on, "set_spoilers_on", "set_spoilers_off")
            await cog._change(interaction, partial(changes.set_spoilers, on=on), said)

        @group.command(name="reroll-open", description=localized("cmd_reroll_open"))
        @app_commands.describe(on=localized("opt_on"))
        async def reroll_open(interaction: discord.Interaction, on: bool) -> None:
            """Let anyone press Re-roll, not only the requester."""
            said = _switch(on, "set_reroll_open", "set_reroll_closed")
            await cog._change(interaction, partial(changes.set_reroll_open, on=on), said)

    def _add_edit_switches(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="edits", description=localized("cmd_edits"))
        @app_commands.describe(on=localized("opt_on"))
        async def edits(interaction: discord.Interaction, on: bool) -> None:
            """Let members edit pictures in this server."""
            said = _switch(on, "set_edits_on", "set_edits_off")
            await cog._change(interaction, partial(changes.set_edits, on=on), said)

        @group.command(name="edit-uploads", description=localized("cmd_edit_uploads"))
        @app_commands.describe(on=localized("opt_on"))
        async def edit_uploads(interaction: discord.Interaction, on: bool) -> None:
            """Let members edit uploaded pictures, not only the bot's results."""
            said = _switch(on, "set_edit_uploads_on", "set_edit_uploads_off")
            await cog._change(interaction, partial(changes.set_edit_uploads, on=on), said)

        @group.command(name="video", description=localized("cmd_video"))
        @app_commands.describe(
            on=localized("opt_on"),
            member_seconds=localized("opt_member_seconds"),
            server_seconds=localized("opt_server_seconds"),
        )
        async def video(
            interaction: discord.Interaction,
            on: bool,
            member_seconds: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
            server_seconds: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
        ) -> None:
            """Let members make video clips in this server (/animate)."""
            config = cog.settings
            change = partial(
                changes.set_video,
                on=on,
                user_seconds=member_seconds,
                guild_seconds=server_seconds,
                user_ceiling=video_ceiling(config.daily_user_video_seconds),
                guild_ceiling=video_ceiling(config.daily_guild_video_seconds),
            )
            said = _switch(on, "set_video_on", "set_video_off")
            if member_seconds is not None or server_seconds is not None:
                said = _video_said(said, config)
            await cog._change(interaction, change, said)

    def _add_limits(self, group: app_commands.Group) -> None:
        cog = self
        config = self.settings
        said_cooldown = _said("set_cooldown", lambda s, locale: cooldown_text(s, config, locale))
        said_max_n = _said("set_max_n", max_n_text)
        said_user_quota = _said(
            "set_user_quota", lambda s, locale: user_quota_text(s, config, locale)
        )
        said_guild_budget = _said(
            "set_guild_budget", lambda s, locale: guild_budget_text(s, config, locale)
        )

        @group.command(name="cooldown", description=localized("cmd_cooldown"))
        @app_commands.describe(seconds=localized("opt_seconds"))
        async def cooldown(
            interaction: discord.Interaction,
            seconds: app_commands.Range[int, 0, MAX_COOLDOWN_SECONDS] | None = None,
        ) -> None:
            """Seconds a member waits after each delivered job here."""
            change = partial(
                changes.set_cooldown, seconds=seconds, floor=config.min_cooldown_seconds
            )
            await cog._change(interaction, change, said_cooldown)

        @group.command(name="max-n", description=localized("cmd_max_n"))
        @app_commands.describe(count=localized("opt_max_n"))
        async def max_n(
            interaction: discord.Interaction,
            count: app_commands.Range[int, 1, MAX_IMAGES] | None = None,
        ) -> None:
            """The most images one request may ask for."""
            await cog._change(interaction, partial(changes.set_max_n, count=count), said_max_n)

        @group.command(name="user-quota", description=localized("cmd_user_quota"))
        @app_commands.describe(images=localized("opt_images"))
        async def user_quota(
            interaction: discord.Interaction,
            images: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
        ) -> None:
            """Images each member may make per UTC day here."""
            change = partial(
                changes.set_user_quota, images=images, ceiling=config.max_user_daily_quota
            )
            await cog._change(interaction, change, said_user_quota)

        @group.command(name="server-budget", description=localized("cmd_server_budget"))
        @app_commands.describe(images=localized("opt_images"))
        async def server_budget(
            interaction: discord.Interaction,
            images: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
        ) -> None:
            """Images the whole server may make per UTC day."""
            change = partial(
                changes.set_guild_budget, images=images, ceiling=config.max_guild_daily_budget
            )
            await cog._change(interaction, change, said_guild_budget)

    def _add_lists(self, group: app_commands.Group) -> None:
        self._add_channels(group)
        self._add_terms(group)
        self._add_models(group)
        self._add_resolutions(group)
        self._add_exempt_roles(group)
        self._add_modlog(group)

    def _add_channels(self, group: app_commands.Group) -> None:
        cog = self
        channels = ManageServerGroup(
            name="channels", description=localized("grp_channels"), parent=group
        )

        @channels.command(name="add", description=localized("cmd_channels_add"))
        @app_commands.describe(channel=localized("opt_channel"))
        async def add(interaction: discord.Interaction, channel: AnyChannel) -> None:
            """Allow /imagine in a channel."""
            said = _counted(
                "set_channel_added", lambda s: len(s.channels), channel=mention_channel(channel.id)
            )
            await cog._change(
                interaction, partial(changes.add_channel, channel_id=channel.id), said
            )

        @channels.command(name="remove", description=localized("cmd_channels_remove"))
        @app_commands.describe(channel=localized("opt_channel"))
        async def remove(interaction: discord.Interaction, channel: AnyChannel) -> None:
            """Take a channel off the list."""
            change = partial(changes.remove_channel, channel_id=channel.id)
            await cog._change(interaction, change, _channel_removed(channel.id))

        @channels.command(name="clear", description=localized("cmd_channels_clear"))
        async def clear(interaction: discord.Interaction) -> None:
            """Allow /imagine in every channel again."""
            await cog._change(interaction, changes.clear_channels, _fixed("set_channels_cleared"))

    def _add_terms(self, group: app_commands.Group) -> None:
        cog = self
        terms = ManageServerGroup(name="terms", description=localized("grp_terms"), parent=group)
        said_added = _counted("set_term_added", _term_count)
        said_removed = _counted("set_term_removed", _term_count)

        @terms.command(name="add", description=localized("cmd_terms_add"))
        @app_commands.describe(term=localized("opt_term"))
        async def add(
            interaction: discord.Interaction,
            term: app_commands.Range[str, 1, MAX_TERM_LENGTH],
        ) -> None:
            """Block a word or phrase in prompts."""
            await cog._change(interaction, partial(changes.add_term, term=str(term)), said_added)

        @terms.command(name="remove", description=localized("cmd_terms_remove"))
        @app_commands.describe(term=localized("opt_term"))
        async def remove(
            interaction: discord.Interaction,
            term: app_commands.Range[str, 1, MAX_TERM_LENGTH],
        ) -> None:
            """Unblock a word or phrase."""
            change = partial(changes.remove_term, term=str(term))
            await cog._change(interaction, change, said_removed)

        @terms.command(name="list", description=localized("cmd_terms_list"))
        async def list_terms(interaction: discord.Interaction) -> None:
            """List the blocked words and phrases, privately."""
            assert interaction.guild_id is not None
            locale = str(interaction.locale)
            settings = await cog.bot.store.get_guild_settings(interaction.guild_id)
            await reply(interaction, terms_listing(settings.blocked_terms, locale))

    def _add_models(self, group: app_commands.Group) -> None:
        """``models``: which of the bot's configured models members may use."""
        cog = self
        config = self.settings
        configured = config.grok_models
        choices = [app_commands.Choice(name=m, value=m) for m in configured]
        models = ManageServerGroup(name="models", description=localized("grp_models"), parent=group)
        said = _said("set_models", lambda s, locale: models_text(s, config, locale))

        @models.command(name="add", description=localized("cmd_models_add"))
        @app_commands.describe(model=localized("opt_admin_model"))
        @app_commands.choices(model=choices)
        async def add_model(interaction: discord.Interaction, model: str) -> None:
            """Allow a model."""
            change = partial(changes.add_model, model=model, configured=configured)
            await cog._change(interaction, change, said)

        @models.command(name="remove", description=localized("cmd_models_remove"))
        @app_commands.describe(model=localized("opt_admin_model"))
        @app_commands.choices(model=choices)
        async def remove_model(interaction: discord.Interaction, model: str) -> None:
            """Take a model off the list."""
            await cog._change(
                interaction, partial(changes.remove_model, model=model, configured=configured), said
            )

        @models.command(name="clear", description=localized("cmd_models_clear"))
        async def clear_models(interaction: discord.Interaction) -> None:
            """Allow every model again."""
            await cog._change(interaction, changes.clear_models, said)

    def _add_resolutions(self, group: app_commands.Group) -> None:
        """``resolutions``: which resolutions members may use."""
        cog = self
        choices = [app_commands.Choice(name=r, value=r) for r in RESOLUTIONS]
        resolutions = ManageServerGroup(
            name="resolutions", description=localized("grp_resolutions"), parent=group
        )
        said = _said("set_resolutions", resolutions_text)

        @resolutions.command(name="add", description=localized("cmd_resolutions_add"))
        @app_commands.describe(resolution=localized("opt_admin_resolution"))
        @app_commands.choices(resolution=choices)
        async def add_resolution(interaction: discord.Interaction, resolution: str) -> None:
            """Allow a resolution."""
            change = partial(changes.add_resolution, resolution=resolution)
            await cog._change(interaction, change, said)

        @resolutions.command(name="remove", description=localized("cmd_resolutions_remove"))
        @app_commands.describe(resolution=localized("opt_admin_resolution"))
        @app_commands.choices(resolution=choices)
        async def remove_resolution(interaction: discord.Interaction, resolution: str) -> None:
            """Take a resolution off the list."""
            await cog._change(
                interaction, partial(changes.remove_resolution, resolution=resolution), said
            )

        @resolutions.command(name="clear", description=localized("cmd_resolutions_clear"))
        async def clear_resolutions(interaction: discord.Interaction) -> None:
            """Allow every resolution again."""
            await cog._change(interaction, changes.clear_resolutions, said)

    def _add_exempt_roles(self, group: app_commands.Group) -> None:
        cog = self
        roles = ManageServerGroup(
            name="exempt-roles", description=localized("grp_exempt"), parent=group
        )

        @roles.command(name="add", description=localized("cmd_exempt_add"))
        @app_commands.describe(role=localized("opt_role"))
        async def add(interaction: discord.Interaction, role: discord.Role) -> None:
            """Exempt a role from the cooldown and the per-member quota."""
            said = _fixed("set_role_added", role=mention_role(role.id))
            await cog._change(interaction, partial(changes.add_exempt_role, role_id=role.id), said)

        @roles.command(name="remove", description=localized("cmd_exempt_remove"))
        @app_commands.describe(role=localized("opt_role"))
        async def remove(interaction: discord.Interaction, role: discord.Role) -> None:
            """End a role's exemption."""
            change = partial(changes.remove_exempt_role, role_id=role.id)
            await cog._change(
                interaction, change, _fixed("set_role_removed", role=mention_role(role.id))
            )

    def _add_modlog(self, group: app_commands.Group) -> None:
        cog = self
        modlog = ManageServerGroup(name="modlog", description=localized("grp_modlog"), parent=group)

        @modlog.command(name="set", description=localized("cmd_modlog_set"))
        @app_commands.describe(channel=localized("opt_channel"))
        async def set_channel(
            interaction: discord.Interaction, channel: discord.TextChannel
        ) -> None:
            """Log every job and settings change in a channel."""
            said = _fixed("set_modlog", channel=mention_channel(channel.id))
            await cog._change(interaction, partial(changes.set_modlog, channel_id=channel.id), said)

        @modlog.command(name="clear", description=localized("cmd_modlog_clear"))
        async def clear(interaction: discord.Interaction) -> None:
            """Stop the mod log."""
            await cog._change(interaction, changes.clear_modlog, _fixed("set_modlog_off"))

    def _add_reports(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="show", description=localized("cmd_admin_show"))
        async def show(interaction: discord.Interaction) -> None:
            """Show /imagine's settings in this server."""
            assert interaction.guild_id is not None
            settings = await cog.bot.store.get_guild_settings(interaction.guild_id)
            embed = show_embed(settings, cog.settings, str(interaction.locale))
            await interaction.response.send_message(embed=embed, ephemeral=True)

        @group.command(name="stats", description=localized("cmd_stats"))
        async def stats_command(interaction: discord.Interaction) -> None:
            """Usage figures: images, refused, blocked, failed, cancelled, cut short; spend."""
            assert interaction.guild_id is not None
            now = time.time()
            periods = [
                (key, await cog._figures(interaction.guild_id, since, now))
                for key, since in (
                    ("stats_today", day_start(now)),
                    ("stats_week", stats.week_start(now)),
                )
            ]
            embed = stats_embed(periods, str(interaction.locale))
            await interaction.response.send_message(embed=embed, ephemeral=True)

    # -- spend (see core.spend) ----------------------------------------------------------

    def _add_spend(self, group: app_commands.Group) -> None:
        cog = self
        said = _said("set_spend_limit", spend_limit_text)

        @group.command(name="spend-limit", description=localized("cmd_spend_limit"))
        @app_commands.describe(usd=localized("opt_usd"))
        async def spend_limit(
            interaction: discord.Interaction,
            usd: app_commands.Range[float, 0, MAX_SPEND_LIMIT_USD] | None = None,
        ) -> None:
            """US dollars the whole server may spend per UTC day (0 or none: no limit)."""
            ticks = None if usd is None else usd_to_ticks(repr(float(usd)))
            change = partial(changes.set_spend_limit, ticks=ticks)
            await cog._change(interaction, change, said)

    async def _figures(self, guild_id: int, since: float, now: float) -> stats.UsageFigures:
        """A period's figures, with the spend its days' counters recorded."""
        figures = stats.fold(await self.bot.store.job_stats(guild_id, since))
        recorded = await self.bot.store.guild_spend(guild_id, stats.days_since(since, now))
        return replace(figures, recorded_ticks=recorded)
