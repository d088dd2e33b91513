"""Fitting images into Discord messages: pure planning, and re-encoding of oversize images.

Discord takes at most 10 files a message, each under the interaction's per-file limit, and
about 25 MiB a request. ``plan_batches`` packs images into as few messages as fit;
``shrink_image`` re-encodes one image until it fits a byte budget (CPU-bound: call it in a
thread).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PIL import Image

from core.models import ImageFile

log = logging.getLogger(__name__)

MAX_FILES_PER_MESSAGE = 10
MAX_REQUEST_BYTES = 25 * 1024 * 1024
#: Room kept in each request for the JSON payload, the embed and multipart framing.
REQUEST_OVERHEAD_BYTES = 256 * 1024
#: JPEG qualities tried, best first, before the picture is scaled down.
_QUALITIES = (90, 82, 74, 65)
_SCALE_STEP = 0.8
#: After a 413, the next attempt aims this much below what Discord refused.
SHRINK_FACTOR = 0.8
_MIN_SIDE = 256


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """What one message may carry."""

    per_file: int
    per_request: int = MAX_REQUEST_BYTES
    max_files: int = MAX_FILES_PER_MESSAGE

    @classmethod
    def for_interaction(cls, filesize_limit: int) -> DeliveryLimits:
        """Limits for an interaction whose per-file limit Discord reports."""
        per_file = max(1, filesize_limit)
        # Boosted servers allow larger files, and larger requests with them.
        return cls(per_file=per_file, per_request=max(MAX_REQUEST_BYTES, per_file))

    @property
    def payload_budget(self) -> int:
        """Bytes of files one request may carry."""
        return max(1, self.per_request - REQUEST_OVERHEAD_BYTES)

    def file_budget(self) -> int:
        """The largest one file may be, inside the request budget too."""
        return min(self.per_file, self.payload_budget)


def plan_batches(sizes: Sequence[int], limits: DeliveryLimits) -> list[list[int]]:
    """Pack images (by index) into as few messages as fit, in reading order where possible.

    First-fit decreasing, which is optimal or one message off for these small counts; each
    batch is then listed in index order and batches by their first index, so images 1..n
    read in order whenever the packing allows. Every size must already fit ``file_budget``.
    """
    budget = limits.payload_budget
    for index, size in enumerate(sizes):
        if size > limits.file_budget():
            raise ValueError(f"image {index} of {size} bytes exceeds the per-file budget")
    batches: list[list[int]] = []
    loads: list[int] = []
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        for b, batch in enumerate(batches):
            if len(batch) < limits.max_files and loads[b] + sizes[index] <= budget:
                batch.append(index)
                loads[b] += sizes[index]
                break
        else:
            batches.append([index])
            loads.append(sizes[index])
    ordered = [sorted(batch) for batch in batches]
    ordered.sort(key=lambda batch: batch[0])
    return ordered


def smaller_limits(
    limits: DeliveryLimits, refused_bytes: int, refused_files: int
) -> DeliveryLimits:
    """Limits after Discord refused ``refused_bytes`` in ``refused_files`` files as too large.

    The request budget drops below what was refused; a single refused file also lowers the
    per-file budget, so that file gets re-encoded. Each call shrinks by at least a fifth, so
    a few 413s reach a size Discord takes.
    """
    budget = min(limits.payload_budget, int(refused_bytes * SHRINK_FACTOR))
    per_file = limits.per_file
    if refused_files == 1:
        per_file = min(per_file, budget)
    return replace(
        limits,
        per_file=max(1, per_file),
        per_request=max(1, budget) + REQUEST_OVERHEAD_BYTES,
    )


def shrink_image(image: ImageFile, max_bytes: int) -> ImageFile | None:
    """Re-encode ``image`` as JPEG until it is at most ``max_bytes``; None if it cannot be.

    Quality goes down first, then the picture is scaled down step by step. CPU-bound.
    """
    if image.size <= max_bytes:
        return image
    with Image.open(io.BytesIO(image.data)) as source:
        picture = source.convert("RGB")
    width, height = picture.size
    scale = 1.0
    while True:
        current = picture
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            current = picture.resize(size, Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            buffer = io.BytesIO()
            current.save(buffer, format="JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                log.debug(
                    "re-encoded %dx%d image from %d to %d bytes (scale %.2f, quality %d)",
                    width,
                    height,
                    image.size,
                    buffer.tell(),
                    scale,
                    quality,
                )
                return ImageFile(
                    data=buffer.getvalue(),
                    mime_type="image/jpeg",
                    extension="jpg",
                    width=current.width,
                    height=current.height,
                )
        scale *= _SCALE_STEP
        if min(width, height) * scale < _MIN_SIDE:
            return None
