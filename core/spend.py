"""Spend in money: the price table, a job's estimate, the daily spend counters.

Money is counted in integer ticks of 1e-10 USD, as the image API reports cost
(``usage.cost_in_usd_ticks``), never in floats. A job's cost is what the API reported when
it reported one, else an estimate from the price table (``GROK_PRICES``): a price per
image for a model, optionally for one resolution.

Two daily ceilings bound spend: the whole bot's (``DAILY_SPEND_LIMIT_USD``) and each
server's (``/imagine-admin spend-limit``). A job's estimate is reserved against both at
admission, in the same atomic store step as its images (``Store.admit``), and settled
with its real cost when it closes (the difference given back or added to the day it was
reserved on). The counters live beside the image counters, under their own scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from core.quota import remaining
from core.stats import TICKS_PER_USD

#: The counter of the whole bot's spend (ticks), beside the image counters.
BOT_SCOPE = "spend:bot"
#: Any model or resolution the table does not name.
ANY = "*"

#: xAI's per-image prices, as noted on 2026-12-02: grok-imagine-image $0.02 an image at 1k
#: and 2k alike; the higher models about $0.05 (the least certain figure). The operator
#: sets their own with ``GROK_PRICES`` (a gateway's prices differ, and xAI's change).
PRICES_NOTED_ON = "2026-12-02"
DEFAULT_PRICES_USD: Mapping[str, str] = {
    ANY: "0.02",
    "grok-imagine-image": "0.02",
    "grok-imagine-image-pro": "0.05",
    "grok-imagine-image-quality": "0.05",
    # A video is priced by the second (its billed "images" are its seconds).
    "grok-imagine-video@480p": "0.05",
    "grok-imagine-video@720p": "0.07",
}


def guild_scope(guild_id: int) -> str:
    """The counter of one server's spend (ticks)."""
    return f"spend:guild:{guild_id}"


def scopes(guild_id: int | None) -> list[str]:
    """The spend counters a job counts against: the bot's, then its server's (if any)."""
    return [BOT_SCOPE] if guild_id is None else [BOT_SCOPE, guild_scope(guild_id)]


def usd_to_ticks(usd: Decimal | str) -> int:
    """Dollars (a decimal, never a float) in ticks, rounded to the nearest tick."""
    try:
        amount = Decimal(usd)
    except InvalidOperation:
        raise ValueError("not an amount in dollars") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("not an amount in dollars")
    return int((amount * TICKS_PER_USD).to_integral_value())


def ticks_to_usd(ticks: int) -> Decimal:
    """Ticks in dollars, exactly."""
    return Decimal(ticks) / TICKS_PER_USD


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Ticks per image, by ``model`` or ``model@resolution``; ``*`` for anything else."""

    ticks: Mapping[str, int] = field(default_factory=dict)

    def per_image(self, model: str, resolution: str | None) -> int:
        """The price of one image: the model at this resolution, else the model, else
        ``*@resolution``, else ``*``, else 0."""
        keys = [model, ANY]
        if resolution:
            keys = [f"{model}@{resolution}", model, f"{ANY}@{resolution}", ANY]
        for key in keys:
            if key in self.ticks:
                return self.ticks[key]
        return 0

    def estimate(self, model: str, resolution: str | None, images: int) -> int:
        """What ``images`` images of this model and resolution cost, in ticks."""
        return self.per_image(model, resolution) * max(0, images)


def price_table(prices_usd: Mapping[str, Decimal | str]) -> PriceTable:
    """The operator's prices per image in dollars (``GROK_PRICES``, as the settings read
    it), over the defaults."""
    merged = {**DEFAULT_PRICES_USD, **prices_usd}
    return PriceTable({key: usd_to_ticks(usd) for key, usd in merged.items()})


def parse_prices(text: str) -> PriceTable:
    """``GROK_PRICES`` as written: ``model=usd`` or ``model@resolution=usd``,
    comma-separated, over the defaults (``*`` names any model). Empty: the defaults."""
    prices: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, usd = part.partition("=")
        if not sep or not key.strip():
            raise ValueError("each entry is model=usd or model@resolution=usd")
        prices[key.strip()] = usd.strip()
    return price_table(prices)


def settled_cost(reported: int | None, estimate: int) -> tuple[int, bool]:
    """A closed job's cost: what the API reported, else the estimate; and whether it is
    the estimate."""
    if reported is not None:
        return max(0, reported), False
    return estimate, True


@dataclass(frozen=True, slots=True)
class SpendAsk:
    """What admission asks of the spend counters: reserve ``ticks`` if the bot's spend
    today stays within ``bot_limit`` and the server's within ``guild_limit`` (0: no limit)."""

    ticks: int
    bot_limit: int = 0
    guild_limit: int = 0


def fits(used: int, ticks: int, limit: int) -> bool:
    """Whether ``ticks`` more stay within ``limit`` (0: no limit), as images fit a quota
    (see core.quota.remaining: a counter past its limit leaves nothing)."""
    left = remaining(limit, used)
    return left is None or ticks <= left


@dataclass(frozen=True, slots=True)
class SpendPolicy:
    """The operator's spend settings: the price table (``GROK_PRICES``) and the whole
    bot's daily ceiling in ticks (``DAILY_SPEND_LIMIT_USD``; 0: none)."""

    prices: PriceTable = field(default_factory=lambda: parse_prices(""))
    bot_limit: int = 0

    def ask(
        self, model: str, resolution: str | None, images: int, guild_limit: int | None
    ) -> SpendAsk:
        """What admitting a job of ``images`` asks of the spend counters."""
        return SpendAsk(
            ticks=self.prices.estimate(model, resolution, images),
            bot_limit=self.bot_limit,
            guild_limit=guild_limit or 0,
        )
