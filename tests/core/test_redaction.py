"""Secrets out of log lines, tracebacks included."""

from __future__ import annotations

import io
import logging

import aiohttp
import pytest

from core.redaction import REDACTED, RedactingFormatter, Redactor, redact_handlers, url_password

BOT_TOKEN = "MTIzNDU2Nzg5.bot-token.abcdefghijkl"
API_KEY = "xai-0123456789abcdef"
REDIS_PASSWORD = "a-long-redis-password"
INTERACTION_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZg"

redact = Redactor([BOT_TOKEN, API_KEY, REDIS_PASSWORD, None, "short"])


@pytest.mark.parametrize(
    "line",
    [
        f"POST http://127.0.0.1:5/api/v10/webhooks/111/{INTERACTION_TOKEN} with None has "
        "returned 200",
        f"PATCH https://discord.com/api/v10/webhooks/111/{INTERACTION_TOKEN}/messages/@original",
        f"POST /api/v10/interactions/222/{INTERACTION_TOKEN}/callback returned 204",
        "For Shard ID None: WebSocket Event: {'t': 'INTERACTION_CREATE', 'd': {'id': '2', "
        f"'token': '{INTERACTION_TOKEN}', 'type': 2}}}}",
        f'{{"op": 0, "d": {{"token": "{INTERACTION_TOKEN}"}}}}',
        f"Connection timeout to host http://10.0.0.1/webhooks/1/{INTERACTION_TOKEN}?wait=true",
    ],
)
def test_interaction_tokens_are_redacted(line: str) -> None:
    cleaned = redact(line)
    assert INTERACTION_TOKEN not in cleaned
    assert REDACTED in cleaned


def test_known_secrets_are_redacted_wherever_they_appear() -> None:
    line = f"key {API_KEY} token Bot {BOT_TOKEN} redis://:{REDIS_PASSWORD}@10.0.0.7:6379/0"
    cleaned = redact(line)
    for secret in (API_KEY, BOT_TOKEN, REDIS_PASSWORD):
        assert secret not in cleaned


def test_any_url_password_is_redacted() -> None:
    assert redact("rediss://user:hunter2hunter2@host:6380/1") == (
        f"rediss://user:{REDACTED}@host:6380/1"
    )


def test_ordinary_lines_are_left_alone() -> None:
    for line in (
        "job 0123 user=5 guild=6 model=grok-imagine-image n=2 outcome=delivered",
        "short words stay",  # a secret under 8 characters is not replaced as a literal
        "ready as bot#0001 (123) in 4 servers; see http://127.0.0.1:8080/api/v10",
    ):
        assert redact(line) == line


def test_url_password() -> None:
    assert url_password("redis://:pw-123@host:6379/0") == "pw-123"
    assert url_password("redis://host:6379/0") is None
    assert url_password(None) is None


def test_tracebacks_are_redacted_on_every_root_handler() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        redact_handlers(logger, redact)
        redact_handlers(logger, redact)  # twice: wrapped once
        assert isinstance(handler.formatter, RedactingFormatter)
        assert not isinstance(handler.formatter.inner, RedactingFormatter)
        url = f"http://127.0.0.1:1/api/v10/webhooks/1/{INTERACTION_TOKEN}"
        try:
            raise aiohttp.ClientConnectionError(f"Connection timeout to host {url}")
        except aiohttp.ClientError:
            logger.exception("follow-up with key %s failed", API_KEY)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "Traceback" in output
    assert INTERACTION_TOKEN not in output
    assert API_KEY not in output
