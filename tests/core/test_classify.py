"""Error answers of the image API mapped to errors with meaning."""

from __future__ import annotations

import email.utils
import json

import pytest
from multidict import CIMultiDict

from core.classify import (
    MAX_DETAIL_CHARS,
    MAX_RETRY_AFTER,
    classify_error,
    describe_error_body,
    parse_retry_after,
    scrub_secrets,
)
from core.errors import (
    AuthenticationFailed,
    ContentRefused,
    GenerationError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    TransientError,
)

KEY = "xai-Zq8Hf2LkP0wN4rT7yU1iO3aS5dF6gH9jK"
NOW = 1_700_000_000.0


def xai(message: str, code: str = "Client specified an invalid argument") -> bytes:
    return json.dumps({"code": code, "error": message}).encode()


def openai(message: str, type_: str = "invalid_request_error", code: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "code": code}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # 400: invalid argument, a wrong key, or a moderation refusal.
        (400, xai("Generated image rejected by content moderation."), ContentRefused),
        (400, openai("Invalid value for aspect_ratio: 5:4"), InvalidRequest),
        (400, xai("Argument not supported: size"), InvalidRequest),
        (
            400,
            xai("Incorrect API key provided: xa***sk. You can obtain an API key from x."),
            AuthenticationFailed,
        ),
        (400, openai("Invalid API key", code="invalid_api_key"), AuthenticationFailed),
        (400, b"Bad Request", InvalidRequest),
        # 401 always means the key.
        (401, xai("Missing bearer authentication", "Unauthenticated"), AuthenticationFailed),
        (401, b"<html><body>401 Unauthorized</body></html>", AuthenticationFailed),
        (401, b"", AuthenticationFailed),
        # 403: a safety refusal, an account without credits, or a key not allowed.
        (
            403,
            xai("Content violates usage guidelines. Team: abc, API key ID: def.", "Forbidden"),
            ContentRefused,
        ),
        (403, openai("Request blocked by safety system", "content_policy"), ContentRefused),
        (403, xai("Your newly created team doesn't have any credits yet."), QuotaExceeded),
        (403, xai("The API key does not have permission", "Forbidden"), AuthenticationFailed),
        (403, b"Forbidden", AuthenticationFailed),
        (402, openai("Payment required"), QuotaExceeded),
        # Bad path, model, media type or field format.
        (
            404,
            xai("The model grok-x does not exist or your team does not have access to it."),
            InvalidRequest,
        ),
        (404, b"404: Not Found", InvalidRequest),
        (415, xai("Expected Content-Type: application/json"), InvalidRequest),
        (422, xai("Failed to deserialize the JSON body: `n` must be an integer"), InvalidRequest),
        # 429: overload is retryable, an empty account is not.
        (429, xai("The service is temporarily at capacity, please retry"), RateLimited),
        (429, openai("Rate limit reached for requests per min (RPM)"), RateLimited),
        (429, openai("Quota exceeded: 60 requests per minute", "rate_limit"), RateLimited),
        (
            429,
            xai(
                "Your team has either used all available credits or reached its monthly "
                "spending limit."
            ),
            QuotaExceeded,
        ),
        (
            429,
            openai(
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            ),
            QuotaExceeded,
        ),
        (429, openai("用户额度不足, 剩余额度: 0", "new_api_error"), QuotaExceeded),
        (429, b"Too Many Requests", RateLimited),
        # Timeouts, conflicts and server faults are transient.
        (408, b"Request Timeout", TransientError),
        (409, b"", TransientError),
        (500, xai("Internal error", "Internal error"), TransientError),
        (
            502,
            b"<html><head><title>502 Bad Gateway</title><style>body{x:y}</style></head>"
            b"<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>",
            TransientError,
        ),
        (503, b"upstream connect error or disconnect/reset before headers", TransientError),
        (504, b"\x00\xff\xfe garbage \x80", TransientError),
        # A gateway wrapping an upstream refusal in a 500: retrying would only bill again.
        (
            500,
            openai("upstream error: Generated image rejected by content moderation."),
            ContentRefused,
        ),
        # Anything else is not something a retry fixes.
        (418, b"I'm a teapot", InvalidRequest),
        (302, b"", InvalidRequest),
        (200, b"", InvalidRequest),
        (0, b"", InvalidRequest),
    ],
)
def test_status_and_message_pick_the_error(
    status: int, body: bytes, expected: type[GenerationError]
) -> None:
    error = classify_error(status, body, {})
    assert type(error) is expected
    assert error.status == status


def test_retryable_flags_follow_the_contract() -> None:
    assert classify_error(429, xai("temporarily at capacity"), {}).retryable
    assert classify_error(503, b"", {}).retryable
    assert not classify_error(429, xai("used all available credits"), {}).retryable
    assert not classify_error(400, xai("rejected by content moderation"), {}).retryable
    assert not classify_error(401, b"", {}).retryable


def test_body_may_be_text() -> None:
    error = classify_error(403, '{"code": "x", "error": "Content violates usage guidelines"}', {})
    assert isinstance(error, ContentRefused)
    assert "usage guidelines" in error.detail


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        (xai("boom", "Internal"), "boom", "Internal"),
        (
            openai("bad n", "invalid_request_error", "invalid_value"),
            "bad n",
            "invalid_request_error invalid_value",
        ),
        (b'{"message": "gateway says no"}', "gateway says no", ""),
        (b'{"detail": "Not authenticated"}', "Not authenticated", ""),
        (b'[{"error": {"message": "wrapped", "code": 7}}]', "wrapped", "7"),
        (b'{"error": {"message": null, "code": null}}', "", ""),
        (b"plain text", "plain text", ""),
        (b"", "", ""),
        (b"   \n ", "", ""),
        (b'{"truncated": ', '{"truncated":', ""),
        (b"<p>Service <b>down</b></p><script>var key='x'</script>", "Service down", ""),
    ],
)
def test_describe_error_body_reads_every_shape(body: bytes, message: str, code: str) -> None:
    assert describe_error_body(body) == (message, code)


def test_detail_is_one_short_line() -> None:
    body = xai("line one\nline two\r\n\tline three " + "x" * 2000)
    detail = classify_error(400, body, {}).detail
    assert "\n" not in detail
    assert "\r" not in detail
    assert len(detail) <= MAX_DETAIL_CHARS
    assert detail.startswith("HTTP 400 [Client specified an invalid argument]: line one line two")


def test_detail_of_an_html_page_has_no_markup() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>"
    detail = classify_error(502, body, {}).detail
    assert "<" not in detail
    assert "502 Bad Gateway" in detail


def test_detail_never_carries_the_key_or_headers() -> None:
    body = xai(f"key {KEY} is not valid; header was Authorization: Bearer {KEY}")
    headers = {"Authorization": f"Bearer {KEY}", "X-Secret-Header": "hidden-value"}
    error = classify_error(401, body, headers, api_key=KEY)
    for text in (error.detail, str(error), repr(error)):
        assert KEY not in text
        assert KEY[:20] not in text
        assert "hidden-value" not in text
    assert "[redacted]" in error.detail


def test_credential_like_strings_are_scrubbed_without_the_key() -> None:
    text = "Bearer abc.def-ghi token=s3cr3t sk-ABCDEFGHIJKLMNOPQRSTUV and xai-1234567890abcdefXYZ"
    cleaned = scrub_secrets(text)
    for secret in ("abc.def-ghi", "s3cr3t", "sk-ABCDEFGHIJKLMNOPQRSTUV", "xai-1234567890abcdefXYZ"):
        assert secret not in cleaned


def test_huge_bodies_are_cut_before_parsing() -> None:
    body = b"<html>" + b"<div>spam</div>" * 1_000_000 + b"</html>"
    error = classify_error(500, body, {})
    assert isinstance(error, TransientError)
    assert len(error.detail) <= MAX_DETAIL_CHARS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-1", None),
        ("abc", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("1e999", None),
        ("99999999", MAX_RETRY_AFTER),
        ("Mon, 32 Foo 2023 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_http_date() -> None:
    future = email.utils.formatdate(NOW + 30, usegmt=True)
    past = email.utils.formatdate(NOW - 3600, usegmt=True)
    far = email.utils.formatdate(NOW + 10 * 86400, usegmt=True)
    assert parse_retry_after(future, NOW) == pytest.approx(30.0)
    assert parse_retry_after(past, NOW) == 0.0
    assert parse_retry_after(far, NOW) == MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "7"},
        {"retry-after": "7"},
        {"RETRY-AFTER": "7"},
        CIMultiDict({"Retry-After": "7"}),
    ],
)
def test_retry_after_header_is_found_in_any_case(headers: dict[str, str]) -> None:
    error = classify_error(429, xai("temporarily at capacity"), headers, now=NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0


def test_retry_after_ms_is_preferred_and_garbage_ignored() -> None:
    headers = {"retry-after-ms": "1500", "Retry-After": "9"}
    assert classify_error(429, b"", headers, now=NOW).retry_after == 1.5
    assert classify_error(503, b"", {"Retry-After": "soon"}, now=NOW).retry_after is None
    assert classify_error(503, b"", {"Retry-After": "-3"}, now=NOW).retry_after is None
    assert classify_error(503, b"", {}, now=NOW).retry_after is None
