"""A message create or edit, checked against Discord's limits before it is applied."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.discord.constants import CREATE_FLAGS, FLAG_SUPPRESS_EMBEDS, Json
from tests.fakes.discord.errors import ApiError, form_error, too_large
from tests.fakes.discord.models import FakeAttachment, FakeMessage
from tests.fakes.discord.multipart import Upload
from tests.fakes.discord.validation import (
    MAX_CONTENT,
    MAX_FILES,
    Path,
    validate_components,
    validate_embeds,
)


@dataclass
class MessageChange:
    """What a message will look like once a valid create or edit is applied."""

    content: str
    embeds: list[Json]
    components: list[Json]
    attachments: list[FakeAttachment]
    flags: int
    allowed_mentions: Json | None
    tts: bool
    sticker_ids: list[str]
    poll: Json | None
    message_reference: Json | None


def _attachments(
    payload: Json, uploads: list[Upload], base: FakeMessage | None, size_limit: int, pre: Path
) -> list[FakeAttachment]:
    """The kept attachments (an edit lists the ones to keep) and the new uploads."""
    new_atts: list[FakeAttachment] = []
    meta = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
    for up in uploads:
        info = meta.get(up.index, {})
        filename = str(info.get("filename") or up.filename)
        new_atts.append(
            FakeAttachment(
                filename=filename,
                content_type=mimetypes.guess_type(filename)[0],
                data=up.data,
                description=info.get("description"),
                declared_content_type=up.declared_content_type,
            )
        )
    if base is None:
        kept: list[FakeAttachment] = []
    elif "attachments" in payload:
        keep_ids = {
            str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        kept = [a for a in base.attachments if str(a.id) in keep_ids]
    else:
        kept = list(base.attachments)
    attachments = kept + new_atts
    if len(attachments) > MAX_FILES or len(uploads) > MAX_FILES:
        raise form_error(
            [*pre, "attachments"],
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_FILES} or fewer in length.",
        )
    for att in new_atts:
        if att.size > size_limit:
            raise too_large()
    return attachments


def _content(content: Any, pre: Path) -> str:
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise form_error(
            [*pre, "content"], "STRING_TYPE_CONVERT", "Could not interpret value as string."
        )
    if len(content) > MAX_CONTENT:
        raise form_error(
            [*pre, "content"],
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {MAX_CONTENT} or fewer in length.",
        )
    return content


def _flags(payload: Json, base: FakeMessage | None, pre: Path) -> int:
    """A new message's flags; an edit may change only whether embeds are suppressed."""
    if base is None:
        flags = int(payload.get("flags") or 0)
        if flags & ~CREATE_FLAGS:
            raise form_error([*pre, "flags"], "MESSAGE_FLAGS_INVALID", "Invalid message flags")
        return flags
    flags = base.flags
    if "flags" in payload and payload["flags"] is not None:
        flags = (flags & ~FLAG_SUPPRESS_EMBEDS) | (int(payload["flags"]) & FLAG_SUPPRESS_EMBEDS)
    return flags


def prepare_change(
    payload: Json,
    uploads: list[Upload],
    *,
    size_limit: int,
    existing: FakeMessage | None,
    creating: bool,
    prefix: Sequence[str | int] = (),
) -> MessageChange:
    """Check a create/edit against Discord's limits; the resulting message, not yet applied."""
    pre = list(prefix)
    if not isinstance(payload, dict):
        raise form_error(pre, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    base = existing if (existing is not None and not creating) else None
    attachments = _attachments(payload, uploads, base, size_limit, pre)

    def pick(key: str, default: Any) -> Any:
        if key in payload:
            return payload[key]
        return getattr(base, key) if base is not None else default

    content = _content(pick("content", ""), pre)
    embeds = pick("embeds", [])
    if "embed" in payload and "embeds" not in payload:
        embeds = [payload["embed"]] if payload["embed"] else []
    embeds = list(embeds or [])
    validate_embeds(embeds, pre)
    flags = _flags(payload, base, pre)
    components = list(pick("components", []) or [])
    validate_components(components, flags, pre)

    sticker_ids = [str(s) for s in (pick("sticker_ids", []) or [])]
    poll = payload.get("poll") if base is None else base.poll
    empty = not content.strip() and not embeds and not attachments and not components
    if empty and not sticker_ids and poll is None:
        raise ApiError(400, 50006, "Cannot send an empty message")
    return MessageChange(
        content=content,
        embeds=embeds,
        components=components,
        attachments=attachments,
        flags=flags,
        allowed_mentions=pick("allowed_mentions", None),
        tts=bool(payload.get("tts", False)) if base is None else base.tts,
        sticker_ids=sticker_ids,
        poll=poll,
        message_reference=payload.get("message_reference")
        if base is None
        else base.message_reference,
    )
