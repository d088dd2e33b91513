"""The real bot, run as ``bot.py`` runs it, with an event-loop lag probe beside it.

The probe sleeps 1 ms again and again and records by how much each sleep overshot: a
loop busy with something else (a long computation, a blocking call, a thread holding
the GIL) wakes it late. At exit the samples, (start, overshoot) pairs in
``time.monotonic()`` seconds, go as JSON to the file named by ``BENCH_PROBE_OUTPUT``;
the benchmark keeps those inside the window it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from array import array
from pathlib import Path

import discord

import bot
from config import Settings, SettingsError, load_settings

PROBE_INTERVAL = 0.001


async def probe(starts: array[float], lags: array[float]) -> None:
    while True:
        start = time.monotonic()
        await asyncio.sleep(PROBE_INTERVAL)
        starts.append(start)
        lags.append(time.monotonic() - start - PROBE_INTERVAL)


async def run_probed(settings: Settings, output: Path) -> int:
    starts: array[float] = array("d")
    lags: array[float] = array("d")
    task = asyncio.create_task(probe(starts, lags))
    try:
        return await bot.run(settings, force_sync=False)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        save(output, starts, lags)


def save(output: Path, starts: array[float], lags: array[float]) -> None:
    output.write_text(json.dumps({"starts": starts.tolist(), "lags": lags.tolist()}))


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=getattr(logging, settings.log_level), root=True)
    bot.apply_discord_urls(settings)
    output = Path(os.environ["BENCH_PROBE_OUTPUT"])
    return bot.run_in_loop(bot.loop_factory(settings.event_loop), run_probed(settings, output))


if __name__ == "__main__":
    sys.exit(main())
