"""Figure 7: the edit path's own work before its API call, next to the generation figures.

Three pictures of the generation figures' resolution are served on loopback as Discord's
CDN would serve attachments; timed, as the bot runs them:

* fetch + check: ``InputFetcher.load`` (the downloads side by side, each picture's type
  told by its bytes and the picture decoded whole);
* encode: the pictures as data URIs in the JSON body of ``POST /v1/images/edits``;
* scale: one picture over the pixel limit (6000 x 3000) fetched and scaled down to fit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import aiohttp
from aiohttp import web

from bench.settings import BenchSettings
from bench.stats import median
from core.edit_inputs import InputFetcher
from core.models import EditRequest, InputSource
from tests.fakes.image_api import make_jpeg, pixel_size

#: A picture over ``core.edit_inputs.MAX_INPUT_PIXELS``, which the bot scales down.
OVERSIZED = (6000, 3000)


@dataclass
class EditInputRun:
    inputs: int
    input_bytes: int
    body_bytes: int
    fetch_check: float
    encode: float
    scale: float


async def _timed(action: Callable[[], Awaitable[object]], repeats: int) -> float:
    await action()  # the first touch of fresh memory is slow
    times = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
    return median(times)


async def run_edit_inputs(settings: BenchSettings) -> EditInputRun:
    width, height = pixel_size("1:1", settings.resolution)
    files = {f"{i}.jpg": make_jpeg(width, height, variant=i) for i in range(3)}
    files["big.jpg"] = make_jpeg(*OVERSIZED, noise=0.0)

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=files[request.match_info["name"]], content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    sources = [InputSource(f"{base}/{i}.jpg", size=len(files[f"{i}.jpg"])) for i in range(3)]
    try:
        async with aiohttp.ClientSession() as session:
            fetcher = InputFetcher(session)
            prepared = await fetcher.load(sources)
            request = EditRequest(
                prompt="put them together",
                model="grok-imagine-image",
                sources=tuple(sources),
                inputs=tuple(item.data_uri for item in prepared),
            )
            body = json.dumps(request.to_body()).encode()

            async def fetch_check() -> object:
                return await fetcher.load(sources)

            async def encode() -> object:
                uris = tuple(item.data_uri for item in prepared)
                return json.dumps(replace(request, inputs=uris).to_body())

            async def scale() -> object:
                return await fetcher.load([InputSource(f"{base}/big.jpg")])

            return EditInputRun(
                inputs=len(sources),
                input_bytes=sum(len(files[f"{i}.jpg"]) for i in range(3)),
                body_bytes=len(body),
                fetch_check=await _timed(fetch_check, settings.decode_repeats),
                encode=await _timed(encode, settings.decode_repeats),
                scale=await _timed(scale, max(1, settings.decode_repeats // 5)),
            )
    finally:
        await runner.cleanup()
