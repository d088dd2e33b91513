"""Plain data passed between the layers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.quota import Meter


class CountsImages:
    """A request counted in images against the daily limits (a clip counts seconds)."""

    __slots__ = ()
    n: int

    @property
    def meter(self) -> Meter:
        """What the request counts against the daily limits: images."""
        return Meter.IMAGES

    @property
    def units(self) -> int:
        """How many it counts: the images it makes."""
        return self.n


@dataclass(frozen=True, slots=True)
class GenerationRequest(CountsImages):
    """One validated call to ``POST /v1/images/generations``."""

    prompt: str
    model: str
    n: int = 1
    aspect_ratio: str | None = None
    resolution: str | None = None
    response_format: str = "b64_json"
    user: str = ""

    @property
    def billed_images(self) -> int:
        """The images the image service bills for this request: those it makes."""
        return self.n

    @property
    def sources(self) -> tuple[InputSource, ...]:
        """The pictures the request reads: none (see :class:`EditRequest`)."""
        return ()

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


@dataclass(frozen=True, slots=True)
class InputSource:
    """Where one input picture of an edit comes from: an attachment URL taken from the
    chat platform's own payload (never a URL a member typed), and the message it is in."""

    url: str
    #: The size the platform says the file has (None when it does not say).
    size: int | None = None
    filename: str = ""
    #: The message holding the picture, for links in the result card and the mod log.
    channel_id: int | None = None
    message_id: int | None = None
    #: Whether the picture is one of the bot's own results (rather than an upload).
    own: bool = False

    def to_param(self) -> dict[str, Any]:
        """What a job record keeps of the source (to fetch the picture again)."""
        return {
            "url": self.url,
            "size": self.size,
            "filename": self.filename,
            "channel_id": self.channel_id,
            "message_id": self.message_id,
            "own": self.own,
        }

    @classmethod
    def from_param(cls, value: Any) -> InputSource:
        """A source back from :meth:`to_param` (or from an option); ``ValueError`` when
        it is not one."""
        if isinstance(value, InputSource):
            return value
        if not isinstance(value, dict) or not isinstance(value.get("url"), str):
            raise ValueError("not an input source")

        def number(key: str) -> int | None:
            item = value.get(key)
            return item if isinstance(item, int) and not isinstance(item, bool) else None

        return cls(
            url=value["url"],
            size=number("size"),
            filename=str(value.get("filename") or ""),
            channel_id=number("channel_id"),
            message_id=number("message_id"),
            own=bool(value.get("own")),
        )


@dataclass(frozen=True, slots=True)
class EditRequest(CountsImages):
    """One validated call to ``POST /v1/images/edits``: pictures from pictures."""

    prompt: str
    model: str
    sources: tuple[InputSource, ...]
    n: int = 1
    aspect_ratio: str | None = None
    resolution: str | None = None
    response_format: str = "b64_json"
    user: str = ""
    #: The inputs as data URIs, in the order of ``sources``; empty until they are fetched
    #: (a job taken over from the journal, or a Re-roll, fetches them again).
    inputs: tuple[str, ...] = ()

    @property
    def billed_images(self) -> int:
        """The images the image service bills for an edit: each input as well as each
        output."""
        return self.n + len(self.sources)

    def to_body(self) -> dict[str, Any]:
        """The JSON body: a generation's fields, and one input as ``image`` or two or
        three as ``images``."""
        body = GenerationRequest(
            prompt=self.prompt,
            model=self.model,
            n=self.n,
            aspect_ratio=self.aspect_ratio,
            resolution=self.resolution,
            response_format=self.response_format,
            user=self.user,
        ).to_body()
        pictures = [{"url": uri, "type": "image_url"} for uri in self.inputs]
        if len(pictures) == 1:
            body["image"] = pictures[0]
        else:
            body["images"] = pictures
        return body
