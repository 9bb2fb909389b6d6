"""SIP over UDP and TCP on one local port (RFC 3261 18), on asyncio.

:class:`SipTransport` binds a UDP socket and a TCP listener on the same port of one host,
opens TCP connections on demand (one per remote address, reused in both directions),
frames TCP with :class:`~conformance.protocol.sip.message.StreamParser` and parses
datagrams with :func:`~conformance.protocol.sip.message.parse_message`.

Every datagram and segment goes to the :class:`~conformance.net.capture.Capture` before it
is parsed. Bytes that do not parse never crash the transport: they reach the consumer as
:class:`InvalidMessage` evidence.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.net.capture import Capture, Endpoint, ProtocolLabel
from conformance.net.ports import bind_udp_and_tcp
from conformance.net.stream import InvalidMessage, StreamConnection, close_listener
from conformance.protocol.sip.message import SipMessage, StreamParser, parse_message
from conformance.protocol.sip.timers import Address, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TransportError:
    """A send that failed (connection refused, reset, ...)."""

    destination: Address
    data: bytes
    error: Exception


#: consumer of everything received: ``(message or evidence, source)``
OnMessage = Callable[[SipMessage | InvalidMessage, Address], None]
OnTransportError = Callable[[TransportError], None]
#: sends a response to an injected request: ``(data, destination)``; raises
#: ConnectionError when it cannot
Reply = Callable[[bytes, Address], None]
#: remembered reply paths of injected requests (least recently used dropped beyond this)
REPLY_LIMIT = 1024


def _only_keepalive(data: bytes) -> bool:
    return not data.strip(b"\r\n")


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.owner.datagram_received(data, (str(addr[0]), int(str(addr[1]))))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and similar: not evidence of a message, only logged.
        log.debug("UDP error on %s: %s", self.owner.address(Transport.UDP), exc)


class SipTransport:
    """SIP over UDP and TCP on one port; see the module documentation."""

    def __init__(
        self,
        host: str,
        capture: Capture,
        on_message: OnMessage | None = None,
        *,
        label: ProtocolLabel = "sip",
    ) -> None:
        self.host = host
        self.capture = capture
        self.label: ProtocolLabel = label
        self._on_message = on_message
        self.on_transport_error: OnTransportError | None = None
        #: every failed send, in order
        self.transport_errors: list[TransportError] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._port = 0
        self._connections: dict[Endpoint, StreamConnection] = {}
        self._parsers: dict[StreamConnection, StreamParser] = {}
        self._connecting: dict[Endpoint, asyncio.Task[StreamConnection]] = {}
        self._pending: dict[Endpoint, list[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        #: (host, port, transport) of an injected request's source -> its reply path and
        #: the address it arrived at (:meth:`inject`)
        self._replies: OrderedDict[tuple[str, int, Transport], tuple[Reply, Endpoint]] = (
            OrderedDict()
        )
        #: replies handed to a relay (the dispatcher) that it has not yet said it sent,
        #: and the UDP sends waiting behind them (:meth:`relay_started`)
        self._relay_in_flight = 0
        self._behind_relay: deque[tuple[bool, Callable[[], None]]] = deque()

    # -- life cycle -----------------------------------------------------------------------
    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        capture: Capture | None = None,
        on_message: OnMessage | None = None,
        *,
        port: int = 0,
        label: ProtocolLabel = "sip",
    ) -> SipTransport:
        """Bind UDP and TCP on ``port`` (0: chosen at run time) of ``host`` and serve."""
        self = cls(host, capture if capture is not None else Capture(), on_message, label=label)
        loop = asyncio.get_running_loop()
        udp_sock, tcp_sock = bind_udp_and_tcp(host, port)
        self._port = int(udp_sock.getsockname()[1])
        try:
            udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=udp_sock)
            self._udp = udp
            self._server = await loop.create_server(
                lambda: self._new_connection(outgoing=False), sock=tcp_sock
            )
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            raise
        return self

    def set_handler(self, on_message: OnMessage | None) -> None:
        self._on_message = on_message

    def address(self, transport: Transport = Transport.UDP) -> Address:
        """The local address for ``transport`` (same host and port for UDP and TCP)."""
        return Address(self.host, self._port, transport)

    @property
    def port(self) -> int:
        return self._port

    async def close(self) -> None:
        """Close the sockets and every TCP connection; pending sends are dropped."""
        self._closed = True
        for task in list(self._connecting.values()):
            task.cancel()
        for ctask in list(self._tasks):
            ctask.cancel()
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        await close_listener(self._server, list(self._connections.values()))
        self._server = None

    async def __aenter__(self) -> SipTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending --------------------------------------------------------------------------
    def send_nowait(self, data: bytes, destination: Address) -> None:
        """Send now over UDP or an open TCP connection; otherwise connect in the background.

        Order per destination is kept. A failure is recorded in :attr:`transport_errors`
        and given to :attr:`on_transport_error`.
        """
        if self._closed:
            raise ConnectionError("SIP transport is closed")
        if data.startswith(b"SIP/2.0 ") and self._replies:
            path = self._replies.get((destination.host, destination.port, destination.transport))
            if path is not None:
                self._send_reply(data, destination, *path)
                return
        if destination.transport is Transport.UDP:
            self._send_udp(data, destination)
            return
        key = (destination.host, destination.port)
        conn = self._connections.get(key)
        if conn is not None and conn.is_open and key not in self._pending:
            conn.write(data)
            return
        self._pending.setdefault(key, []).append(data)
        if key not in self._connecting:
            task = asyncio.get_running_loop().create_task(self._flush_after_connect(destination))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def send(self, data: bytes, destination: Address) -> None:
        """Send ``data``; for TCP, wait for the connection (raises on failure)."""
        if destination.transport is Transport.UDP:
            self.send_nowait(data, destination)
            return
        await self.connect(destination)
        self.send_nowait(data, destination)

    async def connect(self, destination: Address) -> StreamConnection:
        """The TCP connection to ``destination``, opening it if needed."""
        key = (destination.host, destination.port)
        conn = self._connections.get(key)
        if conn is not None and conn.is_open:
            return conn
        task = self._connecting.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._open(key))
            self._connecting[key] = task
            task.add_done_callback(lambda _t: self._connecting.pop(key, None))
        return await asyncio.shield(task)

    async def _open(self, key: Endpoint) -> StreamConnection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            lambda: self._new_connection(outgoing=True), key[0], key[1]
        )
        return conn

    async def _flush_after_connect(self, destination: Address) -> None:
        key = (destination.host, destination.port)
        try:
            conn = await self.connect(destination)
        except (OSError, ConnectionError) as exc:
            for data in self._pending.pop(key, []):
                self._failed(TransportError(destination, data, exc))
            return
        for data in self._pending.pop(key, []):
            try:
                conn.write(data)
            except ConnectionError as exc:
                self._failed(TransportError(destination, data, exc))

    # -- order with replies that leave through a relay -----------------------------------
    def relay_started(self) -> None:
        """A reply was handed to a relay that will say when it has sent it
        (:meth:`relay_sent`). Until then, UDP this transport sends itself waits: what
        the tool sends leaves in the order it was sent, whichever path it takes."""
        self._relay_in_flight += 1

    @property
    def held_behind_relay(self) -> int:
        """Sends waiting for the relay to send the replies before them."""
        return len(self._behind_relay)

    def relay_sent(self) -> None:
        """The relay sent one reply handed to it: what waited behind it goes."""
        self._relay_in_flight = max(0, self._relay_in_flight - 1)
        self._drain_behind_relay()

    def relay_lost(self) -> None:
        """The relay is gone: nothing waits for it any longer."""
        self._relay_in_flight = 0
        self._drain_behind_relay()

    def _in_order(self, relayed: bool, send: Callable[[], None]) -> None:
        if self._behind_relay or (not relayed and self._relay_in_flight):
            self._behind_relay.append((relayed, send))
            return
        send()

    def _drain_behind_relay(self) -> None:
        while self._behind_relay:
            relayed, send = self._behind_relay[0]
            if not relayed and self._relay_in_flight:
                return
            self._behind_relay.popleft()
            try:
                send()
            except ConnectionError as exc:
                log.debug("SIP send after a relayed reply failed: %s", exc)

    def _send_udp(self, data: bytes, destination: Address) -> None:
        self._in_order(False, lambda: self._send_udp_now(data, destination))

    def _send_udp_now(self, data: bytes, destination: Address) -> None:
        if self._udp is None:
            raise ConnectionError("SIP transport is closed")
        self.capture.record(
            direction="out",
            transport="udp",
            protocol=self.label,
            src=(self.host, self._port),
            dst=(destination.host, destination.port),
            data=data,
        )
        self._udp.sendto(data, (destination.host, destination.port))

    def _send_reply(self, data: bytes, destination: Address, reply: Reply, src: Endpoint) -> None:
        self._in_order(True, lambda: self._send_reply_now(data, destination, reply, src))

    def _send_reply_now(
        self, data: bytes, destination: Address, reply: Reply, src: Endpoint
    ) -> None:
        self.capture.record(
            direction="out",
            transport="tcp" if destination.transport is Transport.TCP else "udp",
            protocol=self.label,
            src=src,
            dst=(destination.host, destination.port),
            data=data,
        )
        reply(data, destination)

    def _failed(self, error: TransportError) -> None:
        self.transport_errors.append(error)
        log.info("SIP send to %s failed: %s", error.destination, error.error)
        if self.on_transport_error is not None:
            self.on_transport_error(error)

    # -- receiving ------------------------------------------------------------------------
    def _deliver(self, item: SipMessage | InvalidMessage, source: Address) -> None:
        if self._on_message is None:
            log.debug("no handler: dropped %r from %s", item, source)
            return
        try:
            self._on_message(item, source)
        except Exception:  # a consumer bug must not stop the transport
            log.exception("SIP handler failed on %r from %s", item, source)

    def datagram_received(self, data: bytes, peer: Endpoint) -> None:
        """The UDP protocol object hands over a datagram it received."""
        self.capture.record(
            direction="in",
            transport="udp",
            protocol=self.label,
            src=peer,
            dst=(self.host, self._port),
            data=data,
        )
        source = Address(peer[0], peer[1], Transport.UDP)
        if _only_keepalive(data):
            return
        try:
            msg = parse_message(data)
        except RemoteProtocolError as exc:
            self._deliver(InvalidMessage(data, exc, source), source)
            return
        self._deliver(msg, source)

    def inject(
        self,
        data: bytes,
        source: Address,
        reply: Reply,
        *,
        arrived_at: Address | None = None,
        received: float | None = None,
    ) -> None:
        """Take ``data``, one SIP message that ``source`` sent to ``arrived_at`` (default:
        this transport's address) and that someone else received (the dispatcher in
        front of parallel workers, conformance/net/dispatcher.py), as if it had arrived
        here: captured as received, parsed and delivered like a datagram or a framed TCP
        message (:class:`InvalidMessage` when it does not parse). ``received``: when the
        dispatcher read it (the capture's time of the record; else now).

        Responses sent afterwards to ``source`` (same host, port and transport) go through
        ``reply`` instead of a socket, captured as sent from ``arrived_at``, so that the
        SUT and the evidence see them come from the address the request went to."""
        arrived = arrived_at if arrived_at is not None else self.address(source.transport)
        src: Endpoint = (source.host, source.port)
        dst: Endpoint = (arrived.host, arrived.port)
        self.capture.record(
            direction="in",
            transport="tcp" if source.transport is Transport.TCP else "udp",
            protocol=self.label,
            src=src,
            dst=dst,
            data=data,
            timestamp=received,
        )
        key = (source.host, source.port, source.transport)
        self._replies[key] = (reply, dst)
        self._replies.move_to_end(key)
        while len(self._replies) > REPLY_LIMIT:
            self._replies.popitem(last=False)
        if _only_keepalive(data):
            return
        try:
            msg = parse_message(data, stream=source.transport is Transport.TCP)
        except RemoteProtocolError as exc:
            self._deliver(InvalidMessage(data, exc, source), source)
            return
        self._deliver(msg, source)

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
        self._parsers[conn] = StreamParser()
        # The newest connection to a remote address is the one reused for sending.
        self._connections[conn.remote] = conn

    def _conn_data(self, conn: StreamConnection, data: bytes) -> None:
        parser = self._parsers.get(conn)
        if parser is None:
            return
        source = Address(conn.remote[0], conn.remote[1], Transport.TCP)
        for item in parser.feed(data):
            if isinstance(item, RemoteProtocolError):
                raw = item.raw if item.raw is not None else data
                self._deliver(InvalidMessage(raw, item, source), source)
            else:
                self._deliver(item, source)
        if parser.broken:
            # message boundaries are lost for good: stop receiving, so that a hostile
            # peer cannot make the capture grow without bound
            conn.close()

    def _conn_close(self, conn: StreamConnection, exc: Exception | None) -> None:
        self._parsers.pop(conn, None)
        if self._connections.get(conn.remote) is conn:
            del self._connections[conn.remote]

    @property
    def connections(self) -> list[StreamConnection]:
        """The open TCP connections."""
        return list(self._connections.values())


__all__ = ["InvalidMessage", "OnMessage", "Reply", "SipTransport", "TransportError"]
