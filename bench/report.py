"""The figures: medians over runs, targets, verdicts, and the table in text and Markdown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import fmean as mean

from bench.decoding import DecodeRun
from bench.edit_inputs import EditInputRun
from bench.latency import Burst, LatencyRun
from bench.load import LoadRun
from bench.settings import BenchSettings
from bench.stats import median, ms
from bench.video import ClipPolls, ClipRun, VideoRun, clips_per_core_share

#: Figure 1: the bot's p99 may be this many times the floor's ...
DEFER_RATIO_TARGET = 1.25
#: ... or this much above it, seconds.
DEFER_SLACK_TARGET = 0.010
#: Figure 1: no deferral later than this at the largest burst, seconds.
DEFER_MAX_TARGET = 1.0
#: Figure 2: the bot's overhead per job, as a share of the API's latency.
OVERHEAD_SHARE_TARGET = 0.02
#: Figure 3: event-loop lag p99, seconds.
LAG_P99_TARGET = 0.020
#: Figure 4: peak resident memory over image bytes in flight.
MEMORY_RATIO_TARGET = 3.0
#: Figure 5: decode path over a bare base64 decode.
DECODE_RATIO_TARGET = 1.5


@dataclass
class Row:
    figure: str
    what: str
    result: str
    target: str
    verdict: str = ""


@dataclass
class Results:
    settings: BenchSettings
    latency: list[LatencyRun] = field(default_factory=list)
    lag: list[LoadRun] = field(default_factory=list)
    memory: list[LoadRun] = field(default_factory=list)
    decode: list[DecodeRun] = field(default_factory=list)
    edit: list[EditInputRun] = field(default_factory=list)
    video: list[VideoRun] = field(default_factory=list)


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "n/a"
    return "PASS" if ok else "MISS"


def _ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    value = ms(seconds)
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _mib(count: float) -> str:
    return f"{count / (1024 * 1024):.0f} MiB"


def _bursts(results: Results, who: str, size: int) -> list[Burst]:
    return [burst for run in results.latency for burst in run.bursts.get((who, size), ())]


def _pairs(results: Results, size: int) -> list[tuple[Burst, Burst]]:
    """(bot, floor) bursts sent one right after the other."""
    return [
        pair
        for run in results.latency
        for pair in zip(
            run.bursts.get(("bot", size), ()), run.bursts.get(("floor", size), ()), strict=False
        )
    ]


def defer_rows(results: Results) -> list[Row]:
    rows: list[Row] = []
    sizes = results.settings.bursts
    for size in sizes:
        bots, floors = _bursts(results, "bot", size), _bursts(results, "floor", size)
        pairs = _pairs(results, size)
        if not pairs:
            continue
        ratio = median(b.p99 / f.p99 for b, f in pairs if f.p99 > 0)
        slack = median(b.p99 - f.p99 for b, f in pairs)
        bot_p50, bot_p99 = median(b.p50 for b in bots), median(b.p99 for b in bots)
        floor_p50, floor_p99 = median(f.p50 for f in floors), median(f.p99 for f in floors)
        missed = sum(b.missed for b in bots)
        replied = sum(b.replied for b in bots)
        undelivered = sum(b.undelivered for b in bots)
        ok = (ratio <= DEFER_RATIO_TARGET or slack <= DEFER_SLACK_TARGET) and missed == 0
        notes = []
        if missed:
            notes.append(f"{missed} missed the deadline")
        if replied:
            notes.append(f"{replied} answered with a reply, not a deferral")
        if undelivered:
            notes.append(f"{undelivered} jobs undelivered")
        note = f"; {', '.join(notes)} (all runs)" if notes else ""
        rows.append(
            Row(
                "1",
                f"defer latency, {size} at once: bot p50 / p99 vs floor p50 / p99",
                f"{_ms(bot_p50)} / {_ms(bot_p99)} vs {_ms(floor_p50)} / {_ms(floor_p99)}"
                f" (p99 x{ratio:.2f}, {'+' if slack >= 0 else ''}{_ms(slack)}){note}",
                f"p99 <= {DEFER_RATIO_TARGET:g} x floor or floor + {_ms(DEFER_SLACK_TARGET)}",
                _verdict(ok),
            )
        )
    if sizes:
        largest = max(sizes)
        bots = _bursts(results, "bot", largest)
        if bots:
            latest = max(b.max for b in bots)
            rows.append(
                Row(
                    "1",
                    f"latest defer of {largest} at once (the worst of all bursts)",
                    _ms(latest),
                    f"<= {_ms(DEFER_MAX_TARGET)}",
                    _verdict(latest <= DEFER_MAX_TARGET),
                )
            )
    return rows


def overhead_rows(results: Results) -> list[Row]:
    settings = results.settings
    budget = OVERHEAD_SHARE_TARGET * settings.api_latency
    rows = []
    for label, pick in (
        ("1 image at 1k", lambda run: run.light),
        (f"{settings.images} images at {settings.resolution}", lambda run: run.heavy),
    ):
        per_run = [median(job.overhead for job in pick(run)) for run in results.latency]
        per_run = [v for v in per_run if not math.isnan(v)]
        if not per_run:
            continue
        overhead = median(per_run)
        parts = [
            (median(j.end_to_end for j in pick(run)), median(j.api for j in pick(run)))
            for run in results.latency
            if pick(run)
        ]
        e2e, api = median(p[0] for p in parts), median(p[1] for p in parts)
        uploads = median(median(j.upload for j in pick(run)) for run in results.latency)
        share = overhead / settings.api_latency
        rows.append(
            Row(
                "2",
                f"overhead per job, {label}: end to end - API - upload",
                f"{_ms(overhead)} = {_ms(e2e)} - {_ms(api)} - {_ms(uploads)}"
                f" ({share:.1%} of {settings.api_latency:g} s)",
                f"< {_ms(budget)} ({OVERHEAD_SHARE_TARGET:.0%})",
                _verdict(overhead < budget),
            )
        )
    return rows


def lag_rows(results: Results) -> list[Row]:
    if not results.lag:
        return []
    p99 = median(run.lag_p99 for run in results.lag)
    worst = median(run.lag_max for run in results.lag)
    window = median(run.window for run in results.lag)
    samples = median(len(run.lags) for run in results.lag)
    settings = results.settings
    return [
        Row(
            "3",
            f"event-loop lag, {settings.lag_jobs} jobs of {settings.images} at"
            f" {settings.resolution} in flight: p99 / max",
            f"{_ms(p99)} / {_ms(worst)} ({samples:.0f} probes over {window:.1f} s)",
            f"p99 < {_ms(LAG_P99_TARGET)}",
            _verdict(p99 < LAG_P99_TARGET),
        )
    ]


def memory_rows(results: Results) -> list[Row]:
    if not results.memory:
        return []
    settings = results.settings
    peak = median(run.peak_rss for run in results.memory)
    idle = median(run.idle_rss for run in results.memory)
    flight = median(run.image_bytes for run in results.memory)
    ratio = median(run.memory_ratio for run in results.memory)
    return [
        Row(
            "4",
            f"peak resident memory, {settings.memory_jobs} jobs of {settings.images} at"
            f" {settings.resolution} in flight, over image bytes in flight",
            f"x{ratio:.2f}: peak {_mib(peak)} (idle {_mib(idle)}) for {_mib(flight)}",
            f"< x{MEMORY_RATIO_TARGET:g}",
            _verdict(ratio < MEMORY_RATIO_TARGET),
        )
    ]


def decode_rows(results: Results) -> list[Row]:
    if not results.decode:
        return []
    settings = results.settings
    bare = median(run.bare for run in results.decode)
    fast = median(run.parse_b64 for run in results.decode)
    full = median(run.parse_b64_verify for run in results.decode)
    ratio = median(run.ratio for run in results.decode)
    ratio_verified = median(run.ratio_verified for run in results.decode)
    ratio_bot = median(run.ratio_as_the_bot for run in results.decode)
    as_the_bot = median(run.as_the_bot for run in results.decode)
    threads = results.decode[0].threads
    size = median(run.payload_bytes for run in results.decode)
    what = f"{settings.images} images at {settings.resolution}, {_mib(size)} of JSON"
    return [
        Row(
            "5",
            f"decode path over bare base64.b64decode ({what}): JSON + base64",
            f"x{ratio:.2f} ({_ms(fast)} vs {_ms(bare)})",
            f"<= x{DECODE_RATIO_TARGET:g}",
            _verdict(ratio <= DECODE_RATIO_TARGET),
        ),
        Row(
            "5",
            "the same with verification (every picture decoded), one thread",
            f"x{ratio_verified:.2f} ({_ms(full)} vs {_ms(bare)})",
            f"<= x{DECODE_RATIO_TARGET:g}",
            _verdict(ratio_verified <= DECODE_RATIO_TARGET),
        ),
        Row(
            "5",
            f"the same as the bot runs it, on its {threads} decode threads",
            f"x{ratio_bot:.2f} ({_ms(as_the_bot)} vs {_ms(bare)})",
            f"<= x{DECODE_RATIO_TARGET:g}",
            _verdict(ratio_bot <= DECODE_RATIO_TARGET),
        ),
    ]


def edit_rows(results: Results) -> list[Row]:
    """Figure 7: what an edit does before its API call (no target: it is measured)."""
    if not results.edit:
        return []
    runs = results.edit
    count = runs[0].inputs
    size = median(run.input_bytes for run in runs)
    body = median(run.body_bytes for run in runs)
    what = f"{count} pictures at {results.settings.resolution}, {_mib(size)}"
    return [
        Row(
            "7",
            f"edit inputs: fetch over loopback + check by bytes + decode ({what})",
            _ms(median(run.fetch_check for run in runs)),
            "(measured)",
        ),
        Row(
            "7",
            f"edit inputs: as data URIs in the JSON body ({_mib(body)})",
            _ms(median(run.encode for run in runs)),
            "(measured)",
        ),
        Row(
            "7",
            "edit inputs: one 6000 x 3000 picture fetched and scaled down to fit",
            _ms(median(run.scale for run in runs)),
            "(measured)",
        ),
    ]


#: Figure 8: the share of one core the polling of clips is given, for how many clips fit.
POLL_CORE_SHARE = 0.10


def _seconds(value: float) -> str:
    if math.isnan(value) or value < 1:
        return _ms(value)
    return f"{value:.1f} s"


def _joined(values: list[float], unit: str = "", digits: int = 0) -> str:
    return " / ".join(f"{v:.{digits}f}" for v in values) + unit


def _span(counts: list[int]) -> str:
    """``5`` or ``5-6``: the fewest and the most."""
    if not counts:
        return "n/a"
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


def poll_rows(results: Results) -> list[Row]:
    """Figure 8: polls and requests per clip by render time, and the cost of a poll."""
    if not results.video:
        return []
    settings = results.settings
    renders = list(settings.video_renders)
    rows = []
    for retry_after in settings.video_retry_afters:
        clips = [_clips_of(results, render, retry_after) for render in renders]
        polls = " / ".join(_span([c.polls for c in each]) for each in clips)
        requests = " / ".join(_span([c.requests for c in each]) for each in clips)
        late = [mean(c.late for c in each) if each else math.nan for each in clips]
        latest = max((c.late for each in clips for c in each), default=math.nan)
        header = "no Retry-After" if retry_after is None else f"Retry-After: {retry_after:g}"
        rows.append(
            Row(
                "8",
                f"polls per clip rendering {_joined(renders)} s and up ({header})",
                f"{polls} polls; {requests} requests with the submission"
                f" and the download; done seen {_joined(late, ' s', 1)} after it was"
                f" (on average; {latest:.1f} s at most)",
                "(measured)",
            )
        )
    rows.extend(_bot_rows(results))
    wall = median(run.poll_wall for run in results.video)
    cpu = median(run.poll_cpu for run in results.video)
    clips = clips_per_core_share(cpu, POLL_CORE_SHARE)
    rows.append(
        Row(
            "8",
            "one poll over loopback (client and fake in one process): wall / CPU",
            f"{_ms(wall)} / {_ms(cpu)} ({results.video[0].polls_timed} polls);"
            f" {clips:,} clips polled every 15 s take {POLL_CORE_SHARE:.0%} of a core",
            "(measured)",
        )
    )
    return rows


def _bot_rows(results: Results) -> list[Row]:
    bots = [run.bot for run in results.video if run.bot is not None]
    if not bots:
        return []
    clip = bots[0]
    kind = _clips_of(results, clip.render, None)
    same = [c.polls for c in kind if c.offset == 0]
    versus = f" (the kind alone: {_span(same)})" if same else ""
    if not clip.delivered:
        return [
            Row(
                "8",
                f"/animate through the bot, rendering {clip.render:g} s",
                "not delivered",
                "(measured)",
            )
        ]
    return [
        Row(
            "8",
            f"/animate through the real bot, rendering {clip.render:g} s of real time",
            f"{clip.polls} polls{versus}, {clip.api_requests} requests to the API;"
            f" {clip.discord_requests} to Discord ({clip.edits} edits of the answer: the"
            " progress, then the clip);"
            f" posted {_seconds(clip.seconds)} after the command",
            "(measured)",
        )
    ]


def _clips_of(results: Results, render: float, retry_after: float | None) -> list[ClipPolls]:
    return [
        clip
        for run in results.video
        for clip in run.clips
        if clip.render == render and clip.retry_after == retry_after
    ]


def clip_rows(results: Results) -> list[Row]:
    """Figure 9: a long clip downloaded, checked and re-encoded in a fresh process."""
    clips = [run.clip for run in results.video if run.clip is not None]
    if not clips:
        return []
    settings = results.settings
    first = clips[0]
    size = median(c.clip_bytes for c in clips)
    what = (
        f"{settings.video_seconds:g} s clip at {first.width}x{first.height}"
        f" ({size / (1024 * 1024):.1f} MiB)"
    )
    budget = f"{first.budget / (1024 * 1024):.3g} MiB"
    rows = [
        Row(
            "9",
            f"download + check of a {what} (VideoKind.make: poll, download, check_mp4)",
            _seconds(median(c.download_seconds for c in clips)),
            "(measured)",
        ),
        _reencode_row(clips, budget),
    ]
    p99 = median(c.stall_p99 for c in clips)
    worst = median(c.stall_max for c in clips)
    ticks = median(len(c.reencode_lates) for c in clips)
    rows.append(
        Row(
            "9",
            "event-loop stall while it re-encodes (a 10 ms ticker's lateness): p99 / max",
            f"{_ms(p99)} / {_ms(worst)} ({ticks:.0f} ticks)",
            f"p99 < {_ms(LAG_P99_TARGET)}",
            _verdict(None if math.isnan(p99) else p99 < LAG_P99_TARGET),
        )
    )
    grown = median(c.download_growth for c in clips)
    grown_all = median(c.reencode_growth for c in clips)
    rows.append(
        Row(
            "9",
            "peak resident memory over the idle process's, by the end of the download +"
            " check / of the re-encode, over the clip's size",
            f"x{grown / size:.1f} ({_mib(grown)}) / x{grown_all / size:.1f} ({_mib(grown_all)})",
            "(measured)",
        )
    )
    return rows


def _reencode_row(clips: list[ClipRun], budget: str) -> Row:
    wall = median(c.reencode_seconds for c in clips)
    cpu = median(c.reencode_cpu for c in clips)
    errors = sorted({c.error for c in clips if c.error})
    fitted = [c for c in clips if c.out_bytes]
    if fitted:
        last = fitted[-1]
        result = (
            f"{_seconds(wall)} ({cpu:.1f} s of CPU, {cpu / wall:.1f} cores):"
            f" {last.out_bytes / (1024 * 1024):.1f} MiB at {last.out_width}x{last.out_height}"
        )
    else:
        result = f"{_seconds(wall)} ({cpu:.1f} s of CPU), no clip that fits"
    if errors:
        result += f"; {len(clips) - len(fitted)} of {len(clips)} failed: {'; '.join(errors)}"
    return Row(
        "9", f"re-encode to fit {budget} (fit_files: shrink_clip in a thread)", result, "(measured)"
    )


def naive_rows(results: Results) -> list[Row]:
    rows = []
    for size in results.settings.naive_bursts:
        naives, bots = _bursts(results, "naive", size), _bursts(results, "bot", size)
        if not naives:
            continue
        censored = any(n.unanswered for n in naives)
        naive_p99 = median(n.attempt_p99 for n in naives)
        missed = median(n.missed for n in naives)
        # Each naive burst against the median of the bot's bursts of the same run.
        pairs = [
            (naive, median(b.p99 for b in run.bursts.get(("bot", size), ())))
            for run in results.latency
            for naive in run.bursts.get(("naive", size), ())
        ]
        pairs = [(n, p99) for n, p99 in pairs if p99 > 0]
        if pairs:
            ratio = median(n.attempt_p99 / p99 for n, p99 in pairs)
            versus = f"x{ratio:.0f}{'+' if censored else ''} the bot's p99 of" + (
                f" {_ms(median(b.p99 for b in bots))}"
            )
        else:
            versus = "no bot burst of this size to compare"
        rows.append(
            Row(
                "6",
                f"naive handler (blocking HTTP in the coroutine), {size} at once: p99 defer",
                f"{'>= ' if censored else ''}{_ms(naive_p99)}, {versus};"
                f" {missed:.0f} of {size} missed Discord's 3 s deadline",
                "(comparison)",
                "",
            )
        )
    return rows


def rows(results: Results) -> list[Row]:
    return [
        *defer_rows(results),
        *overhead_rows(results),
        *lag_rows(results),
        *memory_rows(results),
        *decode_rows(results),
        *edit_rows(results),
        *poll_rows(results),
        *clip_rows(results),
        *naive_rows(results),
    ]


def _text_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _md_table(header: list[str], body: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in body)
    return "\n".join(lines)


def render(
    results: Results, machine: list[tuple[str, str]], command: str, *, markdown: bool
) -> str:
    table = _md_table if markdown else _text_table
    figures = [[r.figure, r.what, r.result, r.target, r.verdict] for r in rows(results)]
    sections = [
        ("Machine", table(["what", "value"], [[k, v] for k, v in machine])),
        ("Settings", table(["what", "value"], [[k, v] for k, v in results.settings.label()])),
        ("Figures", table(["#", "measure", "result", "target", "verdict"], figures)),
    ]
    if markdown:
        parts = [f"Command: `{command}`"]
        parts.extend(f"#### {title}\n\n{body}" for title, body in sections)
    else:
        parts = [f"Command: {command}"]
        parts.extend(f"{title}\n{body}" for title, body in sections)
    return "\n\n".join(parts) + "\n"
