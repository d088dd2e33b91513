"""The message catalog: every message in both languages, placeholders that match, limits."""

from __future__ import annotations

import string

import discord
import pytest
from discord import app_commands

from cogs.common.catalog import CATALOG, language_of, text
from cogs.common.translator import CatalogTranslator, localized

LANGUAGES = ("en", "zh")


def fields(template: str) -> set[tuple[str, str]]:
    """Placeholder names with their format specs."""
    return {
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(template)
        if name is not None
    }


def test_both_languages_have_every_key() -> None:
    assert set(CATALOG) == set(LANGUAGES)
    assert set(CATALOG["en"]) == set(CATALOG["zh"])


@pytest.mark.parametrize("key", sorted(CATALOG["en"]))
def test_placeholders_match_across_languages(key: str) -> None:
    assert fields(CATALOG["en"][key]) == fields(CATALOG["zh"][key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_descriptions_and_labels_fit_discord_limits(language: str) -> None:
    for key, value in CATALOG[language].items():
        if key.startswith(("cmd_", "opt_", "grp_", "aspect_")):
            assert 1 <= len(value) <= 100, key
        if key.startswith("button_"):
            assert 1 <= len(value) <= 80, key


def test_simplified_chinese_only() -> None:
    assert language_of("zh-CN") == "zh"
    assert language_of("zh-TW") == "en"
    assert language_of("en-GB") == "en"
    assert text("rule_blocked", "zh-CN") == CATALOG["zh"]["rule_blocked"]


def test_every_message_formats_in_both_languages() -> None:
    values = {
        "when": "<t:1:R>", "job_id": "abc", "choices": "a, b", "count": 2, "total": 3,
        "value": 1.5, "first": 1, "last": 2, "channels": "<#1>", "max_n": 4, "left": 1,
        "limit": 5, "n": 2, "used": 4, "channel": "<#1>", "max": 10, "role": "<@&1>",
        "seconds": "30", "images": 3, "refused": 1, "blocked": 1, "failed": 0,
        "spend": "$0.10", "usd": 0.1, "outcome": "x", "model": "m", "aspect": "1:1",
        "resolution": "1k", "place": 3, "user": "<@1>", "permissions": "Attach Files",
        "attempts": 5, "minutes": 10, "needed": "$0.04", "reported": "$0.02",
        "estimated": "$0.02", "member": "60", "server": "300",
        "index": 1, "url": "https://discord.com/channels/1/2/3", "progress": 50, "elapsed": 12,
    }  # fmt: skip
    for language in LANGUAGES:
        for key, template in CATALOG[language].items():
            needed = {name for name, _ in fields(template)}
            message = template.format(**{name: values[name] for name in needed})
            assert 0 < len(message) < 2000, key


@pytest.mark.asyncio
async def test_translator_serves_chinese_and_leaves_english_as_is() -> None:
    translator = CatalogTranslator()
    context = app_commands.TranslationContext(app_commands.TranslationContextLocation.other, None)
    string_ = localized("cmd_imagine")
    assert string_.message == CATALOG["en"]["cmd_imagine"]
    chinese = await translator.translate(string_, discord.Locale.chinese, context)
    assert chinese == CATALOG["zh"]["cmd_imagine"]
    assert await translator.translate(string_, discord.Locale.american_english, context) is None
    assert await translator.translate(string_, discord.Locale.taiwan_chinese, context) is None
    plain = app_commands.locale_str("no key")
    assert await translator.translate(plain, discord.Locale.chinese, context) is None
