"""The dispatcher: the tool's one SIP address (and XDMS URL) in front of parallel workers.

Several pytest-xdist workers run test cases against one SUT, whose outbound proxy is the
tool's fixed address (PIXIT ``[tool]``) and whose XDMS is one URL. :class:`Dispatcher`
binds both in the controller process; each worker links to it over a control connection
(:class:`~conformance.net.dispatch_link.DispatchLink`) and claims its slice of the users,
its instances, its SIP addresses and its XDMS
(:class:`~conformance.protocol.sip.dispatch.Claim`).

- A request from the SUT (a UDP datagram, or one message framed from a TCP stream with
  :class:`~conformance.protocol.sip.message.StreamParser`) is decided by
  :attr:`Dispatcher.table` and relayed as it arrived, with its source and transport, to
  the owning worker, which injects it into its own transport
  (:meth:`~conformance.net.sip_transport.SipTransport.inject`).
- A request nobody owns is answered ``404`` statelessly from the dispatcher's address
  (never an ACK) and kept in :attr:`Dispatcher.unroutable`, as are responses (nobody
  should send any here) and bytes that are no SIP message. A TCP stream whose framing is
  lost is closed.
- The workers' responses come back as ``reply`` frames: sent over UDP from the
  dispatcher's SIP socket, over TCP on the connection the request came in on (RFC 3261
  18.2.2), or, when that connection is gone, on a new connection to the top Via's
  ``received`` (else sent-by host) and sent-by port.
- A control connection that closes, or sends a bad frame, releases its worker's claim.
- The XDMS relay (:meth:`Dispatcher.start_xdms_relay`) reads one HTTP/1.1 request per
  connection, finds the user in the path as the XDMS emulator does
  (``<root>/preferences/<percent-encoded user URI>``) and pipes the request to the owning
  worker's XDMS and its answer back (``404`` for a user nobody owns, ``400`` for a
  request that does not parse, ``502`` when the worker's XDMS does not answer).

The control wire format is in :mod:`conformance.net.dispatch_wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from conformance.errors import RemoteProtocolError
from conformance.net.clock import Notifier, WaitTimeout
from conformance.net.dispatch_wire import (
    FROM_WORKER,
    Frame,
    FrameError,
    address_from_json,
    address_to_json,
    claim_from_json,
    connection_id,
    encode_frame,
    read_frame,
    sequence,
)
from conformance.net.ports import bind_udp_and_tcp
from conformance.protocol.sip.dispatch import DispatchTable
from conformance.protocol.sip.headers import get_vias
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import (
    SipMessage,
    SipRequest,
    StreamParser,
    parse_message,
)
from conformance.protocol.sip.timers import Address, Transport

log = logging.getLogger(__name__)

#: evidence kept in :attr:`Dispatcher.unroutable` (the oldest is dropped beyond this)
UNROUTABLE_LIMIT = 1000
#: the XDMS relay: the largest request head and body, and the largest answer relayed
MAX_HTTP_HEAD = 16 * 1024
MAX_HTTP_BODY = 1024 * 1024
MAX_HTTP_ANSWER = 4 * 1024 * 1024
#: bound of every read and connect of the XDMS relay (a silent peer never holds a task)
HTTP_GUARD = 10.0

_REASONS = {400: "Bad Request", 404: "Not Found", 502: "Bad Gateway"}


@dataclass(frozen=True, slots=True)
class Unroutable:
    """Bytes that reached the dispatcher and went to no worker."""

    at: float  #: wall-clock time
    source: Address
    data: bytes
    #: ``unroutable`` (a request no worker owns), ``response``, ``invalid: <why>``,
    #: ``worker gone: <name>``, ``not relayed: <why>``
    reason: str


@dataclass(frozen=True, slots=True)
class LinkError:
    """A control connection closed because of a bad frame."""

    at: float
    worker: str | None
    reason: str


class _SipConnection(asyncio.Protocol):
    """A TCP connection with the SUT (accepted, or opened to send a response)."""

    def __init__(self, owner: Dispatcher) -> None:
        self.owner = owner
        self.id = 0
        self.remote: tuple[str, int] = ("", 0)
        self.parser = StreamParser()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.remote = (str(peer[0]), int(peer[1]))
        self.id = self.owner.sip_connection_opened(self)

    def data_received(self, data: bytes) -> None:
        source = Address(self.remote[0], self.remote[1], Transport.TCP)
        for item in self.parser.feed(data):
            if isinstance(item, RemoteProtocolError):
                raw = item.raw if item.raw is not None else data
                self.owner.record(source, raw, f"invalid: {item}")
            else:
                self.owner.sip_received(item.raw, item, source, self)
        if self.parser.broken:
            # message boundaries are lost for good
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.owner.sip_connection_closed(self)
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError(f"connection to {self.remote[0]}:{self.remote[1]} is closed")
        self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: Dispatcher) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        source = Address(str(addr[0]), int(str(addr[1])), Transport.UDP)
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            message = parse_message(data)
        except RemoteProtocolError as exc:
            self.owner.record(source, data, f"invalid: {exc}")
            return
        self.owner.sip_received(data, message, source, None)

    def error_received(self, exc: Exception) -> None:
        log.debug("dispatcher UDP error: %s", exc)


class _Link:
    """One worker's control connection, at the dispatcher."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.worker: str | None = None

    def send(self, frame: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionError(f"link of {self.worker} is closed")
        self.writer.write(frame)


class Dispatcher:
    """The tool's fixed SIP address in front of parallel workers (module docstring).
    Build it with :meth:`start`."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.table = DispatchTable()
        #: requests no worker took, responses and garbage, as evidence (bounded)
        self.unroutable: list[Unroutable] = []
        #: control connections closed for a bad frame
        self.link_errors: list[LinkError] = []
        #: wall-clock time the first worker's claim was released (its link closed), or None
        self.first_release: float | None = None
        self._port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._sip_server: asyncio.Server | None = None
        self._control_server: asyncio.Server | None = None
        self._xdms_server: asyncio.Server | None = None
        self._control: tuple[str, int] = (host, 0)
        self._links: dict[str, _Link] = {}
        self._connections: dict[int, _SipConnection] = {}
        self._next_connection = 1
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = Notifier()
        self._xdms_root = ""
        self._closed = False

    # -- life cycle -----------------------------------------------------------------
    @classmethod
    async def start(cls, host: str, port: int = 0) -> Dispatcher:
        """Bind SIP UDP and TCP on ``host:port`` (0: a run-time port; one number for
        both) and the control server on a run-time port of ``host``."""
        self = cls(host)
        loop = asyncio.get_running_loop()
        udp_sock, tcp_sock = bind_udp_and_tcp(host, port)
        self._port = int(udp_sock.getsockname()[1])
        try:
            udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp_sock)
            self._udp = udp
            self._sip_server = await loop.create_server(lambda: _SipConnection(self), sock=tcp_sock)
            self._control_server = await asyncio.start_server(self._serve_link, host, 0)
            sock = self._control_server.sockets[0].getsockname()
            self._control = (str(sock[0]), int(sock[1]))
        except BaseException:
            udp_sock.close()
            tcp_sock.close()
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close every socket, link and connection, and wait for them."""
        self._closed = True
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        servers = [self._sip_server, self._control_server, self._xdms_server]
        self._sip_server = self._control_server = self._xdms_server = None
        for server in servers:
            if server is not None:
                server.close()
        for link in list(self._links.values()):
            link.writer.close()
        connections = list(self._connections.values())
        for conn in connections:
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in connections:
            await asyncio.shield(conn.closed)
        for server in servers:
            if server is not None:
                await server.wait_closed()

    async def __aenter__(self) -> Dispatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def address(self) -> Address:
        """The SIP address (UDP; TCP on the same port): the SUT's outbound proxy."""
        return Address(self.host, self._port, Transport.UDP)

    @property
    def port(self) -> int:
        return self._port

    @property
    def control(self) -> tuple[str, int]:
        """Where workers connect their :class:`~conformance.net.dispatch_link.DispatchLink`."""
        return self._control

    @property
    def workers(self) -> list[str]:
        """The workers linked now."""
        return sorted(self._links)

    async def wait_workers(self, count: int, *, within: float) -> None:
        """Until ``count`` workers are linked (said hello and were acknowledged)."""
        try:
            await self._changed.wait_until(
                lambda: True if len(self._links) >= count else None, within, "worker links"
            )
        except WaitTimeout:
            raise WaitTimeout(
                f"{count} worker links at the dispatcher's control address "
                f"{self._control[0]}:{self._control[1]} (linked: "
                f"{', '.join(self.workers) or 'none'})",
                within,
            ) from None

    async def wait_released(self, worker: str, *, within: float) -> None:
        """Until ``worker`` has no link and no claim (its link closed)."""
        await self._changed.wait_until(
            lambda: True if worker not in self._links else None,
            within,
            f"release of worker {worker} at the dispatcher",
        )

    async def wait_sip_connections(self, count: int, *, within: float) -> None:
        """Until at most ``count`` TCP connections with the SUT are open."""
        await self._changed.wait_until(
            lambda: True if len(self._connections) <= count else None,
            within,
            f"at most {count} SIP TCP connections at the dispatcher",
        )

    async def wait_unroutable(self, count: int, *, within: float) -> Unroutable:
        """The ``count``-th piece of evidence in :attr:`unroutable` (1-based)."""
        return await self._changed.wait_until(
            lambda: self.unroutable[count - 1] if len(self.unroutable) >= count else None,
            within,
            f"unroutable item #{count} at the dispatcher",
        )

    # -- evidence -------------------------------------------------------------------
    def record(self, source: Address, data: bytes, reason: str) -> None:
        self.unroutable.append(Unroutable(time.time(), source, bytes(data), reason))
        if len(self.unroutable) > UNROUTABLE_LIMIT:
            del self.unroutable[0]
        log.info("dispatcher: %s from %s", reason, source)
        self._changed.notify()

    # -- SIP from the SUT -----------------------------------------------------------
    def sip_connection_opened(self, conn: _SipConnection) -> int:
        cid = self._next_connection
        self._next_connection += 1
        self._connections[cid] = conn
        return cid

    def sip_connection_closed(self, conn: _SipConnection) -> None:
        if self._connections.get(conn.id) is conn:
            del self._connections[conn.id]
        self._changed.notify()

    @property
    def sip_connections(self) -> list[tuple[str, int]]:
        """The remote ends of the open TCP connections with the SUT."""
        return [c.remote for c in self._connections.values() if c.is_open]

    def sip_received(
        self, data: bytes, message: SipMessage, source: Address, conn: _SipConnection | None
    ) -> None:
        """One message from the SUT: relay a request to its owner (with the time it was
        read here, the record's time in the worker's capture); record the rest."""
        received = time.time()
        if not isinstance(message, SipRequest):
            self.record(source, data, "response")
            return
        decision = self.table.decide(message)
        if decision.worker is None:
            self.record(source, data, "unroutable")
            self._answer_404(message, source, conn)
            return
        link = self._links.get(decision.worker)
        if link is None:
            self.record(source, data, f"worker gone: {decision.worker}")
            self._answer_404(message, source, conn)
            return
        header = {
            "source": address_to_json(source),
            "arrived_at": address_to_json(Address(self.host, self._port, source.transport)),
            "conn": conn.id if conn is not None else None,
            "rule": decision.rule,
            "received": received,
        }
        try:
            link.send(encode_frame("request", header, data))
        except (FrameError, ConnectionError) as exc:
            self.record(source, data, f"not relayed: {exc}")

    def _answer_404(
        self, request: SipRequest, source: Address, conn: _SipConnection | None
    ) -> None:
        if request.method == "ACK":
            return
        data = response_to(request, 404, to_tag=new_tag()).to_bytes()
        self._send(data, source, conn.id if conn is not None else None)

    def _send(self, data: bytes, destination: Address, conn_id: int | None) -> None:
        """``data`` to the SUT: UDP from the SIP socket; TCP on connection ``conn_id`` if
        it is still open, else on a new connection to the top Via (RFC 3261 18.2.2)."""
        if destination.transport is Transport.UDP:
            if self._udp is not None:
                self._udp.sendto(data, (destination.host, destination.port))
            return
        conn = self._connections.get(conn_id) if conn_id is not None else None
        if conn is not None and conn.is_open:
            try:
                conn.write(data)
                return
            except ConnectionError:
                pass
        target = _via_destination(data) or (destination.host, destination.port)
        self._spawn(self._send_on_new_connection(data, target))

    async def _send_on_new_connection(self, data: bytes, target: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _SipConnection(self), target[0], target[1]),
                HTTP_GUARD,
            )
            conn.write(data)
        except (OSError, ConnectionError, TimeoutError) as exc:
            log.info("dispatcher: response to %s:%d not sent: %s", target[0], target[1], exc)

    # -- control connections --------------------------------------------------------
    async def _serve_link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._own_current_task()
        link = _Link(writer)
        try:
            while not self._closed:
                frame = await read_frame(reader, FROM_WORKER)
                if frame is None:
                    break
                self._on_frame(link, frame)
        except FrameError as exc:
            log.warning("dispatcher: link of %s closed: %s", link.worker or "(no hello)", exc)
            self.link_errors.append(LinkError(time.time(), link.worker, str(exc)))
        except (ConnectionError, OSError):
            pass
        finally:
            if link.worker is not None and self._links.get(link.worker) is link:
                del self._links[link.worker]
                self.table.release(link.worker)
                if self.first_release is None:
                    self.first_release = time.time()
                self._changed.notify()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    def _on_frame(self, link: _Link, frame: Frame) -> None:
        header = frame.header
        if link.worker is None and frame.type != "hello":
            raise FrameError(f"first frame is {frame.type!r}, not 'hello'")
        if frame.type in ("hello", "claim"):
            seq = sequence(header.get("seq"))
            claim = claim_from_json(header.get("claim"))
            if frame.type == "hello":
                if link.worker is not None:
                    raise FrameError("a second hello")
                link.worker = claim.worker
                old = self._links.get(claim.worker)
                if old is not None:  # a worker that reconnected: the new link wins
                    old.writer.close()
                self._links[claim.worker] = link
            elif claim.worker != link.worker:
                raise FrameError(f"{link.worker} claims for {claim.worker}")
            self.table.claim(claim)
            link.send(encode_frame("ack", {"seq": seq}))
            self._changed.notify()
            return
        # reply: a response to a request this link received
        destination = address_from_json(header.get("to"), "reply destination")
        conn_id = connection_id(header.get("conn"))
        if not frame.payload.startswith(b"SIP/2.0 "):
            raise FrameError("a reply that is no SIP response")
        self._send(frame.payload, destination, conn_id)
        if "seq" in header:
            # the worker holds its own UDP sends back until its reply has left
            link.send(encode_frame("sent", {"seq": sequence(header.get("seq"))}))

    # -- XDMS relay -----------------------------------------------------------------
    async def start_xdms_relay(self, host: str, port: int = 0, *, root: str = "") -> str:
        """Serve the XDMS relay on ``host:port`` (0: run-time port); its base URL, the
        same shape as :attr:`XdmsServer.url` (``http://host:port<root>``)."""
        if self._xdms_server is not None:
            raise RuntimeError("the XDMS relay is already started")
        self._xdms_root = "/" + root.strip("/") if root.strip("/") else ""
        self._xdms_server = await asyncio.start_server(
            self._serve_xdms, host, port, limit=MAX_HTTP_HEAD
        )
        bound = self._xdms_server.sockets[0].getsockname()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{int(bound[1])}{self._xdms_root}"

    async def _serve_xdms(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._own_current_task()
        try:
            answer = await asyncio.wait_for(self._relay_http(reader), HTTP_GUARD * 2)
            writer.write(answer)
            await writer.drain()
        except (ConnectionError, OSError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _relay_http(self, reader: asyncio.StreamReader) -> bytes:
        """The answer to one HTTP request read from ``reader``."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_GUARD)
        except asyncio.LimitOverrunError:
            return _http_answer(400)
        except asyncio.IncompleteReadError:
            return _http_answer(400)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return _http_answer(400)
        length = 0
        kept: list[str] = []
        for line in lines[1:]:
            if not line:
                continue
            name, colon, value = line.partition(":")
            if not colon:
                return _http_answer(400)
            if name.strip().lower() == "content-length":
                if not value.strip().isdigit():
                    return _http_answer(400)
                length = int(value.strip())
            if name.strip().lower() != "connection":
                kept.append(line)
        if length > MAX_HTTP_BODY:
            return _http_answer(400)
        try:
            body = await asyncio.wait_for(reader.readexactly(length), HTTP_GUARD)
        except asyncio.IncompleteReadError:
            return _http_answer(400)
        path = urlsplit(parts[1]).path
        prefix = f"{self._xdms_root}/preferences/"
        if not path.startswith(prefix):
            return _http_answer(404)
        owner = self.table.owner_of_user(unquote(path[len(prefix) :]))
        claim = self.table.claim_of(owner) if owner is not None else None
        if claim is None or claim.xdms is None:
            return _http_answer(404)
        request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
        return await self._forward_http(claim.xdms, request + body)

    async def _forward_http(self, target: tuple[str, int], request: bytes) -> bytes:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target[0], target[1]), HTTP_GUARD
            )
        except (OSError, TimeoutError):
            return _http_answer(502)
        try:
            writer.write(request)
            await writer.drain()
            answer = bytearray()
            while len(answer) <= MAX_HTTP_ANSWER:
                chunk = await asyncio.wait_for(reader.read(65536), HTTP_GUARD)
                if not chunk:
                    break
                answer += chunk
            if not answer.startswith(b"HTTP/1.") or len(answer) > MAX_HTTP_ANSWER:
                return _http_answer(502)
            return bytes(answer)
        except (OSError, TimeoutError):
            return _http_answer(502)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    # -- tasks ----------------------------------------------------------------------
    def _own_current_task(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _via_destination(response: bytes) -> tuple[str, int] | None:
    """RFC 3261 18.2.2: the top Via's ``received`` (else its host) and sent-by port."""
    try:
        vias = get_vias(parse_message(response))
    except RemoteProtocolError:
        return None
    if not vias:
        return None
    via = vias[0]
    host = (via.received or via.host).strip("[]")
    return (host, via.port or 5060)


def _http_answer(status: int) -> bytes:
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode()


__all__ = ["Dispatcher", "LinkError", "Unroutable"]
