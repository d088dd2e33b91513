"""The fakes from the tests, with the few extra timestamps the benchmarks need.

* :class:`TimedFakeDiscord` notes when each follow-up upload started to arrive (headers
  read, body still streaming), so that ``answered - started`` is the upload time as seen
  by Discord: the body's transfer plus Discord's handling of it.
* :class:`TimedFakeImageAPI` notes when each generation call arrived and when its answer
  was written out in full, so that the difference is the API's own time: its latency,
  making the images and sending them. It makes each kind of answer once and sends the
  same bytes to every later call asking for the same thing, so that the fake's own work
  (a 2k answer is some 30 MB of JSON) does not take the machine's cores from the bot.
* :class:`RenderingFakeImageAPI` renders each video for a number of seconds on a clock
  it is given (the fake's own plans count polls, not seconds), so that the polls of a
  clip that takes a minute can be counted without waiting a minute.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from tests.fakes.discord import FakeDiscord, FakeInteraction, RecordedRequest
from tests.fakes.discord.rest import Req
from tests.fakes.image_api import FakeImageAPI, Scripted

_STARTED = web.RequestKey("bench_started", float)


@dataclass
class Upload:
    """One follow-up (webhook) request of an interaction."""

    token: str
    started: float
    record: RecordedRequest

    @property
    def seconds(self) -> float:
        answered = self.record.answered if self.record.answered is not None else self.started
        return answered - self.started

    @property
    def bytes(self) -> int:
        return sum(part.size for part in self.record.files)


class TimedFakeDiscord(FakeDiscord):
    """:class:`FakeDiscord` that also times the arrival of each upload."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.uploads: dict[str, list[Upload]] = {}
        self._execute = self._webhooks.execute
        self._rest.replace_handler(self._execute, self._timed_execute)

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        request[_STARTED] = time.monotonic()
        return await super()._handle_rest(request)

    async def _timed_execute(self, req: Req) -> Any:
        token = req.match[1]
        started = req.request.get(_STARTED, req.record.time)
        self.uploads.setdefault(token, []).append(Upload(token, started, req.record))
        return await self._execute(req)

    def uploads_of(self, interaction: FakeInteraction) -> list[Upload]:
        return list(self.uploads.get(interaction.token, ()))

    def forget(self) -> None:
        """Drop what was recorded so far (request bodies can be hundreds of MB)."""
        self.requests.clear()
        self.uploads.clear()
        self.interactions.clear()
        self.registry.messages.clear()
        self.registry.attachments.clear()
        self.registry.interactions_by_token.clear()


@dataclass
class ApiCall:
    """One generation call: when it arrived and when its answer was fully written."""

    user: str | None
    arrived: float
    answered: float
    status: int

    @property
    def seconds(self) -> float:
        return self.answered - self.arrived


class TimedFakeImageAPI(FakeImageAPI):
    """:class:`FakeImageAPI` that also times each generation call end to end."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[ApiCall] = []
        self._answers: dict[str, Any] = {}

    def _generate(self, body: dict[str, Any], scripted: Scripted, call_number: int) -> Any:
        if scripted != Scripted():
            return super()._generate(body, scripted, call_number)
        key = json.dumps(
            {k: v for k, v in body.items() if k not in ("prompt", "user")}, sort_keys=True
        )
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = super()._generate(body, scripted, call_number)
        return answer

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        response = await super()._generations(request)
        # Send the answer here rather than after the handler returns, so that its end
        # is known; aiohttp leaves an answer that is already sent alone.
        with contextlib.suppress(ConnectionError):
            if not response.prepared:
                await response.prepare(request)
            await response.write_eof()
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        user = body.get("user") if isinstance(body, dict) else None
        self.calls.append(ApiCall(user, arrived, time.monotonic(), response.status))
        return response

    def calls_of(self, user_id: int) -> list[ApiCall]:
        return [c for c in self.calls if c.user == str(user_id)]

    def forget(self) -> None:
        self.requests.clear()
        self.calls.clear()
        self.downloads.clear()


class RenderingFakeImageAPI(FakeImageAPI):
    """:class:`FakeImageAPI` whose videos render for :attr:`render_seconds` on ``clock``:
    a poll answers pending until that long after the submission, then as the video's plan
    ends (``done`` with its clip, by default)."""

    def __init__(self, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        #: How long the next submitted videos render, seconds.
        self.render_seconds = 0.0
        self._renders: dict[str, tuple[float, float]] = {}

    async def _submit_video(self, request: web.Request) -> web.StreamResponse:
        known = set(self.videos)
        response = await super()._submit_video(request)
        for request_id in set(self.videos) - known:
            self._renders[request_id] = (self.clock(), self.render_seconds)
        return response

    async def _poll_video(self, request: web.Request) -> web.StreamResponse:
        request_id = request.match_info["request_id"]
        video = self.videos.get(request_id)
        render = self._renders.get(request_id)
        if video is not None and render is not None:
            submitted, seconds = render
            rendering = self.clock() - submitted < seconds
            # The fake answers pending while its polls are within the plan's count: keep
            # the count one poll ahead while the clip renders, and stop it once rendered.
            video.plan = replace(video.plan, pending=video.polls + 1 if rendering else video.polls)
        return await super()._poll_video(request)
