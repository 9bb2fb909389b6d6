"""The clocks of the test system, and bounded waits.

- Protocol deadlines use the event loop's monotonic clock (:func:`now`).
- Evidence timestamps use wall-clock time (:func:`wall`), so that they can be matched
  with the SUT's logs and written into pcap files.

Every wait for the SUT is bounded: :func:`wait_within` raises :class:`WaitTimeout`,
which says what was awaited and for how long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from conformance.errors import GuardTimeout

T = TypeVar("T")


def now() -> float:
    """Monotonic time of the running event loop (the clock of every protocol timer)."""
    return asyncio.get_running_loop().time()


def wall() -> float:
    """Wall-clock time (seconds since the epoch) for evidence timestamps."""
    return time.time()


class WaitTimeout(GuardTimeout):
    """A bounded wait ended before the awaited event happened."""

    def __init__(self, what: str, within: float) -> None:
        super().__init__(f"no {what} within {within:g} s")
        #: a description of what was awaited, e.g. "SIP request INVITE"
        self.what = what
        #: the guard timeout in seconds
        self.within = within


async def wait_within(awaitable: Awaitable[T], within: float, what: str) -> T:
    """Await ``awaitable`` for at most ``within`` seconds; :class:`WaitTimeout` otherwise."""
    try:
        return await asyncio.wait_for(awaitable, timeout=within)
    except TimeoutError:
        raise WaitTimeout(what, within) from None


class Notifier:
    """Wakes waiters when something changed; they re-check their own condition.

    Used by the pumps: every input calls :meth:`notify`, and :meth:`wait_until` returns the
    first non-``None`` value of ``probe`` (checked at once, then after each change),
    bounded by ``within``.
    """

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def changed(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)

    async def wait_until(self, probe: Callable[[], T | None], within: float, what: str) -> T:
        """``probe``'s first value other than None, or :class:`WaitTimeout` after ``within``
        seconds. What is already there is returned even with ``within`` 0 (asyncio's
        wait_for gives a zero timeout's coroutine no step at all)."""
        ready = probe()
        if ready is not None:
            return ready

        async def until() -> T:
            while True:
                value = probe()
                if value is not None:
                    return value
                await self.changed()

        return await wait_within(until(), within, what)


class DeadlineTimer:
    """The one loop timer at a sans-IO machine's next deadline (re-armed, never stacked).

    ``fire(now)`` runs when the deadline is due. asyncio may run a ``call_at`` callback up
    to one clock resolution early: the timer is due by the loop's own rule, so ``now`` is
    at least the deadline.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[float], None]) -> None:
        self.loop = loop
        self._fire = fire
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None

    def arm(self, deadline: float | None) -> None:
        """Fire at ``deadline`` (``None``: not at all); a timer already there is kept."""
        if deadline == self._armed_at and self._timer is not None:
            return
        self.cancel()
        self._armed_at = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._armed_at
        self._armed_at = None
        now = max(self.loop.time(), deadline) if deadline is not None else self.loop.time()
        self._fire(now)


__all__ = ["DeadlineTimer", "Notifier", "WaitTimeout", "now", "wait_within", "wall"]
