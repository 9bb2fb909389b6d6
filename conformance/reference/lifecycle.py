"""What the reference services (PF, CF, client) share to start and stop.

Each runs on one :class:`SipPump` and one :class:`MsrpPump`, opened together (the SIP pump is
closed again when the MSRP pump cannot start), and keeps its background work in a
:class:`BackgroundTasks`: a failed task is logged and never stops the service, and closing
cancels what is left, waiting a bounded time for it to end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from conformance.net.msrp_pump import MsrpPump
from conformance.net.sip_pump import SipPump
from conformance.protocol.msrp.session import MsrpConfig
from conformance.protocol.sip.timers import Timers

_T = TypeVar("_T")


async def open_pumps(
    host: str,
    timers: Timers,
    *,
    sip_port: int = 0,
    msrp_port: int = 0,
    msrp_config: MsrpConfig | None = None,
) -> tuple[SipPump, MsrpPump]:
    """The SIP pump (retransmitting its 2xx, RFC 3261 13.3.1.4) and the MSRP pump of a service."""
    sip = await SipPump.start(host, timers=timers, retransmit_2xx=True, port=sip_port)
    try:
        msrp = await MsrpPump.start(host, config=msrp_config, port=msrp_port)
    except BaseException:
        await sip.close()
        raise
    return sip, msrp


class BackgroundTasks:
    """The tasks a service started and has not seen end."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self, task: asyncio.Task[_T]) -> asyncio.Task[_T]:
        """Keep ``task`` until it ends (so that :meth:`cancel_all` reaches it)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` in the background; an exception it raises is logged, not raised."""

        async def run() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.exception("%s task failed", self._what)

        self.track(asyncio.ensure_future(run()))

    async def cancel_all(self, within: float) -> None:
        """Cancel every task left and wait up to ``within`` seconds for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=within)


async def close_pumps(sip: SipPump, msrp: MsrpPump, tasks: BackgroundTasks, within: float) -> None:
    """Stop a service: closing MSRP first ends the channel readers with ConnectionClosed,
    then the background tasks are cancelled, then the SIP pump closes."""
    await msrp.close()
    await tasks.cancel_all(within)
    await sip.close()


__all__ = ["BackgroundTasks", "close_pumps", "open_pumps"]
