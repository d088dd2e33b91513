"""Plain data passed between the layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One validated call to ``POST /v1/images/generations``."""

    prompt: str
    model: str
    n: int = 1
    aspect_ratio: str | None = None
    resolution: str | None = None
    response_format: str = "b64_json"
    user: str = ""

    def to_body(self) -> dict[str, Any]:
        """The JSON body; optional fields left out let the API choose."""
        body: dict[str, Any] = {
            "prompt": self.prompt,
            "model": self.model,
            "n": self.n,
            "response_format": self.response_format,
        }
        if self.aspect_ratio is not None:
            body["aspect_ratio"] = self.aspect_ratio
        if self.resolution is not None:
            body["resolution"] = self.resolution
        if self.user:
            body["user"] = self.user
        return body


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A verified image, named by its real type."""

    data: bytes
    mime_type: str  # e.g. "image/jpeg"
    extension: str  # e.g. "jpg"
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What one generation produced."""

    images: list[ImageFile]
    #: Images the API withheld for moderation (empty data, ``respect_moderation: false``).
    withheld: int = 0
    #: Images that came back but could not be decoded or downloaded.
    unusable: int = 0
    #: Cost reported by the API in ticks of 1e-10 USD, when it reports one.
    cost_usd_ticks: int | None = None
    #: Seconds spent talking to the API, retries included.
    api_seconds: float = 0.0
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
