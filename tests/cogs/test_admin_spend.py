"""What /imagine-admin shows of spend: each period's recorded spend, the server's limit."""

from __future__ import annotations

from cogs.admin.embeds import recorded_spend_text, spend_limit_text
from cogs.common.catalog import CATALOG
from core.guild_settings import GuildSettings
from core.stats import UsageFigures

EN = CATALOG["en"]
CENT = 100_000_000


def test_a_fully_reported_spend_reads_as_before() -> None:
    assert recorded_spend_text(UsageFigures(), "en-US") == EN["spend_unknown"]
    reported = UsageFigures(cost_usd_ticks=4 * CENT, recorded_ticks=4 * CENT)
    assert recorded_spend_text(reported, "en-US") == "$0.04"
    # Days recorded before the spend counters existed: the reported cost stands.
    assert recorded_spend_text(UsageFigures(cost_usd_ticks=4 * CENT), "en-US") == "$0.04"


def test_an_estimated_part_is_said() -> None:
    figures = UsageFigures(cost_usd_ticks=2 * CENT, recorded_ticks=5 * CENT)
    assert figures.estimated_ticks == 3 * CENT
    assert recorded_spend_text(figures, "en-US") == EN["spend_split"].format(
        spend="$0.05", reported="$0.02", estimated="$0.03"
    )
    nothing_reported = UsageFigures(recorded_ticks=CENT)
    assert "$0.00" in recorded_spend_text(nothing_reported, "zh-CN")


def test_the_servers_spend_limit_reads_in_dollars() -> None:
    assert spend_limit_text(GuildSettings(), "en-US") == EN["value_none_limit"]
    assert spend_limit_text(GuildSettings(spend_limit_ticks=25 * CENT), "en-US") == "$0.25"
