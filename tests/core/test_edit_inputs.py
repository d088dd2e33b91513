"""The input pictures of an edit: told apart by their bytes, refused or scaled, fetched."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image

from core import edit_inputs
from core.edit_inputs import InputFetcher, prepare_input, sniff
from core.errors import InvalidInput
from core.models import InputSource
from tests.fakes.image_api import make_jpeg, make_png, make_webp


def gif(width: int = 40, height: int = 30, frames: int = 2) -> bytes:
    pictures = [Image.new("P", (width, height), color=i * 40) for i in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:])
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (make_jpeg(64, 48), "jpeg"),
        (make_png(64, 48), "png"),
        (make_webp(64, 48), "webp"),
        (gif(), "gif"),
        (b"%PDF-1.7 not a picture", None),
        (b"", None),
    ],
)
def test_sniff_tells_kinds_apart_by_their_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("data", "mime_type"),
    [
        (make_jpeg(64, 48), "image/jpeg"),
        (make_png(64, 48), "image/png"),
        (make_webp(64, 48), "image/webp"),
    ],
)
def test_a_picture_that_fits_is_sent_as_it_is(data: bytes, mime_type: str) -> None:
    prepared = prepare_input(data)
    assert (prepared.data, prepared.mime_type, prepared.scaled) == (data, mime_type, False)
    assert (prepared.width, prepared.height) == (64, 48)
    header, _, payload = prepared.data_uri.partition(",")
    assert header == f"data:{mime_type};base64"
    assert base64.b64decode(payload) == data


def test_a_gif_is_sent_as_a_still_of_its_first_frame() -> None:
    prepared = prepare_input(gif())
    assert prepared.mime_type in ("image/jpeg", "image/png")
    assert prepared.scaled
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.size == (40, 30)


def test_what_is_not_a_picture_is_refused_as_such() -> None:
    with pytest.raises(InvalidInput) as caught:
        prepare_input(b"<html>hello</html>", index=2)
    assert (caught.value.reason, caught.value.index) == ("not_image", 2)


def test_a_truncated_picture_is_refused_as_corrupt() -> None:
    data = make_png(256, 256)
    with pytest.raises(InvalidInput) as caught:
        prepare_input(data[: len(data) // 2])
    assert caught.value.reason == "corrupt"


def test_a_picture_with_too_many_pixels_is_scaled_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit_inputs, "MAX_INPUT_PIXELS", 100 * 100)
    prepared = prepare_input(make_jpeg(400, 200))
    assert prepared.scaled
    assert prepared.width * prepared.height <= 100 * 100
    assert abs(prepared.width / prepared.height - 2.0) < 0.05


def test_a_picture_over_the_byte_limit_is_scaled_to_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edit_inputs, "MAX_INPUT_BYTES", 20_000)
    data = make_png(300, 300, noise=0.9)
    assert len(data) > 20_000
    prepared = prepare_input(data)
    assert prepared.scaled
    assert len(prepared.data) <= 20_000
    assert sniff(prepared.data) in ("jpeg", "png")


# -- fetching -------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def files() -> AsyncIterator[tuple[str, dict[str, bytes]]]:
    served: dict[str, bytes] = {}

    async def handler(request: web.Request) -> web.Response:
        data = served.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", served
    await runner.cleanup()


@pytest.mark.asyncio
async def test_the_fetcher_loads_every_source_in_order(
    files: tuple[str, dict[str, bytes]],
) -> None:
    base, served = files
    served["a.png"], served["b.jpg"] = make_png(32, 32), make_jpeg(48, 32)
    async with aiohttp.ClientSession() as session:
        fetcher = InputFetcher(session)
        loaded = await fetcher.load(
            [InputSource(f"{base}/a.png", size=len(served["a.png"])), InputSource(f"{base}/b.jpg")]
        )
    assert [item.mime_type for item in loaded] == ["image/png", "image/jpeg"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "declared", "reason"),
    [
        ("missing.png", None, "download"),
        ("big.png", 10, "corrupt"),  # larger than the platform said it is
        ("text.png", None, "not_image"),
    ],
)
async def test_the_fetcher_refuses_what_cannot_be_used(
    files: tuple[str, dict[str, bytes]], name: str, declared: int | None, reason: str
) -> None:
    base, served = files
    served["big.png"], served["text.png"] = make_png(32, 32), b"just some text"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidInput) as caught:
            await InputFetcher(session).load(
                [InputSource(f"{base}/big.png"), InputSource(f"{base}/{name}", size=declared)]
            )
    assert (caught.value.reason, caught.value.index) == (reason, 1)


@pytest.mark.asyncio
async def test_the_fetcher_caps_downloads_and_refuses_other_schemes(
    files: tuple[str, dict[str, bytes]],
) -> None:
    base, served = files
    served["a.png"] = make_png(64, 64)
    async with aiohttp.ClientSession() as session:
        fetcher = InputFetcher(session, max_bytes=100)
        with pytest.raises(InvalidInput) as caught:
            await fetcher.fetch(InputSource(f"{base}/a.png"))
        assert caught.value.reason == "too_large"
        with pytest.raises(InvalidInput) as caught:
            await fetcher.fetch(InputSource("file:///etc/passwd"))
        assert caught.value.reason == "download"
        with pytest.raises(InvalidInput) as caught:
            await fetcher.load([])
        assert caught.value.reason == "none"
        with pytest.raises(InvalidInput) as caught:
            await fetcher.load([InputSource(f"{base}/a.png")] * 4)
        assert caught.value.reason == "too_many"
