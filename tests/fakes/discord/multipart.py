"""Reading a multipart/form-data body the way Discord does (``payload_json``, ``files[n]``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from tests.fakes.discord.errors import ApiError
from tests.fakes.discord.models import RecordedPart


@dataclass
class Upload:
    """A file part of a request: its index in ``files[n]``, name, bytes and declared type."""

    index: str
    filename: str
    data: bytes
    declared_content_type: str | None


_DISPOSITION_PARAM = re.compile(r';\s*([\w*]+)=("(?:[^"\\]|\\.)*"|[^;]*)')


def parse_multipart(body: bytes, content_type: str) -> list[RecordedPart]:
    """The parts of a multipart body; a missing boundary is a form error, as on Discord."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, 50035, "Invalid Form Body")
    delimiter = b"--" + match.group(1).encode()
    parts: list[RecordedPart] = []
    chunks = body.split(delimiter)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params: dict[str, str] = {}
        disposition = headers.get("content-disposition", "").partition(";")[2]
        for key, raw in _DISPOSITION_PARAM.findall(";" + disposition):
            value = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
            params[key.lower()] = value
        filename = params.get("filename")
        if "filename*" in params:
            filename = unquote(params["filename*"].split("''", 1)[-1])
        parts.append(
            RecordedPart(
                name=params.get("name", ""),
                filename=filename,
                content_type=headers.get("content-type"),
                data=data,
            )
        )
    return parts
