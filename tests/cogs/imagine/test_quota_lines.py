"""What /imagine-quota says of a member's day: a pause, and the spend left under each ceiling."""

from __future__ import annotations

from cogs.common.catalog import CATALOG
from cogs.imagine.cog import SpendCeilings, quota_lines, spend_quota_lines
from core.cooldown import CooldownState
from core.limits import LimitDefaults, limits_for
from core.quota import MemberDay, Usage

EN = CATALOG["en"]
ZH = CATALOG["zh"]
NOW = 1_000_000.0
#: $1.00 in ticks of 1e-10 USD.
DOLLAR = 10_000_000_000


def day(*, paused_until: float = 0.0, bot: int = 0, guild: int = 0) -> MemberDay:
    usage = Usage("1970-01-12", 2, 5, NOW + 3600)
    return MemberDay(CooldownState(), usage, usage, bot, guild, paused_until)


LIMITS = limits_for(LimitDefaults(cooldown_seconds=0, user_quota=10, guild_budget=100), None, ())


def test_a_paused_member_is_told_until_when() -> None:
    lines = quota_lines(
        day(paused_until=NOW + 60), LIMITS, SpendCeilings(0, 0), "en-US", video=False, now=NOW
    )
    assert lines[1] == EN["quota_paused"].format(when=f"<t:{int(NOW + 60)}:R>")
    ended = quota_lines(
        day(paused_until=NOW - 1), LIMITS, SpendCeilings(0, 0), "en-US", video=False, now=NOW
    )
    assert not any(line.startswith("⏸️") for line in ended)


def test_no_ceiling_no_spend_line() -> None:
    assert spend_quota_lines(day(bot=DOLLAR), SpendCeilings(0, 0), "en-US") == []
    assert spend_quota_lines(day(bot=DOLLAR), SpendCeilings(0, None), "en-US") == []


def test_the_spend_left_under_each_ceiling_in_dollars() -> None:
    lines = spend_quota_lines(
        day(bot=DOLLAR, guild=DOLLAR // 4), SpendCeilings(25 * DOLLAR, DOLLAR), "en-US"
    )
    assert lines == [
        EN["quota_spend_bot_line"].format(left="$24.00", limit="$25.00"),
        EN["quota_spend_guild_line"].format(left="$0.75", limit="$1.00"),
    ]
    chinese = spend_quota_lines(day(guild=DOLLAR // 4), SpendCeilings(0, DOLLAR), "zh-CN")
    assert chinese == [ZH["quota_spend_guild_line"].format(left="$0.75", limit="$1.00")]


def test_a_ceiling_used_up_is_said_to_be_reached() -> None:
    lines = spend_quota_lines(
        day(bot=2 * DOLLAR, guild=DOLLAR), SpendCeilings(DOLLAR, DOLLAR), "en-US"
    )
    assert lines == [
        EN["quota_spend_bot_reached"].format(limit="$1.00"),
        EN["quota_spend_guild_reached"].format(limit="$1.00"),
    ]
