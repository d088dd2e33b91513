"""Figure 5: the bot's decode path against a bare ``base64.b64decode`` of the same bytes.

The answer is the one the fake API gives for ``images`` images at ``resolution`` (real
JPEGs, realistic sizes). Three timings of the same payload, in the same process:

* bare: ``base64.b64decode`` of each image's base64 text, nothing else;
* parse + base64: ``parse_generation_response`` then ``decode_b64`` of each item, i.e.
  everything the bot does to get the bytes;
* parse + base64 + verify: the same plus ``verify_image`` (the decode of each picture),
  on one thread: the CPU the whole path takes;
* the same as the bot runs it: ``core.client``'s own steps on its decode threads, the
  pictures side by side (what a job waits for).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.settings import BenchSettings
from bench.stats import median
from core import client
from core.decode import decode_and_verify, decode_b64, parse_generation_response
from tests.fakes.image_api import encode_b64, make_jpeg, pixel_size, tag_jpeg


@dataclass
class DecodeRun:
    payload_bytes: int
    image_bytes: int
    bare: float
    parse_b64: float
    parse_b64_verify: float
    as_the_bot: float
    threads: int

    @property
    def ratio(self) -> float:
        return self.parse_b64 / self.bare

    @property
    def ratio_verified(self) -> float:
        return self.parse_b64_verify / self.bare

    @property
    def ratio_as_the_bot(self) -> float:
        return self.as_the_bot / self.bare


def make_payload(images: int, resolution: str) -> tuple[bytes, list[str], int]:
    """A 200 answer as the fake API sends it, its base64 texts and the image bytes."""
    width, height = pixel_size("1:1", resolution)
    blobs = [
        tag_jpeg(make_jpeg(width, height, variant=i % 3), f"bench index={i}") for i in range(images)
    ]
    texts = [encode_b64(blob, "bare") for blob in blobs]
    document: dict[str, Any] = {
        "created": int(time.time()),
        "data": [
            {
                "b64_json": text,
                "mime_type": "image/jpeg",
                "revised_prompt": "",
                "respect_moderation": True,
            }
            for text in texts
        ],
        "usage": {"cost_in_usd_ticks": 200_000_000 * images},
    }
    return json.dumps(document).encode("ascii"), texts, sum(len(b) for b in blobs)


def _timed(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return median(times)


async def run_decode(settings: BenchSettings) -> DecodeRun:
    payload, texts, image_bytes = make_payload(settings.images, settings.resolution)

    def bare() -> object:
        return [base64.b64decode(text) for text in texts]

    def parse_b64() -> object:
        parsed = parse_generation_response(payload)
        return [decode_b64(item.b64) for item in parsed.items if item.b64 is not None]

    def parse_b64_verify() -> object:
        parsed = parse_generation_response(payload)
        return [decode_and_verify(item) for item in parsed.items]

    async def bot_steps() -> object:
        parsed = await client._off_loop(client._parse_answer, payload)
        return await asyncio.gather(
            *(client._off_loop(client._decode_item, item) for item in parsed.items)
        )

    # One untimed pass first (the first touch of fresh memory is slow), then the timed
    # ones interleaved, so that a slower moment of the machine hits all four alike.
    bare(), parse_b64(), parse_b64_verify()
    await bot_steps()
    bare_times, fast_times, full_times, bot_times = [], [], [], []
    for _ in range(max(1, settings.decode_repeats)):
        bare_times.append(_timed(bare, 1))
        fast_times.append(_timed(parse_b64, 1))
        full_times.append(_timed(parse_b64_verify, 1))
        started = time.perf_counter()
        await bot_steps()
        bot_times.append(time.perf_counter() - started)
    return DecodeRun(
        payload_bytes=len(payload),
        image_bytes=image_bytes,
        bare=median(bare_times),
        parse_b64=median(fast_times),
        parse_b64_verify=median(full_times),
        as_the_bot=median(bot_times),
        threads=client.DECODE_THREADS,
    )
