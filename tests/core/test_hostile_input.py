"""Property tests: whatever the network sends, the core answers with a result or a
GenerationError, never another exception."""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.classify import MAX_DETAIL_CHARS, MAX_RETRY_AFTER, classify_error, parse_retry_after
from core.decode import (
    ParsedItem,
    ParsedResponse,
    _load_json,
    _load_with_lifted_payloads,
    decode_and_verify,
    decode_b64,
    parse_generation_response,
    verify_image,
)
from core.errors import BadResponse, GenerationError
from core.models import ImageFile

KEY = "test-grok-key-0123456789"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # No example database: nothing is written into the working tree.
    database=None,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
item_fields = st.fixed_dictionaries(
    {},
    optional={
        "b64_json": st.none() | st.text(max_size=30) | st.integers(),
        "url": st.none() | st.text(max_size=30) | st.booleans(),
        "mime_type": json_values,
        "respect_moderation": json_values,
        "block_reason": json_values,
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(item_fields | json_values, max_size=4) | json_values,
        "usage": st.dictionaries(st.just("cost_in_usd_ticks"), json_values) | json_values,
        "block_reason": json_values,
        "created": json_values,
        "error": json_values,
    },
)
headers = st.dictionaries(
    st.sampled_from(["Retry-After", "retry-after", "retry-after-ms", "X-Other"]),
    st.text(max_size=40),
    max_size=3,
)


@SETTINGS
@given(
    status=st.integers(min_value=-5, max_value=1000),
    body=st.binary(max_size=300) | st.text(max_size=300),
    headers=headers,
)
def test_classify_error_always_returns_a_generation_error(
    status: int, body: bytes | str, headers: dict[str, str]
) -> None:
    error = classify_error(status, body, headers, api_key=KEY)
    assert isinstance(error, GenerationError)
    assert len(error.detail) <= MAX_DETAIL_CHARS
    assert "\n" not in error.detail
    assert KEY not in error.detail
    assert error.retry_after is None or 0 <= error.retry_after <= MAX_RETRY_AFTER


@SETTINGS
@given(document=json_values | documents, status=st.sampled_from([400, 403, 429, 500]))
def test_classify_error_reads_any_json(document: Any, status: int) -> None:
    assert isinstance(classify_error(status, json.dumps(document), {}), GenerationError)


@SETTINGS
@given(value=st.none() | st.text(max_size=60), now=st.floats(0, 4e9))
def test_parse_retry_after_is_none_or_bounded(value: str | None, now: float) -> None:
    seconds = parse_retry_after(value, now)
    assert seconds is None or 0.0 <= seconds <= MAX_RETRY_AFTER


@SETTINGS
@given(payload=st.binary(max_size=400))
def test_parse_generation_response_on_any_bytes(payload: bytes) -> None:
    try:
        parsed = parse_generation_response(payload)
    except BadResponse:
        return
    assert isinstance(parsed, ParsedResponse)


@SETTINGS
@given(document=documents | json_values)
def test_parse_generation_response_on_any_json(document: Any) -> None:
    try:
        parsed = parse_generation_response(json.dumps(document).encode())
    except BadResponse:
        return
    for item in parsed.items:
        assert item.b64 is None or isinstance(item.b64, str)
        assert item.url is None or isinstance(item.url, str)
        assert not (item.withheld and (item.b64 or item.url))


@SETTINGS
@given(value=st.text(max_size=200))
def test_decode_b64_on_any_text(value: str) -> None:
    try:
        data = decode_b64(value)
    except BadResponse:
        return
    assert isinstance(data, bytes)
    assert data


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_verify_image_on_any_bytes(data: bytes) -> None:
    try:
        image = verify_image(data)
    except BadResponse:
        return
    assert isinstance(image, ImageFile)


MAGIC = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBPVP8 "]


@SETTINGS
@given(prefix=st.sampled_from(MAGIC), rest=st.binary(max_size=2000))
def test_verify_image_on_bytes_with_real_magic(prefix: bytes, rest: bytes) -> None:
    try:
        image = verify_image(prefix + rest)
    except BadResponse:
        return
    assert isinstance(image, ImageFile)


base64_text = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=40
)
answers = st.fixed_dictionaries(
    {
        "data": st.lists(
            st.fixed_dictionaries(
                {"b64_json": base64_text}, optional={"b64_json ": base64_text, "x": json_values}
            )
            | json_values,
            max_size=4,
        )
    },
    optional={"b64_json": base64_text, "usage": json_values, "extra": json_values},
)


@SETTINGS
@given(
    document=answers,
    indent=st.none() | st.integers(0, 2),
    ensure_ascii=st.booleans(),
)
def test_lifting_payloads_never_changes_the_meaning(
    document: Any, indent: int | None, ensure_ascii: bool
) -> None:
    payload = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii).encode()
    lifted = _load_with_lifted_payloads(payload, min_chars=4)
    # The fast path must mean what the full parse means (integers beyond 64 bits come back
    # as floats from both, which the answer's meaning does not depend on).
    assert lifted is None or lifted == _load_json(payload)


@SETTINGS
@given(payload=st.binary(max_size=300), insert=st.booleans())
def test_lifting_payloads_on_any_bytes(payload: bytes, insert: bool) -> None:
    if insert:
        payload = payload[:50] + b'"b64_json": "QUJDREVGR0hJSktM"' + payload[50:]
    _load_with_lifted_payloads(payload, min_chars=4)


any_headers = st.dictionaries(
    st.text(min_size=1, max_size=20)
    | st.sampled_from(["Retry-After", "retry-after-ms", "x-ratelimit-reset-requests"]),
    st.text(max_size=40) | st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,6})?", fullmatch=True),
    max_size=4,
)


@SETTINGS
@given(
    status=st.sampled_from([400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 502, 503]),
    document=json_values | documents,
    headers=any_headers,
    now=st.none() | st.floats(0, 4e9),
)
def test_classify_error_on_any_answer_and_headers(
    status: int, document: Any, headers: dict[str, str], now: float | None
) -> None:
    error = classify_error(status, json.dumps(document), headers, api_key=KEY, now=now)
    assert isinstance(error, GenerationError)
    assert error.retry_after is None or 0 <= error.retry_after <= MAX_RETRY_AFTER
    assert KEY not in error.detail


item_texts = st.none() | st.text(max_size=60) | base64_text
magic_b64 = st.sampled_from(MAGIC).map(lambda magic: base64.b64encode(magic + b"\0" * 40).decode())


@SETTINGS
@given(
    b64=item_texts | magic_b64,
    url=st.none() | st.text(max_size=30),
    withheld=st.booleans(),
    mime_type=st.none() | st.text(max_size=20),
)
def test_decode_and_verify_on_any_item(
    b64: str | None, url: str | None, withheld: bool, mime_type: str | None
) -> None:
    item = ParsedItem(b64=b64, url=url, withheld=withheld, mime_type=mime_type)
    try:
        image = decode_and_verify(item)
    except BadResponse:
        return
    assert isinstance(image, ImageFile)
    assert image.size > 0


@SETTINGS
@given(document=documents | json_values, raw=st.booleans(), cut=st.integers(0, 200))
def test_any_answer_decodes_to_images_or_classified_errors(
    document: Any, raw: bool, cut: int
) -> None:
    # The whole path of a 200 answer, as the client runs it: parse, then decode each item.
    payload = json.dumps(document).encode()
    if raw:
        payload = payload[:cut]  # cut short, as a dropped connection leaves it
    try:
        parsed = parse_generation_response(payload)
    except BadResponse:
        return
    for item in parsed.items:
        if item.withheld or item.b64 is None:
            continue
        try:
            decode_and_verify(item)
        except BadResponse:
            continue
