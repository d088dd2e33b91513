"""What /imagine-admin shows: the terms listing, the stats embed, the package's extension."""

from __future__ import annotations

import dataclasses

import cogs.admin
from cogs.admin.embeds import figures_text, stats_embed, terms_listing
from cogs.common.catalog import CATALOG
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
    figures = dataclasses.replace(figures, delivered_jobs=1, interrupted=4)
    shown = figures_text(figures, "en-US")
    assert shown.splitlines() == [
        *EN["stats_lines"]
        .format(images=2, refused=0, blocked=0, failed=5, spend="$0.10")
        .split("\n"),
        EN["stats_cancelled"].format(count=3),
        EN["stats_interrupted"].format(count=4),
    ]
    chinese = figures_text(figures, "zh-CN")
    assert ZH["stats_cancelled"].format(count=3) in chinese
    assert ZH["stats_interrupted"].format(count=4) in chinese


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
