"""Which resolution a clip is asked for, so that it fits where it will be posted.

A clip larger than the server's upload limit is re-encoded smaller before it is posted
(``core.video.shrink_clip``), but paying for 720p only to scale it down is waste: when the
clip asked for would not fit and a lower resolution would, the lower one is asked for (it
is cheaper too). The sizes are estimates of the image service's output, by the second;
the member's length is never cut, and a clip that still comes out too large is re-encoded.
"""

from __future__ import annotations

from collections.abc import Sequence

#: Estimated bytes of a rendered clip per second, by resolution (H.264 as the image
#: service encodes it: about 2.4 Mbit/s at 480p and 4.8 Mbit/s at 720p).
BYTES_PER_SECOND: dict[str, int] = {"480p": 300_000, "720p": 600_000}


def estimated_size(resolution: str, seconds: int) -> int:
    """The estimated size in bytes of a clip of ``seconds`` at ``resolution``."""
    return BYTES_PER_SECOND.get(resolution, max(BYTES_PER_SECOND.values())) * seconds


def fitting_resolution(
    requested: str, seconds: int, upload_limit: int | None, resolutions: Sequence[str]
) -> str:
    """``requested``, unless a clip of ``seconds`` at it would not fit ``upload_limit``
    (bytes; None: unknown) and a lower one of ``resolutions`` (lowest first) would: then
    the highest lower one that fits. When none fits, ``requested`` (re-encoded later)."""
    if upload_limit is None or estimated_size(requested, seconds) <= upload_limit:
        return requested
    if requested not in resolutions:
        return requested
    lower = resolutions[: resolutions.index(requested)]
    for resolution in reversed(lower):
        if estimated_size(resolution, seconds) <= upload_limit:
            return resolution
    return requested
