"""A fair queue in front of the image API: a global cap on jobs in flight, a bounded line.

At most ``max_running`` jobs hold a slot at once (calling the API, then uploading what it
made: the images of a job exist only while it holds its slot, so the cap, not a burst,
bounds the memory they take). Up to ``max_waiting`` more wait in line; beyond that a job is
refused at once, before anything is done for it. One job per user is already guaranteed by
the cooldown claim taken before a job enters.

The line is shared fairly between servers: each server (direct messages all together count
as one more) has a lane of its own, first come first served, and a free slot goes to the
lane served least recently, so the servers take turns (round-robin) however many members
one of them sends at once. One lane holds at most ``max_waiting_per_guild`` jobs: past it,
that server's new jobs are refused like those that find the whole line full.

The queue is per process and knows nothing of Discord: the job service (:mod:`core.jobs`)
shows positions through its port, with a Cancel offer, and a job that never got its slot
when the process stops stays in the job journal for the next one. Several processes
sharing a store also share its API slots (``Store.acquire_slot``): a job granted a slot
here may be *held back* while it waits for one of those, and until it goes on it can still
be cancelled, or stopped by :meth:`close`, like a job in line. A job may also leave and
come back with a new ticket (a clip gives its slot back while it renders, then waits in
line again to download).
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
    #: The server the job comes from (None: a direct message), whose lane it waits in.
    guild_id: int | None = None
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


@dataclass(eq=False)
class _Lane:
    """One server's jobs in line, first come first served."""

    guild_id: int | None
    #: When the lane was opened, to break ties between lanes never served.
    opened: int
    tickets: collections.deque[Ticket] = field(default_factory=collections.deque)


class JobQueue:
    """``max_running`` slots, ``max_waiting`` places in line shared round-robin between
    servers, at most ``max_waiting_per_guild`` of them taken by one server."""

    def __init__(
        self, *, max_running: int, max_waiting: int, max_waiting_per_guild: int | None = None
    ) -> None:
        if max_running < 1:
            raise ValueError("max_running must be at least 1")
        if max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        if max_waiting_per_guild is not None and max_waiting_per_guild < 1:
            raise ValueError("max_waiting_per_guild must be at least 1")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.max_waiting_per_guild = (
            max_waiting if max_waiting_per_guild is None else max_waiting_per_guild
        )
        #: The lane of each server with jobs in line (None: direct messages).
        self._lanes: dict[int | None, _Lane] = {}
        #: Jobs in line, by id.
        self._waiting: dict[str, Ticket] = {}
        self._holding: dict[str, Ticket] = {}
        #: For each server with jobs in line or holding a slot, the number of its last
        #: grant: the lane served least recently goes next.
        self._served: dict[int | None, int] = {}
        self._grants = 0
        self._opened = 0
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
        return len(self._waiting)

    @property
    def closed(self) -> bool:
        return self._closed

    def has_room(self, guild_id: int | None = None) -> bool:
        """Whether a new job from this server (None: a direct message) would be let in
        now (a quick look before doing any work)."""
        if self._closed:
            return False
        if self._free_slot() and not self._waiting:
            return True
        return len(self._waiting) < self.max_waiting and self._lane_length(guild_id) < (
            self.max_waiting_per_guild
        )

    def position(self, ticket: Ticket) -> int:
        """0 while the ticket holds a slot; 1 for the next to get one, and so on, in the
        order the servers take turns; -1 if out."""
        if ticket.granted and not ticket.left:
            return 0
        if self._waiting.get(ticket.job_id) is not ticket:
            return -1
        lanes = self._turns()
        mine = self._lanes[ticket.guild_id]
        index = mine.tickets.index(ticket)
        # Every full round before the ticket's, then the lanes ahead of it in its round.
        ahead = sum(min(len(lane.tickets), index) for lane in lanes)
        ahead += sum(1 for lane in lanes[: lanes.index(mine)] if len(lane.tickets) > index)
        return ahead + 1

    def line(self) -> list[Ticket]:
        """The jobs in line, in the order they will get their slots (if nobody else comes)."""
        order: list[Ticket] = []
        lanes = [list(lane.tickets) for lane in self._turns()]
        for index in range(max((len(lane) for lane in lanes), default=0)):
            order += [lane[index] for lane in lanes if index < len(lane)]
        return order

    def ticket(self, job_id: str) -> Ticket | None:
        """The ticket of a job in line or holding a slot."""
        return self._holding.get(job_id) or self._waiting.get(job_id)

    # -- entering and leaving ----------------------------------------------------------

    def enter(
        self, job_id: str, user_id: int, *, guild_id: int | None = None, force: bool = False
    ) -> Ticket | None:
        """A ticket for a new job from ``guild_id`` (None: a direct message), or None when
        the line, or this server's share of it, is full, or the queue closed.

        Decided at once, without waiting, so the caller can refuse before any work.
        ``force`` lets in a job that was accepted before (one resumed from the journal)
        even when the line is full.
        """
        if self._closed:
            return None
        ticket = Ticket(job_id, user_id, guild_id)
        if self._free_slot() and not self._waiting:
            self._grant(ticket)
            return ticket
        if not force and not self.has_room(guild_id):
            return None
        lane = self._lanes.get(guild_id)
        if lane is None:
            lane = self._lanes[guild_id] = _Lane(guild_id, self._opened)
            self._opened += 1
        lane.tickets.append(ticket)
        self._waiting[job_id] = ticket
        # A new lane may take a turn ahead of others' later jobs: their places moved.
        self._moved()
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
        ticket = self._waiting.get(job_id)
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
            self._forget(ticket.guild_id)
            self._grant_next()
        elif self._waiting.get(ticket.job_id) is ticket:
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
        left = self.line()
        self._waiting.clear()
        self._lanes.clear()
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

    def _lane_length(self, guild_id: int | None) -> int:
        lane = self._lanes.get(guild_id)
        return 0 if lane is None else len(lane.tickets)

    def _turns(self) -> list[_Lane]:
        """The lanes in the order they get their next slot: least recently served first
        (a server with nothing running or waiting before was never served)."""
        return sorted(
            self._lanes.values(),
            key=lambda lane: (self._served.get(lane.guild_id, -1), lane.opened),
        )

    def _grant(self, ticket: Ticket) -> None:
        ticket.granted = True
        self._holding[ticket.job_id] = ticket
        self._served[ticket.guild_id] = self._grants
        self._grants += 1
        self._idle.clear()
        self.peak_running = max(self.peak_running, len(self._holding))
        ticket.changed.set()

    def _grant_next(self) -> None:
        moved = False
        while self._waiting and self._free_slot() and not self._closed:
            lane = self._turns()[0]
            ticket = lane.tickets[0]
            self._take_out(ticket)
            self._grant(ticket)
            moved = True
        if moved:
            self._moved()

    def _take_out(self, ticket: Ticket) -> None:
        """Take a waiting ticket out of its lane (closing the lane once it is empty)."""
        del self._waiting[ticket.job_id]
        lane = self._lanes[ticket.guild_id]
        lane.tickets.remove(ticket)
        if not lane.tickets:
            del self._lanes[ticket.guild_id]

    def _remove_waiting(self, ticket: Ticket) -> None:
        self._take_out(ticket)
        self._forget(ticket.guild_id)
        # Places behind it moved up, in its lane and in the rounds of the others.
        self._moved()

    def _forget(self, guild_id: int | None) -> None:
        """Drop when a server was last served once it has nothing in line or running, so
        the record stays as small as the queue."""
        if guild_id in self._lanes:
            return
        if any(t.guild_id == guild_id for t in self._holding.values()):
            return
        self._served.pop(guild_id, None)

    def _moved(self) -> None:
        for ticket in self._waiting.values():
            ticket.changed.set()
