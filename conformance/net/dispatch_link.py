"""A worker's link to the dispatcher (conformance/net/dispatcher.py).

:meth:`DispatchLink.connect` opens the control connection, says hello with the worker's
:class:`~conformance.protocol.sip.dispatch.Claim` and waits for the dispatcher's ack.
Every request the dispatcher relays is handed to the worker's
:meth:`SipTransport.inject <conformance.net.sip_transport.SipTransport.inject>`, with a
reply path that sends the worker's responses back as ``reply`` frames, so that they leave
from the dispatcher's address (on the SUT's own TCP connection for TCP).

The dispatcher answers each ``reply`` with ``sent`` once it has sent it; until then the
worker's transport holds back the UDP it sends itself
(:meth:`SipTransport.relay_started <conformance.net.sip_transport.SipTransport.relay_started>`):
a response the tool relays and a request it then sends directly reach the SUT in that
order, as they would from one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from typing import Any

from conformance.net.clock import wait_within
from conformance.net.dispatch_wire import (
    FROM_DISPATCHER,
    Frame,
    FrameError,
    address_from_json,
    address_to_json,
    claim_to_json,
    connection_id,
    encode_frame,
    read_frame,
    sequence,
)
from conformance.net.sip_transport import Reply, SipTransport
from conformance.protocol.sip.dispatch import Claim
from conformance.protocol.sip.timers import Address

log = logging.getLogger(__name__)


class DispatchLink:
    """One worker's control connection to the dispatcher. Build it with :meth:`connect`."""

    def __init__(
        self,
        control: tuple[str, int],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        transport: SipTransport,
        claim: Claim,
    ) -> None:
        self.control = control
        self.transport = transport
        #: the claim the dispatcher acknowledged last
        self.claim = claim
        #: requests relayed to this worker so far
        self.relayed = 0
        self._reader = reader
        self._writer = writer
        self._seq = 0
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._claiming = asyncio.Lock()
        #: done when the link is closed (by either side); its result says why
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(
        cls,
        control: tuple[str, int],
        claim: Claim,
        transport: SipTransport,
        *,
        within: float = 10.0,
    ) -> DispatchLink:
        """Link to the dispatcher at ``control`` and claim ``claim`` (waits for the ack)."""
        reader, writer = await wait_within(
            asyncio.open_connection(control[0], control[1]),
            within,
            f"connection to the dispatcher at {control[0]}:{control[1]}",
        )
        link = cls(control, reader, writer, transport, claim)
        link._task = asyncio.get_running_loop().create_task(link._read())
        try:
            await link._claim("hello", claim, within)
        except BaseException:
            await link.close()
            raise
        return link

    async def reclaim(self, claim: Claim, *, within: float = 10.0) -> None:
        """Replace this worker's claim (waits for the ack)."""
        if claim.worker != self.claim.worker:
            raise ValueError(f"link of {self.claim.worker} cannot claim for {claim.worker}")
        await self._claim("claim", claim, within)
        self.claim = claim

    async def add_users(self, uris: frozenset[str], *, within: float = 10.0) -> None:
        """Add ``uris`` to this worker's claimed users (one claim at a time: concurrent
        calls do not drop each other's URIs). What an emulator makes up is claimed so: a
        focus URI, which the SUT may address with no user of the slice in the request."""
        async with self._claiming:
            if uris <= self.claim.users or self.closed.done():
                return
            mine = dataclasses.replace(self.claim, users=self.claim.users | uris)
            await self.reclaim(mine, within=within)

    async def close(self) -> None:
        """Close the link; the dispatcher releases this worker's claim."""
        self._closed = True
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()
        self._finish("closed by the worker")

    async def __aenter__(self) -> DispatchLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals ------------------------------------------------------------------
    async def _claim(self, kind: str, claim: Claim, within: float) -> None:
        self._seq += 1
        seq = self._seq
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[seq] = ack
        try:
            self._write(encode_frame(kind, {"seq": seq, "claim": claim_to_json(claim)}))
            await wait_within(
                asyncio.shield(ack),
                within,
                f"dispatcher ack of {kind} from {claim.worker} at "
                f"{self.control[0]}:{self.control[1]}",
            )
        finally:
            self._acks.pop(seq, None)

    def _write(self, frame: bytes) -> None:
        if self._closed or self._writer.is_closing():
            raise ConnectionError(
                f"link to the dispatcher at {self.control[0]}:{self.control[1]} is closed"
            )
        self._writer.write(frame)

    async def _read(self) -> None:
        reason = "closed by the dispatcher"
        try:
            while True:
                frame = await read_frame(self._reader, FROM_DISPATCHER)
                if frame is None:
                    break
                self._on_frame(frame)
        except FrameError as exc:
            reason = f"bad frame from the dispatcher: {exc}"
            log.warning("dispatch link of %s: %s", self.claim.worker, reason)
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            self._closed = True
            self._writer.close()
            self._finish(reason)

    def _finish(self, reason: str) -> None:
        self.transport.relay_lost()
        for ack in self._acks.values():
            if not ack.done():
                ack.set_exception(ConnectionError(f"dispatcher link {reason}"))
        if not self.closed.done():
            self.closed.set_result(reason)

    def _on_frame(self, frame: Frame) -> None:
        header: dict[str, Any] = frame.header
        if frame.type == "ack":
            ack = self._acks.get(sequence(header.get("seq")))
            if ack is not None and not ack.done():
                ack.set_result(None)
            return
        if frame.type == "sent":
            self.transport.relay_sent()
            return
        source = address_from_json(header.get("source"), "request source")
        arrived = address_from_json(header.get("arrived_at"), "request arrived_at")
        conn = connection_id(header.get("conn"))
        stamp = header.get("received")
        received = (
            float(stamp)
            if isinstance(stamp, int | float)
            and not isinstance(stamp, bool)
            and math.isfinite(stamp)
            and stamp > 0
            else None
        )
        self.relayed += 1
        self.transport.inject(
            frame.payload, source, self._reply_path(conn), arrived_at=arrived, received=received
        )

    def _reply_path(self, conn: int | None) -> Reply:
        def reply(data: bytes, destination: Address) -> None:
            self._seq += 1
            try:
                frame = encode_frame(
                    "reply",
                    {"to": address_to_json(destination), "conn": conn, "seq": self._seq},
                    data,
                )
            except FrameError as exc:
                raise ConnectionError(str(exc)) from None
            self._write(frame)
            self.transport.relay_started()

        return reply


__all__ = ["DispatchLink"]
