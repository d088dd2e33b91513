"""The clip's media work with PyAV: a clip checked playable, and one re-encoded smaller
keeps its length (however many frames it has) and stays playable."""

from __future__ import annotations

import pytest

from core.errors import BadResponse
from core.models import ImageFile
from core.video import check_mp4, clip_seconds, make_clip, shrink_clip


def test_a_long_clip_is_re_encoded_smaller_and_keeps_its_length() -> None:
    """Over 256 frames (12 s at 24 fps): the encoder needs every frame's timestamp."""
    data = make_clip(seconds=12, width=64, height=48, fps=24, noise=True)
    clip = check_mp4(data)
    budget = clip.size // 2
    smaller = shrink_clip(clip, budget)
    assert smaller is not None
    assert smaller.size <= budget
    assert check_mp4(smaller.data).mime_type == "video/mp4"
    assert clip_seconds(smaller.data) == pytest.approx(12.0, abs=0.5)


def test_a_clip_that_fits_is_left_as_it_is() -> None:
    clip = check_mp4(make_clip(seconds=1))
    assert shrink_clip(clip, clip.size) is clip


def test_a_clip_that_cannot_fit_is_none() -> None:
    clip = check_mp4(make_clip(seconds=2, width=64, height=48, noise=True))
    assert shrink_clip(clip, 200) is None


@pytest.mark.parametrize("data", [b"", b"not a clip", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64])
def test_what_is_not_a_playable_mp4_is_refused(data: bytes) -> None:
    with pytest.raises(BadResponse):
        check_mp4(data)


def test_a_checked_clip_says_its_size_and_kind() -> None:
    clip = check_mp4(make_clip(seconds=1, width=64, height=48))
    assert isinstance(clip, ImageFile)
    assert (clip.width, clip.height, clip.extension) == (64, 48, "mp4")


def test_a_clip_the_encoder_cannot_read_is_none_not_an_error() -> None:
    clip = check_mp4(make_clip(seconds=1, width=64, height=48, noise=True))
    broken = ImageFile(clip.data[: len(clip.data) // 2], "video/mp4", "mp4", 64, 48)
    assert shrink_clip(broken, 100) is None
