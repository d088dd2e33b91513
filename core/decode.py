"""Decode a 200 answer of the image API: JSON, base64 payloads, and the images themselves.

Everything that goes wrong here raises :class:`BadResponse`, never another exception type:
the bytes come from the network and are not trusted. These functions are CPU-bound on
multi-megabyte inputs; the client runs them in a worker thread.
"""

from __future__ import annotations

import binascii
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import orjson
import pybase64
from PIL import Image
from PIL.ImageFile import MAXBLOCK
from PIL.ImageFile import ImageFile as PillowImage

from core.errors import BadResponse
from core.models import ImageFile
from core.options import MAX_IMAGES

#: Largest image, in pixels, that is decoded at all. Real 2k answers are about 4.3 MP;
#: anything far beyond is a decompression bomb or a mistake. For an animated image this
#: bounds the pixels of all its frames together.
MAX_IMAGE_PIXELS = 40_000_000
#: Most frames an animated image may have; every one of them is decoded.
MAX_FRAMES = 100
#: Most entries a ``data`` list may have: the API makes at most this many images.
MAX_ITEMS = MAX_IMAGES
#: Bound on the JSON values an answer may hold (see :func:`_check_structure`). A real
#: answer holds a few hundred; a hostile one of millions would cost seconds and
#: gigabytes to build before its item count could be looked at.
MAX_JSON_VALUES = 100_000
#: A skeleton left after lifting the base64 values out is this small in real answers;
#: a larger one is parsed whole, which holds the answer no more than twice.
MAX_SKELETON_BYTES = 1024 * 1024
#: Pillow format name → (MIME type, file extension). MPO is how Pillow names a JPEG that
#: carries extra frames (some cameras and encoders); it is still a JPEG file.
IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "MPO": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
#: Formats Pillow may try; limiting them keeps Pillow from probing every plugin it has on
#: untrusted bytes.
PILLOW_FORMATS = ("JPEG", "PNG", "WEBP")
#: A data URI's header is short (``data:image/jpeg;base64,``); the comma is searched for
#: only this far so a huge bare payload is not scanned twice.
MAX_DATA_URI_HEADER = 256
#: Longest block reason kept.
MAX_REASON_CHARS = 200
#: ``b64_json`` values at least this long are lifted out of the JSON before parsing (see
#: :func:`_load_with_lifted_payloads`); shorter ones are not worth it.
LIFT_MIN_CHARS = 4096
_B64_KEY = b'"b64_json"'
_JSON_WHITESPACE = b" \t\r\n"
# Stands in for a lifted value inside the skeleton; NUL is escaped so it survives JSON.
_PLACEHOLDER_PREFIX = "\x00b64:"

# Whitespace out and the URL-safe alphabet mapped back, in one pass (one copy of a
# payload, not two).
_LENIENT = str.maketrans("-_", "+/", " \t\r\n\f\v")


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry of ``data``: a base64 payload or a URL, or neither when withheld."""

    b64: str | None = None
    url: str | None = None
    #: The API withheld this image for moderation (``respect_moderation: false``).
    withheld: bool = False
    #: The type the API claims; informational only, the bytes decide.
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """The useful parts of a 200 answer."""

    items: list[ParsedItem] = field(default_factory=list)
    #: ``usage.cost_in_usd_ticks`` (1 tick = 1e-10 USD) when reported.
    cost_usd_ticks: int | None = None
    #: ``block_reason`` when the API gives one for the whole request.
    block_reason: str | None = None
    created: int | None = None


def parse_generation_response(payload: bytes | bytearray) -> ParsedResponse:
    """Parse the JSON body of a 200 answer into items, cost and block reason.

    Raises :class:`BadResponse` for invalid JSON, a body that is not an object, a missing
    or non-list ``data``, or one of more than :data:`MAX_ITEMS` entries (refused before
    any item is built, as is a body of far more JSON values than an answer holds).
    Individual malformed entries become items with neither payload nor URL (counted
    unusable later) rather than failing the whole answer, since the other images were
    paid for. Besides ``payload`` itself, at most about its size again is held: the
    base64 texts of the items.
    """
    document = _load_document(payload)
    if not isinstance(document, dict):
        raise BadResponse(f"answer is a JSON {type(document).__name__}, not an object")
    data = document.get("data")
    block_reason = _short_text(document.get("block_reason"))
    if data is None:
        hint = _error_hint(document)
        if block_reason:
            # A request blocked as a whole may come back without a data list at all.
            return ParsedResponse([], _ticks(document.get("usage")), block_reason)
        raise BadResponse("answer has no data list" + (f" ({hint})" if hint else ""))
    if not isinstance(data, list):
        raise BadResponse(f"answer's data is a {type(data).__name__}, not a list")
    if len(data) > MAX_ITEMS:
        raise BadResponse(f"answer has {len(data)} items, more than the {MAX_ITEMS} possible")
    items = [_parse_item(entry) for entry in data]
    created = document.get("created")
    return ParsedResponse(
        items=items,
        cost_usd_ticks=_ticks(document.get("usage")),
        block_reason=block_reason,
        created=created if isinstance(created, int) and not isinstance(created, bool) else None,
    )


def _check_structure(payload: bytes | bytearray | memoryview | str) -> None:
    """Refuse a body that would build more than :data:`MAX_JSON_VALUES` values.

    Every JSON value but the root is the first in its array or object, or follows a
    comma, and so is every key: the brackets and commas bound what a parse builds. They
    are counted in C at memory speed; commas inside strings only make the bound looser.
    """
    if isinstance(payload, str):
        marks = payload.count(",") + payload.count("{") + payload.count("[")
    else:
        view = payload if isinstance(payload, bytes | bytearray) else bytes(payload)
        marks = view.count(b",") + view.count(b"{") + view.count(b"[")
    if marks > MAX_JSON_VALUES:
        raise BadResponse(f"answer holds far too many JSON values (over {MAX_JSON_VALUES})")


def _load_document(payload: bytes | bytearray | memoryview | str) -> Any:
    """The parsed answer, its structure checked first (:func:`_check_structure`): on the
    small skeleton when the base64 texts are lifted out (they hold no comma nor bracket),
    else on the whole payload."""
    if isinstance(payload, bytes | bytearray) and len(payload) >= LIFT_MIN_CHARS:
        document = _load_with_lifted_payloads(payload)
        if document is not None:
            return document
    _check_structure(payload)
    return _load_json(payload)


def _load_with_lifted_payloads(
    payload: bytes | bytearray, min_chars: int = LIFT_MIN_CHARS
) -> Any | None:
    """Parse ``payload`` without running the multi-megabyte base64 strings through JSON.

    Each long ``"b64_json": "..."`` value free of escapes is cut out, replaced by a short
    placeholder, and the small skeleton left over is parsed strictly; the values are then
    put back as ``str`` made straight from the payload's bytes. Building every string
    inside the JSON parser costs as much as half the base64 decode itself; this makes
    the JSON part nearly free.

    Returns None, so the caller parses the whole payload normally, whenever anything is
    unusual: an escape or non-ASCII byte inside a value, a ``b64_json`` key found anywhere
    but directly in an item of ``data``, a skeleton that is not valid JSON or larger than
    :data:`MAX_SKELETON_BYTES` (the skeleton is a copy of the payload's rest). Only the
    lifted values are not checked for raw control characters here; the strict base64
    decode refuses those later.
    """
    view = memoryview(payload)
    # Views, not slices: slices would copy the payload's rest once more.
    pieces: list[memoryview | bytes] = []
    spans: list[tuple[int, int]] = []
    copied_to = 0
    position = 0
    while True:
        key = payload.find(_B64_KEY, position)
        if key < 0:
            break
        cursor = _skip_whitespace(payload, key + len(_B64_KEY))
        if payload[cursor : cursor + 1] != b":":
            position = cursor
            continue
        cursor = _skip_whitespace(payload, cursor + 1)
        if payload[cursor : cursor + 1] != b'"':
            position = cursor
            continue
        start = cursor + 1
        end = payload.find(b'"', start)
        if end < 0:
            return None
        position = end + 1
        if end - start < min_chars:
            continue
        if payload.find(b"\\", start, end) >= 0:
            return None
        pieces.append(view[copied_to:start])
        pieces.append(f"\\u0000b64:{len(spans)}".encode("ascii"))
        spans.append((start, end))
        copied_to = end
    if not spans:
        return None
    pieces.append(view[copied_to:])
    if sum(len(piece) for piece in pieces) > MAX_SKELETON_BYTES:
        return None
    text = b"".join(pieces)
    _check_structure(text)
    try:
        skeleton = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    try:
        values = [str(view[start:end], "ascii") for start, end in spans]
    except UnicodeDecodeError:
        return None
    if not _put_back(skeleton, values):
        return None
    return skeleton


def _skip_whitespace(payload: bytes | bytearray, position: int) -> int:
    while position < len(payload) and payload[position] in _JSON_WHITESPACE:
        position += 1
    return position


def _put_back(skeleton: Any, values: list[str]) -> bool:
    # Every placeholder must sit exactly where it is expected, once; otherwise the fast
    # path's reading of the payload cannot be trusted and the caller parses it whole.
    if not isinstance(skeleton, dict) or not isinstance(skeleton.get("data"), list):
        return False
    used = 0
    for item in skeleton["data"]:
        if not isinstance(item, dict):
            continue
        value = item.get("b64_json")
        if not isinstance(value, str) or not value.startswith(_PLACEHOLDER_PREFIX):
            continue
        if value != f"{_PLACEHOLDER_PREFIX}{used}":
            return False
        item["b64_json"] = values[used]
        used += 1
    return used == len(values)


def _load_json(payload: bytes | bytearray | memoryview | str) -> Any:
    if isinstance(payload, memoryview):
        payload = payload.tobytes()
    if not isinstance(payload, bytes | bytearray | str):
        raise BadResponse(f"answer body is a {type(payload).__name__}")
    try:
        # orjson parses a multi-megabyte base64 answer about twice as fast as json.
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    # orjson is strict (no integers beyond 64 bits, no NaN); give json a chance before
    # calling a whole paid answer bad.
    try:
        return json.loads(payload)
    except (ValueError, TypeError, RecursionError) as exc:
        raise BadResponse(f"answer is not valid JSON ({type(exc).__name__})") from None


def _parse_item(entry: Any) -> ParsedItem:
    if not isinstance(entry, dict):
        return ParsedItem()
    b64 = entry.get("b64_json")
    url = entry.get("url")
    mime = entry.get("mime_type")
    b64_value = b64 if isinstance(b64, str) and b64 else None
    url_value = url.strip() if isinstance(url, str) and url.strip() else None
    # The contract says withheld images come back empty; one flagged but not empty is
    # dropped all the same, since the API says it did not pass moderation.
    withheld = entry.get("respect_moderation") is False
    if not withheld and b64_value is None and url_value is None and entry.get("block_reason"):
        withheld = True
    return ParsedItem(
        b64=None if withheld else b64_value,
        url=None if withheld else url_value,
        withheld=withheld,
        mime_type=mime if isinstance(mime, str) and mime else None,
    )


def _ticks(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    value = usage.get("cost_in_usd_ticks")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    return None


def _short_text(value: Any) -> str | None:
    if value is None or value is False or value == "":
        return None
    text = value if isinstance(value, str) else str(value)
    # Cut before splitting: a hostile reason of millions of words would build as many.
    return " ".join(text[: MAX_REASON_CHARS * 4].split())[:MAX_REASON_CHARS] or None


def _error_hint(document: dict[str, Any]) -> str:
    # A gateway may answer 200 with an error object; its type/code (never the free-text
    # message, which could echo request data) helps the operator.
    error = document.get("error")
    if isinstance(error, dict):
        parts = [error.get("type"), error.get("code")]
        return " ".join(str(p)[:60] for p in parts if isinstance(p, str | int) and p)
    code = document.get("code")
    if isinstance(code, str | int) and code:
        return str(code)[:60]
    return "error" if error else ""


def decode_b64(value: str) -> bytes:
    """Bytes of a base64 image payload: bare base64 or a ``data:...;base64,`` URI.

    Tolerates whitespace and line breaks, missing padding and the URL-safe alphabet; the
    common clean case takes a single strict SIMD decode (pybase64, some 30 times quicker
    than ``binascii`` on a 2k image, and so holding the GIL that much less). Raises
    :class:`BadResponse` for anything else, including an empty result.
    """
    if not isinstance(value, str):
        raise BadResponse(f"base64 payload is a {type(value).__name__}, not a string")
    text = value
    if text[:5].lower() == "data:":
        comma = text.find(",", 0, MAX_DATA_URI_HEADER)
        if comma < 0:
            raise BadResponse("data URI without a comma")
        if ";base64" not in text[5:comma].lower():
            raise BadResponse("data URI is not base64")
        text = text[comma + 1 :]
    try:
        data = pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        data = _decode_lenient(text)
    if not data:
        raise BadResponse("empty base64 payload")
    return data


def _decode_lenient(text: str) -> bytes:
    cleaned = text.translate(_LENIENT).rstrip("=")
    remainder = len(cleaned) % 4
    if remainder == 1:
        raise BadResponse("base64 payload has an impossible length")
    if remainder:
        cleaned += "=" * (4 - remainder)
    try:
        return binascii.a2b_base64(cleaned, strict_mode=True)
    except (binascii.Error, ValueError):
        raise BadResponse("payload is not valid base64") from None


def verify_image(data: bytes) -> ImageFile:
    """Fully decode ``data`` and describe it, named by the type its bytes really have.

    Only JPEG, PNG and WebP are accepted. The whole image is decoded (a truncated or
    corrupt file fails here rather than in the user's client), after checking the pixel
    count from the header against :data:`MAX_IMAGE_PIXELS`. An animated image (APNG,
    animated WebP, a JPEG with extra frames) has every frame decoded, within
    :data:`MAX_FRAMES` frames and :data:`MAX_IMAGE_PIXELS` pixels in all: it is
    delivered as it came only when all of it decodes. A JPEG is decoded at an eighth of
    its size: every block of its compressed data is still read and decoded, so it fails
    alike, but the pixels are rebuilt for a fraction of the cost. The original bytes are
    kept untouched. Raises :class:`BadResponse` on any failure.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BadResponse(f"image is a {type(data).__name__}, not bytes")
    blob = bytes(data)
    if not blob:
        raise BadResponse("image is empty")
    try:
        with Image.open(io.BytesIO(blob), formats=PILLOW_FORMATS) as img:
            kind = IMAGE_TYPES.get(img.format or "")
            if kind is None:
                raise BadResponse(f"unsupported image type {img.format}")
            width, height = img.size
            if width <= 0 or height <= 0:
                raise BadResponse("image has no pixels")
            frames = _frame_count(img)
            if frames > MAX_FRAMES:
                raise BadResponse(f"image has {frames} frames, more than {MAX_FRAMES}")
            if frames * width * height > MAX_IMAGE_PIXELS:
                raise BadResponse(
                    f"image too large to decode ({width}x{height}, {frames} frame(s))"
                )
            jpeg = kind[0] == "image/jpeg"
            for frame in range(frames):
                if jpeg and frame:
                    # Pillow's draft mode does not carry over to a JPEG's next frame:
                    # each later frame is decoded from an image opened afresh.
                    with Image.open(io.BytesIO(blob), formats=PILLOW_FORMATS) as again:
                        _decode_frame(again, frame, len(blob), jpeg=True)
                else:
                    _decode_frame(img, frame, len(blob), jpeg=jpeg)
    except BadResponse:
        raise
    except Image.UnidentifiedImageError:
        raise BadResponse("bytes are not a JPEG, PNG or WebP image") from None
    except Exception as exc:
        raise BadResponse(f"image does not decode ({type(exc).__name__})") from None
    mime_type, extension = kind
    return ImageFile(
        data=blob,
        mime_type=mime_type,
        extension=extension,
        width=width,
        height=height,
    )


def _frame_count(img: PillowImage) -> int:
    frames = getattr(img, "n_frames", 1)
    return frames if isinstance(frames, int) and frames >= 1 else 1


def _decode_frame(img: PillowImage, frame: int, size: int, *, jpeg: bool) -> None:
    if frame:
        img.seek(frame)
        # A later frame may declare a size of its own (a JPEG's extra frames do).
        width, height = img.size
        if width <= 0 or height <= 0 or width * height > MAX_IMAGE_PIXELS:
            raise BadResponse(f"frame {frame + 1} has an impossible size ({width}x{height})")
    if jpeg:
        width, height = img.size
        img.draft(None, (max(1, width // 8), max(1, height // 8)))
    # The whole file in one decoder call, which runs without the GIL: one call rather
    # than one per 64 KiB block leaves the event loop its share of it.
    img.decodermaxblock = max(size, MAXBLOCK)
    img.load()


def decode_and_verify(item: ParsedItem) -> ImageFile:
    """The verified image an item's base64 payload holds; :class:`BadResponse` otherwise."""
    if item.b64 is None:
        raise BadResponse("item carries no base64 payload")
    return verify_image(decode_b64(item.b64))
