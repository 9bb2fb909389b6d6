"""Crafted SUT peers for the hostile-input tests: raw loopback sockets on run-time ports
that answer the tool with exactly the bytes a test scripts, plus the bounds every test
asserts (guard time, memory, no traceback in the log)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from conformance.protocol.sip.timers import Address, Transport

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """The resident set size of this process (``/proc/self/statm``, field 2)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE


class RssGuard:
    """Asserts that the RSS grew by at most ``limit`` bytes between enter and exit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.before = 0
        self.growth = 0

    def __enter__(self) -> RssGuard:
        self.before = rss_bytes()
        return self

    def __exit__(self, *exc: object) -> None:
        self.growth = rss_bytes() - self.before
        if exc[0] is None:
            assert self.growth <= self.limit, (
                f"RSS grew by {self.growth / 1e6:.1f} MB, over {self.limit / 1e6:.1f} MB"
            )


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """Log records that carry an exception (a traceback) or come from asyncio's handler."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.exc_info is not None or (r.name == "asyncio" and r.levelno >= logging.ERROR)
    ]


UdpHandler = Callable[[bytes, tuple[str, int], "UdpPeer"], None]


class UdpPeer(asyncio.DatagramProtocol):
    """A UDP socket on a run-time loopback port; ``handler`` sees every datagram."""

    def __init__(self, handler: UdpHandler | None = None) -> None:
        self.handler = handler
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls, handler: UdpHandler | None = None) -> UdpPeer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(
            lambda: cls(handler), local_addr=("127.0.0.1", 0)
        )
        return peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        if self.handler is not None:
            self.handler(data, addr, self)

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)

    @property
    def address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return Address(str(host), int(port), Transport.UDP)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


TcpScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class TcpPeer:
    """A TCP listener on a run-time loopback port running ``script`` per connection."""

    script: TcpScript
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    async def start(cls, script: TcpScript) -> TcpPeer:
        peer = cls(script)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            peer.tasks.add(task)  # type: ignore[arg-type]
            try:
                await script(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass  # the peer's own end: nothing the tool did
            finally:
                with contextlib.suppress(Exception):
                    writer.close()

        peer.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return peer

    @property
    def address(self) -> Address:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return Address(str(host), int(port), Transport.TCP)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(BaseException):
                await task
        if self.server is not None:
            await self.server.wait_closed()


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def read_sip(reader: asyncio.StreamReader) -> bytes:
    """One SIP message from a stream (head, then Content-Length bytes)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            length = int(value.strip() or 0)
    body = await reader.readexactly(length) if length else b""
    return head + body
