"""The result card as an embed, and the job buttons' custom ids."""

from __future__ import annotations

import re

from cogs.imagine.edit_views import EDIT_BUTTON_TEMPLATE
from cogs.imagine.embeds import build_embed
from cogs.imagine.views import JOB_BUTTON_TEMPLATE, cancel_view, result_view
from core.jobs import ResultCard
from core.jobs.admission import new_job_id


def card(**changes: object) -> ResultCard:
    values: dict[str, object] = {
        "job_id": "abc123",
        "requester_id": 42,
        "prompt": "a *bold* fox",
        "model": "grok-imagine-image",
        "n": 4,
        "aspect_ratio": None,
        "resolution": "2k",
        "delivered": 4,
    }
    values.update(changes)
    return ResultCard(**values)  # type: ignore[arg-type]


def fields(embed: object) -> dict[str, str]:
    return {field.name: field.value for field in embed.fields}  # type: ignore[attr-defined]


def test_a_full_result() -> None:
    embed = build_embed(card(), "en-US")
    assert embed.description == "a \\*bold\\* fox"
    values = fields(embed)
    assert values["Images"] == "4"
    assert values["Requested by"] == "<@42>"
    assert "abc123" in (embed.footer.text or "")


def test_a_partial_spoilered_result_says_what_is_missing() -> None:
    embed = build_embed(card(delivered=2, withheld=1, left_out=1, spoiler=True), "en-US")
    assert embed.description == "||a \\*bold\\* fox||"
    assert fields(embed)["Images"] == "2 / 4"
    assert "\u200b" in fields(embed)


def test_the_buttons_keep_their_custom_ids() -> None:
    ids = [item.custom_id for item in result_view("abc123", None).children]  # type: ignore[attr-defined]
    assert ids == ["imagine:reroll:abc123", "imagine:delete:abc123", "imagine:edit:abc123"]
    [cancel] = cancel_view("abc123", "zh-CN").children
    assert cancel.custom_id == "imagine:cancel:abc123"  # type: ignore[attr-defined]


def test_button_custom_ids_take_new_and_old_job_ids() -> None:
    new = new_job_id()
    for action in ("reroll", "delete", "cancel"):
        for job_id in (new, "0123456789"):  # 128-bit ids, and the 40-bit ids of old results
            custom_id = f"imagine:{action}:{job_id}"
            match = re.fullmatch(JOB_BUTTON_TEMPLATE, custom_id)
            assert match is not None
            assert match["job"] == job_id
            assert len(custom_id) <= 100  # Discord's limit
    ids = [item.custom_id for item in result_view(new, None).children]  # type: ignore[attr-defined]
    assert ids == [f"imagine:reroll:{new}", f"imagine:delete:{new}", f"imagine:edit:{new}"]
    for job_id in (new, "0123456789"):
        match = re.fullmatch(EDIT_BUTTON_TEMPLATE, f"imagine:edit:{job_id}")
        assert match is not None
        assert match["job"] == job_id
