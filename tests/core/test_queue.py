"""The job queue: a global cap, a bounded line, first come first served, places, cancel."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from core.queue import Cancelled, JobQueue, QueueClosed, Ticket

pytestmark = pytest.mark.asyncio


def enter_all(queue: JobQueue, count: int) -> list[Ticket]:
    tickets = []
    for i in range(count):
        ticket = queue.enter(f"job{i}", user_id=i)
        assert ticket is not None
        tickets.append(ticket)
    return tickets


async def test_the_cap_holds_and_the_line_is_first_come_first_served() -> None:
    queue = JobQueue(max_running=2, max_waiting=3)
    tickets = enter_all(queue, 5)
    assert [queue.position(t) for t in tickets] == [0, 0, 1, 2, 3]
    assert (queue.running, queue.waiting) == (2, 3)
    assert queue.enter("late", user_id=99) is None
    assert not queue.has_room()

    order: list[str] = []

    async def run(ticket: Ticket) -> None:
        await queue.wait_turn(ticket)
        order.append(ticket.job_id)
        assert queue.running <= 2
        await asyncio.sleep(0.01)
        queue.leave(ticket)

    await asyncio.gather(*(run(t) for t in tickets))
    assert order == [f"job{i}" for i in range(5)]
    assert queue.peak_running == 2
    assert (queue.running, queue.waiting) == (0, 0)
    assert await queue.wait_idle(0.1)


async def test_a_full_line_refuses_at_once_and_room_comes_back() -> None:
    queue = JobQueue(max_running=1, max_waiting=1)
    first, second = enter_all(queue, 2)
    assert queue.enter("third", user_id=3) is None
    queue.leave(first)
    assert queue.position(second) == 0
    assert queue.has_room()
    third = queue.enter("third", user_id=3)
    assert third is not None
    assert queue.position(third) == 1


async def test_a_resumed_job_gets_in_even_when_the_line_is_full() -> None:
    queue = JobQueue(max_running=1, max_waiting=0)
    enter_all(queue, 1)
    assert queue.enter("new", user_id=5) is None
    resumed = queue.enter("resumed", user_id=6, force=True)
    assert resumed is not None
    assert queue.position(resumed) == 1


async def test_cancel_takes_a_waiting_job_out_and_moves_the_rest_up() -> None:
    queue = JobQueue(max_running=1, max_waiting=5)
    running, first, second = enter_all(queue, 3)
    waiter = asyncio.create_task(queue.wait_turn(first))
    await asyncio.sleep(0)
    assert queue.cancel("job1")
    with pytest.raises(Cancelled):
        await waiter
    assert queue.position(second) == 1
    assert queue.position(first) == -1
    # A job holding its slot cannot be cancelled; an unknown one neither.
    assert not queue.cancel("job0")
    assert not queue.cancel("nobody")
    queue.leave(first)  # releasing a cancelled ticket changes nothing
    assert queue.running == 1
    queue.leave(running)
    assert queue.position(second) == 0


async def test_closing_stops_the_line_but_not_the_running() -> None:
    queue = JobQueue(max_running=1, max_waiting=5)
    running, waiting = enter_all(queue, 2)
    waiter = asyncio.create_task(queue.wait_turn(waiting))
    await asyncio.sleep(0)
    assert queue.close() == [waiting]
    with pytest.raises(QueueClosed):
        await waiter
    assert queue.enter("after", user_id=9) is None
    assert not queue.has_room()
    assert not await queue.wait_idle(0.01)
    queue.leave(running)
    assert await queue.wait_idle(0.01)
    assert queue.running == 0


async def test_a_held_back_job_can_be_cancelled_until_it_goes_on() -> None:
    queue = JobQueue(max_running=2, max_waiting=5)
    first, second, third = enter_all(queue, 3)
    assert not first.cancellable  # granted: running
    queue.hold_back(first)
    queue.hold_back(second)
    assert [t.cancellable for t in (first, second, third)] == [True, True, True]
    queue.go_on(second)
    assert not queue.cancel("job1")  # it went on: too late
    assert queue.cancel("job0")
    assert isinstance(first.error, Cancelled)
    assert not first.cancellable
    assert not queue.cancel("job0")
    # It keeps its slot until its holder lets go.
    assert (queue.running, queue.position(third)) == (2, 1)
    queue.leave(first)
    assert third.granted


async def test_closing_stops_the_held_back_but_not_those_that_went_on() -> None:
    queue = JobQueue(max_running=2, max_waiting=5)
    held, running, waiting = enter_all(queue, 3)
    queue.hold_back(held)
    assert queue.close() == [waiting, held]
    assert isinstance(held.error, QueueClosed)
    assert running.error is None
    queue.hold_back(waiting)  # not granted: nothing
    assert not waiting.held_back


async def test_places_are_shown_when_they_change_at_most_once_an_interval() -> None:
    queue = JobQueue(max_running=1, max_waiting=20)
    tickets = enter_all(queue, 12)
    last = tickets[-1]
    seen: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()

    async def watch() -> None:
        async for place in queue.positions(last, min_interval=0.2):
            seen.append((loop.time(), place))

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.01)
    # Ten jobs finish quickly, one every 50 ms: the place drops ten times.
    for ticket in tickets[:10]:
        queue.leave(ticket)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    assert seen[0][1] == 11
    assert seen[-1][1] == 1  # the latest place is always shown in the end
    assert len(seen) < 6  # far fewer than ten changes
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(seen)]
    assert all(gap >= 0.19 for gap in gaps)
    queue.leave(tickets[10])
    await asyncio.wait_for(watcher, 1)  # granted: the places end
    assert queue.position(last) == 0


async def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="max_running"):
        JobQueue(max_running=0, max_waiting=1)
    with pytest.raises(ValueError, match="max_waiting"):
        JobQueue(max_running=1, max_waiting=-1)


# -- sharing between servers -----------------------------------------------------------


def enter_from(queue: JobQueue, guild_id: int | None, count: int, start: int = 0) -> list[Ticket]:
    tickets = []
    for i in range(start, start + count):
        ticket = queue.enter(f"{guild_id}-{i}", user_id=i, guild_id=guild_id)
        assert ticket is not None
        tickets.append(ticket)
    return tickets


async def test_servers_take_turns_and_places_say_so() -> None:
    queue = JobQueue(max_running=2, max_waiting=100)
    busy = enter_from(queue, 1, 8)
    assert [queue.position(t) for t in busy] == [0, 0, 1, 2, 3, 4, 5, 6]
    [other] = enter_from(queue, 2, 1)
    # Server 1 already holds both slots: server 2 goes first, and the rest moved back.
    assert queue.position(other) == 1
    assert [queue.position(t) for t in busy[2:]] == [2, 3, 4, 5, 6, 7]
    third = enter_from(queue, 3, 2)
    assert [queue.position(t) for t in third] == [2, 4]
    assert [queue.position(t) for t in busy[2:]] == [3, 5, 6, 7, 8, 9]
    # The places shown are the order the slots are given in.
    expected = queue.line()
    assert [queue.position(t) for t in expected] == list(range(1, len(expected) + 1))
    holding = busy[:2]
    for ticket in expected:
        queue.leave(holding.pop(0))
        assert queue.position(ticket) == 0
        holding.append(ticket)


async def test_the_order_of_grants_is_round_robin() -> None:
    queue = JobQueue(max_running=1, max_waiting=100)
    first = queue.enter("first", user_id=0, guild_id=9)
    assert first is not None
    a = enter_from(queue, 1, 3)
    b = enter_from(queue, 2, 2)
    dm = enter_from(queue, None, 2)
    granted: list[str] = []
    holder = first
    while True:
        queue.leave(holder)
        holder = next((t for t in [*a, *b, *dm] if t.granted and not t.left), None)
        if holder is None:
            break
        granted.append(holder.job_id)
    assert granted == ["1-0", "2-0", "None-0", "1-1", "2-1", "None-1", "1-2"]


async def test_one_server_holds_at_most_its_share_of_the_line() -> None:
    queue = JobQueue(max_running=1, max_waiting=10, max_waiting_per_guild=3)
    busy = enter_from(queue, 1, 4)  # one runs, three wait
    assert not queue.has_room(1)
    assert queue.enter("late", user_id=99, guild_id=1) is None
    assert queue.has_room(2)
    assert queue.has_room(None)
    assert enter_from(queue, 2, 3)
    assert queue.enter("dm", user_id=98) is not None
    # A job resumed from the journal still gets in.
    assert queue.enter("resumed", user_id=97, guild_id=1, force=True) is not None
    # The slot freed goes to server 2, served less recently; server 1 still has no room.
    queue.leave(busy[0])
    assert queue.waiting == 7
    assert not queue.has_room(1)
    # Its share comes back once it has fewer than three in line.
    assert queue.cancel(busy[1].job_id)
    assert not queue.has_room(1)
    assert queue.cancel("resumed")
    assert queue.has_room(1)


async def test_cancel_and_close_keep_the_lanes_right() -> None:
    queue = JobQueue(max_running=1, max_waiting=10)
    [running] = enter_from(queue, 1, 1)
    a = enter_from(queue, 1, 2, start=1)
    b = enter_from(queue, 2, 2)
    assert [queue.position(t) for t in [*a, *b]] == [2, 4, 1, 3]
    assert queue.cancel(b[0].job_id)
    assert [queue.position(t) for t in [*a, b[1]]] == [2, 3, 1]
    assert queue.ticket(b[0].job_id) is None
    left = queue.close()
    assert [t.job_id for t in left] == [b[1].job_id, a[0].job_id, a[1].job_id]
    assert queue.waiting == 0
    assert queue.running == 1
    queue.leave(running)
    assert await queue.wait_idle(0.1)


async def test_the_record_of_servers_stays_as_small_as_the_queue() -> None:
    queue = JobQueue(max_running=2, max_waiting=10)
    for guild in range(50):
        [ticket] = enter_from(queue, guild, 1)
        queue.leave(ticket)
    assert queue._served == {}
    assert queue._lanes == {}
