"""The mod log's kinds of outcome, and a job entry's title in both languages."""

from __future__ import annotations

import pytest

from cogs.common.catalog import CATALOG
from cogs.common.modlog import job_embed, outcome_kind, paused_embed, spend_reached_embed
from core.jobs import JobSummary, MemberPaused, SpendCeilingReached
from core.models import InputSource


@pytest.mark.parametrize(
    ("outcome", "kind"),
    [
        ("delivered", "delivered"),
        ("refused", "refused"),
        ("blocked", "blocked"),
        ("cancelled", "cancelled"),
        ("interrupted", "interrupted"),
        ("waited_too_long", "waited_too_long"),
        ("api_unavailable", "failed"),
        ("delivery_failed", "failed"),
        ("queue_full", "failed"),
        ("no_such_outcome", "failed"),
    ],
)
def test_outcome_kinds(outcome: str, kind: str) -> None:
    assert outcome_kind(outcome) == kind


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("outcome", ["cancelled", "interrupted", "waited_too_long"])
def test_cancelled_and_interrupted_jobs_are_named_as_such(language: str, outcome: str) -> None:
    entry = JobSummary("j1", 7, 1, 2, "a fox", "m", 1, None, None, outcome)
    locale = "zh-CN" if language == "zh" else "en-US"
    embed = job_embed(entry, locale)
    words = CATALOG[language][f"outcome_{outcome}"]
    assert embed.title == CATALOG[language]["modlog_job"].format(job_id="j1", outcome=words)
    reason = CATALOG[language]["field_reason"]
    assert reason not in [field.name for field in embed.fields]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_pause_entry_names_the_member_the_attempts_and_the_end(language: str) -> None:
    entry = MemberPaused(7, 2, "j1", attempts=5, window_seconds=600, paused_until=1000.0)
    embed = paused_embed(entry, "zh-CN" if language == "zh" else "en-US")
    assert embed.title == CATALOG[language]["modlog_paused"]
    assert embed.description is not None
    assert "<@7>" in embed.description
    assert "5" in embed.description
    assert "10" in embed.description
    assert "<t:1000:R>" in embed.description


def test_an_edits_entry_links_its_inputs_and_shows_a_thumbnail() -> None:
    sources = (
        InputSource("https://cdn.example/a.png", channel_id=2, message_id=30, own=True),
        InputSource("https://cdn.example/upload.png"),
    )
    entry = JobSummary(
        "j1", 7, 1, 2, "make it night", "m", 1, None, None, "delivered", sources=sources
    )
    embed = job_embed(entry, "en-US")
    fields = {field.name: field.value for field in embed.fields}
    value = fields[CATALOG["en"]["field_edit_of"]]
    assert "(https://discord.com/channels/1/2/30)" in value
    assert CATALOG["en"]["edit_source_upload"] in value
    assert embed.thumbnail.url == "https://cdn.example/a.png"
    plain = job_embed(JobSummary("j2", 7, 1, 2, "a fox", "m", 1, None, None, "delivered"), None)
    assert embed.thumbnail.url != plain.thumbnail.url
    assert CATALOG["en"]["field_edit_of"] not in [field.name for field in plain.fields]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(
    ("ceiling", "key"),
    [("spend_limit", "modlog_spend_bot"), ("guild_spend_limit", "modlog_spend_guild")],
)
def test_a_spend_ceiling_entry_says_which_ceiling_how_much_and_until_when(
    language: str, ceiling: str, key: str
) -> None:
    entry = SpendCeilingReached(
        ceiling, limit=50_000_000_000, left=1_000_000_000, resets_at=1000.0, user_id=7, channel_id=2
    )
    embed = spend_reached_embed(entry, "zh-CN" if language == "zh" else "en-US")
    assert embed.title == CATALOG[language]["modlog_spend_reached"]
    detail = CATALOG[language][key].format(limit="$5.00", left="$0.10", when="<t:1000:R>")
    assert embed.description is not None
    assert embed.description.startswith(detail)
    assert [field.value for field in embed.fields] == ["<@7>", "<#2>"]
