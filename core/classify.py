"""Turn an error answer of the image API into a :class:`GenerationError` with meaning.

Pure functions: the client hands in the status, the (already size-capped) body and the
headers; nothing here does I/O. The mapping follows the API contract's error table, and
tolerates both error body shapes, plain text, HTML error pages from proxies, and garbage.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

from core.errors import (
    AuthenticationFailed,
    ContentRefused,
    GenerationError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    TransientError,
)

#: Longest operator-log detail kept on an error.
MAX_DETAIL_CHARS = 300
#: Only this much of an error body is looked at; error pages can be large and the
#: first few KiB always carry the message.
MAX_BODY_CHARS = 64 * 1024
#: Longest wait a ``Retry-After`` may ask for; larger values are clamped so a typo on the
#: server side cannot park a job for days.
MAX_RETRY_AFTER = 24 * 3600.0
#: Shown in place of anything that looks like a credential.
REDACTED = "[redacted]"

# Moderation wording seen from xAI ("Generated image rejected by content moderation.",
# "Content violates usage guidelines") and from OpenAI-style gateways, in English and in
# the Chinese the gateway uses.
_MODERATION_RE = re.compile(
    r"moderat|usage guideline|usage polic|content polic|safety|unsafe|nsfw|inappropriate"
    r"|prohibited content|content_filter|content filter|审核|违规|敏感|安全策略"
    r"|violat\w*\s+(?:our\s+|the\s+|xai'?s?\s+)?(?:content|usage|safety|terms|polic)",
    re.IGNORECASE,
)
# Narrower set for 5xx answers: a gateway sometimes wraps an upstream refusal in a 500,
# and retrying a refusal only bills again; the loose words above (e.g. "safety") could
# appear in genuine server faults, so only unmistakable phrases count there.
_STRICT_MODERATION_RE = re.compile(
    r"content moderation|usage guideline|content polic|content_filter|审核",
    re.IGNORECASE,
)
# A 400 that is really a bad key: xAI answers "Incorrect API key provided: ..." with 400.
_BAD_KEY_RE = re.compile(
    r"(incorrect|invalid|wrong|missing|expired|revoked|disabled|unknown|no)\s+"
    r"(api[\s_-]?key|bearer|authori[sz]ation|credential)"
    r"|(api[\s_-]?key|credential)s?\s+(is\s+|are\s+)?(invalid|incorrect|wrong|missing|"
    r"not\s+valid|not\s+provided|expired|revoked)"
    r"|invalid_api_key|unauthori[sz]ed|unauthenticated|无效的令牌|令牌.{0,6}(无效|错误|过期)",
    re.IGNORECASE,
)
# Out of credits / over a spending limit: not worth retrying, the admins must act.
_QUOTA_RE = re.compile(
    r"credit|spending[\s_-]?limit|billing|insufficient[\s_-]?(user[\s_-]?)?(quota|balance|funds)"
    r"|exceeded your (current )?quota|payment required|out of funds|(account|credit) balance"
    r"|额度|余额|欠费",
    re.IGNORECASE,
)
# "quota" alone also names per-minute limits ("quota of requests per minute"), which are
# plain rate limits and do pass.
_QUOTA_WORD_RE = re.compile(r"quota", re.IGNORECASE)
_RATE_WORDS_RE = re.compile(
    r"per[\s_-]?(minute|second|hour)|\brpm\b|\btpm\b|\brps\b|rate[\s_-]?limit|too many requests",
    re.IGNORECASE,
)

# Credentials that could ride along in an echoed message.
_SECRET_RES = (
    re.compile(r"(?i)\bbearer\s+[^\s\"',;]+"),
    re.compile(r"\b(?:sk|xai|key|tok)-[A-Za-z0-9_\-]{12,}"),
    re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password)=[^\s&\"',;]+"),
)
_TAG_RE = re.compile(r"<[^>]*>")
_SCRIPT_RE = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>")
_WS_RE = re.compile(r"\s+")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when absent or unusable.

    Accepts delta-seconds (fractions tolerated) and HTTP dates; ``now`` is the current
    wall-clock time (``time.time()``) that a date is measured against. A date in the past
    means "now" (0.0). Negative, non-finite or unparseable values give None; very large
    ones are clamped to :data:`MAX_RETRY_AFTER`.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        seconds = _parse_http_date(text, now)
    else:
        # float() also accepts "nan", "inf" and "1e999"; none of them is a real wait.
        seconds = number if math.isfinite(number) and number >= 0 else None
    if seconds is None:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def _parse_http_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        timestamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, timestamp - now)


def scrub_secrets(text: str, api_key: str | None = None) -> str:
    """``text`` with the API key and anything credential-like replaced by a marker."""
    if api_key:
        text = text.replace(api_key, REDACTED)
    for pattern in _SECRET_RES:
        text = pattern.sub(REDACTED, text)
    return text


def short_detail(text: str, api_key: str | None = None, limit: int = MAX_DETAIL_CHARS) -> str:
    """One scrubbed line of at most ``limit`` characters, for the operator's log."""
    line = _WS_RE.sub(" ", scrub_secrets(text, api_key)).strip()
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def describe_error_body(body: bytes | str) -> tuple[str, str]:
    """The (message, code) an error body carries, whatever its shape.

    Handles the xAI shape ``{"code": "...", "error": "msg"}``, the OpenAI shape
    ``{"error": {"message", "type", "code"}}``, a few other common gateway shapes
    (``message``/``detail``/``msg``), plain text and HTML. Never raises.
    """
    if isinstance(body, bytes | bytearray | memoryview):
        text = bytes(body[:MAX_BODY_CHARS]).decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body[:MAX_BODY_CHARS]
    else:
        text = ""
    stripped = text.strip()
    if not stripped:
        return "", ""
    if stripped[0] in "{[":
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            pass
        else:
            found = _from_json(parsed)
            if found is not None:
                return found
    if "<" in stripped and ">" in stripped:
        return _from_html(stripped), ""
    return stripped, ""


def _from_json(parsed: Any) -> tuple[str, str] | None:
    if isinstance(parsed, list) and parsed:
        # Some gateways wrap the error object in a one-element list.
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    if isinstance(error, dict):
        message = _as_text(error.get("message") or error.get("msg") or error.get("detail"))
        code = " ".join(
            part for part in (_as_text(error.get("type")), _as_text(error.get("code"))) if part
        )
        return message, code
    code = _as_text(parsed.get("code") or parsed.get("type") or parsed.get("status"))
    if isinstance(error, str) and error:
        return error, code
    for key in ("message", "detail", "msg", "error_description"):
        value = parsed.get(key)
        if value:
            return _as_text(value), code
    if code:
        return "", code
    return None


def _as_text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False)[:MAX_DETAIL_CHARS]
    except (TypeError, ValueError):
        return ""


def _from_html(text: str) -> str:
    without_scripts = _SCRIPT_RE.sub(" ", text)
    return _WS_RE.sub(" ", _TAG_RE.sub(" ", without_scripts)).strip()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp hands a case-insensitive multidict, tests and callers may hand a plain dict.
    try:
        value = headers.get(name)
    except (AttributeError, TypeError):
        return None
    if value is not None:
        return str(value)
    lowered = name.lower()
    try:
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                return str(item)
    except (AttributeError, TypeError):
        return None
    return None


def _retry_after_from(headers: Mapping[str, str], now: float | None) -> float | None:
    moment = time.time() if now is None else now
    # OpenAI-style servers add a millisecond variant that is more precise.
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        parsed = parse_retry_after(millis, moment)
        if parsed is not None:
            return min(parsed / 1000.0, MAX_RETRY_AFTER)
    return parse_retry_after(_header(headers, "retry-after"), moment)


def classify_error(
    status: int,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    api_key: str | None = None,
    now: float | None = None,
) -> GenerationError:
    """The :class:`GenerationError` an error answer of the image API means.

    ``api_key`` is scrubbed from the detail (along with anything else credential-like);
    ``now`` is the wall-clock time an HTTP-date ``Retry-After`` is measured against
    (default ``time.time()``). Never raises.
    """
    message, code = describe_error_body(body)
    haystack = f"{message} {code}"
    retry_after = _retry_after_from(headers, now)
    summary = f"HTTP {status}"
    if code:
        summary += f" [{code}]"
    if message:
        summary += f": {message}"
    detail = short_detail(summary, api_key)

    kind = _kind_for(status, haystack)
    return kind(detail, status=status, retry_after=retry_after)


def _kind_for(status: int, text: str) -> type[GenerationError]:
    if status == 400:
        if _MODERATION_RE.search(text):
            return ContentRefused
        if _BAD_KEY_RE.search(text):
            return AuthenticationFailed
        return InvalidRequest
    if status == 401:
        return AuthenticationFailed
    if status == 402:
        # Payment Required: gateways use it for an exhausted balance.
        return QuotaExceeded
    if status == 403:
        if _MODERATION_RE.search(text):
            return ContentRefused
        # xAI answers 403 to a team without credits; that is for the admins, not a bad key.
        if _QUOTA_RE.search(text):
            return QuotaExceeded
        return AuthenticationFailed
    if status == 429:
        if _QUOTA_RE.search(text):
            return QuotaExceeded
        if _QUOTA_WORD_RE.search(text) and not _RATE_WORDS_RE.search(text):
            return QuotaExceeded
        return RateLimited
    if status in (408, 409, 425) or 500 <= status <= 599:
        if _STRICT_MODERATION_RE.search(text):
            return ContentRefused
        return TransientError
    if 400 <= status <= 499 and _STRICT_MODERATION_RE.search(text):
        # 404/415/422 and the rest of 4xx: a refusal still reads as a refusal.
        return ContentRefused
    return InvalidRequest
