"""``LOG_FORMAT=json`` end to end: every line the bot writes is one JSON object, with no
secret, and the job line carries its facts as fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import fresh_user
from tests.e2e.harness import start_bot
from tests.fakes.discord import FakeDiscord
from tests.fakes.image_api import FakeImageAPI, Scripted

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_whole_job_logs_json_lines_without_secrets(
    fake_discord: FakeDiscord, fake_api: FakeImageAPI, tmp_path: Path
) -> None:
    bot = await start_bot(fake_discord, fake_api, tmp_path, extra={"LOG_FORMAT": "json"})
    try:
        user = fresh_user()
        # A retry on the way: its warning line is JSON too.
        fake_api.script(Scripted(status=503, json={"error": "busy"}))
        await fake_discord.send_slash_command(
            "imagine", {"prompt": "a kite over the dunes", "n": 2}, user_id=user
        )
        await bot.wait_for_job(user)
    finally:
        assert await bot.stop() == 0
    output = bot.output()
    assert fake_discord.token not in output
    assert fake_api.api_key not in output
    records: list[dict[str, Any]] = [json.loads(line) for line in output.splitlines() if line]
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record), record
    job_lines = [r for r in records if r["logger"] == "core.jobs" and r.get("user_id") == user]
    assert len(job_lines) == 1
    job = job_lines[0]
    assert job["level"] == "INFO"
    assert job["outcome"] == "delivered"
    assert job["images"] == 2
    assert job["kind"] == "generation"
    assert job["guild_id"] == fake_discord.guild_id
    assert job["api_seconds"] > 0
    assert job["total_seconds"] >= job["api_seconds"]
    # The message keeps the words of the text line.
    assert job["message"].startswith(f"job={job['job_id']} user={user} ")
    assert any(r["level"] == "WARNING" and r["logger"] == "core.client" for r in records)
    assert any(r["message"] == "stop requested; closing" for r in records)
