"""The command line: ``python -m bench [--quick] [--runs N] [--output PATH | --no-write]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from bench import machine
from bench.decoding import run_decode
from bench.edit_inputs import run_edit_inputs
from bench.latency import LatencyBench
from bench.load import run_load
from bench.report import Results, render
from bench.settings import FULL, QUICK, TINY, BenchSettings
from bench.video import run_video
from tests.e2e.harness import REPO

DEFAULT_OUTPUT = REPO / "docs" / "performance.md"
BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"
PARTS = ("decode", "edit", "latency", "load", "video")

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def run_all(
    settings: BenchSettings, workdir: Path, parts: Sequence[str] = PARTS, say: Say = _stderr
) -> Results:
    """Every run of every selected part; ``workdir`` holds the bots' files and logs."""
    results = Results(settings)
    if "decode" in parts:
        for index in range(settings.runs):
            say(f"decode: run {index + 1}/{settings.runs}")
            results.decode.append(await run_decode(settings))
    if "edit" in parts:
        for index in range(settings.runs):
            say(f"edit inputs: run {index + 1}/{settings.runs}")
            results.edit.append(await run_edit_inputs(settings))
    if "latency" in parts:
        say("latency: starting the bot and the floor bot")
        async with LatencyBench(settings, workdir / "latency") as bench:
            for index in range(settings.runs):
                say(f"latency: run {index + 1}/{settings.runs}")
                results.latency.append(await bench.run_once(index))
    if "load" in parts:
        for index in range(settings.runs):
            say(f"load: run {index + 1}/{settings.runs}: loop lag")
            results.lag.append(
                await run_load(settings, settings.lag_jobs, workdir / "load", f"lag{index}")
            )
            say(f"load: run {index + 1}/{settings.runs}: memory")
            results.memory.append(
                await run_load(settings, settings.memory_jobs, workdir / "load", f"mem{index}")
            )
    if "video" in parts:
        for index in range(settings.runs):
            say(f"video: run {index + 1}/{settings.runs}: polls, a clip re-encoded")
            # The clip through the real bot takes real time: once, not every run.
            run = await run_video(settings, workdir / "video", with_bot=index == 0)
            results.video.append(run)
    return results


def update_document(path: Path, block: str) -> None:
    """Put ``block`` between the result markers of ``path`` (made if it is missing)."""
    text = path.read_text() if path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{head}{BEGIN}\n{block.rstrip()}\n{END}{tail}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the bot against the fake Discord and the fake image API.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, one run (under a minute)")
    size.add_argument("--tiny", action="store_true", help="smallest sizes (the smoke test's)")
    parser.add_argument("--runs", type=int, help="runs of everything (default 3; --quick 1)")
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="the bot's EVENT_LOOP (default auto: uvloop where installed)",
    )
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run only this part (repeatable)"
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--output",
        type=Path,
        help="Markdown file whose results block is replaced"
        " (default: docs/performance.md for a full run)",
    )
    out.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The naive bot is killed in the middle of its requests: the fakes' servers say so.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    settings = TINY if args.tiny else QUICK if args.quick else FULL
    if args.runs is not None:
        settings = replace(settings, runs=args.runs)
    settings = replace(settings, event_loop=args.loop)
    parts = tuple(args.only or PARTS)
    command = " ".join(["python -m bench", *(sys.argv[1:] if argv is None else argv)])
    command = command.replace(f" --output {args.output}", "") if args.output else command
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        results = asyncio.run(run_all(settings, Path(scratch), parts))
    _stderr(f"done in {time.monotonic() - started:.0f} s")
    rows = machine.describe()
    print(render(results, rows, command, markdown=False))
    output = args.output
    if output is None and not (args.no_write or args.quick or args.tiny or args.only):
        output = DEFAULT_OUTPUT
    if output is not None and not args.no_write:
        update_document(output, render(results, rows, command, markdown=True))
        _stderr(f"results written to {output}")
    return 0
