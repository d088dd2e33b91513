"""The preflight's lines never carry a secret of the settings."""

from __future__ import annotations

import aiohttp
import pytest

from config import load_settings
from core.preflight import Check, Preflight


def test_lines_say_pass_or_fail() -> None:
    assert Check("store", True, "writable").line() == "PASS store: writable"
    assert Check("store", False, "no").line() == "FAIL store: no"


@pytest.mark.asyncio
async def test_scrub_hides_every_secret() -> None:
    settings = load_settings(
        discord_token="tok-123456789",
        grok_api_key="key-abcdefghi",
        redis_url="redis://:pw-secret@host:6379/0",
    )
    async with aiohttp.ClientSession() as session:
        preflight = Preflight(settings, session)
        text = preflight.scrub(
            "tok-123456789 key-abcdefghi redis://:pw-secret@host:6379/0\nsecond line"
        )
    assert "tok-123456789" not in text
    assert "key-abcdefghi" not in text
    assert "pw-secret" not in text
    assert "\n" not in text
