"""The pure parts of /imagine-admin: list changes and the terms listing."""

from __future__ import annotations

from cogs.admin import _adding, _removing, _terms_listing
from core.guild_settings import GuildSettings

MODELS = ("a", "b", "c")


def test_adding_to_an_empty_list_allows_only_that_one() -> None:
    settings = _adding("models", "b", MODELS)(GuildSettings())
    assert settings.models == ("b",)
    assert _adding("models", "a", MODELS)(settings).models == ("a", "b")  # configured order


def test_adding_an_unknown_or_present_value_changes_nothing() -> None:
    settings = GuildSettings(models=("b",))
    assert _adding("models", "zzz", MODELS)(settings) == settings
    assert _adding("models", "b", MODELS)(settings) == settings


def test_removing_from_no_list_keeps_the_others() -> None:
    assert _removing("models", "a", MODELS)(GuildSettings()).models == ("b", "c")


def test_removing_the_last_one_allows_everything_again() -> None:
    assert _removing("resolutions", "2k", ("1k", "2k"))(GuildSettings(resolutions=("2k",))) == (
        GuildSettings()
    )


def test_terms_listing_fits_one_message() -> None:
    assert _terms_listing((), "en-US") == "No blocked terms."
    listing = _terms_listing(("bad", "*worse*"), "en-US")
    assert listing.splitlines() == ["Blocked terms (2):", "• bad", "• \\*worse\\*"]
    long = _terms_listing(tuple(f"term-{i:03d}-" + "x" * 90 for i in range(200)), "en-US")
    assert len(long) < 2000
    assert long.endswith("more.")
