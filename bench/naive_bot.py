"""The naive design: the API's sample, a blocking HTTP call inside the command's coroutine.

It defers first (the most favourable order for it), then calls the image API with
``urllib.request`` and decodes the answer on the event loop, so every other interaction
waits behind it. The benchmark stops it once the deferrals it cares about are settled.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request

import discord

from bench.common_bot import run

#: Straight to the fake on loopback, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


async def blocking_imagine(
    interaction: discord.Interaction, prompt: str, n: int, resolution: str | None
) -> None:
    await interaction.response.defer(thinking=True)
    body: dict[str, object] = {
        "prompt": prompt,
        "model": "grok-imagine-image",
        "n": n,
        "response_format": "b64_json",
    }
    if resolution:
        body["resolution"] = resolution
    request = urllib.request.Request(
        os.environ["GROK_API_BASE_URL"].rstrip("/") + "/v1/images/generations",
        data=json.dumps(body).encode(),
        headers={
            "Authorization": f"Bearer {os.environ['GROK_API_KEY']}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with _OPENER.open(request, timeout=60) as answer:  # blocks the event loop
        document = json.load(answer)
    files = [
        discord.File(io.BytesIO(base64.b64decode(item["b64_json"])), filename=f"image{i}.jpg")
        for i, item in enumerate(document["data"])
    ]
    await interaction.followup.send(files=files)


if __name__ == "__main__":
    run(blocking_imagine)
