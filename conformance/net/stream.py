"""One TCP connection of the test system, with every segment captured.

:class:`StreamConnection` is an asyncio protocol shared by the SIP and MSRP transports. It
records each segment read and written in the :class:`~conformance.net.capture.Capture`
(with the connection id that lets the pcap writer rebuild the TCP flow) and hands the
bytes to a per-connection framer supplied by the transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.net.capture import Capture, Endpoint, ProtocolLabel
from conformance.protocol.sip.timers import Address

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InvalidMessage:
    """Bytes from the peer that are not a valid SIP or MSRP message: evidence, not a crash.

    ``error`` says what is wrong (for MSRP an ``MsrpSyntaxError`` whose ``fatal`` tells
    whether the stream framing is lost); ``source`` is where the bytes came from.
    """

    data: bytes
    error: RemoteProtocolError
    source: Address


class StreamConnection(asyncio.Protocol):
    """A TCP connection (accepted or opened by us) whose traffic goes to a capture."""

    def __init__(
        self,
        capture: Capture,
        label: ProtocolLabel,
        *,
        outgoing: bool,
        on_open: Callable[[StreamConnection], None],
        on_data: Callable[[StreamConnection, bytes], None],
        on_close: Callable[[StreamConnection, Exception | None], None],
    ) -> None:
        self.capture = capture
        self.label: ProtocolLabel = label
        self.outgoing = outgoing
        self._on_open = on_open
        self._on_data = on_data
        self._on_close = on_close
        self._transport: asyncio.Transport | None = None
        self.local: Endpoint = ("", 0)
        self.remote: Endpoint = ("", 0)
        self.connection_id = 0
        self.closed = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("sockname")
        peer = transport.get_extra_info("peername")
        self.local = (str(sock[0]), int(sock[1]))
        self.remote = (str(peer[0]), int(peer[1]))
        self.connection_id = self.capture.open_connection(
            protocol=self.label, local=self.local, remote=self.remote, outgoing=self.outgoing
        )
        self._on_open(self)

    def data_received(self, data: bytes) -> None:
        self.capture.record(
            direction="in",
            transport="tcp",
            protocol=self.label,
            src=self.remote,
            dst=self.local,
            data=data,
            connection=self.connection_id,
        )
        try:
            self._on_data(self, data)
        except Exception:  # a consumer bug must not kill the connection
            log.exception("handler failed on data from %s:%d", *self.remote)

    def connection_lost(self, exc: Exception | None) -> None:
        self.capture.close_connection(self.connection_id)
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        try:
            self._on_close(self, exc)
        except Exception:
            log.exception("close handler failed for %s:%d", *self.remote)

    # -- use ------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def write(self, data: bytes) -> None:
        """Send ``data`` as one segment (as far as the kernel allows) and capture it."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError(f"connection to {self.remote[0]}:{self.remote[1]} is closed")
        self.capture.record(
            direction="out",
            transport="tcp",
            protocol=self.label,
            src=self.local,
            dst=self.remote,
            data=data,
            connection=self.connection_id,
        )
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        await asyncio.shield(self.closed)


async def close_listener(
    server: asyncio.Server | None, connections: Sequence[StreamConnection]
) -> None:
    """Stop accepting, close ``connections``, and wait until all of them are closed."""
    if server is not None:
        server.close()
    for conn in connections:
        conn.close()
    for conn in connections:
        await conn.wait_closed()
    if server is not None:
        await server.wait_closed()


__all__ = ["InvalidMessage", "StreamConnection", "close_listener"]
