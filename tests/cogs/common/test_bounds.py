"""Every message fits Discord's limits, whatever the operator or an admin listed."""

from __future__ import annotations

import discord
from hypothesis import given
from hypothesis import strategies as st

from cogs.admin.embeds import models_text, show_embed
from cogs.common.answers import message_for
from cogs.common.bounds import (
    MAX_CONTENT,
    MAX_EMBED_TOTAL,
    bounded_list,
    clip,
    fit_embed,
    more_text,
)
from cogs.common.modlog import job_embed
from cogs.imagine.embeds import build_embed
from config import load_settings
from core import errors
from core.guild_settings import GuildSettings
from core.jobs import JobSummary, ResultCard

#: What GROK_MODELS may hold at most: 25 names of 100 characters.
LONG_MODELS = tuple(f"model-{i:02d}-".ljust(100, "x") for i in range(25))


def more(count: int) -> str:
    return f"…and {count} more"


def test_a_list_that_fits_is_whole() -> None:
    assert bounded_list(["a", "b"], 10, more) == "a, b"


def test_a_long_list_is_cut_with_how_many_are_left_out() -> None:
    listed = bounded_list([f"item{i}" for i in range(100)], 50, more)
    assert len(listed) <= 50
    assert listed.startswith("item0, item1, ")
    kept = listed.count("item")
    assert listed.endswith(f"…and {100 - kept} more")


@given(
    st.lists(st.text(min_size=0, max_size=120), max_size=60),
    st.integers(min_value=0, max_value=3000),
)
def test_a_bounded_list_never_exceeds_its_budget(items: list[str], budget: int) -> None:
    listed = bounded_list(items, budget, more)
    assert len(listed) <= budget
    whole = ", ".join(items)
    if len(whole) <= budget:
        assert listed == whole


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"


def test_an_oversized_embed_is_cut_to_discords_limits() -> None:
    embed = discord.Embed(title="t" * 300, description="d" * 5000)
    for _ in range(30):
        embed.add_field(name="n" * 300, value="v" * 2000)
    embed.set_footer(text="f" * 3000)
    fit_embed(embed)
    assert len(embed.title or "") <= 256
    assert len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert len(embed) <= MAX_EMBED_TOTAL


def test_an_embed_within_the_limits_is_left_alone() -> None:
    embed = discord.Embed(title="t", description="d").add_field(name="n", value="v")
    assert (
        fit_embed(embed).to_dict()
        == discord.Embed(title="t", description="d").add_field(name="n", value="v").to_dict()
    )


def test_refusals_listing_25_long_models_fit_one_message() -> None:
    for locale in ("en-US", "zh-CN"):
        invalid = message_for(
            errors.InvalidOption("model", "unknown model"), locale, choices=", ".join(LONG_MODELS)
        )
        rule = message_for(errors.RefusedByServer("model", choices=LONG_MODELS), locale)
        for message in (invalid, rule):
            assert len(message) <= MAX_CONTENT
            assert LONG_MODELS[0] in message
            assert more_text(locale)(1)[:2] in message  # "…a" / "……"
    assert "more" in message_for(errors.RefusedByServer("model", choices=LONG_MODELS), None)


def test_the_admin_views_of_25_long_models_and_500_channels_fit() -> None:
    config = load_settings(
        discord_token="tok", grok_api_key="key", grok_models=",".join(LONG_MODELS)
    )
    settings = GuildSettings(
        channels=tuple(range(10**17, 10**17 + 500)),
        exempt_roles=tuple(range(10**17, 10**17 + 250)),
    )
    embed = show_embed(settings, config, "en-US")
    assert len(embed) <= MAX_EMBED_TOTAL
    assert all(len(field.value or "") <= 1024 for field in embed.fields)
    shown = {field.name: field.value or "" for field in embed.fields}
    assert any("more" in value and "<#" in value for value in shown.values())
    assert len(models_text(settings, config, "en-US")) <= 1024
    assert "more" in models_text(settings, config, "en-US")


def test_the_longest_prompt_term_and_model_fit_the_card_and_the_mod_log() -> None:
    prompt = "[](<@1>)||*_~`>#-" * 60  # 1,020 characters, every one escaped
    entry = JobSummary(
        "0" * 32, 7, 1, 2, prompt[:1000], LONG_MODELS[0], 10, "19.5:9", "2k", "delivered",
        images=10, cost_usd_ticks=10**12, result_message_id=3, term="[x](y)" * 16,
    )  # fmt: skip
    card = ResultCard(
        job_id="0" * 32, requester_id=7, prompt=prompt[:1000], model=LONG_MODELS[0], n=10,
        aspect_ratio="19.5:9", resolution="2k", delivered=7, withheld=1, unusable=1,
        left_out=1, spoiler=True,
    )  # fmt: skip
    for locale in ("en-US", "zh-CN"):
        for embed in (job_embed(entry, locale), build_embed(card, locale)):
            data = embed.to_dict()
            assert len(data.get("description", "")) <= 4096
            assert all(len(f["value"]) <= 1024 for f in data.get("fields", []))
            assert len(embed) <= MAX_EMBED_TOTAL
            assert "](" not in (embed.description or "").replace("\\]\\(", "")
