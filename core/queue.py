"""A fair queue in front of the image API: a global cap on jobs in flight, a bounded line.

At most ``max_running`` jobs hold a slot at once (calling the API, then uploading what it
made: the images of a job exist only while it holds its slot, so the cap, not a burst,
bounds the memory they take). Up to ``max_waiting`` more wait in line, first come first
served; beyond that a job is refused at once, before anything is done for it. One job per
user is already guaranteed by the cooldown claim taken before a job enters.

The queue is per process and knows nothing of Discord: the job service (:mod:`core.jobs`)
shows positions through its port, with a Cancel offer, and a job that never got its slot
when the process stops stays in the job journal for the next one. Several processes
sharing a store also share its API slots (``Store.acquire_slot``): a job granted a slot
here may be *held back* while it waits for one of those, and until it goes on it can still
be cancelled, or stopped by :meth:`close`, like a job in line.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field


class QueueError(Exception):
    """Why a ticket will never get its slot."""


class Cancelled(QueueError):
    """The job was cancelled while waiting."""


class QueueClosed(QueueError):
    """The process is stopping: the job did not get a slot and will not here."""


@dataclass(eq=False)
class Ticket:
    """One job's place: in line until it is granted a slot, then holding it until it leaves."""

    job_id: str
    user_id: int
    granted: bool = False
    #: Granted, but waiting for something outside the queue before it starts (see
    #: :meth:`JobQueue.hold_back`).
    held_back: bool = False
    left: bool = False
    error: QueueError | None = None
    #: Set whenever something that concerns this ticket changed (its position, a grant, an
    #: error); whoever waits on it clears it before looking again.
    changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def waiting(self) -> bool:
        return not self.granted and self.error is None and not self.left

    @property
    def cancellable(self) -> bool:
        """In line, or granted but held back: the job has not started."""
        if self.error is not None or self.left:
            return False
        return not self.granted or self.held_back


class JobQueue:
    """First come, first served, with ``max_running`` slots and ``max_waiting`` places."""

    def __init__(self, *, max_running: int, max_waiting: int) -> None:
        if max_running < 1:
            raise ValueError("max_running must be at least 1")
        if max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._line: collections.deque[Ticket] = collections.deque()
        self._holding: dict[str, Ticket] = {}
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()
        #: The most slots ever held at once, for the operator and the tests.
        self.peak_running = 0

    # -- state -------------------------------------------------------------------------

    @property
    def running(self) -> int:
        """Jobs holding a slot."""
        return len(self._holding)

    @property
    def waiting(self) -> int:
        """Jobs in line."""
        return len(self._line)

    @property
    def closed(self) -> bool:
        return self._closed

    def has_room(self) -> bool:
        """Whether a new job would be let in now (a quick look before doing any work)."""
        if self._closed:
            return False
        return self._free_slot() or len(self._line) < self.max_waiting

    def position(self, ticket: Ticket) -> int:
        """0 while the ticket holds a slot; 1 for the first in line, and so on; -1 if out."""
        if ticket.granted and not ticket.left:
            return 0
        try:
            return self._line.index(ticket) + 1
        except ValueError:
            return -1

    def ticket(self, job_id: str) -> Ticket | None:
        """The ticket of a job in line or holding a slot."""
        found = self._holding.get(job_id)
        if found is not None:
            return found
        return next((t for t in self._line if t.job_id == job_id), None)

    # -- entering and leaving ----------------------------------------------------------

    def enter(self, job_id: str, user_id: int, *, force: bool = False) -> Ticket | None:
        """A ticket for a new job, or None when the line is full or the queue closed.

        Decided at once, without waiting, so the caller can refuse before any work.
        ``force`` lets in a job that was accepted before (one resumed from the journal)
        even when the line is full.
        """
        if self._closed:
            return None
        ticket = Ticket(job_id, user_id)
        if self._free_slot() and not self._line:
            self._grant(ticket)
            return ticket
        if len(self._line) >= self.max_waiting and not force:
            return None
        self._line.append(ticket)
        return ticket

    async def wait_turn(self, ticket: Ticket) -> None:
        """Return once ``ticket`` holds a slot; raise :class:`Cancelled` or
        :class:`QueueClosed` if it never will."""
        while True:
            if ticket.error is not None:
                raise ticket.error
            if ticket.granted:
                return
            ticket.changed.clear()
            await ticket.changed.wait()

    async def positions(
        self,
        ticket: Ticket,
        *,
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[int]:
        """The ticket's place in line each time it changes, at most once per ``min_interval``
        seconds (the latest place is shown when the interval is over); ends once the
        ticket is out of line."""
        shown: int | None = None
        last = -math.inf
        while ticket.waiting:
            place = self.position(ticket)
            timeout: float | None = None
            if place != shown:
                timeout = last + min_interval - clock()
                if timeout <= 0:
                    shown, last = place, clock()
                    yield place
                    continue
            ticket.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ticket.changed.wait(), timeout)

    def cancel(self, job_id: str) -> bool:
        """Take a job out of line, or stop a held-back one; False if it is neither (it
        may already run)."""
        ticket = next((t for t in self._line if t.job_id == job_id), None)
        if ticket is not None:
            self._remove_waiting(ticket)
        else:
            ticket = self._holding.get(job_id)
            if ticket is None or not ticket.cancellable:
                return False
        ticket.error = Cancelled(job_id)
        ticket.changed.set()
        return True

    def hold_back(self, ticket: Ticket) -> None:
        """The granted ``ticket`` waits for something else before its job starts: until
        :meth:`go_on`, it may be cancelled and :meth:`close` stops it. It keeps its slot
        (the holder leaves as usual)."""
        if ticket.granted and not ticket.left:
            ticket.held_back = True

    def go_on(self, ticket: Ticket) -> None:
        """The held-back ``ticket``'s job starts: no longer cancellable."""
        ticket.held_back = False

    def leave(self, ticket: Ticket) -> None:
        """The job is over: free its slot (or its place in line) for the next one."""
        if ticket.left:
            return
        ticket.left = True
        if self._holding.get(ticket.job_id) is ticket:
            del self._holding[ticket.job_id]
            self._grant_next()
        elif ticket in self._line:
            self._remove_waiting(ticket)
        if not self._holding:
            self._idle.set()

    def close(self) -> list[Ticket]:
        """Stop: no new job enters and nobody in line gets a slot any more.

        Jobs holding a slot go on, except those held back. Returns the tickets that were
        in line, then the held-back ones (each of them now has :class:`QueueClosed` as
        its error; those in line raise it from :meth:`wait_turn`).
        """
        self._closed = True
        left = list(self._line)
        self._line.clear()
        left += [t for t in self._holding.values() if t.held_back and t.error is None]
        for ticket in left:
            ticket.error = QueueClosed(ticket.job_id)
            ticket.changed.set()
        return left

    async def wait_idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every slot to be free; whether they are."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return not self._holding
        return True

    # -- inside ------------------------------------------------------------------------

    def _free_slot(self) -> bool:
        return len(self._holding) < self.max_running

    def _grant(self, ticket: Ticket) -> None:
        ticket.granted = True
        self._holding[ticket.job_id] = ticket
        self._idle.clear()
        self.peak_running = max(self.peak_running, len(self._holding))
        ticket.changed.set()

    def _grant_next(self) -> None:
        moved = False
        while self._line and self._free_slot() and not self._closed:
            self._grant(self._line.popleft())
            moved = True
        if moved:
            self._moved()

    def _remove_waiting(self, ticket: Ticket) -> None:
        index = self._line.index(ticket)
        del self._line[index]
        # Only those behind it moved up.
        for behind in list(self._line)[index:]:
            behind.changed.set()

    def _moved(self) -> None:
        for ticket in self._line:
            ticket.changed.set()
