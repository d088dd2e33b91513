"""``/imagine-admin``: a server's own settings for ``/imagine``, and its usage figures.

The group needs Manage Server by default (``default_permissions``), and every command
checks it again when run, since a server can open a command to other roles in its
Integrations settings. Each change is atomic, confirmed privately and written to the
server's mod log. The group is built from the bot's settings (the model choices come from
``GROK_MODELS``), as ``/imagine`` is.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs.errors import reply
from cogs.i18n import localized
from cogs.messages import text
from cogs.modlog import server_locale, settings_embed, spend_text
from core import stats
from core.guild_settings import (
    MAX_CHANNELS,
    MAX_COOLDOWN_SECONDS,
    MAX_DAILY_IMAGES,
    MAX_EXEMPT_ROLES,
    MAX_TERM_LENGTH,
    MAX_TERMS,
    GuildSettings,
)
from core.moderation import TermProblem, check_term, same_term
from core.options import MAX_IMAGES, RESOLUTIONS
from core.quota import day_start

if TYPE_CHECKING:
    from bot import ImagineBot

log = logging.getLogger(__name__)

#: Room kept under Discord's 2,000 characters when listing terms.
MAX_LIST_CHARS = 1800

Describe = Callable[[GuildSettings, "str | None"], str]
AnyChannel = app_commands.AppCommandChannel | app_commands.AppCommandThread


class SettingRefused(Exception):
    """A change that cannot be made; ``key`` names the catalog message saying why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class ManageServerGroup(app_commands.Group):
    """A command group whose every command needs Manage Server when it runs."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            raise app_commands.MissingPermissions(["manage_guild"])
        return True


def _mention_channel(channel_id: int) -> str:
    return f"<#{channel_id}>"


def _mention_role(role_id: int) -> str:
    return f"<@&{role_id}>"


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

    # -- values as admins read them ------------------------------------------------------

    def _limit_text(self, value: int | None, default: int, locale: str | None) -> str:
        def shown(number: int) -> str:
            return text("value_none_limit", locale) if number == 0 else str(number)

        if value is None:
            return text("value_default", locale, value=shown(default))
        return shown(value)

    def _cooldown_text(self, settings: GuildSettings, locale: str | None) -> str:
        if settings.cooldown_seconds is None:
            seconds = text("value_seconds", locale, seconds=f"{self.settings.cooldown_seconds:g}")
            return text("value_default", locale, value=seconds)
        return text("value_seconds", locale, seconds=f"{settings.cooldown_seconds:g}")

    def _max_n_text(self, settings: GuildSettings, locale: str | None) -> str:
        if settings.max_n is None:
            return text("value_default", locale, value=str(MAX_IMAGES))
        return str(settings.max_n)

    def _models_text(self, settings: GuildSettings, locale: str | None) -> str:
        models = settings.effective_models(self.settings.grok_models)
        if models == self.settings.grok_models:
            return text("value_all", locale, value=", ".join(models))
        return ", ".join(models)

    def _resolutions_text(self, settings: GuildSettings, locale: str | None) -> str:
        resolutions = settings.effective_resolutions(RESOLUTIONS)
        if resolutions == RESOLUTIONS:
            return text("value_all", locale, value=", ".join(resolutions))
        return ", ".join(resolutions)

    @staticmethod
    def _yes_no(value: bool, locale: str | None) -> str:
        return text("value_yes" if value else "value_no", locale)

    def _show_embed(self, settings: GuildSettings, locale: str | None) -> discord.Embed:
        none = text("value_none", locale)
        embed = discord.Embed(title=text("show_title", locale), colour=discord.Colour.blurple())
        fields = (
            ("show_enabled", self._yes_no(settings.enabled, locale)),
            (
                "show_channels",
                ", ".join(_mention_channel(c) for c in settings.channels)
                or text("value_everywhere", locale),
            ),
            ("show_terms", str(len(settings.blocked_terms))),
            ("show_nsfw", self._yes_no(settings.nsfw_only, locale)),
            ("show_spoilers", self._yes_no(settings.spoilers, locale)),
            ("show_cooldown", self._cooldown_text(settings, locale)),
            ("show_max_n", self._max_n_text(settings, locale)),
            ("show_models", self._models_text(settings, locale)),
            ("show_resolutions", self._resolutions_text(settings, locale)),
            (
                "show_exempt",
                ", ".join(_mention_role(r) for r in settings.exempt_roles) or none,
            ),
            (
                "show_modlog",
                none
                if settings.modlog_channel is None
                else _mention_channel(settings.modlog_channel),
            ),
            ("show_reroll", self._yes_no(settings.reroll_open, locale)),
            (
                "show_user_quota",
                self._limit_text(settings.user_quota, self.settings.daily_user_quota, locale),
            ),
            (
                "show_guild_budget",
                self._limit_text(settings.guild_budget, self.settings.daily_guild_budget, locale),
            ),
        )
        for key, value in fields:
            embed.add_field(name=text(key, locale), value=value[:1024], inline=True)
        return embed

    # -- applying a change ---------------------------------------------------------------

    async def _change(
        self,
        interaction: discord.Interaction,
        change: Callable[[GuildSettings], GuildSettings],
        describe: Describe,
    ) -> None:
        """Apply ``change`` atomically, confirm it privately and write it to the mod log."""
        assert interaction.guild_id is not None  # the group's check made sure
        locale = str(interaction.locale)
        try:
            before, after = await self.bot.store.update_guild_settings(interaction.guild_id, change)
        except SettingRefused as refused:
            await reply(interaction, text(refused.key, locale, **refused.values))
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
                text("modlog_failed", locale, channel=_mention_channel(after.modlog_channel)),
            )

    @staticmethod
    def _fixed(key: str, **values: object) -> Describe:
        return lambda _settings, locale: text(key, locale, **values)

    def _set(self, **changes: Any) -> Callable[[GuildSettings], GuildSettings]:
        return lambda settings: dataclasses.replace(settings, **changes)

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
        self._add_limits(group)
        self._add_lists(group)
        self._add_reports(group)
        return group

    def _add_switches(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="enable", description=localized("cmd_admin_enable"))
        async def enable(interaction: discord.Interaction) -> None:
            """Turn /imagine on in this server."""
            await cog._change(interaction, cog._set(enabled=True), cog._fixed("set_enabled"))

        @group.command(name="disable", description=localized("cmd_admin_disable"))
        async def disable(interaction: discord.Interaction) -> None:
            """Turn /imagine off in this server."""
            await cog._change(interaction, cog._set(enabled=False), cog._fixed("set_disabled"))

        @group.command(name="nsfw-only", description=localized("cmd_nsfw_only"))
        @app_commands.describe(on=localized("opt_on"))
        async def nsfw_only(interaction: discord.Interaction, on: bool) -> None:
            """Allow /imagine only in age-restricted channels."""
            key = "set_nsfw_on" if on else "set_nsfw_off"
            await cog._change(interaction, cog._set(nsfw_only=on), cog._fixed(key))

        @group.command(name="spoilers", description=localized("cmd_spoilers"))
        @app_commands.describe(on=localized("opt_on"))
        async def spoilers(interaction: discord.Interaction, on: bool) -> None:
            """Send every result as a spoiler."""
            key = "set_spoilers_on" if on else "set_spoilers_off"
            await cog._change(interaction, cog._set(spoilers=on), cog._fixed(key))

        @group.command(name="reroll-open", description=localized("cmd_reroll_open"))
        @app_commands.describe(on=localized("opt_on"))
        async def reroll_open(interaction: discord.Interaction, on: bool) -> None:
            """Let anyone press Re-roll, not only the requester."""
            key = "set_reroll_open" if on else "set_reroll_closed"
            await cog._change(interaction, cog._set(reroll_open=on), cog._fixed(key))

    def _add_limits(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="cooldown", description=localized("cmd_cooldown"))
        @app_commands.describe(seconds=localized("opt_seconds"))
        async def cooldown(
            interaction: discord.Interaction,
            seconds: app_commands.Range[int, 0, MAX_COOLDOWN_SECONDS] | None = None,
        ) -> None:
            """Seconds a member waits after each delivered job here."""
            value = None if seconds is None else float(_clamp(seconds, 0, MAX_COOLDOWN_SECONDS))
            await cog._change(
                interaction,
                cog._set(cooldown_seconds=value),
                lambda s, locale: text("set_cooldown", locale, value=cog._cooldown_text(s, locale)),
            )

        @group.command(name="max-n", description=localized("cmd_max_n"))
        @app_commands.describe(count=localized("opt_max_n"))
        async def max_n(
            interaction: discord.Interaction,
            count: app_commands.Range[int, 1, MAX_IMAGES] | None = None,
        ) -> None:
            """The most images one request may ask for."""
            value = None if count is None else _clamp(count, 1, MAX_IMAGES)
            await cog._change(
                interaction,
                cog._set(max_n=value),
                lambda s, locale: text("set_max_n", locale, value=cog._max_n_text(s, locale)),
            )

        @group.command(name="user-quota", description=localized("cmd_user_quota"))
        @app_commands.describe(images=localized("opt_images"))
        async def user_quota(
            interaction: discord.Interaction,
            images: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
        ) -> None:
            """Images each member may make per UTC day here."""
            value = None if images is None else _clamp(images, 0, MAX_DAILY_IMAGES)
            default = cog.settings.daily_user_quota
            await cog._change(
                interaction,
                cog._set(user_quota=value),
                lambda s, locale: text(
                    "set_user_quota", locale, value=cog._limit_text(s.user_quota, default, locale)
                ),
            )

        @group.command(name="server-budget", description=localized("cmd_server_budget"))
        @app_commands.describe(images=localized("opt_images"))
        async def server_budget(
            interaction: discord.Interaction,
            images: app_commands.Range[int, 0, MAX_DAILY_IMAGES] | None = None,
        ) -> None:
            """Images the whole server may make per UTC day."""
            value = None if images is None else _clamp(images, 0, MAX_DAILY_IMAGES)
            default = cog.settings.daily_guild_budget
            await cog._change(
                interaction,
                cog._set(guild_budget=value),
                lambda s, locale: text(
                    "set_guild_budget",
                    locale,
                    value=cog._limit_text(s.guild_budget, default, locale),
                ),
            )

    def _add_lists(self, group: app_commands.Group) -> None:
        self._add_channels(group)
        self._add_terms(group)
        self._add_choices(group)
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

            def change(settings: GuildSettings) -> GuildSettings:
                if channel.id in settings.channels:
                    return settings
                if len(settings.channels) >= MAX_CHANNELS:
                    raise SettingRefused("channels_full", max=MAX_CHANNELS)
                return dataclasses.replace(settings, channels=(*settings.channels, channel.id))

            await cog._change(
                interaction,
                change,
                lambda s, locale: text(
                    "set_channel_added",
                    locale,
                    channel=_mention_channel(channel.id),
                    count=len(s.channels),
                ),
            )

        @channels.command(name="remove", description=localized("cmd_channels_remove"))
        @app_commands.describe(channel=localized("opt_channel"))
        async def remove(interaction: discord.Interaction, channel: AnyChannel) -> None:
            """Take a channel off the list."""

            def change(settings: GuildSettings) -> GuildSettings:
                kept = tuple(c for c in settings.channels if c != channel.id)
                return dataclasses.replace(settings, channels=kept)

            await cog._change(
                interaction,
                change,
                lambda s, locale: text(
                    "set_channel_removed" if s.channels else "set_channels_cleared",
                    locale,
                    channel=_mention_channel(channel.id),
                    count=len(s.channels),
                ),
            )

        @channels.command(name="clear", description=localized("cmd_channels_clear"))
        async def clear(interaction: discord.Interaction) -> None:
            """Allow /imagine in every channel again."""
            await cog._change(
                interaction, cog._set(channels=()), cog._fixed("set_channels_cleared")
            )

    def _add_terms(self, group: app_commands.Group) -> None:
        cog = self
        terms = ManageServerGroup(name="terms", description=localized("grp_terms"), parent=group)

        @terms.command(name="add", description=localized("cmd_terms_add"))
        @app_commands.describe(term=localized("opt_term"))
        async def add(
            interaction: discord.Interaction,
            term: app_commands.Range[str, 1, MAX_TERM_LENGTH],
        ) -> None:
            """Block a word or phrase in prompts."""
            term = str(term).strip()
            problem = check_term(term)

            def change(settings: GuildSettings) -> GuildSettings:
                if problem is TermProblem.TOO_LONG:
                    raise SettingRefused("term_too_long", max=MAX_TERM_LENGTH)
                if problem is TermProblem.EMPTY:
                    raise SettingRefused("term_empty")
                if any(same_term(term, known) for known in settings.blocked_terms):
                    raise SettingRefused("term_exists")
                if len(settings.blocked_terms) >= MAX_TERMS:
                    raise SettingRefused("terms_full", max=MAX_TERMS)
                return dataclasses.replace(settings, blocked_terms=(*settings.blocked_terms, term))

            await cog._change(
                interaction,
                change,
                lambda s, locale: text("set_term_added", locale, count=len(s.blocked_terms)),
            )

        @terms.command(name="remove", description=localized("cmd_terms_remove"))
        @app_commands.describe(term=localized("opt_term"))
        async def remove(
            interaction: discord.Interaction,
            term: app_commands.Range[str, 1, MAX_TERM_LENGTH],
        ) -> None:
            """Unblock a word or phrase."""
            term = str(term).strip()

            def change(settings: GuildSettings) -> GuildSettings:
                kept = tuple(t for t in settings.blocked_terms if not same_term(term, t))
                if len(kept) == len(settings.blocked_terms):
                    raise SettingRefused("term_missing")
                return dataclasses.replace(settings, blocked_terms=kept)

            await cog._change(
                interaction,
                change,
                lambda s, locale: text("set_term_removed", locale, count=len(s.blocked_terms)),
            )

        @terms.command(name="list", description=localized("cmd_terms_list"))
        async def list_terms(interaction: discord.Interaction) -> None:
            """List the blocked words and phrases, privately."""
            assert interaction.guild_id is not None
            locale = str(interaction.locale)
            settings = await cog.bot.store.get_guild_settings(interaction.guild_id)
            await reply(interaction, _terms_listing(settings.blocked_terms, locale))

    def _add_choices(self, group: app_commands.Group) -> None:
        """``models`` and ``resolutions``: which of the bot's choices members may use."""
        cog = self
        configured = self.settings.grok_models
        model_choices = [app_commands.Choice(name=m, value=m) for m in configured]
        resolution_choices = [app_commands.Choice(name=r, value=r) for r in RESOLUTIONS]

        models = ManageServerGroup(name="models", description=localized("grp_models"), parent=group)

        def describe_models(settings: GuildSettings, locale: str | None) -> str:
            return text("set_models", locale, value=cog._models_text(settings, locale))

        @models.command(name="add", description=localized("cmd_models_add"))
        @app_commands.describe(model=localized("opt_admin_model"))
        @app_commands.choices(model=model_choices)
        async def add_model(interaction: discord.Interaction, model: str) -> None:
            """Allow a model."""
            await cog._change(interaction, _adding("models", model, configured), describe_models)

        @models.command(name="remove", description=localized("cmd_models_remove"))
        @app_commands.describe(model=localized("opt_admin_model"))
        @app_commands.choices(model=model_choices)
        async def remove_model(interaction: discord.Interaction, model: str) -> None:
            """Take a model off the list."""
            await cog._change(interaction, _removing("models", model, configured), describe_models)

        @models.command(name="clear", description=localized("cmd_models_clear"))
        async def clear_models(interaction: discord.Interaction) -> None:
            """Allow every model again."""
            await cog._change(interaction, cog._set(models=()), describe_models)

        resolutions = ManageServerGroup(
            name="resolutions", description=localized("grp_resolutions"), parent=group
        )

        def describe_resolutions(settings: GuildSettings, locale: str | None) -> str:
            return text("set_resolutions", locale, value=cog._resolutions_text(settings, locale))

        @resolutions.command(name="add", description=localized("cmd_resolutions_add"))
        @app_commands.describe(resolution=localized("opt_admin_resolution"))
        @app_commands.choices(resolution=resolution_choices)
        async def add_resolution(interaction: discord.Interaction, resolution: str) -> None:
            """Allow a resolution."""
            await cog._change(
                interaction, _adding("resolutions", resolution, RESOLUTIONS), describe_resolutions
            )

        @resolutions.command(name="remove", description=localized("cmd_resolutions_remove"))
        @app_commands.describe(resolution=localized("opt_admin_resolution"))
        @app_commands.choices(resolution=resolution_choices)
        async def remove_resolution(interaction: discord.Interaction, resolution: str) -> None:
            """Take a resolution off the list."""
            await cog._change(
                interaction,
                _removing("resolutions", resolution, RESOLUTIONS),
                describe_resolutions,
            )

        @resolutions.command(name="clear", description=localized("cmd_resolutions_clear"))
        async def clear_resolutions(interaction: discord.Interaction) -> None:
            """Allow every resolution again."""
            await cog._change(interaction, cog._set(resolutions=()), describe_resolutions)

    def _add_exempt_roles(self, group: app_commands.Group) -> None:
        cog = self
        roles = ManageServerGroup(
            name="exempt-roles", description=localized("grp_exempt"), parent=group
        )

        @roles.command(name="add", description=localized("cmd_exempt_add"))
        @app_commands.describe(role=localized("opt_role"))
        async def add(interaction: discord.Interaction, role: discord.Role) -> None:
            """Exempt a role from the cooldown and the per-member quota."""

            def change(settings: GuildSettings) -> GuildSettings:
                if role.id in settings.exempt_roles:
                    return settings
                if len(settings.exempt_roles) >= MAX_EXEMPT_ROLES:
                    raise SettingRefused("roles_full", max=MAX_EXEMPT_ROLES)
                return dataclasses.replace(settings, exempt_roles=(*settings.exempt_roles, role.id))

            await cog._change(
                interaction, change, cog._fixed("set_role_added", role=_mention_role(role.id))
            )

        @roles.command(name="remove", description=localized("cmd_exempt_remove"))
        @app_commands.describe(role=localized("opt_role"))
        async def remove(interaction: discord.Interaction, role: discord.Role) -> None:
            """End a role's exemption."""
            await cog._change(
                interaction,
                lambda s: dataclasses.replace(
                    s, exempt_roles=tuple(r for r in s.exempt_roles if r != role.id)
                ),
                cog._fixed("set_role_removed", role=_mention_role(role.id)),
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
            await cog._change(
                interaction,
                cog._set(modlog_channel=channel.id),
                cog._fixed("set_modlog", channel=_mention_channel(channel.id)),
            )

        @modlog.command(name="clear", description=localized("cmd_modlog_clear"))
        async def clear(interaction: discord.Interaction) -> None:
            """Stop the mod log."""
            await cog._change(
                interaction, cog._set(modlog_channel=None), cog._fixed("set_modlog_off")
            )

    def _add_reports(self, group: app_commands.Group) -> None:
        cog = self

        @group.command(name="show", description=localized("cmd_admin_show"))
        async def show(interaction: discord.Interaction) -> None:
            """Show /imagine's settings in this server."""
            assert interaction.guild_id is not None
            settings = await cog.bot.store.get_guild_settings(interaction.guild_id)
            embed = cog._show_embed(settings, str(interaction.locale))
            await interaction.response.send_message(embed=embed, ephemeral=True)

        @group.command(name="stats", description=localized("cmd_stats"))
        async def stats_command(interaction: discord.Interaction) -> None:
            """Images generated, refused, blocked and failed, and spend, in this server."""
            assert interaction.guild_id is not None
            locale = str(interaction.locale)
            now = time.time()
            embed = discord.Embed(
                title=text("stats_title", locale), colour=discord.Colour.blurple()
            )
            for key, since in (
                ("stats_today", day_start(now)),
                ("stats_week", stats.week_start(now)),
            ):
                figures = stats.fold(await cog.bot.store.job_stats(interaction.guild_id, since))
                embed.add_field(
                    name=text(key, locale),
                    value=text(
                        "stats_lines",
                        locale,
                        images=figures.images,
                        refused=figures.refused,
                        blocked=figures.blocked,
                        failed=figures.failed,
                        spend=spend_text(figures.cost_usd_ticks, locale),
                    ),
                    inline=True,
                )
            await interaction.response.send_message(embed=embed, ephemeral=True)


def _clamp(value: int, low: int, high: int) -> int:
    # discord.py passes Range values through unchecked; a buggy client could send anything.
    return max(low, min(high, int(value)))


def _adding(
    field: str, value: str, available: tuple[str, ...]
) -> Callable[[GuildSettings], GuildSettings]:
    """Add ``value`` to the ``models`` or ``resolutions`` list (only a known one)."""

    def change(settings: GuildSettings) -> GuildSettings:
        current: tuple[str, ...] = getattr(settings, field)
        if value not in available or value in current:
            return settings
        ordered = tuple(v for v in available if v in current or v == value)
        changes: dict[str, Any] = {field: ordered}
        return dataclasses.replace(settings, **changes)

    return change


def _removing(
    field: str, value: str, available: tuple[str, ...]
) -> Callable[[GuildSettings], GuildSettings]:
    """Take ``value`` off the list. With no list (everything allowed), the others stay
    allowed; taking off the only one left empties the list, which allows everything again."""

    def change(settings: GuildSettings) -> GuildSettings:
        current: tuple[str, ...] = getattr(settings, field) or available
        kept = tuple(v for v in current if v != value)
        if kept == current:
            return settings
        changes: dict[str, Any] = {field: kept}
        return dataclasses.replace(settings, **changes)

    return change


def _terms_listing(terms: tuple[str, ...], locale: str | None) -> str:
    """The blocked terms, one a line, cut to fit one message."""
    if not terms:
        return text("terms_none", locale)
    lines = [text("terms_list", locale, count=len(terms))]
    size = len(lines[0])
    for index, term in enumerate(terms):
        line = f"• {discord.utils.escape_markdown(term)}"
        if size + len(line) + 1 > MAX_LIST_CHARS:
            lines.append(text("terms_more", locale, count=len(terms) - index))
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


async def setup(bot: ImagineBot) -> None:
    await bot.add_cog(AdminCog(bot))
