"""The REST side's plumbing: recording requests, routing them, answering as Discord does.

Every request is recorded (:class:`RecordedRequest`), checked for size, parsed (JSON or
multipart), matched against the route table, authorized and answered with Discord's
rate-limit headers; injected failures come before any of the fake's own handling.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from aiohttp import web

from tests.fakes.discord.constants import Json
from tests.fakes.discord.errors import ApiError, too_large
from tests.fakes.discord.models import RecordedRequest
from tests.fakes.discord.multipart import Upload, parse_multipart
from tests.fakes.discord.snowflakes import dumps
from tests.fakes.discord.state import API_PREFIX, DiscordState

log = logging.getLogger(__name__)

_ID_IN_PATH: Final = re.compile(r"/(\d{15,}|[A-Za-z0-9_-]{40,})")
#: Path parts of route patterns: a snowflake, an interaction token.
SNOWFLAKE: Final = r"(\d+)"
TOKEN: Final = r"([^/]+)"


@dataclass
class Req:
    """A request as a route handler sees it: the record and the pattern's groups."""

    request: web.Request
    record: RecordedRequest
    match: tuple[str, ...]

    @property
    def json(self) -> Any:
        """The JSON body (or a multipart body's ``payload_json``)."""
        return self.record.json

    def uploads(self) -> list[Upload]:
        """The files of a multipart body (``files[n]``, or a single ``file``)."""
        out: list[Upload] = []
        for part in self.record.parts:
            m = re.fullmatch(r"files?\[(\d+)\]|(file)", part.name)
            if m is None or part.filename is None:
                continue
            out.append(
                Upload(m.group(1) or str(len(out)), part.filename, part.data, part.content_type)
            )
        return out

    def payload(self) -> Json:
        """The JSON body as an object (none is an empty one)."""
        data = self.record.json
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ApiError(400, 50035, "Invalid Form Body")
        return data


Handler = Callable[[Req], Awaitable[Any]]


class Route(NamedTuple):
    """One REST route: its method, its path pattern and the handler that answers it."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, pattern: str, handler: Handler) -> Route:
    """A route whose pattern matches the path without the API prefix (slash optional)."""
    return Route(method, re.compile(pattern + r"/?"), handler)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _rate_limit_headers(route_key: str) -> dict[str, str]:
    bucket = hashlib.md5(route_key.encode(), usedforsecurity=False).hexdigest()[:16]
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "49",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": bucket,
    }


@dataclass
class Failure:
    """An error to answer the next ``count`` requests whose path contains ``path_contains``.

    ``method`` is upper case, or ``*`` for any; a ``None`` header value drops that header.
    With ``drop`` the connection is cut instead, with no answer at all.
    """

    path_contains: str
    method: str
    status: int
    json: Json | None
    headers: dict[str, str | None]
    count: int
    drop: bool = False


def _failure_response(failure: Failure) -> tuple[int, Json, dict[str, str]]:
    """Status, body and headers of an injected failure, filled in as Discord would."""
    status = int(failure.status)
    body = failure.json
    headers: dict[str, str] = {}
    if status == 429:
        if body is None:
            body = {
                "message": "You are being rate limited.",
                "retry_after": 0.05,
                "global": False,
                "code": 0,
            }
        retry = float(body.get("retry_after", 0.05)) if isinstance(body, dict) else 0.05
        headers.update(
            {
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(retry))),
                "X-RateLimit-Scope": "user",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{retry:.3f}",
            }
        )
    elif body is None:
        reason = {
            500: "500: Internal Server Error",
            502: "502: Bad Gateway",
            503: "503: Service Unavailable",
        }
        body = {"message": reason.get(status, f"{status}: Error"), "code": 0}
    for key, value in failure.headers.items():
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return status, body, headers


class Rest:
    """Answers ``/api/v10/...`` from a table of routes; serves the attachments' CDN."""

    def __init__(self, state: DiscordState, routes: list[Route]) -> None:
        self.state = state
        self.routes = routes
        self._failures: list[Failure] = []

    def replace_handler(self, old: Handler, new: Handler) -> None:
        """Answer ``old``'s routes with ``new`` (to observe or time one route)."""
        self.routes[:] = [r._replace(handler=new) if r.handler == old else r for r in self.routes]

    # ----------------------------------------------------------------- failures

    def inject_failure(self, failure: Failure) -> None:
        """Answer the next ``failure.count`` matching requests with this failure."""
        self._failures.append(failure)

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if (
                failure.count > 0
                and failure.method in ("*", method)
                and failure.path_contains in path
            ):
                failure.count -= 1
                if failure.count <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    # ----------------------------------------------------------------- answering

    def _answer(
        self,
        record: RecordedRequest,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        record.status = status
        record.response = body
        record.answered = time.monotonic()
        out = dict(headers or {})
        if body is None:
            self.state.notify()
            return web.Response(status=status, headers=out)
        out["Content-Type"] = "application/json"
        self.state.notify()
        return web.Response(status=status, body=dumps(body).encode(), headers=out)

    def _record(self, request: web.Request, body: bytes) -> RecordedRequest:
        path = request.path
        route = path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            headers=dict(request.headers),
            json=None,
            parts=[],
            body=body,
            time=time.monotonic(),
        )
        m = re.match(r"/(?:interactions/\d+|webhooks/\d+)/([^/]+)", route)
        if m:
            record.token = m.group(1)
        self.state.requests.append(record)
        return record

    def _parse_body(self, request: web.Request, record: RecordedRequest) -> None:
        body = record.body
        if len(body) > self.state.request_size_limit:
            raise too_large()
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            record.parts = parse_multipart(body, ctype)
            for part in record.parts:
                if part.name == "payload_json":
                    record.json = _loads(part.data)
        elif body:
            record.json = _loads(body)

    def _find(self, method: str, route: str) -> tuple[Handler | None, tuple[str, ...], bool]:
        """The handler and the pattern's groups; and whether the path exists at all."""
        path_known = False
        for candidate in self.routes:
            found = candidate.pattern.fullmatch(route)
            if found is None:
                continue
            path_known = True
            if candidate.method == method:
                return candidate.handler, tuple(found.groups()), True
        return None, (), path_known

    def _authorized(self, request: web.Request, route: str) -> bool:
        """A bot token, except on interaction and webhook routes (their token is the path)."""
        webhookish = route.startswith(("/interactions/", "/webhooks/"))
        auth = request.headers.get("Authorization")
        return not ((not webhookish or auth is not None) and auth != f"Bot {self.state.token}")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one REST request."""
        record = self._record(request, await request.read())
        path, route = record.path, record.route
        rl_headers = _rate_limit_headers(request.method + " " + _ID_IN_PATH.sub("/:id", route))
        try:
            self._parse_body(request, record)
        except ApiError as err:
            return self._answer(record, err.status, err.body(), {**rl_headers, **err.headers})

        failure = self._take_failure(request.method, path)
        if failure is not None and failure.drop:
            record.injected = True
            log.info("dropped the connection of %s %s", request.method, path)
            if request.transport is not None:
                request.transport.abort()
            record.status, record.answered = 0, time.monotonic()
            self.state.notify()
            return web.Response(status=204)  # never written: the connection is gone
        if failure is not None:
            record.injected = True
            status, fbody, fheaders = _failure_response(failure)
            log.info("injected %s for %s %s", status, request.method, path)
            return self._answer(record, status, fbody, {**rl_headers, **fheaders})

        handler, match, path_known = self._find(request.method, route)
        if handler is None:
            if path_known:
                return self._answer(
                    record, 405, {"message": "405: Method Not Allowed", "code": 0}, rl_headers
                )
            log.warning("unknown route %s %s", request.method, path)
            return self._answer(record, 404, {"message": "404: Not Found", "code": 0}, rl_headers)
        if not self._authorized(request, route):
            return self._answer(
                record, 401, {"message": "401: Unauthorized", "code": 0}, rl_headers
            )
        return await self._run(handler, Req(request, record, match), rl_headers)

    async def _run(self, handler: Handler, req: Req, rl_headers: dict[str, str]) -> web.Response:
        record, method, path = req.record, req.record.method, req.record.path
        try:
            result = await handler(req)
        except ApiError as err:
            return self._answer(record, err.status, err.body(), {**rl_headers, **err.headers})
        except Exception as exc:  # a bug in the fake: make it loud, not a retry storm
            log.exception("fake Discord failed on %s %s", method, path)
            self.state.server_errors.append(f"{method} {path}: {exc!r}")
            return self._answer(
                record, 400, {"message": f"fake Discord error: {exc!r}", "code": 0}, rl_headers
            )
        if isinstance(result, tuple):
            status, data = result
        else:
            status, data = (204, None) if result is None else (200, result)
        return self._answer(record, status, data, rl_headers)

    async def handle_cdn(self, request: web.Request) -> web.StreamResponse:
        """Serve an attachment's bytes."""
        try:
            att = self.state.registry.attachments[int(request.match_info["aid"])]
        except (KeyError, ValueError):
            return web.Response(status=404, text="Not Found")
        self.state.cdn_fetches.append(int(request.match_info["aid"]))
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )
