"""Every known error becomes one short, fixed message; none leaks detail."""

from __future__ import annotations

import re

import pytest

from cogs.common.answers import message_for
from cogs.common.catalog import CATALOG, language_of, text
from core import errors

SECRET_DETAIL = "upstream said: key sk-very-secret is bad <traceback>"


@pytest.mark.parametrize(
    "error",
    [
        errors.ContentRefused(SECRET_DETAIL),
        errors.InvalidRequest(SECRET_DETAIL),
        errors.AuthenticationFailed(SECRET_DETAIL),
        errors.QuotaExceeded(SECRET_DETAIL),
        errors.RateLimited(SECRET_DETAIL),
        errors.TransientError(SECRET_DETAIL),
        errors.BadResponse(SECRET_DETAIL),
        errors.DeliveryFailed(SECRET_DETAIL),
        errors.AlreadyRunning(SECRET_DETAIL),
        RuntimeError(SECRET_DETAIL),
    ],
)
def test_messages_are_short_and_hide_details(error: BaseException) -> None:
    message = message_for(error, "en-US", job_id="abc123")
    assert 0 < len(message) < 2000
    assert "sk-very-secret" not in message
    assert "traceback" not in message


def test_each_error_kind_has_its_own_message() -> None:
    kinds = [
        errors.ContentRefused,
        errors.InvalidRequest,
        errors.AuthenticationFailed,
        errors.QuotaExceeded,
        errors.RateLimited,
        errors.TransientError,
        errors.BadResponse,
        errors.DeliveryFailed,
    ]
    messages = {message_for(kind("x"), None) for kind in kinds}
    assert len(messages) == len(kinds)


def test_cooldown_message_gives_a_discord_timestamp() -> None:
    message = message_for(errors.OnCooldown(42.0), "en-US")
    assert re.search(r"<t:\d+:R>", message)


@pytest.mark.parametrize(
    ("error", "needle"),
    [
        (errors.InvalidOption("prompt", "blank prompt"), "empty"),
        (errors.InvalidOption("prompt", "prompt of 5000 characters"), "1,000"),
        (errors.InvalidOption("n", "n out of range"), "1 to 10"),
        (errors.InvalidOption("resolution"), "1k or 2k"),
    ],
)
def test_invalid_options_say_what_to_fix(error: errors.InvalidOption, needle: str) -> None:
    assert needle in message_for(error, "en-US")


def test_invalid_model_lists_the_choices() -> None:
    message = message_for(errors.InvalidOption("model"), None, choices="a, b")
    assert "a, b" in message


def test_locales_fall_back_to_english() -> None:
    assert language_of("en-US") == "en"
    assert language_of("xx-YY") == "en"
    assert language_of(None) == "en"
    assert text("field_model", "fr") == CATALOG["en"]["field_model"]


def test_descriptions_fit_discord_limits() -> None:
    for language in CATALOG.values():
        for key, value in language.items():
            if key.startswith(("cmd_", "opt_")):
                assert 1 <= len(value) <= 100, key


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_paused_member_hears_until_when(locale: str) -> None:
    message = message_for(errors.MemberPaused(1000.0), locale)
    assert message == text("blocked_paused", locale, when="<t:1000:R>")
