"""The input pictures of an edit: fetched, told apart by their bytes, fitted to the API.

Attachment URLs come only from the chat platform's own payload (a member's typed text is
never fetched) and are downloaded through the bot's one HTTP session with a size cap and
a timeout. A picture is accepted only when its bytes are a JPEG, PNG, WebP or GIF (of
which the first frame is sent) that decodes whole; one over the API's 10 MiB or over
:data:`MAX_INPUT_PIXELS` is scaled down to fit rather than refused. Inputs go to the API
as data URIs: the API fetches URLs with a short timeout, and attachment URLs expire.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
import yarl
from PIL import Image

from core.decode import MAX_IMAGE_PIXELS
from core.errors import InvalidInput
from core.models import InputSource

log = logging.getLogger(__name__)

#: The API takes at most this many inputs per edit.
MAX_INPUTS = 3
#: The API's limit per input.
MAX_INPUT_BYTES = 10 * 1024 * 1024
#: Larger pictures are scaled down to this many pixels: far above what the model works
#: at, and keeps a data URI (and the memory a job holds) modest.
MAX_INPUT_PIXELS = 16_777_216
#: The most downloaded per input, whatever the platform says of its size (uploads of
#: boosted servers go to 100 MiB; a picture is scaled down after).
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
#: Time allowed for one download (attachment CDNs answer quickly).
DOWNLOAD_TIMEOUT = 30.0
#: Re-encoding steps: each one shrinks the sides by this much until the file fits.
_SHRINK = 0.8
_JPEG_QUALITY = 90

#: Kind sniffed from the first bytes → (Pillow format, MIME type).
_KINDS: dict[str, tuple[str, str]] = {
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "webp": ("WEBP", "image/webp"),
    "gif": ("GIF", "image/gif"),
}


def sniff(data: bytes) -> str | None:
    """``jpeg``, ``png``, ``webp`` or ``gif`` by the file's magic bytes; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


@dataclass(frozen=True, slots=True)
class PreparedInput:
    """One input picture as the API gets it."""

    data: bytes
    mime_type: str
    width: int
    height: int
    #: Whether it was re-encoded (a GIF's still, or scaled down to fit).
    scaled: bool = False

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def prepare_input(data: bytes, index: int = 0) -> PreparedInput:
    """The picture ``data`` holds, ready for the API; raises :class:`InvalidInput`
    (``not_image``, ``corrupt`` or ``too_large``) when it cannot be used."""
    kind = sniff(data)
    if kind is None:
        raise InvalidInput("not_image", index=index)
    pillow_format, mime_type = _KINDS[kind]
    try:
        with Image.open(io.BytesIO(data), formats=(pillow_format,)) as img:
            width, height = img.size
            if width <= 0 or height <= 0:
                raise InvalidInput("corrupt", index=index)
            if width * height > MAX_IMAGE_PIXELS:
                # Decoding it at all would be a decompression bomb's way in.
                raise InvalidInput("too_large", index=index, detail=f"{width}x{height}")
            img.load()
            fits = len(data) <= MAX_INPUT_BYTES and width * height <= MAX_INPUT_PIXELS
            if fits and kind != "gif":
                return PreparedInput(data, mime_type, width, height)
            return _refit(img, index)
    except InvalidInput:
        raise
    except Image.UnidentifiedImageError:
        raise InvalidInput("not_image", index=index) from None
    except Exception as exc:
        raise InvalidInput("corrupt", index=index, detail=type(exc).__name__) from None


def _refit(img: Image.Image, index: int) -> PreparedInput:
    """Re-encode a picture (its first frame) within the API's bytes and our pixels."""
    img.seek(0)
    alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    frame = img.convert("RGBA" if alpha else "RGB")
    width, height = frame.size
    scale = min(1.0, (MAX_INPUT_PIXELS / (width * height)) ** 0.5)
    while True:
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        resized = frame if size == frame.size else frame.resize(size, Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if alpha:
            resized.save(out, format="PNG", optimize=False)
        else:
            resized.save(out, format="JPEG", quality=_JPEG_QUALITY)
        blob = out.getvalue()
        if len(blob) <= MAX_INPUT_BYTES:
            mime_type = "image/png" if alpha else "image/jpeg"
            return PreparedInput(blob, mime_type, size[0], size[1], scaled=True)
        if size == (1, 1):  # pragma: no cover - a 1x1 picture always fits
            raise InvalidInput("too_large", index=index)
        scale *= _SHRINK


class InputFetcher:
    """Downloads and prepares the inputs of edits, through the bot's HTTP session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        timeout: float = DOWNLOAD_TIMEOUT,
    ) -> None:
        self._session = session
        self._max_bytes = max_bytes
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(10.0, timeout))

    async def load(self, sources: Sequence[InputSource]) -> tuple[PreparedInput, ...]:
        """Every source's picture, ready for the API, in order; raises
        :class:`InvalidInput` naming the first that cannot be used."""
        if not sources:
            raise InvalidInput("none")
        if len(sources) > MAX_INPUTS:
            raise InvalidInput("too_many", index=MAX_INPUTS)
        blobs = await asyncio.gather(
            *(self.fetch(source, index) for index, source in enumerate(sources))
        )
        prepared = []
        for index, blob in enumerate(blobs):
            # Decoding and scaling take a while on a large picture: off the event loop.
            prepared.append(await asyncio.to_thread(prepare_input, blob, index))
        return tuple(prepared)

    async def fetch(self, source: InputSource, index: int = 0) -> bytes:
        """The bytes at ``source.url`` (a URL from the platform's payload)."""
        try:
            url = yarl.URL(source.url)
        except (ValueError, TypeError):
            raise InvalidInput("download", index=index, detail="malformed URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidInput("download", index=index, detail=f"scheme {url.scheme}")
        cap = self._max_bytes
        # A file larger than the platform said it is was not the file it announced.
        declared = source.size if source.size is not None and source.size > 0 else None
        limit = cap if declared is None else min(cap, declared)
        reason = "too_large" if declared is None or declared > cap else "corrupt"
        try:
            async with self._session.get(
                url, timeout=self._timeout, headers={"Accept": "image/*"}
            ) as resp:
                if resp.status != 200:
                    raise InvalidInput("download", index=index, detail=f"HTTP {resp.status}")
                if resp.content_length is not None and resp.content_length > limit:
                    raise InvalidInput(reason, index=index, detail="announced too large")
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.content.iter_any():
                    total += len(chunk)
                    if total > limit:
                        raise InvalidInput(reason, index=index, detail="larger than announced")
                    chunks.append(chunk)
                return b"".join(chunks)
        except InvalidInput:
            raise
        except TimeoutError:
            raise InvalidInput("download", index=index, detail="timed out") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise InvalidInput("download", index=index, detail=type(exc).__name__) from None
