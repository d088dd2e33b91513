"""LOG_FORMAT: the formatter bot.py picks."""

from __future__ import annotations

import json
import logging

from bot import log_formatter


def test_text_keeps_discord_pys_own_formatter() -> None:
    assert log_formatter("text") is None


def test_json_gives_one_object_with_the_extra_fields() -> None:
    formatter = log_formatter("json")
    assert formatter is not None
    record = logging.LogRecord("core.jobs", logging.INFO, __file__, 1, "job=%s", ("ab",), None)
    record.job_id = "ab"
    record.outcome = "delivered"
    line = formatter.format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "INFO"
    assert data["logger"] == "core.jobs"
    assert data["message"] == "job=ab"
    assert data["job_id"] == "ab"
    assert data["outcome"] == "delivered"
    assert data["time"].endswith("+00:00")
