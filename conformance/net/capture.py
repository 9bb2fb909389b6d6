"""Capture of every datagram and TCP stream segment in and out of the test system.

A :class:`Capture` is the raw evidence of a run: each datagram sent or received, each
TCP segment read or written, with wall-clock timestamp, addresses and a protocol label.
It is shared by the asyncio transports and by threads (the pjsua2 polling thread), so
every mutation and every read takes a lock.

Test cases read it as a list::

    m = capture.mark()
    ...stimulus...
    sent = capture.since(m, protocol="sip", direction="out")

Addresses can be named with the role they play (:meth:`Capture.name`: ``"tool: client
bob#1"``, ``"SUT: PF"``); each record carries the names its source and destination had
when it was recorded (``src_role``, ``dst_role``), so a port reused later by another
role does not rename older records. An address several roles share (the tool's SIP core,
which every emulator speaks through) can be named per message instead
(:meth:`Capture.attribute`): a function reads each message recorded there and says which
role sent it or took it.

A capture can be written as a pcap file (:mod:`conformance.net.pcap`) or as a text log
(:func:`write_text_log`, or live with :class:`TextLogWriter`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TypeAlias

Direction: TypeAlias = Literal["in", "out"]
TransportName: TypeAlias = Literal["udp", "tcp"]
ProtocolLabel: TypeAlias = Literal["sip", "msrp", "http"] | None
#: (host, port) as the socket layer reports it
Endpoint: TypeAlias = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """One datagram or one TCP segment, as it crossed a socket of the test system.

    ``src`` and ``dst`` are wire addresses: for ``direction="out"`` the source is the
    local socket, for ``"in"`` it is the peer.
    """

    index: int
    timestamp: float
    direction: Direction
    transport: TransportName
    protocol: ProtocolLabel
    src: Endpoint
    dst: Endpoint
    data: bytes
    #: the TCP connection the segment belongs to (see :class:`TcpConnectionInfo`)
    connection: int | None = None
    #: the role the source address played when recorded (:meth:`Capture.name`), if known
    src_role: str | None = None
    #: the role the destination address played when recorded, if known
    dst_role: str | None = None

    @property
    def local(self) -> Endpoint:
        return self.src if self.direction == "out" else self.dst

    @property
    def remote(self) -> Endpoint:
        return self.dst if self.direction == "out" else self.src


@dataclass(frozen=True, slots=True)
class TcpConnectionInfo:
    """A TCP connection seen by the capture: who opened it, and when it opened/closed."""

    connection: int
    protocol: ProtocolLabel
    local: Endpoint
    remote: Endpoint
    #: True when the test system connected out (it is the TCP client)
    outgoing: bool
    opened_at: float
    closed_at: float | None = None

    @property
    def client(self) -> Endpoint:
        return self.local if self.outgoing else self.remote

    @property
    def server(self) -> Endpoint:
        return self.remote if self.outgoing else self.local


#: how sure a role name of an address is (:meth:`Capture.name`)
_GUESS, _SIGNALLED, _OWNER = 0, 1, 2

Listener: TypeAlias = Callable[[CaptureRecord], None]
#: reads one message recorded at a local address (its direction and bytes) and returns
#: the role it was sent or received for there (None: the address's own name)
Attributor: TypeAlias = Callable[[Direction, bytes], str | None]


def _endpoint(address: Iterable[object]) -> Endpoint:
    """Normalise a socket address (IPv4 pair or IPv6 4-tuple) to (host, port)."""
    parts = list(address)
    return (str(parts[0]), int(str(parts[1])))


class Capture:
    """Thread-safe, append-only record of the traffic of one run or test case."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._records: list[CaptureRecord] = []
        self._connections: dict[int, TcpConnectionInfo] = {}
        self._next_connection = 1
        self._listeners: list[Listener] = []
        self._clock = clock
        #: address -> (role, how sure: _GUESS, _SIGNALLED or _OWNER)
        self._roles: dict[Endpoint, tuple[str, int]] = {}
        #: local address -> the per-message namer of the records sent or received there
        self._attributors: dict[Endpoint, Attributor] = {}

    # -- roles --------------------------------------------------------------------------
    def name(
        self, address: Iterable[object], role: str, *, owner: bool = True, signalled: bool = False
    ) -> None:
        """Name ``address`` (host, port) with the ``role`` it plays, for the records from
        now on. ``owner=False`` is a guess from the other end (the SUT element a role
        emulator talks to): it never replaces a name its owner gave. With ``signalled``
        the other end learnt it from the signalling (the SIP peer of the dialog that
        negotiated the connection): it replaces a guess, and a guess does not replace it."""
        endpoint = _endpoint(address)
        rank = _OWNER if owner else _SIGNALLED if signalled else _GUESS
        with self._lock:
            known = self._roles.get(endpoint)
            if known is None or rank >= known[1]:
                self._roles[endpoint] = (role, rank)

    def attribute(self, address: Iterable[object], attributor: Attributor | None) -> None:
        """Name each record sent from or received at the local ``address`` with the role
        ``attributor`` reads in the message (the role emulator behind a shared SIP core);
        when it returns None or fails, the record keeps the address's name
        (:meth:`name`). ``None`` removes the attributor."""
        endpoint = _endpoint(address)
        with self._lock:
            if attributor is None:
                self._attributors.pop(endpoint, None)
            else:
                self._attributors[endpoint] = attributor

    def _attributed(self, local: Endpoint, direction: Direction, data: bytes) -> str | None:
        with self._lock:
            attributor = self._attributors.get(local)
        if attributor is None:
            return None
        try:
            role = attributor(direction, data)
        except Exception:  # a namer's bug (or bytes it cannot read) never loses a record
            return None
        return role if isinstance(role, str) and role else None

    def role_of(self, address: Iterable[object]) -> str | None:
        """The role ``address`` plays now (None: nobody named it)."""
        with self._lock:
            known = self._roles.get(_endpoint(address))
        return known[0] if known is not None else None

    # -- writing ------------------------------------------------------------------------
    def record(
        self,
        *,
        direction: Direction,
        transport: TransportName,
        protocol: ProtocolLabel,
        src: Iterable[object],
        dst: Iterable[object],
        data: bytes,
        connection: int | None = None,
        timestamp: float | None = None,
    ) -> CaptureRecord:
        """Append one datagram or segment and return its record. ``timestamp``: when it was
        read, if that was elsewhere and earlier (the dispatcher of a parallel run); else now."""
        source, destination = _endpoint(src), _endpoint(dst)
        data = bytes(data)
        own = self._attributed(source if direction == "out" else destination, direction, data)
        with self._lock:
            src_role = self._roles.get(source)
            dst_role = self._roles.get(destination)
            if own is not None and direction == "out":
                src_role = (own, _OWNER)
            elif own is not None:
                dst_role = (own, _OWNER)
            rec = CaptureRecord(
                index=len(self._records),
                timestamp=self._clock() if timestamp is None else timestamp,
                direction=direction,
                transport=transport,
                protocol=protocol,
                src=source,
                dst=destination,
                data=data,
                connection=connection,
                src_role=src_role[0] if src_role is not None else None,
                dst_role=dst_role[0] if dst_role is not None else None,
            )
            self._records.append(rec)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(rec)
        return rec

    def open_connection(
        self,
        *,
        protocol: ProtocolLabel,
        local: Iterable[object],
        remote: Iterable[object],
        outgoing: bool,
    ) -> int:
        """Register a TCP connection; returns the id to pass to :meth:`record`."""
        with self._lock:
            cid = self._next_connection
            self._next_connection += 1
            self._connections[cid] = TcpConnectionInfo(
                connection=cid,
                protocol=protocol,
                local=_endpoint(local),
                remote=_endpoint(remote),
                outgoing=outgoing,
                opened_at=self._clock(),
            )
            return cid

    def close_connection(self, connection: int) -> None:
        with self._lock:
            info = self._connections.get(connection)
            if info is not None and info.closed_at is None:
                self._connections[connection] = TcpConnectionInfo(
                    connection=info.connection,
                    protocol=info.protocol,
                    local=info.local,
                    remote=info.remote,
                    outgoing=info.outgoing,
                    opened_at=info.opened_at,
                    closed_at=self._clock(),
                )

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for each new record (in the recording thread); returns a remover."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    # -- reading ------------------------------------------------------------------------
    @property
    def records(self) -> list[CaptureRecord]:
        """A snapshot of every record so far, in order."""
        with self._lock:
            return list(self._records)

    @property
    def connections(self) -> list[TcpConnectionInfo]:
        with self._lock:
            return list(self._connections.values())

    def connection(self, connection: int) -> TcpConnectionInfo | None:
        with self._lock:
            return self._connections.get(connection)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def mark(self) -> int:
        """A point in the capture; pass it to :meth:`since`."""
        return len(self)

    def since(
        self,
        mark: int,
        *,
        protocol: ProtocolLabel | Literal["any"] = "any",
        direction: Direction | None = None,
        transport: TransportName | None = None,
        address: Endpoint | None = None,
    ) -> list[CaptureRecord]:
        """The records from ``mark`` on, filtered like :meth:`filter`."""
        with self._lock:
            tail = self._records[mark:]
        return _filter(tail, protocol, direction, transport, address)

    def filter(
        self,
        *,
        protocol: ProtocolLabel | Literal["any"] = "any",
        direction: Direction | None = None,
        transport: TransportName | None = None,
        address: Endpoint | None = None,
    ) -> list[CaptureRecord]:
        """Records matching every given criterion; ``address`` matches src or dst."""
        return _filter(self.records, protocol, direction, transport, address)


def _filter(
    records: list[CaptureRecord],
    protocol: ProtocolLabel | Literal["any"],
    direction: Direction | None,
    transport: TransportName | None,
    address: Endpoint | None,
) -> list[CaptureRecord]:
    return [
        r
        for r in records
        if (protocol == "any" or r.protocol == protocol)
        and (direction is None or r.direction == direction)
        and (transport is None or r.transport == transport)
        and (address is None or address in (r.src, r.dst))
    ]


# ---------------------------------------------------------------------------------------
# Text log
# ---------------------------------------------------------------------------------------


def format_record(record: CaptureRecord) -> str:
    """A human-readable block: a header line, then the raw bytes (latin-1, CRLF kept as LF)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.timestamp))
    millis = int((record.timestamp % 1) * 1_000_000)
    conn = f" conn={record.connection}" if record.connection is not None else ""
    head = (
        f"#{record.index} {stamp}.{millis:06d}Z {record.direction} {record.transport}{conn} "
        f"{record.protocol or '-'} {record.src[0]}:{record.src[1]} -> "
        f"{record.dst[0]}:{record.dst[1]} ({len(record.data)} bytes)"
    )
    text = record.data.decode("latin-1").replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return f"{head}\n{text}\n"


def write_text_log(records: Iterable[CaptureRecord], path: str | Path) -> Path:
    """Write the raw message log of ``records`` to ``path``."""
    out = Path(path)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(format_record(rec))
    return out


class TextLogWriter:
    """Writes each new record of a capture to a text stream as it happens."""

    def __init__(self, capture: Capture, stream: IO[str]) -> None:
        self._stream = stream
        self._write_lock = threading.Lock()
        self._remove = capture.add_listener(self._on_record)

    def _on_record(self, record: CaptureRecord) -> None:
        with self._write_lock:
            self._stream.write(format_record(record))
            self._stream.flush()

    def close(self) -> None:
        self._remove()


__all__ = [
    "Attributor",
    "Capture",
    "CaptureRecord",
    "Direction",
    "Endpoint",
    "ProtocolLabel",
    "TcpConnectionInfo",
    "TextLogWriter",
    "TransportName",
    "format_record",
    "write_text_log",
]
