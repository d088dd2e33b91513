"""Whether a job's button was pressed where the job put it.

A button's custom id names a job, and nothing else ties the two: a button copied onto
another message, or a job id taken into another server, would act on a job that is not the
one shown. Every press is therefore checked against the job's record: the server must be
the job's, and the message one the job posted: one of its result messages (Re-roll,
Delete), or its status message, the first message of the interaction that asked for it
(Cancel).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass


class Action(enum.Enum):
    """What a job's button does."""

    REROLL = "reroll"
    EDIT = "edit"
    ANIMATE = "animate"
    DELETE = "delete"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class JobPlace:
    """Where a job's record says it lives."""

    guild_id: int | None
    #: Its result messages (known once the job is closed).
    message_ids: Collection[int]
    #: The interaction that asked for the job, while the job is unfinished.
    interaction_id: int | None


@dataclass(frozen=True, slots=True)
class PressPlace:
    """Where a button was pressed."""

    guild_id: int | None
    message_id: int | None
    #: The interaction the pressed message answers (Discord's ``interaction_metadata``):
    #: the status message and the result messages of a job carry its interaction's id.
    message_interaction_id: int | None


def _from_jobs_interaction(job: JobPlace, pressed: PressPlace) -> bool:
    return job.interaction_id is not None and pressed.message_interaction_id == job.interaction_id


def pressed_on_job(action: Action, job: JobPlace, pressed: PressPlace) -> bool:
    """True when the button was pressed in the job's server, on a message of the job.

    An unfinished job's result messages are not in its record yet: a result message is then
    recognised by the interaction it answers. Cancel acts only on the status message.
    """
    if job.guild_id != pressed.guild_id or pressed.message_id is None:
        return False
    if action is Action.CANCEL:
        return _from_jobs_interaction(job, pressed)
    return pressed.message_id in job.message_ids or _from_jobs_interaction(job, pressed)
