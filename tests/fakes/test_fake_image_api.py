"""The fake image API checks requests exactly as the contract says, and answers like it."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image

from tests.fakes.image_api import (
    ASPECT_RATIOS,
    COST_TICKS_PER_IMAGE,
    FakeImageAPI,
    Scripted,
    make_animated_png,
    make_jpeg,
    make_png,
    pixel_size,
)

pytestmark = pytest.mark.asyncio

PATH = "/v1/images/generations"


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeImageAPI]:
    async with FakeImageAPI() as server:
        yield server


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession,
    api: FakeImageAPI,
    body: Any = None,
    *,
    raw: bytes | None = None,
    key: str | None = None,
    content_type: str = "application/json",
    path: str = PATH,
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key != "":
        headers["Authorization"] = f"Bearer {key or api.api_key}"
    data = raw if raw is not None else json.dumps(body).encode()
    async with http.post(api.base_url + path, data=data, headers=headers) as response:
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def valid(**fields: Any) -> dict[str, Any]:
    return {"prompt": "a lighthouse at dusk", "model": "grok-imagine-image", **fields}


def jpeg_size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


# -- authentication and framing -----------------------------------------------------------


async def test_missing_key_is_401_in_xai_shape(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    status, body = await post(http, api, valid(), key="")
    assert status == 401
    assert set(body) == {"code", "error"}


async def test_wrong_key_is_401_and_echoed_masked(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    status, body = await post(http, api, valid(), key="wrong-key-123456")
    assert status == 401
    assert "Incorrect API key" in body["error"]
    assert "wrong-key-123456" not in body["error"]


async def test_content_type_must_be_json(http: aiohttp.ClientSession, api: FakeImageAPI) -> None:
    status, _ = await post(http, api, valid(), content_type="text/plain")
    assert status == 415


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"prompt"', b""])
async def test_body_must_be_a_json_object(
    http: aiohttp.ClientSession, api: FakeImageAPI, raw: bytes
) -> None:
    status, body = await post(http, api, raw=raw)
    assert status == 400
    assert "error" in body


async def test_unknown_path_is_404(http: aiohttp.ClientSession, api: FakeImageAPI) -> None:
    status, _ = await post(http, api, valid(), path="/v1/images/variations")
    assert status == 404


# -- edits --------------------------------------------------------------------------------

EDITS = "/v1/images/edits"


def picture_uri(kind: str = "png") -> str:
    data = make_png(16, 16) if kind == "png" else make_jpeg(16, 16)
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    "inputs",
    [
        {"image": {"url": picture_uri()}},
        {"image": {"url": picture_uri("jpeg"), "type": "image_url"}},
        {"image": {"url": "https://cdn.example/a.png"}},
        {"images": [{"url": picture_uri()}, {"url": picture_uri("jpeg")}]},
        {"images": [{"url": picture_uri()}] * 3},
    ],
)
async def test_edits_take_one_image_or_two_to_three_images(
    http: aiohttp.ClientSession, api: FakeImageAPI, inputs: dict[str, Any]
) -> None:
    status, body = await post(http, api, valid(n=2, **inputs), path=EDITS)
    assert status == 200
    assert len(body["data"]) == 2
    [call] = api.edit_calls
    assert call.status == 200


@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"image": {"url": picture_uri()}, "images": [{"url": picture_uri()}] * 2},
        {"images": [{"url": picture_uri()}]},
        {"images": [{"url": picture_uri()}] * 4},
        {"image": picture_uri()},
        {"image": {"url": "http://plain.example/a.png"}},
        {"image": {"url": "data:image/gif;base64,R0lGODlh"}},
        {"image": {"url": "data:image/png;base64,not base64!"}},
        {"image": {"url": picture_uri("png").replace("image/png", "image/jpeg")}},
    ],
)
async def test_edits_refuse_malformed_inputs(
    http: aiohttp.ClientSession, api: FakeImageAPI, inputs: dict[str, Any]
) -> None:
    status, body = await post(http, api, valid(**inputs), path=EDITS)
    assert status in (400, 422)
    assert "error" in body


async def test_an_input_over_10_mib_is_refused(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024)
    uri = "data:image/png;base64," + base64.b64encode(big).decode("ascii")
    status, _ = await post(http, api, valid(image={"url": uri}), path=EDITS)
    assert status == 400


async def test_a_gateway_without_edits_answers_404(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.edits_enabled = False
    status, _ = await post(http, api, valid(image={"url": picture_uri()}), path=EDITS)
    assert status == 404
    assert [call.status for call in api.edit_calls] == [404]


# -- fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "grok-imagine-image"}, 422),
        (valid(prompt=7), 422),
        (valid(prompt="   "), 400),
        ({"prompt": "x"}, 422),
        (valid(model="dall-e-3"), 404),
        (valid(n="3"), 422),
        (valid(n=True), 422),
        (valid(n=2.0), 422),
        (valid(n=0), 400),
        (valid(n=11), 400),
        (valid(aspect_ratio="5:4"), 400),
        (valid(aspect_ratio=1.5), 422),
        (valid(resolution="4k"), 400),
        (valid(response_format="png"), 400),
        (valid(size="1024x1024"), 400),
        (valid(style="vivid"), 400),
        (valid(user=42), 422),
    ],
)
async def test_invalid_fields_are_refused(
    http: aiohttp.ClientSession, api: FakeImageAPI, body: dict[str, Any], status: int
) -> None:
    answered, error = await post(http, api, body)
    assert answered == status
    assert isinstance(error["error"], str)
    assert isinstance(error["code"], str)
    assert api.requests[-1].status == status


async def test_unknown_fields_and_nulls_are_fine(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    body = valid(quality="low", seed=4, aspect_ratio=None, response_format="b64_json")
    status, _ = await post(http, api, body)
    assert status == 200


async def test_models_are_configurable(http: aiohttp.ClientSession) -> None:
    async with FakeImageAPI(models=("only-this",)) as api:
        assert (await post(http, api, valid(model="only-this")))[0] == 200
        assert (await post(http, api, valid()))[0] == 404


# -- answers ------------------------------------------------------------------------------


async def test_answer_has_the_xai_shape(http: aiohttp.ClientSession, api: FakeImageAPI) -> None:
    status, body = await post(http, api, valid(n=3, response_format="b64_json"))
    assert status == 200
    assert abs(body["created"] - time.time()) < 60
    assert body["usage"] == {"cost_in_usd_ticks": 3 * COST_TICKS_PER_IMAGE}
    assert len(body["data"]) == 3
    for item in body["data"]:
        assert item["mime_type"] == "image/jpeg"
        assert item["revised_prompt"] == ""
        assert item["respect_moderation"] is True
        assert jpeg_size(item["b64_json"]) == (1024, 1024)


async def test_default_format_is_url_served_by_the_fake(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    _, body = await post(http, api, valid(n=2))
    urls = [item["url"] for item in body["data"]]
    assert all(url.startswith(api.base_url + "/files/") for url in urls)
    for url in urls:
        async with http.get(url) as response:
            assert response.status == 200
            assert response.content_type == "image/jpeg"
            with Image.open(io.BytesIO(await response.read())) as image:
                assert image.size == (1024, 1024)
    assert len(api.downloads) == 2
    # Downloads are not API calls.
    assert len(api.requests) == 1


@pytest.mark.parametrize("aspect", ASPECT_RATIOS)
async def test_every_aspect_ratio_is_accepted(
    http: aiohttp.ClientSession, api: FakeImageAPI, aspect: str
) -> None:
    _, body = await post(http, api, valid(aspect_ratio=aspect, response_format="b64_json"))
    width, height = jpeg_size(body["data"][0]["b64_json"])
    assert (width, height) == pixel_size(aspect, "1k")
    assert max(width, height) <= 1408
    assert 0.8e6 < width * height < 1.2e6


async def test_2k_jpegs_are_as_large_as_real_ones(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    _, body = await post(http, api, valid(n=3, resolution="2k", response_format="b64_json"))
    for item in body["data"]:
        data = base64.b64decode(item["b64_json"])
        assert 2_000_000 <= len(data) <= 2_600_000
        with Image.open(io.BytesIO(data)) as image:
            assert image.size == (2048, 2048)


async def test_withheld_images_are_empty_and_flagged(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.set_withheld({1})
    _, body = await post(http, api, valid(n=3, response_format="b64_json"))
    flags = [item["respect_moderation"] for item in body["data"]]
    assert flags == [True, False, True]
    assert body["data"][1]["b64_json"] == ""
    _, body = await post(http, api, valid(n=2))
    assert body["data"][1]["url"] == ""


# -- scripting ----------------------------------------------------------------------------


async def test_scripted_answers_come_in_order_then_normal(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.script(
        Scripted(
            status=429, json={"code": "x", "error": "at capacity"}, headers={"Retry-After": "3"}
        ),
        Scripted(status=503, text="busy"),
    )
    async with http.post(
        api.base_url + PATH,
        json=valid(),
        headers={"Authorization": f"Bearer {api.api_key}"},
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "3"
        assert await response.json() == {"code": "x", "error": "at capacity"}
    assert await post(http, api, valid()) == (503, "busy")
    assert (await post(http, api, valid()))[0] == 200
    assert api.pending == 0
    assert [call.status for call in api.requests] == [429, 503, 200]


async def test_scripted_overrides_keep_validation(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.script(Scripted(image_size=(300, 200), b64_style="data_uri", withheld={0}))
    status, _ = await post(http, api, valid(n=0))
    assert status == 400  # validation ran; the script entry was used up by this call
    api.script(Scripted(image_size=(300, 200), b64_style="data_uri", withheld={0}))
    _, body = await post(http, api, valid(n=2, response_format="b64_json"))
    assert body["data"][0]["respect_moderation"] is False
    second = body["data"][1]["b64_json"]
    assert second.startswith("data:image/jpeg;base64,")
    assert jpeg_size(second.split(",", 1)[1]) == (300, 200)


async def test_drop_and_truncate_break_the_connection(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.script(Scripted(drop_connection=True))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post(http, api, valid())
    api.script(Scripted(truncate=True))
    with pytest.raises(aiohttp.ClientPayloadError):
        await post(http, api, valid(response_format="b64_json"))
    assert [call.status for call in api.requests] == [0, 200]


async def test_latency_and_delay_slow_the_answer(http: aiohttp.ClientSession) -> None:
    async with FakeImageAPI(latency=0.2) as api:
        api.script(Scripted(delay=0.2))
        started = time.monotonic()
        await post(http, api, valid())
        assert time.monotonic() - started >= 0.4


async def test_requests_are_recorded(http: aiohttp.ClientSession, api: FakeImageAPI) -> None:
    await post(http, api, valid(user="42"))
    [call] = api.requests
    assert call.body == valid(user="42")
    assert call.headers["authorization"] == f"Bearer {api.api_key}"
    assert call.method == "POST"
    assert call.status == 200


# -- hostile answers ----------------------------------------------------------------------


async def test_junk_items_follow_the_real_ones(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    api.script(Scripted(junk_items=1000))
    _, body = await post(http, api, valid(n=2, response_format="b64_json"))
    assert len(body["data"]) == 1002
    assert all("b64_json" in item for item in body["data"][:2])
    assert body["data"][2:] == [0] * 1000


async def test_scripted_urls_are_answered_as_given(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    urls = ["https://127.0.0.1:1/a.jpg", "https://10.0.0.1/b.jpg"]
    api.script(Scripted(urls=urls))
    _, body = await post(http, api, valid(n=1, response_format="url"))
    assert [item["url"] for item in body["data"]] == urls


async def test_files_may_redirect(http: aiohttp.ClientSession, api: FakeImageAPI) -> None:
    api.script(Scripted(redirect_to="https://127.0.0.1:1/elsewhere.jpg"))
    _, body = await post(http, api, valid(n=1))
    async with http.get(body["data"][0]["url"], allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "https://127.0.0.1:1/elsewhere.jpg"


async def test_scripted_images_are_answered_as_given(
    http: aiohttp.ClientSession, api: FakeImageAPI
) -> None:
    animated = make_animated_png(32, 24, 3)
    api.script(Scripted(images=[animated]))
    _, body = await post(http, api, valid(n=4, response_format="b64_json"))
    assert [base64.b64decode(item["b64_json"]) for item in body["data"]] == [animated]


async def test_animated_pngs_are_real_and_can_be_damaged_in_one_frame() -> None:
    def frames_decoded(data: bytes) -> int:
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            for frame in range(image.n_frames):
                image.seek(frame)
                try:
                    image.load()
                except OSError:
                    return frame
            return image.n_frames

    assert frames_decoded(make_animated_png(32, 24, 3)) == 3
    assert frames_decoded(make_animated_png(32, 24, 3, corrupt_frame=2)) == 2
