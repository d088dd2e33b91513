"""The image client against the local fake image API."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yarl

import core.client
import core.decode
from core.client import USER_AGENT, ImageClient
from core.errors import (
    AuthenticationFailed,
    BadResponse,
    ContentRefused,
    GenerationError,
    InvalidRequest,
    QuotaExceeded,
    RateLimited,
    TransientError,
)
from core.models import EditRequest, GenerationRequest, ImageFile, InputSource
from core.retry import RetryPolicy
from core.url_policy import url_refusal
from tests.fakes.image_api import (
    COST_TICKS_PER_IMAGE,
    FakeImageAPI,
    Scripted,
    encode_b64,
    make_jpeg,
    pixel_size,
    tag_jpeg,
)
from tests.fakes.trap import Trap

pytestmark = pytest.mark.asyncio

#: Real backoff, in miniature: tests must not sleep for seconds.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=1.0, total_budget=30.0)
MODEL = "grok-imagine-image"


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as server:
        yield server


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def make_client(api: FakeImageAPI, session: aiohttp.ClientSession) -> Callable[..., ImageClient]:
    def build(**overrides: Any) -> ImageClient:
        options: dict[str, Any] = {
            "base_url": api.base_url,
            "api_key": api.api_key,
            "retry": FAST_RETRY,
            "rng": random.Random(0),
        }
        options.update(overrides)
        return ImageClient(session, **options)

    return build


@pytest.fixture
def client(make_client: Callable[..., ImageClient]) -> ImageClient:
    return make_client()


def request(**fields: Any) -> GenerationRequest:
    return GenerationRequest(**{"prompt": "a red fox in fresh snow", "model": MODEL, **fields})


# -- success ------------------------------------------------------------------------------


async def test_b64_answer_gives_verified_jpegs(client: ImageClient, api: FakeImageAPI) -> None:
    asked = request(n=3, aspect_ratio="16:9", user="1234")
    result = await client.generate(asked)

    assert len(result.images) == 3
    for image in result.images:
        assert (image.mime_type, image.extension) == ("image/jpeg", "jpg")
        assert (image.width, image.height) == (1408, 768)
        assert image.data.startswith(b"\xff\xd8")
    assert len({image.data for image in result.images}) == 3
    assert (result.withheld, result.unusable, result.attempts) == (0, 0, 1)
    assert result.cost_usd_ticks == 3 * COST_TICKS_PER_IMAGE
    assert result.api_seconds > 0
    assert result.extra["decode_seconds"] >= 0

    [call] = api.requests
    assert call.method == "POST"
    assert call.path == "/v1/images/generations"
    assert call.body == asked.to_body()
    assert call.headers["Authorization"] == f"Bearer {api.api_key}"
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["User-Agent"] == USER_AGENT
    assert call.status == 200


@pytest.mark.parametrize("style", ["bare", "data_uri", "urlsafe", "wrapped"])
async def test_every_base64_shape_decodes(
    client: ImageClient, api: FakeImageAPI, style: Any
) -> None:
    api.script(Scripted(b64_style=style))
    result = await client.generate(request(n=2))
    assert [(i.width, i.height) for i in result.images] == [(1024, 1024)] * 2


async def test_2k_images_are_full_size(client: ImageClient) -> None:
    result = await client.generate(request(n=2, resolution="2k", aspect_ratio="1:1"))
    assert [(i.width, i.height) for i in result.images] == [(2048, 2048)] * 2
    assert all(1_800_000 < image.size < 2_800_000 for image in result.images)


async def test_url_answer_is_downloaded_at_once(client: ImageClient, api: FakeImageAPI) -> None:
    result = await client.generate(request(n=2, response_format="url", aspect_ratio="9:16"))
    assert [(i.width, i.height) for i in result.images] == [(768, 1408)] * 2
    assert len(api.downloads) == 2
    assert api.requests[0].body["response_format"] == "url"


async def test_url_on_another_http_host_is_refused(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    # Same port, other host name: not the API's origin, and not https.
    api.script(Scripted(url_base=f"http://localhost:{api.port}"))
    with caplog.at_level(logging.WARNING, logger="core.client"), pytest.raises(BadResponse):
        await client.generate(request(n=2, response_format="url"))
    assert api.downloads == []
    assert "Refusing image URL on http://localhost" in caplog.text


async def test_public_https_on_443_or_the_api_origin_is_allowed(client: ImageClient) -> None:
    def allowed(url: str | yarl.URL) -> bool:
        return url_refusal(yarl.URL(url), client._origin, client._public_port) is None

    assert allowed("https://imgen.x.ai/xai-tmp-imgen-1.jpeg")
    assert allowed("https://8.8.8.8/a.jpg")
    assert allowed(yarl.URL(client.endpoint).with_path("/files/1.jpg"))
    assert not allowed("http://imgen.x.ai/a.jpeg")
    assert not allowed("https://imgen.x.ai:8443/a.jpeg")
    assert not allowed(yarl.URL(client.endpoint).with_port(1).with_path("/a.jpg"))
    assert not allowed("ftp://example.com/a.jpg")
    assert not allowed("file:///etc/passwd")


async def test_a_broken_url_counts_as_unusable(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(broken_urls={1}))
    result = await client.generate(request(n=3, response_format="url"))
    assert (len(result.images), result.unusable, result.withheld) == (2, 1, 0)


async def test_download_over_the_cap_is_unusable(
    make_client: Callable[..., ImageClient],
) -> None:
    client = make_client(max_download_bytes=10_000)
    with pytest.raises(BadResponse, match="unusable"):
        await client.generate(request(response_format="url"))


async def test_base_url_may_end_in_v1_or_a_slash(
    make_client: Callable[..., ImageClient], api: FakeImageAPI
) -> None:
    for base in (api.base_url + "/", api.base_url + "/v1", api.base_url + "/v1/"):
        result = await make_client(base_url=base).generate(request())
        assert len(result.images) == 1
    assert {call.path for call in api.requests} == {"/v1/images/generations"}


async def test_images_are_verified_off_the_event_loop(
    client: ImageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = core.client.decode_and_verify

    def spy(item: Any) -> ImageFile:
        threads.append(threading.current_thread())
        return real(item)

    monkeypatch.setattr(core.client, "decode_and_verify", spy)
    await client.generate(request(n=3))
    assert len(threads) == 3
    assert threading.main_thread() not in threads


async def test_concurrent_generations_share_the_session(client: ImageClient) -> None:
    results = await asyncio.gather(*(client.generate(request(n=2)) for _ in range(4)))
    assert [len(r.images) for r in results] == [2, 2, 2, 2]


# -- moderation ---------------------------------------------------------------------------


async def test_some_images_withheld(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(withheld={0, 2}))
    result = await client.generate(request(n=4))
    assert (len(result.images), result.withheld, result.unusable) == (2, 2, 0)


async def test_all_images_withheld_is_a_refusal(client: ImageClient, api: FakeImageAPI) -> None:
    api.set_withheld({0, 1})
    with pytest.raises(ContentRefused):
        await client.generate(request(n=2))
    assert len(api.requests) == 1


async def test_a_blocked_request_without_data_is_a_refusal(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.script(Scripted(json={"block_reason": "prompt blocked"}))
    with pytest.raises(ContentRefused, match="prompt blocked"):
        await client.generate(request())


@pytest.mark.parametrize(
    "scripted",
    [
        Scripted(status=403, json={"code": "Forbidden", "error": "Content violates usage."}),
        Scripted(status=400, json={"code": "x", "error": "Image rejected by content moderation."}),
    ],
)
async def test_refusals_are_never_retried(
    client: ImageClient, api: FakeImageAPI, scripted: Scripted
) -> None:
    api.script(scripted, Scripted())
    with pytest.raises(ContentRefused):
        await client.generate(request())
    assert len(api.requests) == 1


# -- retries ------------------------------------------------------------------------------


async def test_429_with_retry_after_zero_is_retried(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(
        Scripted(
            status=429,
            json={"code": "x", "error": "The service is temporarily at capacity"},
            headers={"Retry-After": "0"},
        ),
    )
    with caplog.at_level(logging.WARNING, logger="core.client"):
        result = await client.generate(request(n=2))
    assert (len(result.images), result.attempts) == (2, 2)
    assert len(api.requests) == 2
    assert "attempt 1/3 failed (RateLimited" in caplog.text


async def test_retry_after_beyond_max_delay_gives_up(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.script(Scripted(status=429, text="busy", headers={"Retry-After": "120"}))
    with pytest.raises(RateLimited) as caught:
        await client.generate(request())
    assert caught.value.retry_after == 120.0
    assert len(api.requests) == 1


async def test_out_of_credits_is_not_retried(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(
        Scripted(
            status=429,
            json={
                "code": "x",
                "error": "Your team has used all available "
                "credits or reached its monthly spending limit.",
            },
        ),
    )
    with pytest.raises(QuotaExceeded):
        await client.generate(request())
    assert len(api.requests) == 1


async def test_500_is_retried_then_succeeds(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(status=500, text="oops"))
    result = await client.generate(request())
    assert result.attempts == 2


async def test_500_every_time_gives_up_after_max_attempts(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(*[Scripted(status=502, text="<html>Bad Gateway</html>")] * 5)
    with caplog.at_level(logging.WARNING, logger="core.client"), pytest.raises(TransientError):
        await client.generate(request())
    assert len(api.requests) == 3
    assert "gave up after 3 attempts" in caplog.text


async def test_timeout_is_retried(
    make_client: Callable[..., ImageClient], api: FakeImageAPI
) -> None:
    client = make_client(request_timeout=0.3)
    api.script(Scripted(delay=1.5))
    result = await client.generate(request())
    assert result.attempts == 2
    assert len(api.requests) == 2


async def test_timeouts_every_time_give_up_as_transient(
    make_client: Callable[..., ImageClient], api: FakeImageAPI
) -> None:
    client = make_client(
        request_timeout=0.2, retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.1)
    )
    api.script(Scripted(delay=1.0), Scripted(delay=1.0))
    with pytest.raises(TransientError, match=r"within 0\.2s"):
        await client.generate(request())


async def test_dropped_connection_is_retried(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(drop_connection=True))
    result = await client.generate(request())
    assert result.attempts == 2


async def test_truncated_body_is_retried(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(truncate=True))
    result = await client.generate(request(n=2))
    assert (len(result.images), result.attempts) == (2, 2)


async def test_connection_refused_is_transient(session: aiohttp.ClientSession) -> None:
    async with FakeImageAPI() as closed:
        base_url = closed.base_url
    client = ImageClient(session, base_url=base_url, api_key="k", retry=FAST_RETRY)
    with pytest.raises(TransientError, match="connection failed"):
        await client.generate(request())


# -- bad answers --------------------------------------------------------------------------


async def test_truncated_json_is_a_bad_response(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(text='{"created": 1, "data": [{"b64_json": "/9j/4AAQ'))
    with pytest.raises(BadResponse):
        await client.generate(request())
    assert len(api.requests) == 1


async def test_garbage_images_are_a_bad_response(client: ImageClient, api: FakeImageAPI) -> None:
    api.script(Scripted(garbage_images=True))
    with pytest.raises(BadResponse, match="2 unusable"):
        await client.generate(request(n=2))


async def test_answer_over_the_cap_is_refused_unread(
    make_client: Callable[..., ImageClient], api: FakeImageAPI
) -> None:
    client = make_client(max_response_bytes=50_000)
    with pytest.raises(BadResponse, match="limit"):
        await client.generate(request())
    assert len(api.requests) == 1


async def test_an_answer_with_no_items_is_a_bad_response(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.script(Scripted(count=0))
    with pytest.raises(BadResponse, match="0 item"):
        await client.generate(request())


async def test_redirects_of_the_api_call_are_not_followed(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.script(Scripted(status=307, headers={"Location": "http://127.0.0.1:1/elsewhere"}))
    with pytest.raises(InvalidRequest):
        await client.generate(request())


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"model": "no-such-model"}, InvalidRequest),
        ({"aspect_ratio": "5:4"}, InvalidRequest),
        ({"n": 11}, InvalidRequest),
    ],
)
async def test_invalid_requests_are_not_retried(
    client: ImageClient, api: FakeImageAPI, fields: dict[str, Any], expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        await client.generate(request(**fields))
    assert len(api.requests) == 1


# -- the key ------------------------------------------------------------------------------


async def test_wrong_key_is_an_authentication_failure(
    make_client: Callable[..., ImageClient], api: FakeImageAPI
) -> None:
    with pytest.raises(AuthenticationFailed):
        await make_client(api_key="some-other-key-123").generate(request())
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "scripted",
    [
        [Scripted(status=401, json={"code": "x", "error": "bad key {key}"})],
        [Scripted(status=400, json={"error": {"message": "Incorrect API key {key}"}})],
        [Scripted(status=500, text="upstream said Bearer {key}")] * 3,
        [Scripted(status=503, text="<h1>{key}</h1>", headers={"X-Echo": "{key}"})] * 3,
        [Scripted(text='{"error": {"message": "{key}", "type": "{key}"}}')],
    ],
)
async def test_the_key_never_reaches_errors_or_logs(
    client: ImageClient,
    api: FakeImageAPI,
    caplog: pytest.LogCaptureFixture,
    scripted: list[Scripted],
) -> None:
    key = api.api_key
    api.script(
        *[
            Scripted(
                status=s.status,
                json=_fill(s.json, key),
                text=_fill(s.text, key),
                headers=_fill(s.headers, key),
            )
            for s in scripted
        ]
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(GenerationError) as caught:
        await client.generate(request())
    error = caught.value
    for text in (str(error), repr(error), error.detail, *map(str, error.args)):
        assert key not in text
    assert error.__cause__ is None
    for record in caplog.records:
        assert key not in record.getMessage()
        assert key not in str(record.args)
    assert key not in caplog.text
    assert key not in repr(client)


def _fill(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace("{key}", key)
    if isinstance(value, dict):
        return {k: _fill(v, key) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "bad",
    [
        {"base_url": "ftp://api.example"},
        {"base_url": "api.example"},
        {"api_key": ""},
        {"request_timeout": 0},
    ],
)
async def test_construction_checks_its_settings(
    session: aiohttp.ClientSession, bad: dict[str, Any]
) -> None:
    options: dict[str, Any] = {"base_url": "https://api.example", "api_key": "k", **bad}
    with pytest.raises(ValueError, match=r"."):
        ImageClient(session, **options)


# -- hostile answers ----------------------------------------------------------------------


@pytest_asyncio.fixture
async def trap() -> AsyncIterator[Trap]:
    server = Trap()
    await server.start()
    yield server
    await server.close()


async def test_only_the_first_n_items_are_used(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(Scripted(count=5))
    with caplog.at_level(logging.WARNING, logger="core.client"):
        result = await client.generate(request(n=2))
    assert (len(result.images), result.withheld, result.unusable) == (2, 0, 0)
    assert result.extra["items"] == 5
    assert "answered 5 items for 2 asked; using the first 2" in caplog.text


async def test_in_url_mode_only_the_first_n_are_downloaded(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.script(Scripted(count=7))
    result = await client.generate(request(n=3, response_format="url"))
    assert len(result.images) == 3
    assert len(api.downloads) == 3


async def test_a_million_items_are_refused_with_one_line(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(Scripted(junk_items=1_000_000))
    with caplog.at_level(logging.DEBUG, logger="core"), pytest.raises(BadResponse) as caught:
        await client.generate(request())
    assert "too many JSON values" in caught.value.detail
    assert len(caplog.records) <= 1
    assert api.downloads == []


async def test_eleven_items_are_unusable_before_any_is_built(
    client: ImageClient, api: FakeImageAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real = core.decode._parse_item
    monkeypatch.setattr(
        core.decode, "_parse_item", lambda entry: built.append(entry) or real(entry)
    )
    api.script(Scripted(count=10, junk_items=1))
    with pytest.raises(BadResponse, match="11 items, more than the 10 possible"):
        await client.generate(request(n=10))
    assert built == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{trap}/a.jpg",
        "https://[::ffff:127.0.0.1]:{trap}/a.jpg",
        "https://0x7f000001:{trap}/a.jpg",
        "https://2130706433:{trap}/a.jpg",
        "https://0177.0.0.1:{trap}/a.jpg",
        # A name: checked at connect time, once resolved.
        "https://localhost:{trap}/a.jpg",
    ],
)
async def test_url_mode_never_connects_into_the_bots_network(
    client: ImageClient,
    api: FakeImageAPI,
    trap: Trap,
    url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As if the trap listened on 443: only the address may refuse these.
    client._public_port = trap.port
    api.script(Scripted(urls=[url.format(trap=trap.port)]))
    with caplog.at_level(logging.WARNING, logger="core.client"), pytest.raises(BadResponse):
        await client.generate(request(response_format="url"))
    assert trap.connections == 0
    assert "Refusing image URL on https://" in caplog.text


@pytest.mark.parametrize(
    "location",
    [
        "https://127.0.0.1:{trap}/a.jpg",
        "https://localhost:{trap}/a.jpg",
        "http://127.0.0.1:{trap}/a.jpg",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
async def test_a_redirect_into_the_bots_network_is_refused(
    client: ImageClient, api: FakeImageAPI, trap: Trap, location: str
) -> None:
    client._public_port = trap.port
    api.script(Scripted(redirect_to=location.format(trap=trap.port)))
    with pytest.raises(BadResponse, match="1 unusable"):
        await client.generate(request(response_format="url"))
    assert len(api.downloads) == 1  # the API's own file, which redirected
    assert trap.connections == 0


async def test_a_public_url_on_another_port_is_refused_unfetched(
    client: ImageClient, api: FakeImageAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.script(Scripted(urls=["https://8.8.8.8:6379/a.jpg"]))
    with caplog.at_level(logging.WARNING, logger="core.client"), pytest.raises(BadResponse):
        await client.generate(request(response_format="url"))
    assert "port 6379 is not 443" in caplog.text


async def test_downloads_of_an_answer_are_held_to_the_answer_cap(
    make_client: Callable[..., ImageClient],
) -> None:
    # Each 1k image is about 0.55 MB: within the per-image cap, not within the answer's.
    client = make_client(max_response_bytes=100_000)
    with pytest.raises(BadResponse, match="2 unusable"):
        await client.generate(request(n=2, response_format="url"))


async def test_the_decode_gate_is_taken_before_the_body_is_read(
    make_client: Callable[..., ImageClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.client, "DECODE_THREADS", 1)
    client = make_client()
    reading = 0
    most = 0
    real_read = core.client._read_body

    async def slow_read(*args: Any, **kwargs: Any) -> bytearray:
        nonlocal reading, most
        reading += 1
        most = max(most, reading)
        try:
            await asyncio.sleep(0.05)
            return await real_read(*args, **kwargs)
        finally:
            reading -= 1

    monkeypatch.setattr(core.client, "_read_body", slow_read)
    results = await asyncio.gather(*(client.generate(request()) for _ in range(3)))
    assert [len(r.images) for r in results] == [1, 1, 1]
    # Three answers came at once; one slot: each body was read only once the one before
    # it was decoded.
    assert most == 1


async def test_a_failed_read_gives_its_slot_back_before_retrying(
    make_client: Callable[..., ImageClient], api: FakeImageAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.client, "DECODE_THREADS", 1)
    client = make_client()
    api.script(Scripted(truncate=True))
    result = await asyncio.wait_for(client.generate(request()), 10)
    assert len(result.images) == 1
    assert not client._decoding.locked()


class _Content:
    def __init__(self, source: bytes, chunk: int) -> None:
        self.source = source
        self.chunk = chunk

    async def iter_any(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.source), self.chunk):
            # Fresh bytes, as the network hands them over.
            yield self.source[start : start + self.chunk]


class _Response:
    def __init__(self, source: bytes, chunk: int) -> None:
        self.content_length = len(source)
        self.content = _Content(source, chunk)


async def test_an_answer_is_held_at_most_about_twice_while_read_and_parsed() -> None:
    width, height = pixel_size("1:1", "2k")
    images = [
        tag_jpeg(make_jpeg(width, height, variant=i % 3), f"memory index={i}") for i in range(4)
    ]
    document = {"data": [{"b64_json": encode_b64(image, "bare")} for image in images]}
    source = json.dumps(document).encode("ascii")
    response = _Response(source, 256 * 1024)

    tracemalloc.start()
    try:
        answer = await core.client._read_body(response, len(source), "answer")  # type: ignore[arg-type]
        parsed = core.client._parse_answer(answer)
        del answer
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed.items) == 4
    # The body once, and the base64 texts once; not a list of chunks and its join besides.
    assert peak < 2.3 * len(source), peak / len(source)


# -- edits ------------------------------------------------------------------------------


def edit_request(count: int = 1, **fields: Any) -> EditRequest:
    from tests.fakes.image_api import make_png

    uri = "data:image/png;base64," + base64.b64encode(make_png(32, 32)).decode("ascii")
    sources = tuple(InputSource(f"https://cdn.example/{i}.png") for i in range(count))
    return EditRequest(
        **{
            "prompt": "make it night",
            "model": MODEL,
            "sources": sources,
            "inputs": (uri,) * count,
            **fields,
        }
    )


@pytest.mark.parametrize("count", [1, 3])
async def test_an_edit_posts_its_pictures_to_the_edits_path(
    client: ImageClient, api: FakeImageAPI, count: int
) -> None:
    result = await client.edit(edit_request(count, n=2))
    assert len(result.images) == 2
    [call] = api.edit_calls
    assert call.status == 200
    if count == 1:
        assert call.body["image"]["url"].startswith("data:image/png;base64,")
        assert "images" not in call.body
    else:
        assert [p["url"][:22] for p in call.body["images"]] == ["data:image/png;base64,"] * 3
    assert not api.generation_calls


async def test_an_edit_on_a_gateway_without_edits_fails_once_with_its_404(
    client: ImageClient, api: FakeImageAPI
) -> None:
    api.edits_enabled = False
    with pytest.raises(InvalidRequest) as caught:
        await client.edit(edit_request())
    assert caught.value.status == 404
    assert len(api.edit_calls) == 1  # a 404 is not retried
    # generation still works
    assert len((await client.generate(request())).images) == 1


async def test_the_fake_refuses_a_malformed_edit(client: ImageClient, api: FakeImageAPI) -> None:
    bad = edit_request(1)
    bad = EditRequest(
        prompt=bad.prompt,
        model=bad.model,
        sources=bad.sources,
        inputs=("data:text/plain;base64,aGk=",),
    )
    with pytest.raises(InvalidRequest):
        await client.edit(bad)
    with pytest.raises(BadResponse):
        await client.edit(EditRequest(prompt="x", model=MODEL, sources=bad.sources))
