"""Interaction responses (``/interactions/{id}/{token}/callback``) and follow-ups (webhooks).

An interaction must be answered within ``defer_deadline`` (3 s), once; its token then works
for ``token_lifetime`` (15 minutes) on ``/webhooks/{app_id}/{token}``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tests.fakes.discord.changes import prepare_change
from tests.fakes.discord.constants import FLAG_EPHEMERAL, FLAG_LOADING, Json
from tests.fakes.discord.errors import ApiError, form_error, unknown
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.modals import validate_modal
from tests.fakes.discord.models import FakeAttachment, FakeInteraction, FakeMessage
from tests.fakes.discord.multipart import Upload
from tests.fakes.discord.rest import SNOWFLAKE, TOKEN, Req, Route, route
from tests.fakes.discord.state import DiscordState

log = logging.getLogger(__name__)

#: The response types each interaction type accepts (2 command, 3 component,
#: 4 autocomplete, 5 modal submit).
_ALLOWED_RESPONSES: dict[int, set[int]] = {
    2: {4, 5, 9},
    3: {4, 5, 6, 7, 9},
    4: {8},
    5: {4, 5, 6, 7},
}


def _response_type(inter: FakeInteraction, payload: Json) -> tuple[Any, Any]:
    """The response's type and data, if this interaction may be answered so."""
    rtype = payload.get("type")
    data = payload.get("data")
    if data is not None and not isinstance(data, dict):
        raise form_error(
            ["data"], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
        )
    if rtype not in _ALLOWED_RESPONSES.get(inter.type, set()):
        raise ApiError(
            400,
            40043 if rtype in range(1, 13) else 50035,
            "Interaction response type is invalid",
        )
    return rtype, data


class WebhookRoutes:
    """Answering interactions and following them up with their token."""

    def __init__(self, state: DiscordState, messages: Messages) -> None:
        self.state = state
        self.messages = messages
        self.by_token = state.registry.interactions_by_token

    def routes(self) -> list[Route]:
        """This area's routes."""
        snow, tok = SNOWFLAKE, TOKEN
        message = rf"/webhooks/{snow}/{tok}/messages/(@original|\d+)"
        return [
            route("POST", rf"/interactions/{snow}/{tok}/callback", self.callback),
            route("POST", rf"/webhooks/{snow}/{tok}", self.execute),
            route("GET", message, self.get_message),
            route("PATCH", message, self.edit_message),
            route("DELETE", message, self.delete_message),
        ]

    # ----------------------------------------------------------------- responses

    def _responding(self, req: Req) -> tuple[FakeInteraction, float]:
        """The interaction being answered, and when; only once and only in time."""
        inter = self.by_token.get(req.match[1])
        if inter is None or inter.id != int(req.match[0]):
            raise unknown("interaction", 10062)
        if inter.callbacks:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        now = time.monotonic()
        if now - inter.created > inter.defer_deadline:
            raise unknown("interaction", 10062)
        return inter, now

    def _new_reply(self, inter: FakeInteraction) -> FakeMessage:
        mtype = 20 if inter.type == 2 else 0
        return self.messages.new(inter.channel_id, inter.guild_id, interaction=inter, mtype=mtype)

    def _reply(self, inter: FakeInteraction, data: Json, uploads: list[Upload]) -> FakeMessage:
        """Type 4: a message in reply."""
        change = prepare_change(
            data,
            uploads,
            size_limit=inter.attachment_size_limit,
            existing=None,
            creating=True,
            prefix=["data"],
        )
        message = self._new_reply(inter)
        self.messages.apply(message, change, data, edit=False)
        inter.original = message
        inter.messages.append(message)
        return message

    def _defer(self, inter: FakeInteraction, data: Json, now: float) -> FakeMessage:
        """Type 5: "thinking…", a loading reply that a follow-up or an edit fills."""
        flags = int(data.get("flags") or 0)
        message = self._new_reply(inter)
        message.loading = True
        message.flags = FLAG_LOADING | (flags & FLAG_EPHEMERAL)
        message.deferred_at = now
        message.history.append(message.snapshot(now))
        inter.original = message
        return message

    def _update(
        self, inter: FakeInteraction, data: Json, uploads: list[Upload]
    ) -> tuple[FakeMessage, list[FakeAttachment]]:
        """Type 7: edit the message whose component was used; returns it and its new files."""
        target = inter.component_message
        if target is None or target.deleted:
            raise unknown("Message", 10008)
        change = prepare_change(
            data,
            uploads,
            size_limit=inter.attachment_size_limit,
            existing=target,
            creating=False,
            prefix=["data"],
        )
        new_ids = {id(a) for a in change.attachments} - {id(a) for a in target.attachments}
        self.messages.apply(target, change, data, edit=True)
        inter.original = target
        return target, [a for a in target.attachments if id(a) in new_ids]

    def _respond(
        self, inter: FakeInteraction, rtype: int, data: Json, uploads: list[Upload], now: float
    ) -> tuple[FakeMessage | None, list[FakeAttachment]]:
        if rtype == 4:
            message = self._reply(inter, data, uploads)
            return message, list(message.attachments)
        if rtype == 5:
            return self._defer(inter, data, now), []
        if rtype == 6:
            inter.original = inter.component_message
        elif rtype == 7:
            return self._update(inter, data, uploads)
        elif rtype == 9:
            inter.modal = validate_modal(data)
        return None, []

    def _answer(self, inter: FakeInteraction, rtype: int, message: FakeMessage | None) -> Json:
        """The callback's answer with ``with_response``: the interaction and the resource."""
        answer: Json = {"interaction": {"id": str(inter.id), "type": inter.type}}
        if message is not None and rtype in (4, 5, 7):
            answer["interaction"].update(
                {
                    "response_message_id": str(message.id),
                    "response_message_loading": rtype == 5,
                    "response_message_ephemeral": message.ephemeral,
                }
            )
            answer["resource"] = {"type": rtype, "message": self.messages.json(message)}
        elif rtype == 9:
            answer["resource"] = {"type": 9}
        return answer

    async def callback(self, req: Req) -> Json:
        """``POST /interactions/{id}/{token}/callback``: the interaction's one response."""
        inter, now = self._responding(req)
        rtype, data = _response_type(inter, req.payload())
        uploads = req.uploads()
        if uploads and rtype not in (4, 7):
            raise form_error(
                ["data", "attachments"], "BASE_TYPE_MAX_LENGTH", "Must be 0 or fewer in length."
            )
        data = data or {}
        message, files = self._respond(inter, rtype, data, uploads, now)
        inter.callbacks.append({"type": rtype, "data": data or None, "time": now, "files": files})
        log.debug(
            "interaction %s answered with type %s after %.3fs", inter.id, rtype, now - inter.created
        )
        self.state.notify()
        if message is not None and rtype in (4, 5, 7):
            event = "MESSAGE_UPDATE" if rtype == 7 else "MESSAGE_CREATE"
            await self.messages.event(message, event)
        return self._answer(inter, rtype, message)

    # ----------------------------------------------------------------- follow-ups

    def _interaction(self, req: Req) -> FakeInteraction:
        """The interaction a webhook token belongs to: answered, and not expired."""
        inter = self.by_token.get(req.match[1])
        if inter is None or int(req.match[0]) != inter.application_id:
            raise unknown("Webhook", 10015)
        if time.monotonic() - inter.created > inter.token_lifetime:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not inter.callbacks:
            raise unknown("Webhook", 10015)
        return inter

    def _message(self, inter: FakeInteraction, which: str) -> FakeMessage:
        """``@original`` or one of the interaction's messages by id."""
        if which == "@original":
            message = inter.original
        else:
            message = next((m for m in inter.messages if m.id == int(which)), None)
            if message is None and inter.original is not None and inter.original.id == int(which):
                message = inter.original
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return message

    async def execute(self, req: Req) -> Json | None:
        """``POST /webhooks/{app_id}/{token}``: a follow-up (``?wait=true`` returns it)."""
        inter = self._interaction(req)
        payload = req.payload()
        wait = req.record.query.get("wait", "false").lower() in ("1", "true")
        change = prepare_change(
            payload,
            req.uploads(),
            size_limit=inter.attachment_size_limit,
            existing=None,
            creating=True,
        )
        original = inter.original
        if original is not None and original.loading and not original.deleted:
            # The first follow-up after a "thinking…" defer becomes the reply itself and
            # keeps the deferral's visibility; its own ephemeral flag does not count.
            change.flags = (original.flags & FLAG_EPHEMERAL) | (
                change.flags & ~(FLAG_EPHEMERAL | FLAG_LOADING)
            )
            self.messages.fill_deferred(inter, original, change, payload)
            message = original
            event = "MESSAGE_UPDATE"
        else:
            message = self.messages.new(inter.channel_id, inter.guild_id, interaction=inter)
            self.messages.apply(message, change, payload, edit=False)
            inter.messages.append(message)
            event = "MESSAGE_CREATE"
        self.state.notify()
        await self.messages.event(message, event)
        return self.messages.json(message) if wait else None

    async def get_message(self, req: Req) -> Json:
        """``GET /webhooks/{app_id}/{token}/messages/{id or @original}``."""
        inter = self._interaction(req)
        return self.messages.json(self._message(inter, req.match[2]))

    async def edit_message(self, req: Req) -> Json:
        """``PATCH .../messages/{id or @original}``: an edit (it fills a "thinking…" reply)."""
        inter = self._interaction(req)
        message = self._message(inter, req.match[2])
        payload = req.payload()
        change = prepare_change(
            payload,
            req.uploads(),
            size_limit=inter.attachment_size_limit,
            existing=message,
            creating=False,
        )
        if message.loading:
            change.flags &= ~FLAG_LOADING
            self.messages.fill_deferred(inter, message, change, payload)
        else:
            self.messages.apply(message, change, payload, edit=True)
        self.state.notify()
        await self.messages.event(message, "MESSAGE_UPDATE")
        return self.messages.json(message)

    async def delete_message(self, req: Req) -> None:
        """``DELETE .../messages/{id or @original}``."""
        inter = self._interaction(req)
        message = self._message(inter, req.match[2])
        self.messages.delete(message)
        await self.messages.event(message, "MESSAGE_DELETE")
