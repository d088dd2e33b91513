"""Client of the Grok image generation API (``POST /v1/images/generations``).

One :class:`ImageClient` per process, sharing the bot's ``aiohttp.ClientSession``. It
retries what is worth retrying per :class:`RetryPolicy`, downloads URL answers at once
(from public addresses only, see :mod:`core.url_policy`), verifies every image off the
event loop (on a few threads of its own, see :data:`DECODE_THREADS`), and turns every
API-side failure into a :class:`GenerationError` whose detail never carries the key.

Answers are untrusted input (the API sits behind a third-party gateway): an answer is
read only up to a cap, and only while holding one of a few decode slots, so that the
memory answers take is bounded however many jobs get theirs at once; only the first
``n`` of its items are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

import aiohttp
import yarl

from core.classify import classify_error, parse_retry_after, scrub_secrets, short_detail
from core.decode import (
    ParsedItem,
    ParsedResponse,
    decode_and_verify,
    parse_generation_response,
    verify_image,
)
from core.errors import (
    BadResponse,
    ContentRefused,
    GenerationError,
    TransientError,
)
from core.models import EditRequest, GenerationRequest, GenerationResult, ImageFile
from core.observe import ApiObserver
from core.retry import RetryPolicy
from core.url_policy import PUBLIC_PORT, NotPublic, PublicResolver, origin_of, url_refusal
from core.video import VideoRequest, VideoStatus, parse_status

log = logging.getLogger(__name__)

GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
VIDEOS_PATH = "/v1/videos"
USER_AGENT = f"grok-imagine-discord-bot/0.1 aiohttp/{aiohttp.__version__}"
#: Only the start of an error answer is read: it holds the message, and an error page
#: from a misbehaving proxy can be arbitrarily long.
MAX_ERROR_BODY_BYTES = 64 * 1024
#: Connecting should be quick even when generating is slow.
CONNECT_TIMEOUT = 30.0
#: Per-download limit; temporary URLs point at a CDN and answer quickly.
DOWNLOAD_TIMEOUT = 60.0
#: A failed download is tried once more: the image is already paid for.
DOWNLOAD_ATTEMPTS = 2
#: Longest pause between the two download attempts.
MAX_DOWNLOAD_PAUSE = 2.0
#: What a download asks for: a picture, or a clip.
IMAGE_ACCEPT = "image/*"
VIDEO_ACCEPT = "video/mp4, video/*;q=0.9"
#: Redirects followed (each hop checked against the URL policy) when downloading.
MAX_DOWNLOAD_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Threads that decode and verify images, for all jobs together: as many as there are
#: cores, so one large answer uses them all, and no more, so that under load the threads
#: leave the event loop its share of the interpreter (a dozen of them starve it). As
#: many answers are read and decoded at once (the decode gate).
DECODE_THREADS = max(1, os.cpu_count() or 1)

_T = TypeVar("_T")


class ImageClient:
    """Generates images through the API; see :meth:`generate`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        api_key: str,
        request_timeout: float = 180.0,
        retry: RetryPolicy | None = None,
        max_download_bytes: int = 40 * 1024 * 1024,
        max_response_bytes: int = 64 * 1024 * 1024,
        rng: random.Random | None = None,
        download_timeout: float = DOWNLOAD_TIMEOUT,
        observer: ApiObserver | None = None,
    ) -> None:
        base = yarl.URL(base_url.strip().rstrip("/"))
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError("base_url must be an http:// or https:// URL with a host")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if request_timeout <= 0 or download_timeout <= 0:
            raise ValueError("timeouts must be positive")
        base_path = base.path.rstrip("/")
        # Operators often paste an OpenAI-style base that already ends in /v1.
        if base_path.endswith("/v1"):
            base_path = base_path[: -len("/v1")]
        self._session = session
        self._base = base.with_path(base_path or "/").with_query(None).with_fragment(None)
        self._endpoint = self._base.with_path(base_path + GENERATIONS_PATH)
        self._edits_endpoint = self._base.with_path(base_path + EDITS_PATH)
        self._videos = self._base.with_path(base_path + VIDEOS_PATH)
        self._origin = origin_of(self._base)
        #: The one port URL-mode images are fetched from, off the API's origin.
        self._public_port = PUBLIC_PORT
        self._api_key = api_key
        self._retry = retry if retry is not None else RetryPolicy()
        self._rng = rng if rng is not None else random.Random()
        self._max_download_bytes = max_download_bytes
        self._max_response_bytes = max_response_bytes
        self._request_timeout = request_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=request_timeout, sock_connect=min(CONNECT_TIMEOUT, request_timeout)
        )
        self._download_timeout = aiohttp.ClientTimeout(
            total=download_timeout, sock_connect=min(CONNECT_TIMEOUT, download_timeout)
        )
        self._decoding = asyncio.Semaphore(DECODE_THREADS)
        #: Hears of each retry (the bot's metrics), if anything listens.
        self._observer = observer
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }

    def __repr__(self) -> str:
        # Never show the key, even in a debugger or a crash dump.
        return f"<ImageClient endpoint={str(self._endpoint)!r}>"

    @property
    def endpoint(self) -> str:
        """The full URL requests are posted to."""
        return str(self._endpoint)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """Generate the images ``request`` asks for.

        Returns the verified images with counts of withheld and unusable ones. Raises a
        :class:`GenerationError` subclass for every API-side failure: ``ContentRefused``
        when every image was withheld, ``BadResponse`` when nothing usable came back, and
        the classified error (after retries, where retryable) for error answers,
        timeouts and broken connections.
        """
        return await self._guarded(self._generate(request))

    async def edit(self, request: EditRequest) -> GenerationResult:
        """Edit the pictures ``request`` carries (``POST /v1/images/edits``): the same
        retries, answer handling and errors as :meth:`generate`. ``request.inputs`` must
        hold the pictures as data URIs."""
        if not request.inputs:
            raise BadResponse("an edit needs its input pictures")
        return await self._guarded(self._generate(request, self._edits_endpoint))

    # -- video -------------------------------------------------------------------------

    async def submit_video(self, request: VideoRequest) -> str:
        """Submit a video (``POST /v1/videos/generations``); its request id. Never tried
        again on its own: a submission that may have been taken bills again if repeated.
        Errors as classified (the caller tells a gateway without the path)."""
        body = json.dumps(request.to_body()).encode()
        answer, _ = await self._video_call("POST", self._videos / "generations", body)
        request_id = answer.get("request_id") if isinstance(answer, dict) else None
        if not isinstance(request_id, str) or not request_id:
            raise BadResponse("video submission answered no request_id")
        return request_id

    async def video_status(self, request_id: str) -> VideoStatus:
        """One poll of a submitted video (``GET /v1/videos/{request_id}``); errors as
        classified (a retryable one may be polled again: the video is not lost)."""
        answer, retry_after = await self._video_call("GET", self._videos / request_id, None)
        return replace(parse_status(answer), retry_after=retry_after)

    async def download_video(self, url: str) -> bytes:
        """The clip at ``url``, held to the download cap; ``BadResponse`` when it cannot
        be had."""
        [blob] = await self._download_all([ParsedItem(url=url)], accept=VIDEO_ACCEPT)
        if isinstance(blob, str):
            raise BadResponse(f"video download failed: {blob}")
        return blob

    async def _video_call(
        self, method: str, url: yarl.URL, body: bytes | None
    ) -> tuple[Any, float | None]:
        """The JSON of a 2xx answer and the ``Retry-After`` it asks for, if any."""
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                if 200 <= resp.status < 300:
                    answer = await _read_body(resp, MAX_ERROR_BODY_BYTES, "answer")
                    wait = parse_retry_after(resp.headers.get("Retry-After"), time.time())
                    try:
                        return json.loads(bytes(answer)), wait
                    except ValueError:
                        raise BadResponse("video answer is not JSON") from None
                error_body = await _read_prefix(resp, MAX_ERROR_BODY_BYTES)
                raise classify_error(resp.status, error_body, resp.headers, api_key=self._api_key)
        except GenerationError as err:
            raise self._scrubbed(err) from None
        except TimeoutError:
            raise TransientError("video call timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"connection failed ({self._describe(exc)})") from None

    async def _guarded(self, work: Awaitable[GenerationResult]) -> GenerationResult:
        try:
            return await work
        except GenerationError as err:
            raise self._scrubbed(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            # Last net: each step maps its own failures, but nothing from the wire may
            # reach the Discord layer as a raw library error.
            log.warning("Unexpected image API failure: %s", self._describe(exc))
            raise BadResponse(f"unexpected failure ({self._describe(exc)})") from None

    async def _generate(
        self, request: GenerationRequest | EditRequest, endpoint: yarl.URL | None = None
    ) -> GenerationResult:
        body = json.dumps(request.to_body(), ensure_ascii=False).encode("utf-8")
        started = time.monotonic()
        # Answers run to tens of MB: the JSON and every image are decoded off the event
        # loop, the images side by side on the decode threads. The decode gate is taken
        # before an answer's body is read (see _post_once) and held until its images are
        # decoded: a few answers are in memory at a time, however many jobs got theirs;
        # the others wait, unread, in the order they came.
        async with contextlib.AsyncExitStack() as gate:
            answer, request_id, attempts = await self._post_with_retries(
                body, started, gate, endpoint
            )
            api_seconds = time.monotonic() - started
            decode_started = time.monotonic()
            parsed = await _off_loop(_parse_answer, answer)
            del answer  # the items carry what is needed; the answer itself can go
            items = _first_items(parsed, request.n)
            b64_indices = [
                i for i, item in enumerate(items) if not item.withheld and item.b64 is not None
            ]
            outcomes = await asyncio.gather(
                *(_off_loop(_decode_item, items[i]) for i in b64_indices)
            )
            decode_seconds = time.monotonic() - decode_started
        decoded: dict[int, ImageFile | str] = dict(zip(b64_indices, outcomes, strict=True))

        url_indices = [
            i
            for i, item in enumerate(items)
            if not item.withheld and item.b64 is None and item.url is not None
        ]
        if url_indices:
            download_started = time.monotonic()
            blobs = await self._download_all([items[i] for i in url_indices])
            api_seconds += time.monotonic() - download_started
            verify_started = time.monotonic()
            verified = await asyncio.gather(*(_off_loop(_verify_blob, blob) for blob in blobs))
            decode_seconds += time.monotonic() - verify_started
            for index, outcome in zip(url_indices, verified, strict=True):
                decoded[index] = outcome

        return self._result(
            parsed, items, decoded, request, attempts, api_seconds, decode_seconds, request_id
        )

    def _result(
        self,
        parsed: ParsedResponse,
        items: list[ParsedItem],
        decoded: dict[int, ImageFile | str],
        request: GenerationRequest | EditRequest,
        attempts: int,
        api_seconds: float,
        decode_seconds: float,
        request_id: str | None,
    ) -> GenerationResult:
        images: list[ImageFile] = []
        withheld = 0
        unusable = 0
        total = len(items)
        for index, item in enumerate(items):
            if item.withheld:
                withheld += 1
                continue
            outcome = decoded.get(index, "item has neither b64_json nor url")
            if isinstance(outcome, ImageFile):
                images.append(outcome)
            else:
                unusable += 1
                log.warning("Image %d of %d unusable: %s", index + 1, total, outcome)

        if not images:
            # Refused outputs may still be billed: the operator log should show the cost.
            cost = (
                f" (cost {parsed.cost_usd_ticks} ticks)"
                if parsed.cost_usd_ticks is not None
                else ""
            )
            if total and withheld == total:
                raise ContentRefused(f"all {total} image(s) withheld by moderation{cost}")
            if not total and parsed.block_reason:
                raise ContentRefused(f"request blocked: {parsed.block_reason}{cost}")
            raise BadResponse(
                f"no usable image: {total} item(s), {withheld} withheld, {unusable} unusable{cost}"
            )
        log.debug(
            "Image API answered in %.2fs (%d attempt(s)): %d image(s), %d withheld, "
            "%d unusable; decoding took %.2fs",
            api_seconds,
            attempts,
            len(images),
            withheld,
            unusable,
            decode_seconds,
        )
        extra: dict[str, Any] = {"decode_seconds": decode_seconds}
        if request_id:
            extra["request_id"] = short_detail(request_id, self._api_key, limit=100)
        if parsed.block_reason:
            extra["block_reason"] = short_detail(parsed.block_reason, self._api_key)
        if len(parsed.items) != request.n:
            extra["items"] = len(parsed.items)
        return GenerationResult(
            images=images,
            withheld=withheld,
            unusable=unusable,
            cost_usd_ticks=parsed.cost_usd_ticks,
            api_seconds=api_seconds,
            attempts=attempts,
            extra=extra,
        )

    async def _post_with_retries(
        self,
        body: bytes,
        started: float,
        gate: contextlib.AsyncExitStack,
        endpoint: yarl.URL | None = None,
    ) -> tuple[bytearray, str | None, int]:
        """The body of the first 2xx answer, read holding a slot of the decode gate,
        which ``gate`` keeps until the caller leaves it; its request id; the attempts."""
        attempt = 0
        while True:
            attempt += 1
            try:
                payload, request_id = await self._post_once(body, gate, endpoint)
            except GenerationError as err:
                # A body that could not be read gives its slot back before any retry.
                await gate.aclose()
                self._scrubbed(err)
                elapsed = time.monotonic() - started
                wait = self._retry.delay(attempt, err, self._rng, elapsed)
                if wait is None:
                    if attempt > 1:
                        log.warning(
                            "Image API gave up after %d attempts in %.1fs: %s: %s",
                            attempt,
                            elapsed,
                            type(err).__name__,
                            err.detail,
                        )
                    raise
                log.warning(
                    "Image API attempt %d/%d failed (%s: %s); retrying in %.2fs",
                    attempt,
                    self._retry.max_attempts,
                    type(err).__name__,
                    err.detail,
                    wait,
                )
                if self._observer is not None:
                    self._observer.api_retry(err.outcome.value)
                await asyncio.sleep(wait)
            else:
                return payload, request_id, attempt

    async def _post_once(
        self, body: bytes, gate: contextlib.AsyncExitStack, endpoint: yarl.URL | None = None
    ) -> tuple[bytearray, str | None]:
        try:
            async with self._session.post(
                endpoint or self._endpoint,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                request_id = resp.headers.get("x-request-id")
                if 200 <= resp.status < 300:
                    # Unread, the body waits in the socket (the server is held back by
                    # TCP) rather than in memory, until a slot frees.
                    await gate.enter_async_context(self._decoding)
                    answer = await _read_body(resp, self._max_response_bytes, "answer")
                    return answer, request_id
                error_body = await _read_prefix(resp, MAX_ERROR_BODY_BYTES)
                raise classify_error(resp.status, error_body, resp.headers, api_key=self._api_key)
        except GenerationError:
            raise
        except TimeoutError:
            # aiohttp's own timeout errors subclass TimeoutError too, so they land here.
            raise TransientError(f"no complete answer within {self._request_timeout:g}s") from None
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"answer cut short ({self._describe(exc)})") from None
        except aiohttp.ServerDisconnectedError:
            raise TransientError("server closed the connection without answering") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"connection failed ({self._describe(exc)})") from None
        except ValueError as exc:
            # Malformed answers can surface as ValueError from deep inside aiohttp.
            raise BadResponse(f"unreadable answer ({self._describe(exc)})") from None

    async def _download_all(
        self, items: list[ParsedItem], *, accept: str = IMAGE_ACCEPT
    ) -> list[bytes | str]:
        """The bytes at each item's URL, or the reason it could not be had.

        Off the API's origin, images come through a session of their own whose resolver
        keeps only public addresses (see :class:`PublicResolver`), opened for this
        answer only. All the downloads of an answer together are held to the answer cap.
        """
        budget = _Budget(self._max_response_bytes)
        resolver = PublicResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, limit_per_host=len(items))
        try:
            async with aiohttp.ClientSession(connector=connector) as public:
                return list(
                    await asyncio.gather(
                        *(self._download(item, public, budget, accept) for item in items)
                    )
                )
        finally:
            await resolver.close()

    async def _download(
        self, item: ParsedItem, public: aiohttp.ClientSession, budget: _Budget, accept: str
    ) -> bytes | str:
        """The bytes at an item's URL, or a short reason it could not be had."""
        assert item.url is not None
        try:
            target = yarl.URL(item.url)
        except (ValueError, TypeError):
            return "malformed image URL"
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            outcome, retry = await self._download_once(target, public, budget, accept)
            if not retry or attempt == DOWNLOAD_ATTEMPTS:
                return outcome
            pause = min(MAX_DOWNLOAD_PAUSE, self._retry.backoff(attempt, self._rng))
            log.info("Image download failed (%s); trying once more in %.2fs", outcome, pause)
            await asyncio.sleep(pause)
        return "download failed"  # pragma: no cover - the loop always returns

    async def _download_once(
        self, url: yarl.URL, public: aiohttp.ClientSession, budget: _Budget, accept: str
    ) -> tuple[bytes | str, bool]:
        """(bytes or reason, whether trying again may help). Redirects are followed here,
        each hop checked as the first was."""
        target = url
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            refusal = url_refusal(target, self._origin, self._public_port)
            if refusal is not None:
                return self._refused(target, refusal), False
            headers = {"User-Agent": USER_AGENT, "Accept": accept}
            session = public
            if origin_of(target) == self._origin:
                # The operator's own gateway, wherever it is; it may serve its files
                # behind the key, and nobody else gets it.
                headers["Authorization"] = self._headers["Authorization"]
                session = self._session
            try:
                async with session.get(
                    target,
                    headers=headers,
                    timeout=self._download_timeout,
                    allow_redirects=False,
                ) as resp:
                    if resp.status in _REDIRECTS and "Location" in resp.headers:
                        target = target.join(yarl.URL(resp.headers["Location"]))
                        continue
                    if resp.status != 200:
                        return f"download answered HTTP {resp.status}", resp.status >= 500
                    cap = self._max_download_bytes
                    return bytes(await _read_body(resp, cap, "image", budget)), False
            except BadResponse as exc:
                return exc.detail, False
            except TimeoutError:
                return "download timed out", True
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, NotPublic):
                    return self._refused(target, "resolves to no public address"), False
                return f"download failed ({self._describe(exc)})", True
            except (aiohttp.ClientError, OSError) as exc:
                return f"download failed ({self._describe(exc)})", True
            except ValueError as exc:
                return f"download failed ({self._describe(exc)})", False
        return "too many redirects", False

    def _refused(self, url: yarl.URL, reason: str) -> str:
        # The host is named as the answer gave it: short, and never carries the key.
        host = short_detail(url.raw_host or "", self._api_key, limit=100)
        log.warning("Refusing image URL on %s://%s: %s", url.scheme, host, reason)
        return f"refused image URL on {url.scheme}://{host} ({reason})"

    def _describe(self, exc: BaseException) -> str:
        return short_detail(f"{type(exc).__name__}: {exc}", self._api_key, limit=200)

    def _scrubbed(self, err: GenerationError) -> GenerationError:
        # Belt and braces: every detail is built scrubbed, but an error message echoed by
        # a server or a library must never carry the key into a log.
        err.detail = scrub_secrets(err.detail, self._api_key)
        err.args = tuple(
            scrub_secrets(arg, self._api_key) if isinstance(arg, str) else arg for arg in err.args
        )
        return err


class _Budget:
    """Bytes an answer's downloads may still take, together."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, size: int) -> bool:
        """Take ``size`` bytes if that many are left."""
        if size > self.left:
            return False
        self.left -= size
        return True

    def give_back(self, size: int) -> None:
        """Return what a failed download took."""
        self.left += size


async def _read_body(
    resp: aiohttp.ClientResponse, cap: int, what: str, budget: _Budget | None = None
) -> bytearray:
    """The body, at most ``cap`` bytes, in one buffer.

    One buffer, filled as the chunks arrive, rather than a list of chunks joined
    afterwards: the body is held once, not twice. A declared length over the cap is
    refused unread; a body that grows past it is dropped at once (leaving the response
    closes the connection instead of draining the rest).
    """
    length = resp.content_length
    if length is not None and length > cap:
        raise BadResponse(f"{what} of {length} bytes exceeds the {cap}-byte limit")
    buffer = bytearray()
    try:
        async for chunk in resp.content.iter_any():
            if len(buffer) + len(chunk) > cap:
                raise BadResponse(f"{what} exceeds the {cap}-byte limit")
            if budget is not None and not budget.take(len(chunk)):
                raise BadResponse("the images of this answer exceed the answer limit")
            buffer += chunk
    except BaseException:
        if budget is not None:
            budget.give_back(len(buffer))
        raise
    return buffer


async def _read_prefix(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    buffer = bytearray()
    try:
        while len(buffer) < limit:
            chunk = await resp.content.read(limit - len(buffer))
            if not chunk:
                break
            buffer += chunk
    except (aiohttp.ClientError, OSError, TimeoutError):
        # What arrived, or the status alone, still classifies the error.
        pass
    return bytes(buffer)


@functools.cache
def _decode_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="image-decode")


async def _off_loop(work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)`` on a decode thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_decode_pool(), functools.partial(work, *args))


def _parse_answer(answer: bytes | bytearray) -> ParsedResponse:
    return parse_generation_response(answer)


def _first_items(parsed: ParsedResponse, n: int) -> list[ParsedItem]:
    """The items to use: the first ``n``. More than asked is a misbehaving API; the
    extra images are not made use of (nor downloaded, nor posted)."""
    if len(parsed.items) > n:
        log.warning(
            "Image API answered %d items for %d asked; using the first %d",
            len(parsed.items),
            n,
            n,
        )
    return parsed.items[:n]


def _decode_item(item: ParsedItem) -> ImageFile | str:
    """The verified image of a base64 item, or the reason it is unusable."""
    try:
        return decode_and_verify(item)
    except BadResponse as exc:
        return exc.detail


def _verify_blob(blob: bytes | str) -> ImageFile | str:
    """A downloaded image verified; the reason a download failed passes through."""
    if isinstance(blob, str):
        return blob
    try:
        return verify_image(blob)
    except BadResponse as exc:
        return exc.detail
