"""The job journal: what a job needs to be finished by another process or after a restart.

Every accepted job is written to the store before its API call, with the interaction it
answers (whose token lets the bot post the result for 15 minutes), the images it reserved
and the state it is in. A process that stops hands its unfinished jobs back; a process that
starts (or any live process, once a crashed one is known dead or its lease has run out)
takes them over and decides, with :func:`resume_action`, whether to run them again or
close them with a message. These are pure decisions; the store keeps the records and the job service
(:mod:`core.jobs`) acts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import Enum

#: A job was written to the journal and is about to wait for a slot or to start.
ACCEPTED = "accepted"
#: The job waits in the queue for a slot.
QUEUED = "queued"
#: The job holds a slot; the image API is being called.
RUNNING = "running"
#: The images are made and being uploaded.
DELIVERING = "delivering"
#: The job is closed; its outcome says how.
DONE = "done"
STATES = (ACCEPTED, QUEUED, RUNNING, DELIVERING, DONE)
UNFINISHED = (ACCEPTED, QUEUED, RUNNING, DELIVERING)

#: Discord lets a bot use an interaction token this long after the interaction.
TOKEN_LIFETIME_SECONDS = 15 * 60.0
#: A job is resumed only if its token has at least this long left: the result must be made
#: and uploaded before the token dies.
RESUME_MARGIN_SECONDS = 60.0
#: A job that cannot be resumed is closed with a message in its channel only if it is this
#: recent; older ones (from a bot that was down for hours) are closed quietly.
NOTICE_WINDOW_SECONDS = 6 * 3600.0
#: A process holds the jobs it runs (and their API slots) for this long and renews the
#: hold well before then; jobs of a process that died are taken over by another once their
#: hold has run out: within ``LEASE_SECONDS + SWEEP_SECONDS`` (40 s) of its death. On one
#: host sharing a SQLite file a dead process is known at once (its lock file is free, see
#: :mod:`core.storage.liveness`), so a restart takes its jobs over without waiting.
LEASE_SECONDS = 30.0
#: How often a process renews its hold (and its jobs' claims) and looks for jobs nobody
#: holds: three renewals per lease, so one missed renewal loses nothing.
SWEEP_SECONDS = 10.0


def new_owner_id() -> str:
    """A fresh name for one running process, as the journal's owner of its jobs."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class InteractionRef:
    """What it takes to answer an interaction later: its webhook, until ``expires_at``.

    The token is a credential: it is never logged and never shown in a repr, and the store
    forgets it when the job is closed.
    """

    interaction_id: int
    application_id: int
    token: str = field(repr=False)
    #: UNIX time when Discord stops accepting the token.
    expires_at: float

    def valid_for(self, now: float) -> float:
        """Seconds the token is still good for (negative once it has expired)."""
        return self.expires_at - now


class ResumeAction(Enum):
    """What to do with an unfinished job found in the journal."""

    #: Run it again from the API call on and deliver through its interaction.
    RESUME = "resume"
    #: Close it and tell the requester it could not be finished.
    NOTIFY = "notify"
    #: Close it without a message: it is too old for one to make sense.
    DROP = "drop"


def resume_action(
    *,
    state: str,
    created_at: float,
    interaction: InteractionRef | None,
    now: float,
    margin: float = RESUME_MARGIN_SECONDS,
    notice_window: float = NOTICE_WINDOW_SECONDS,
) -> ResumeAction:
    """Decide the fate of an unfinished journaled job.

    A job is run again when its token has more than ``margin`` seconds left and its images
    were not being uploaded when it stopped (an upload cut short may have posted some of
    them; making them again would bill and post them twice). Every other job is closed,
    with a message while it is recent enough for one to make sense.
    """
    if state == DONE:
        return ResumeAction.DROP
    if state != DELIVERING and interaction is not None and interaction.valid_for(now) > margin:
        return ResumeAction.RESUME
    if now - created_at <= notice_window:
        return ResumeAction.NOTIFY
    return ResumeAction.DROP
