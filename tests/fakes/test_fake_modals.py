"""The fake Discord's modals: checked as Discord checks them, submitted as a client does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord.errors import ApiError
from tests.fakes.discord.modals import submission, validate_modal


def row(custom_id: str, **fields: Any) -> dict[str, Any]:
    child = {"type": 4, "custom_id": custom_id, "style": 1, "label": "What?", **fields}
    return {"type": 1, "components": [child]}


def modal(*rows: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"custom_id": "m1", "title": "Edit", "components": list(rows), **fields}


def test_a_modal_with_rows_and_labels_is_accepted_and_submitted() -> None:
    labelled = {
        "type": 18,
        "label": "Which?",
        "component": {"type": 4, "custom_id": "b", "style": 1, "value": "1"},
    }
    checked = validate_modal(modal(row("a", style=2, max_length=1000), labelled))
    data = submission(checked, {"a": "make it night"})
    assert data == {
        "custom_id": "m1",
        "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "a", "value": "make it night"}]},
            {"type": 18, "component": {"type": 4, "custom_id": "b", "value": "1"}},
        ],
    }


@pytest.mark.parametrize(
    "bad",
    [
        modal(row("a"), title="x" * 46),
        modal(row("a"), title=""),
        modal(row("a"), custom_id=""),
        modal(),
        modal(*[row(f"r{i}") for i in range(6)]),
        modal(row("a", label="x" * 46)),
        modal(row("a", label=None)),
        modal(row("a", style=3)),
        modal(row("a", max_length=4001)),
        modal(row("a"), row("a")),
        modal({"type": 1, "components": []}),
        modal({"type": 2, "custom_id": "b", "style": 1}),
    ],
)
def test_a_modal_discord_would_refuse_is_answered_400(bad: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as caught:
        validate_modal(bad)
    assert caught.value.status == 400


def test_a_client_cannot_submit_what_the_modal_does_not_allow() -> None:
    checked = validate_modal(modal(row("a", max_length=5)))
    with pytest.raises(ValueError, match="required"):
        submission(checked, {})
    with pytest.raises(ValueError, match="characters"):
        submission(checked, {"a": "too long"})
    with pytest.raises(ValueError, match="no text input"):
        submission(checked, {"z": "x"})
