"""What /imagine-admin shows: the terms listing, the stats embed, the package's extension."""

from __future__ import annotations

import dataclasses

import cogs.admin
from cogs.admin.embeds import (
    cooldown_text,
    figures_text,
    guild_budget_text,
    stats_embed,
    terms_listing,
    user_quota_text,
)
from cogs.common.catalog import CATALOG
from config import load_settings
from core.guild_settings import GuildSettings
from core.stats import UsageFigures

EN = CATALOG["en"]
ZH = CATALOG["zh"]


def test_terms_listing_fits_one_message() -> None:
    assert terms_listing((), "en-US") == "No blocked terms."
    listing = terms_listing(("bad", "*worse*"), "en-US")
    assert listing.splitlines() == ["Blocked terms (2):", "• bad", "• \\*worse\\*"]
    long = terms_listing(tuple(f"term-{i:03d}-" + "x" * 90 for i in range(200)), "en-US")
    assert len(long) < 2000
    assert long.endswith("more.")


def test_the_figures_show_cancelled_and_interrupted_apart_from_failed() -> None:
    figures = UsageFigures(images=2, failed=5, cost_usd_ticks=1_000_000_000, cancelled=3)
    figures = dataclasses.replace(figures, delivered_jobs=1, interrupted=4, waited_too_long=6)
    shown = figures_text(figures, "en-US")
    assert shown.splitlines() == [
        *EN["stats_lines"]
        .format(images=2, refused=0, blocked=0, failed=5, spend="$0.10")
        .split("\n"),
        EN["stats_cancelled"].format(count=3),
        EN["stats_interrupted"].format(count=4),
        EN["stats_waited_too_long"].format(count=6),
    ]
    chinese = figures_text(figures, "zh-CN")
    assert ZH["stats_cancelled"].format(count=3) in chinese
    assert ZH["stats_interrupted"].format(count=4) in chinese
    assert ZH["stats_waited_too_long"].format(count=6) in chinese


def test_the_stats_embed_has_one_field_per_period() -> None:
    week = UsageFigures(images=9, cancelled=1)
    embed = stats_embed([("stats_today", UsageFigures()), ("stats_week", week)], "en-US")
    assert embed.title == EN["stats_title"]
    assert [(f.name, f.value) for f in embed.fields] == [
        (EN["stats_today"], figures_text(UsageFigures(), "en-US")),
        (EN["stats_week"], figures_text(week, "en-US")),
    ]
    assert EN["stats_cancelled"].format(count=1) in str(embed.fields[1].value)


def test_the_extension_keeps_its_name() -> None:
    assert cogs.admin.__name__ == "cogs.admin"
    assert callable(cogs.admin.setup)


def test_show_says_when_a_stored_value_is_held_to_the_operators_bound() -> None:
    config = load_settings(
        discord_token="t",
        grok_api_key="k",
        daily_user_quota=50,
        max_user_daily_quota=20,
        max_guild_daily_budget=100,
        cooldown_seconds=30,
        min_cooldown_seconds=60,
    )
    stored = GuildSettings(user_quota=0, guild_budget=40, cooldown_seconds=5)
    assert user_quota_text(stored, config, "en-US") == EN["value_held"].format(
        limit="20", value=EN["value_none_limit"]
    )
    assert guild_budget_text(stored, config, "en-US") == "40"
    assert cooldown_text(stored, config, "en-US") == EN["value_held"].format(
        limit="60 s", value="5 s"
    )
    # The bot's own default is held too, and says it is the default.
    assert user_quota_text(GuildSettings(), config, "en-US") == EN["value_held"].format(
        limit="20", value=EN["value_default"].format(value="50")
    )
