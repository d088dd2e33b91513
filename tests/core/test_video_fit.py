"""The resolution a clip is asked for, so that it fits the server's upload limit."""

from __future__ import annotations

import pytest

from core.video_fit import estimated_size, fitting_resolution

RESOLUTIONS = ("480p", "720p")
MB = 1_000_000


def test_a_clip_that_fits_is_asked_for_as_requested() -> None:
    assert fitting_resolution("720p", 15, 10 * MB, RESOLUTIONS) == "720p"
    assert fitting_resolution("480p", 15, 10 * MB, RESOLUTIONS) == "480p"


def test_an_unknown_limit_changes_nothing() -> None:
    assert fitting_resolution("720p", 15, None, RESOLUTIONS) == "720p"


def test_a_clip_too_large_at_720p_is_asked_for_at_480p_when_that_fits() -> None:
    limit = estimated_size("720p", 15) - 1
    assert estimated_size("480p", 15) <= limit
    assert fitting_resolution("720p", 15, limit, RESOLUTIONS) == "480p"


def test_a_short_clip_keeps_720p_where_a_long_one_would_not() -> None:
    limit = 5 * MB
    assert fitting_resolution("720p", 5, limit, RESOLUTIONS) == "720p"
    assert fitting_resolution("720p", 15, limit, RESOLUTIONS) == "480p"


def test_when_nothing_fits_the_request_stands_and_is_re_encoded_later() -> None:
    assert fitting_resolution("720p", 15, 1 * MB, RESOLUTIONS) == "720p"
    assert fitting_resolution("480p", 15, 1 * MB, RESOLUTIONS) == "480p"


def test_never_a_higher_resolution_than_asked() -> None:
    for limit in (1 * MB, 4 * MB, 9 * MB, 100 * MB):
        for seconds in range(1, 16):
            got = fitting_resolution("480p", seconds, limit, RESOLUTIONS)
            assert got == "480p"


@pytest.mark.parametrize("seconds", range(1, 16))
def test_the_choice_fits_whenever_any_resolution_would(seconds: int) -> None:
    limit = 4 * MB
    got = fitting_resolution("720p", seconds, limit, RESOLUTIONS)
    if any(estimated_size(r, seconds) <= limit for r in RESOLUTIONS):
        assert estimated_size(got, seconds) <= limit


def test_an_unknown_resolution_is_left_alone() -> None:
    assert fitting_resolution("1080p", 15, 1 * MB, RESOLUTIONS) == "1080p"
