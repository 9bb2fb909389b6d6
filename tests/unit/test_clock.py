"""conformance/net/clock.py: waits for an event, bounded by a guard."""

from __future__ import annotations

import asyncio

import pytest

from conformance.net.clock import Notifier, WaitTimeout


async def test_a_zero_wait_returns_what_is_already_there() -> None:
    # asyncio.wait_for with timeout 0 would give the waiting coroutine no step at all
    inbox = ["waiting"]
    assert await Notifier().wait_until(lambda: inbox[0] if inbox else None, 0.0, "x") == "waiting"


async def test_a_zero_wait_for_nothing_times_out() -> None:
    with pytest.raises(WaitTimeout):
        await Notifier().wait_until(lambda: None, 0.0, "nothing")


async def test_a_wait_returns_when_the_event_comes() -> None:
    notifier, inbox = Notifier(), []
    asyncio.get_running_loop().call_later(0.01, lambda: (inbox.append(1), notifier.notify()))
    assert await notifier.wait_until(lambda: inbox[0] if inbox else None, 5.0, "one") == 1
