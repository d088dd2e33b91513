"""Delivery planning and re-encoding within Discord's limits."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from core.delivery import (
    MAX_REQUEST_BYTES,
    DeliveryLimits,
    plan_batches,
    shrink_image,
    smaller_limits,
)
from core.models import ImageFile

MIB = 1024 * 1024
TEN_MIB = DeliveryLimits.for_interaction(10 * MIB)


def covers(batches: list[list[int]], count: int) -> bool:
    return sorted(i for batch in batches for i in batch) == list(range(count))


def test_ten_2k_images_of_2_4_mb_fit_one_message() -> None:
    sizes = [int(2.4 * 1000 * 1000)] * 10
    batches = plan_batches(sizes, TEN_MIB)
    assert batches == [list(range(10))]


def test_ten_images_of_4_mb_need_two_messages_under_25_mib() -> None:
    sizes = [4 * MIB] * 10
    batches = plan_batches(sizes, TEN_MIB)
    assert len(batches) == 2
    assert covers(batches, 10)
    for batch in batches:
        assert sum(sizes[i] for i in batch) <= TEN_MIB.payload_budget


def test_at_most_ten_files_a_message() -> None:
    batches = plan_batches([1000] * 10, DeliveryLimits(per_file=MIB, max_files=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert batches[0] == [0, 1, 2]


def test_first_fit_decreasing_uses_few_messages_and_keeps_order() -> None:
    limits = DeliveryLimits(per_file=10 * MIB, per_request=10 * MIB + 256 * 1024)
    sizes = [6 * MIB, 4 * MIB, 5 * MIB, 5 * MIB]
    batches = plan_batches(sizes, limits)
    assert len(batches) == 2
    assert covers(batches, 4)
    assert batches == sorted(batches)
    for batch in batches:
        assert batch == sorted(batch)


def test_random_sizes_always_respect_every_limit() -> None:
    rng = random.Random(7)
    for _ in range(300):
        limits = DeliveryLimits.for_interaction(rng.choice([8, 10, 25, 50]) * MIB)
        count = rng.randint(1, 10)
        sizes = [rng.randint(1, limits.file_budget()) for _ in range(count)]
        batches = plan_batches(sizes, limits)
        assert covers(batches, count)
        assert len(batches) <= count
        for batch in batches:
            assert len(batch) <= 10
            assert sum(sizes[i] for i in batch) <= limits.payload_budget


def test_an_oversize_image_must_be_shrunk_first() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        plan_batches([11 * MIB], TEN_MIB)


def test_boosted_servers_get_larger_requests() -> None:
    limits = DeliveryLimits.for_interaction(100 * MIB)
    assert limits.per_request == 100 * MIB
    assert DeliveryLimits.for_interaction(10 * MIB).per_request == MAX_REQUEST_BYTES


def test_smaller_limits_after_a_413_shrink_the_request_budget() -> None:
    after = smaller_limits(TEN_MIB, refused_bytes=20 * MIB, refused_files=8)
    assert after.payload_budget == int(20 * MIB * 0.8)
    assert after.per_file == TEN_MIB.per_file
    sizes = [int(2.5 * MIB)] * 8
    assert all(
        sum(sizes[i] for i in batch) <= after.payload_budget for batch in plan_batches(sizes, after)
    )


def test_smaller_limits_after_a_413_on_one_file_shrink_that_file() -> None:
    after = smaller_limits(TEN_MIB, refused_bytes=9 * MIB, refused_files=1)
    assert after.file_budget() <= int(9 * MIB * 0.8)


def test_repeated_413s_converge() -> None:
    limits = TEN_MIB
    for _ in range(12):
        limits = smaller_limits(limits, limits.payload_budget, 2)
    assert limits.payload_budget < TEN_MIB.payload_budget // 10


def _noisy_png(width: int, height: int) -> ImageFile:
    picture = Image.effect_noise((width, height), 80).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return ImageFile(buffer.getvalue(), "image/png", "png", width, height)


def test_shrink_image_fits_the_budget_and_stays_an_image() -> None:
    original = _noisy_png(1024, 1024)
    budget = original.size // 8
    smaller = shrink_image(original, budget)
    assert smaller is not None
    assert smaller.size <= budget
    assert smaller.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(smaller.data)) as decoded:
        decoded.load()
        assert decoded.format == "JPEG"
        assert decoded.size == (smaller.width, smaller.height)


def test_shrink_image_leaves_a_fitting_image_alone() -> None:
    original = _noisy_png(64, 64)
    assert shrink_image(original, original.size) is original


def test_shrink_image_gives_up_on_an_impossible_budget() -> None:
    assert shrink_image(_noisy_png(512, 512), 100) is None
