"""Helpers of the fake image API: pixel sizes and test images."""

from __future__ import annotations

import io

from PIL import Image

from tests.fakes.image_api import make_jpeg, make_png, make_webp, pixel_size, tag_jpeg


def test_published_pixel_sizes() -> None:
    assert pixel_size(None, None) == (1024, 1024)
    assert pixel_size("16:9", "1k") == (1408, 768)
    assert pixel_size("9:16", None) == (768, 1408)
    assert pixel_size("1:1", "2k") == (2048, 2048)
    assert pixel_size("16:9", "2k") == (2816, 1536)


def test_make_jpeg_hits_a_target_size() -> None:
    data = make_jpeg(1024, 1024, target_bytes=300_000)
    assert abs(len(data) - 300_000) < 30_000
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (1024, 1024))


def test_make_png_is_a_png() -> None:
    with Image.open(io.BytesIO(make_png(50, 20))) as image:
        image.load()
        assert (image.format, image.size) == ("PNG", (50, 20))


def test_make_webp_is_a_webp() -> None:
    with Image.open(io.BytesIO(make_webp(30, 10))) as image:
        image.load()
        assert (image.format, image.size) == ("WEBP", (30, 10))


def test_tagged_jpeg_still_decodes_and_differs() -> None:
    plain = make_jpeg(64, 64, noise=0.1)
    tagged = tag_jpeg(plain, "call=1 index=0")
    assert tagged != plain
    with Image.open(io.BytesIO(tagged)) as image:
        image.load()
        assert image.size == (64, 64)
        assert image.info.get("comment") == b"call=1 index=0"
