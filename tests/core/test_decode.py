"""Decoding a 200 answer: JSON shapes, base64 shapes, and image verification."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from PIL import ImageFile as PillowImageFile

import core.decode
from core.decode import (
    MAX_FRAMES,
    MAX_IMAGE_PIXELS,
    MAX_JSON_VALUES,
    ParsedItem,
    _load_with_lifted_payloads,
    decode_and_verify,
    decode_b64,
    parse_generation_response,
    verify_image,
)
from core.errors import BadResponse
from tests.fakes.image_api import (
    encode_b64,
    make_animated_png,
    make_jpeg,
    make_png,
    make_webp,
)

JPEG = make_jpeg(64, 48, noise=0.1)
PNG = make_png(40, 30)
WEBP = make_webp(32, 16)


def answer(**document: object) -> bytes:
    return json.dumps(document).encode()


# -- parse_generation_response ------------------------------------------------------------


def test_parses_the_documented_shape_with_xai_extras() -> None:
    payload = answer(
        created=1589478378,
        data=[
            {"b64_json": "QUJD", "mime_type": "image/jpeg", "revised_prompt": "",
             "respect_moderation": True},
            {"url": " https://cdn.example/a.jpg ", "respect_moderation": True},
            {"b64_json": "", "mime_type": "image/jpeg", "respect_moderation": False},
        ],
        usage={"cost_in_usd_ticks": 600_000_000},
    )  # fmt: skip
    parsed = parse_generation_response(payload)
    assert parsed.items == [
        ParsedItem(b64="QUJD", url=None, withheld=False, mime_type="image/jpeg"),
        ParsedItem(b64=None, url="https://cdn.example/a.jpg", withheld=False),
        ParsedItem(b64=None, url=None, withheld=True, mime_type="image/jpeg"),
    ]
    assert parsed.cost_usd_ticks == 600_000_000
    assert parsed.block_reason is None
    assert parsed.created == 1589478378


def test_minimal_openai_shape_without_created_or_usage() -> None:
    parsed = parse_generation_response(b'{"data": [{"url": "https://x/y.png"}]}')
    assert parsed.items == [ParsedItem(url="https://x/y.png")]
    assert parsed.cost_usd_ticks is None
    assert parsed.created is None


def test_flagged_item_is_withheld_even_with_a_payload() -> None:
    parsed = parse_generation_response(
        answer(data=[{"b64_json": "QUJD", "respect_moderation": False}])
    )
    assert parsed.items == [ParsedItem(withheld=True)]


def test_malformed_entries_become_unusable_items() -> None:
    parsed = parse_generation_response(
        answer(data=[None, 3, "x", [], {"b64_json": 5, "url": ["no"]}, {}])
    )
    assert parsed.items == [ParsedItem()] * 6
    assert not any(item.withheld for item in parsed.items)


@pytest.mark.parametrize(
    ("usage", "ticks"),
    [
        ({"cost_in_usd_ticks": 5}, 5),
        ({"cost_in_usd_ticks": 5.0}, 5),
        ({"cost_in_usd_ticks": -5}, None),
        ({"cost_in_usd_ticks": True}, None),
        ({"cost_in_usd_ticks": "5"}, None),
        ({}, None),
        ("cheap", None),
    ],
)
def test_cost_is_read_only_when_sane(usage: object, ticks: int | None) -> None:
    assert parse_generation_response(answer(data=[], usage=usage)).cost_usd_ticks == ticks


def test_block_reason_without_data_is_a_blocked_request() -> None:
    parsed = parse_generation_response(answer(block_reason="  prompt\nblocked "))
    assert parsed.items == []
    assert parsed.block_reason == "prompt blocked"


def test_huge_integers_and_nan_still_parse() -> None:
    payload = b'{"created": 123456789012345678901234567890, "x": NaN, "data": []}'
    parsed = parse_generation_response(payload)
    assert parsed.items == []
    assert parsed.created == 123456789012345678901234567890


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{not json",
        b'{"data": [{"b64_json": "abc',
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b'"data"',
        b"{}",
        b'{"data": {"b64_json": "x"}}',
        b'{"data": "nope"}',
        b'{"data": null}',
        b"<html>502</html>",
    ],
)
def test_unusable_answers_raise_bad_response(payload: bytes) -> None:
    with pytest.raises(BadResponse):
        parse_generation_response(payload)


def test_an_error_object_in_a_200_is_named_without_its_message() -> None:
    payload = answer(error={"message": "secret prompt echoed", "type": "upstream_error", "code": 7})
    with pytest.raises(BadResponse) as caught:
        parse_generation_response(payload)
    assert "upstream_error" in caught.value.detail
    assert "secret prompt" not in caught.value.detail


def test_deeply_nested_json_is_a_bad_response() -> None:
    with pytest.raises(BadResponse):
        parse_generation_response(b"[" * 100_000 + b"]" * 100_000)


# -- decode_b64 ---------------------------------------------------------------------------

RAW = bytes(range(256)) * 3 + b"\xfb\xff\xfe"


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(RAW).decode(),
        "data:image/jpeg;base64," + base64.b64encode(RAW).decode(),
        "DATA:image/png;charset=x;BASE64," + base64.b64encode(RAW).decode(),
        base64.b64encode(RAW).decode().rstrip("="),
        base64.urlsafe_b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode().rstrip("="),
        base64.encodebytes(RAW).decode(),
        "  " + base64.b64encode(RAW).decode() + "\r\n",
        "data:image/jpeg;base64," + base64.encodebytes(RAW).decode().rstrip("=\n"),
    ],
)
def test_decode_b64_accepts_every_shape_seen(value: str) -> None:
    assert decode_b64(value) == RAW


@pytest.mark.parametrize(
    "value",
    [
        "",
        "====",
        "!!!!",
        "abc$def",
        "QUJDR",  # a length no base64 can have
        "data:image/jpeg,QUJD",  # not base64
        "data:image/jpeg;base64" + "QUJD" * 100,  # no comma in the header
        "data:image/jpeg;base64,",
        "QUJD\u00e9",
    ],
)
def test_decode_b64_refuses_garbage(value: str) -> None:
    with pytest.raises(BadResponse):
        decode_b64(value)


def test_decode_b64_refuses_non_strings() -> None:
    with pytest.raises(BadResponse):
        decode_b64(b"QUJD")  # type: ignore[arg-type]


def test_more_than_ten_items_are_refused_before_any_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[object] = []
    monkeypatch.setattr(core.decode, "_parse_item", built.append)
    with pytest.raises(BadResponse, match="11 items, more than the 10 possible"):
        parse_generation_response(answer(data=[{"url": "https://x/y.jpg"}] * 11))
    assert built == []


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"data": [' + b"0," * 1_000_000 + b"0]}", id="a-million-zeros"),
        pytest.param(b'{"data": [' + b"{}," * 200_000 + b"{}]}", id="objects"),
        pytest.param(b'{"data": [], "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}", id="deep"),
        pytest.param(bytearray(b'{"data": [' + b"0," * 1_000_000 + b"0]}"), id="bytearray"),
    ],
)
def test_far_too_many_json_values_are_refused_unparsed(
    payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[object] = []
    monkeypatch.setattr(core.decode, "_load_json", parsed.append)
    with pytest.raises(BadResponse, match=f"too many JSON values \\(over {MAX_JSON_VALUES}\\)"):
        parse_generation_response(payload)
    assert parsed == []


def test_a_real_answer_is_far_within_the_bound() -> None:
    item = {"b64_json": encode_b64(JPEG, "data_uri"), "revised_prompt": "a, b, c " * 300}
    assert len(parse_generation_response(answer(data=[item] * 10)).items) == 10


def test_a_huge_block_reason_is_cut_before_it_is_split() -> None:
    parsed = parse_generation_response(answer(data=None, block_reason="no " * 5_000_000))
    assert parsed.block_reason is not None
    assert len(parsed.block_reason) <= 200


# -- verify_image -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime", "extension", "size"),
    [
        (JPEG, "image/jpeg", "jpg", (64, 48)),
        (PNG, "image/png", "png", (40, 30)),
        (WEBP, "image/webp", "webp", (32, 16)),
    ],
)
def test_verify_names_images_by_their_bytes(
    data: bytes, mime: str, extension: str, size: tuple[int, int]
) -> None:
    image = verify_image(data)
    assert (image.mime_type, image.extension) == (mime, extension)
    assert (image.width, image.height) == size
    assert image.data == data
    assert image.size == len(data)


def test_claimed_type_does_not_matter() -> None:
    item = ParsedItem(b64=encode_b64(PNG, "data_uri", "image/jpeg"), mime_type="image/jpeg")
    assert decode_and_verify(item).extension == "png"


def _other_format(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "PPM", "ICO"])
def test_other_image_types_are_refused(fmt: str) -> None:
    with pytest.raises(BadResponse):
        verify_image(_other_format(fmt))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not an image at all", id="text"),
        pytest.param(JPEG[: len(JPEG) // 2], id="jpeg-half"),
        pytest.param(JPEG[:-1], id="jpeg-last-byte-cut"),
        pytest.param(JPEG[:200], id="jpeg-header-only"),
        pytest.param(PNG[: len(PNG) // 2], id="png-half"),
        pytest.param(WEBP[: len(WEBP) // 2], id="webp-half"),
        pytest.param(b"\xff\xd8\xff" + b"\x00" * 5000, id="jpeg-magic-then-zeros"),
    ],
)
def test_broken_images_are_refused(data: bytes) -> None:
    with pytest.raises(BadResponse):
        verify_image(data)


def test_a_corrupt_png_checksum_is_refused() -> None:
    broken = bytearray(PNG)
    idat = broken.index(b"IDAT")
    broken[idat + 10] ^= 0xFF
    with pytest.raises(BadResponse):
        verify_image(bytes(broken))


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [7000, 20_000, 60_000])
def test_decompression_bombs_are_refused_before_decoding(side: int) -> None:
    assert side * side > MAX_IMAGE_PIXELS
    with pytest.raises(BadResponse):
        verify_image(_png_claiming(side, side))


def _animated_webp(frames: int, size: int = 32) -> bytes:
    images = [Image.new("RGB", (size, size), (40 * i, 90, 200)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], lossless=True)
    return buffer.getvalue()


def _mpo() -> bytes:
    # A JPEG with a second, smaller frame, as some cameras and encoders write.
    first = Image.open(io.BytesIO(make_jpeg(320, 240)))
    second = Image.open(io.BytesIO(make_jpeg(160, 120, variant=1)))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


MPO = _mpo()


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        pytest.param(make_animated_png(64, 48, 4), "png", id="apng"),
        pytest.param(_animated_webp(3), "webp", id="webp"),
        pytest.param(MPO, "jpg", id="jpeg-with-two-frames"),
    ],
)
def test_a_good_animated_image_is_delivered_as_it_came(data: bytes, extension: str) -> None:
    image = verify_image(data)
    assert image.extension == extension
    assert image.data == data


@pytest.mark.parametrize("frame", [1, 2, 3])
def test_an_animated_image_with_a_corrupt_later_frame_is_refused(frame: int) -> None:
    data = make_animated_png(64, 48, 4, corrupt_frame=frame)
    # The first frame alone decodes: only decoding the later ones finds the damage.
    with Image.open(io.BytesIO(data)) as first:
        first.load()
    with pytest.raises(BadResponse, match="does not decode"):
        verify_image(data)


def test_a_jpeg_whose_second_frame_is_cut_is_refused() -> None:
    cut = MPO[:-2000]
    with Image.open(io.BytesIO(cut)) as first:
        first.load()
    with pytest.raises(BadResponse, match="does not decode"):
        verify_image(cut)


def test_animated_images_are_bounded_in_frames_and_pixels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(BadResponse, match=f"more than {MAX_FRAMES}"):
        verify_image(make_animated_png(8, 8, MAX_FRAMES + 1))
    monkeypatch.setattr(core.decode, "MAX_IMAGE_PIXELS", 64 * 64 * 2)
    assert verify_image(make_png(64, 64)).width == 64
    with pytest.raises(BadResponse, match="too large to decode"):
        verify_image(make_animated_png(64, 64, 3))


def test_truncated_images_are_not_tolerated_globally() -> None:
    assert PillowImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decode_and_verify_needs_a_payload() -> None:
    with pytest.raises(BadResponse):
        decode_and_verify(ParsedItem(url="https://x/y.jpg"))


# -- the fast path for large answers ------------------------------------------------------

BIG = base64.b64encode(bytes(range(256)) * 40).decode()  # well over LIFT_MIN_CHARS


def big_answer(**overrides: object) -> dict[str, object]:
    document: dict[str, object] = {
        "created": 1,
        "data": [
            {"b64_json": BIG, "mime_type": "image/jpeg", "respect_moderation": True},
            {"b64_json": "", "respect_moderation": False},
            {"b64_json": BIG[::-1], "revised_prompt": 'say "b64_json": "x"'},
        ],
        "usage": {"cost_in_usd_ticks": 3},
    }
    document.update(overrides)
    return document


@pytest.mark.parametrize(
    "dump",
    [
        lambda d: json.dumps(d).encode(),
        lambda d: json.dumps(d, indent=2).encode(),
        lambda d: json.dumps(d, separators=(",", ":")).encode(),
        lambda d: json.dumps(d, separators=(" , ", " : ")).encode(),
        lambda d: json.dumps(d, ensure_ascii=False).encode(),
    ],
)
def test_lifting_gives_the_same_document_as_a_full_parse(dump: Any) -> None:
    payload = dump(big_answer())
    lifted = _load_with_lifted_payloads(payload)
    assert lifted is not None
    assert lifted == json.loads(payload)
    assert parse_generation_response(payload).items[0].b64 == BIG


@pytest.mark.parametrize(
    "payload",
    [
        # PHP-style escaped slashes: the full parser handles escapes.
        json.dumps(big_answer()).replace("/", "\\/").encode(),
        # A b64_json key outside an item of data.
        json.dumps(big_answer(b64_json=BIG)).encode(),
        json.dumps(big_answer(data={"b64_json": BIG})).encode(),
        json.dumps({"data": [{"nested": {"b64_json": BIG}}]}).encode(),
        # Non-ASCII inside a value.
        json.dumps({"data": [{"b64_json": BIG + "é"}]}, ensure_ascii=False).encode(),
        # Broken JSON around the values.
        json.dumps(big_answer()).encode()[:-1],
        # A value that pretends to be a placeholder.
        json.dumps({"data": [{"b64_json": "\x00b64:0"}, {"b64_json": BIG}]}).encode(),
    ],
)
def test_anything_unusual_falls_back_to_a_full_parse(payload: bytes) -> None:
    assert _load_with_lifted_payloads(payload) is None
    try:
        expected: Any = json.loads(payload)
    except ValueError:
        with pytest.raises(BadResponse):
            parse_generation_response(payload)
        return
    data = expected.get("data") if isinstance(expected, dict) else None
    if isinstance(data, list):
        parsed = parse_generation_response(payload)
        assert len(parsed.items) == len(data)


def test_escaped_slashes_still_decode() -> None:
    payload = json.dumps(big_answer()).replace("/", "\\/").encode()
    assert parse_generation_response(payload).items[0].b64 == BIG


def test_a_skeleton_with_too_many_values_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A real base64 text lifted out, and 200,000 values in the skeleton beside it.
    parsed: list[object] = []
    monkeypatch.setattr(core.decode.orjson, "loads", parsed.append)
    item = {"b64_json": encode_b64(JPEG, "bare")}
    body = json.dumps({"data": [item], "x": [0] * 200_000}).encode("ascii")
    with pytest.raises(BadResponse, match="too many JSON values"):
        parse_generation_response(body)
    assert parsed == []
