"""MSRP over TCP (RFC 4975 section 6), on asyncio.

:class:`MsrpTransport` listens on a run-time port of one host and opens connections on
demand. Each connection frames its byte stream with
:class:`~conformance.protocol.msrp.codec.MsrpParser`. Every segment goes to the
:class:`~conformance.net.capture.Capture` first; bytes that do not parse reach the
consumer as :class:`~conformance.net.stream.InvalidMessage` evidence (with the codec's
``MsrpSyntaxError``, whose ``fatal`` flag says whether the framing is lost).

Messages are delivered with the :class:`~conformance.net.stream.StreamConnection` they
arrived on: MSRP answers on the same connection, and a session is bound to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from conformance.errors import RemoteProtocolError
from conformance.net.capture import Capture, Endpoint, ProtocolLabel
from conformance.net.ports import bind_tcp_listener
from conformance.net.stream import InvalidMessage, StreamConnection, close_listener
from conformance.protocol.msrp.codec import MsrpMessage, MsrpParser
from conformance.protocol.sip.timers import Address, Transport

log = logging.getLogger(__name__)

#: consumer of everything received: ``(message or evidence, connection)``
OnMsrpMessage = Callable[[MsrpMessage | InvalidMessage, StreamConnection], None]
OnConnection = Callable[[StreamConnection], None]


class MsrpTransport:
    """MSRP listener and connections on one host; see the module documentation."""

    def __init__(
        self,
        host: str,
        capture: Capture,
        on_message: OnMsrpMessage | None = None,
        *,
        label: ProtocolLabel = "msrp",
    ) -> None:
        self.host = host
        self.capture = capture
        self.label: ProtocolLabel = label
        self._on_message = on_message
        #: called when a connection opens (accepted or ours) and when it closes
        self.on_open: OnConnection | None = None
        self.on_close: OnConnection | None = None
        #: when set, received bytes go here unframed (a sans-IO connection frames them)
        self.on_data: Callable[[StreamConnection, bytes], None] | None = None
        self._server: asyncio.Server | None = None
        self._port = 0
        self._parsers: dict[StreamConnection, MsrpParser] = {}
        self._by_remote: dict[Endpoint, StreamConnection] = {}
        self._accepted: asyncio.Queue[StreamConnection] = asyncio.Queue()
        #: the role names of :meth:`name` (None: unnamed)
        self.role: str | None = None
        self.peer_role: str | None = None

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        capture: Capture | None = None,
        on_message: OnMsrpMessage | None = None,
        *,
        port: int = 0,
        label: ProtocolLabel = "msrp",
    ) -> MsrpTransport:
        """Listen on ``port`` (0: chosen at run time) of ``host``."""
        self = cls(host, capture if capture is not None else Capture(), on_message, label=label)
        sock = bind_tcp_listener(host, port)
        self._port = int(sock.getsockname()[1])
        try:
            self._server = await asyncio.get_running_loop().create_server(
                lambda: self._new_connection(outgoing=False), sock=sock
            )
        except BaseException:
            sock.close()
            raise
        return self

    def name(self, role: str, peer_role: str | None = None) -> None:
        """Name the listener and the local end of each connection from now on ``role`` in
        the capture; with ``peer_role``, the far end of each connection too (a guess that
        never replaces the name the far end's owner gave, :meth:`Capture.name`)."""
        self.role, self.peer_role = role, peer_role
        self.capture.name((self.host, self._port), role)
        for conn in self._parsers:
            self._name_connection(conn)

    def _name_connection(self, conn: StreamConnection) -> None:
        if self.role is not None:
            self.capture.name(conn.local, self.role)
        if self.peer_role is not None:
            self.capture.name(conn.remote, self.peer_role, owner=False)

    def set_handler(self, on_message: OnMsrpMessage | None) -> None:
        self._on_message = on_message

    @property
    def port(self) -> int:
        return self._port

    def address(self) -> Address:
        return Address(self.host, self._port, Transport.TCP)

    def uri(self, session_id: str) -> str:
        """The MSRP URI of a local session on this listener (for ``a=path``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"msrp://{host}:{self._port}/{session_id};tcp"

    @property
    def connections(self) -> list[StreamConnection]:
        return list(self._parsers)

    async def connect(self, host: str, port: int, *, reuse: bool = True) -> StreamConnection:
        """A connection to ``host:port``; with ``reuse`` an open one is returned if any."""
        if reuse:
            conn = self._by_remote.get((host, port))
            if conn is not None and conn.is_open:
                return conn
        _, conn = await asyncio.get_running_loop().create_connection(
            lambda: self._new_connection(outgoing=True), host, port
        )
        return conn

    async def accepted(self) -> StreamConnection:
        """The next connection a peer opened to the listener (bound the wait yourself)."""
        return await self._accepted.get()

    def send(self, connection: StreamConnection, data: bytes) -> None:
        """Write ``data`` on ``connection`` (captured)."""
        connection.write(data)

    async def close(self) -> None:
        await close_listener(self._server, list(self._parsers))
        self._server = None

    async def __aenter__(self) -> MsrpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- connection callbacks -------------------------------------------------------------
    def _new_connection(self, *, outgoing: bool) -> StreamConnection:
        return StreamConnection(
            self.capture,
            self.label,
            outgoing=outgoing,
            on_open=self._conn_open,
            on_data=self._conn_data,
            on_close=self._conn_close,
        )

    def _conn_open(self, conn: StreamConnection) -> None:
        self._parsers[conn] = MsrpParser()
        self._by_remote[conn.remote] = conn
        self._name_connection(conn)
        if not conn.outgoing:
            self._accepted.put_nowait(conn)
        if self.on_open is not None:
            self.on_open(conn)

    def _deliver(self, item: MsrpMessage | RemoteProtocolError, conn: StreamConnection) -> None:
        source = Address(conn.remote[0], conn.remote[1], Transport.TCP)
        out: MsrpMessage | InvalidMessage
        if isinstance(item, RemoteProtocolError):
            out = InvalidMessage(item.raw if item.raw is not None else b"", item, source)
        else:
            out = item
        if self._on_message is None:
            log.debug("no handler: dropped %r from %s", out, source)
            return
        try:
            self._on_message(out, conn)
        except Exception:  # a consumer bug must not stop the connection
            log.exception("MSRP handler failed on %r from %s", out, source)

    def _conn_data(self, conn: StreamConnection, data: bytes) -> None:
        if self.on_data is not None:
            self.on_data(conn, data)
            return
        parser = self._parsers.get(conn)
        if parser is None:
            return
        for item in parser.feed(data):
            self._deliver(item, conn)
        if parser.broken:
            conn.close()  # framing lost for good: stop receiving (bounded capture)

    def _conn_close(self, conn: StreamConnection, exc: Exception | None) -> None:
        parser = self._parsers.pop(conn, None)
        if parser is not None and self.on_data is None:
            for item in parser.eof():
                self._deliver(item, conn)
        if self._by_remote.get(conn.remote) is conn:
            del self._by_remote[conn.remote]
        if self.on_close is not None:
            self.on_close(conn)


__all__ = ["MsrpTransport", "OnMsrpMessage"]
