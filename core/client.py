"""Client of the Grok image generation API (``POST /v1/images/generations``).

One :class:`ImageClient` per process, sharing the bot's ``aiohttp.ClientSession``. It
retries what is worth retrying per :class:`RetryPolicy`, downloads URL answers at once,
verifies every image off the event loop (on a few threads of its own, see
:data:`DECODE_THREADS`), and turns every API-side failure into a
:class:`GenerationError` whose detail never carries the key.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import yarl

from core.classify import classify_error, scrub_secrets, short_detail
from core.decode import (
    ParsedItem,
    ParsedResponse,
    decode_and_verify,
    parse_generation_response,
    verify_image,
)
from core.errors import BadResponse, ContentRefused, GenerationError, TransientError
from core.models import EditRequest, GenerationRequest, GenerationResult, ImageFile
from core.retry import RetryPolicy

log = logging.getLogger(__name__)

GENERATIONS_PATH = "/v1/images/generations"
EDITS_PATH = "/v1/images/edits"
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
#: Redirects followed (each hop checked against the URL policy) when downloading.
MAX_DOWNLOAD_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Threads that decode and verify images, for all jobs together: as many as there are
#: cores, so one large answer uses them all, and no more, so that under load the threads
#: leave the event loop its share of the interpreter (a dozen of them starve it).
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
        max_response_bytes: int = 200 * 1024 * 1024,
        rng: random.Random | None = None,
        download_timeout: float = DOWNLOAD_TIMEOUT,
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
        self._origin = _origin(self._base)
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
        payload, request_id, attempts = await self._post_with_retries(body, started, endpoint)
        api_seconds = time.monotonic() - started

        # Answers run to tens of MB: the JSON and every image are decoded off the event
        # loop, the images side by side on the decode threads. A few answers at a time,
        # in the order they came: the others wait as they arrived rather than all being
        # turned into text at once (which would hold each twice in memory).
        async with self._decoding:
            decode_started = time.monotonic()
            parsed = await _off_loop(_parse_answer, payload)
            del payload  # the items carry what is needed; the answer itself can go
            b64_indices = [
                i
                for i, item in enumerate(parsed.items)
                if not item.withheld and item.b64 is not None
            ]
            outcomes = await asyncio.gather(
                *(_off_loop(_decode_item, parsed.items[i]) for i in b64_indices)
            )
            decode_seconds = time.monotonic() - decode_started
        decoded: dict[int, ImageFile | str] = dict(zip(b64_indices, outcomes, strict=True))

        url_indices = [
            i
            for i, item in enumerate(parsed.items)
            if not item.withheld and item.b64 is None and item.url is not None
        ]
        if url_indices:
            download_started = time.monotonic()
            blobs = await asyncio.gather(*(self._download(parsed.items[i]) for i in url_indices))
            api_seconds += time.monotonic() - download_started
            verify_started = time.monotonic()
            verified = await asyncio.gather(*(_off_loop(_verify_blob, blob) for blob in blobs))
            decode_seconds += time.monotonic() - verify_started
            for index, outcome in zip(url_indices, verified, strict=True):
                decoded[index] = outcome

        return self._result(
            parsed, decoded, request, attempts, api_seconds, decode_seconds, request_id
        )

    def _result(
        self,
        parsed: ParsedResponse,
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
        total = len(parsed.items)
        for index, item in enumerate(parsed.items):
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
        if len(images) + withheld + unusable != request.n:
            extra["items"] = total
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
        self, body: bytes, started: float, endpoint: yarl.URL | None = None
    ) -> tuple[list[bytes], str | None, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                payload, request_id = await self._post_once(body, endpoint)
            except GenerationError as err:
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
                await asyncio.sleep(wait)
            else:
                return payload, request_id, attempt

    async def _post_once(
        self, body: bytes, endpoint: yarl.URL | None = None
    ) -> tuple[list[bytes], str | None]:
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
                    chunks = await _read_chunks(resp, self._max_response_bytes, "answer")
                    return chunks, request_id
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

    async def _download(self, item: ParsedItem) -> bytes | str:
        """The bytes at an item's URL, or a short reason it could not be had."""
        assert item.url is not None
        try:
            target = yarl.URL(item.url)
        except (ValueError, TypeError):
            return "malformed image URL"
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            outcome, retry = await self._download_once(target)
            if not retry or attempt == DOWNLOAD_ATTEMPTS:
                return outcome
            pause = min(MAX_DOWNLOAD_PAUSE, self._retry.backoff(attempt, self._rng))
            log.info("Image download failed (%s); trying once more in %.2fs", outcome, pause)
            await asyncio.sleep(pause)
        return "download failed"  # pragma: no cover - the loop always returns

    async def _download_once(self, url: yarl.URL) -> tuple[bytes | str, bool]:
        """(bytes or reason, whether trying again may help)."""
        target = url
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            if not self._url_allowed(target):
                log.warning(
                    "Refusing image URL on %s://%s: not https and not the API's origin",
                    target.scheme,
                    target.host,
                )
                return f"refused image URL on {target.scheme}://{target.host}", False
            headers = {"User-Agent": USER_AGENT, "Accept": "image/*"}
            if _origin(target) == self._origin:
                # The gateway may serve its own files behind the key; nobody else gets it.
                headers["Authorization"] = self._headers["Authorization"]
            try:
                async with self._session.get(
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
                    return await _read_capped(resp, self._max_download_bytes, "image"), False
            except BadResponse as exc:
                return exc.detail, False
            except TimeoutError:
                return "download timed out", True
            except (aiohttp.ClientError, OSError) as exc:
                return f"download failed ({self._describe(exc)})", True
            except ValueError as exc:
                return f"download failed ({self._describe(exc)})", False
        return "too many redirects", False

    def _url_allowed(self, url: yarl.URL) -> bool:
        if not url.host:
            return False
        if url.scheme == "https":
            return True
        # An operator may run a plain-http gateway on their own host; its files come from
        # the same origin. Plain http from anywhere else could be tampered with en route.
        return _origin(url) == self._origin

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


def _origin(url: yarl.URL) -> tuple[str, str, int | None]:
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, what: str) -> bytes:
    return b"".join(await _read_chunks(resp, cap, what))


async def _read_chunks(resp: aiohttp.ClientResponse, cap: int, what: str) -> list[bytes]:
    """The body as it arrived, at most ``cap`` bytes; joining tens of MB is left to a
    thread (``bytes.join`` lets go of the GIL), since on the event loop it stalls it."""
    length = resp.content_length
    if length is not None and length > cap:
        raise BadResponse(f"{what} of {length} bytes exceeds the {cap}-byte limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_any():
        total += len(chunk)
        if total > cap:
            # Leaving the context closes the connection instead of draining the rest.
            raise BadResponse(f"{what} exceeds the {cap}-byte limit")
        chunks.append(chunk)
    return chunks


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


def _parse_answer(chunks: list[bytes]) -> ParsedResponse:
    return parse_generation_response(b"".join(chunks))


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
