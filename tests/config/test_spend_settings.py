"""The spend settings: GROK_PRICES and DAILY_SPEND_LIMIT_USD, read as exact decimals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cogs.imagine.cog import spend_policy
from config import SettingsError, load_settings
from core import spend

VARIABLES = ("GROK_PRICES", "DAILY_SPEND_LIMIT_USD", "DISCORD_TOKEN", "GROK_API_KEY")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DISCORD_TOKEN", "tok")
    monkeypatch.setenv("GROK_API_KEY", "key")


def test_by_default_the_published_prices_and_no_ceiling() -> None:
    settings = load_settings()
    assert settings.grok_prices == {}
    assert settings.daily_spend_limit_usd is None
    policy = spend_policy(settings)
    assert policy.bot_limit == 0
    assert policy.prices.per_image("grok-imagine-image", "1k") == spend.usd_to_ticks("0.02")


def test_prices_and_the_ceiling_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROK_PRICES", " grok-imagine-image@2k = 0.04 , *=0.1,")
    monkeypatch.setenv("DAILY_SPEND_LIMIT_USD", "12.5")
    settings = load_settings()
    assert settings.grok_prices == {"grok-imagine-image@2k": Decimal("0.04"), "*": Decimal("0.1")}
    policy = spend_policy(settings)
    assert policy.bot_limit == 125_000_000_000
    assert policy.prices.per_image("grok-imagine-image", "2k") == 400_000_000
    assert policy.prices.per_image("grok-imagine-image", "1k") == 200_000_000
    assert policy.prices.per_image("other", None) == 1_000_000_000


def test_a_blank_ceiling_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILY_SPEND_LIMIT_USD", " ")
    assert load_settings().daily_spend_limit_usd is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GROK_PRICES", "grok-imagine-image"),
        ("GROK_PRICES", "=0.1"),
        ("GROK_PRICES", "x=-1"),
        ("GROK_PRICES", "x=abc"),
        ("DAILY_SPEND_LIMIT_USD", "0"),
        ("DAILY_SPEND_LIMIT_USD", "-3"),
        ("DAILY_SPEND_LIMIT_USD", "lots"),
    ],
)
def test_bad_values_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
