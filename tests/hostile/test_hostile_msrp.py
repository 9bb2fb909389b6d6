"""A hostile SUT on the tool's MSRP connection: garbage, a 10 MB chunk, a 1-byte-per-
100-ms drip, a reset in the middle of a SEND, and garbage that never stops. The tool's
wait for a message ends at its guard (WaitTimeout: inconc) or the bytes are reported as a
ProtocolViolation (fail), with bounded memory and no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.codec import build_send
from conformance.protocol.msrp.session import ConnectionClosed, ProtocolViolation
from conformance.roles.msrp_peer import MsrpPeer

from .peers import RssGuard, reset

GUARD = 1.0
REMOTE = "msrp://127.0.0.1:9/hostile;tcp"


@pytest.fixture
async def peer() -> AsyncIterator[MsrpPeer]:
    tool = await MsrpPeer.start("127.0.0.1")
    tool.declare([REMOTE])
    try:
        yield tool
    finally:
        await tool.close()


def _send(peer: MsrpPeer, body: bytes, *, declared: int | None = None) -> bytes:
    data = build_send(peer.uri, REMOTE, "m1", body, "text/plain", tid="hostile1").to_bytes()
    if declared is not None:
        data = data.replace(
            f"1-{len(body)}/{len(body)}".encode(), f"1-{declared}/{declared}".encode(), 1
        )
    return data


async def _outcome(peer: MsrpPeer) -> tuple[str, object]:
    """What a test case observes waiting for the SUT's message."""
    try:
        return "pass", await peer.expect_message(within=GUARD)
    except WaitTimeout as exc:
        return "inconc", exc


def _violations(peer: MsrpPeer) -> list[ProtocolViolation]:
    return [
        e.event for c in peer.channels for e in c.events if isinstance(e.event, ProtocolViolation)
    ]


async def _connect(peer: MsrpPeer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(peer.host, peer.port)


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE\r\n\r\n\x00\xff\xfe",
        b"MSRP\r\n-------\r\n",
        b"MSRP hostile1 SEND\r\nTo-Path: x\r\n\r\n-------hostile1$\r\n",
        b"MSRP hostile1 SEND\r\n" + b"X-Long: " + b"A" * 40_000 + b"\r\n",
        b"MSRP hostile1 SEND\r\nTo-Path: msrp://127.0.0.1:1/x;tcp\r\nByte-Range: 1-5/-3\r\n"
        b"Content-Type: text/plain\r\n\r\nabc\r\n-------hostile1$\r\n",
    ],
    ids=["binary", "no-transaction-id", "bad-to-path", "40k-header", "negative-total"],
)
async def test_msrp_garbage(peer: MsrpPeer, garbage: bytes) -> None:
    _, writer = await _connect(peer)
    try:
        writer.write(garbage)
        await writer.drain()
        verdict, observed = await _outcome(peer)
    finally:
        writer.close()
    assert verdict == "inconc", observed
    violations = _violations(peer)
    assert violations and violations[0].error.raw is not None
    assert violations[0].error.raw[:16] in garbage or garbage[:16] in violations[0].error.raw


async def test_msrp_10_mb_chunk(peer: MsrpPeer) -> None:
    """A 10 MB SEND body, over the 4 MB chunk bound: a violation, bounded memory."""
    body = b"x" * (10 * 1024 * 1024)
    _, writer = await _connect(peer)
    try:
        with RssGuard(96 * 1024 * 1024) as rss:
            writer.write(_send(peer, body))
            with contextlib.suppress(ConnectionError):
                await writer.drain()  # the tool closes the connection at its bound
            verdict, observed = await _outcome(peer)
    finally:
        writer.close()
    assert verdict == "inconc", observed
    assert any("chunk size" in str(v.error) for v in _violations(peer))
    print(f"10 MB chunk: RSS +{rss.growth / 1e6:.1f} MB")


async def test_msrp_drip_ends_at_the_guard(peer: MsrpPeer) -> None:
    """One byte every 100 ms of a valid SEND: the wait gives up at its guard."""
    data = _send(peer, b"hello")
    _, writer = await _connect(peer)

    async def drip() -> None:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)  # the hostile peer's pace, not a wait of the tool

    task = asyncio.create_task(drip())
    began = time.monotonic()
    try:
        verdict, observed = await _outcome(peer)
    finally:
        task.cancel()
        writer.close()
    assert verdict == "inconc" and isinstance(observed, WaitTimeout)
    assert GUARD - 0.05 <= time.monotonic() - began < GUARD + 0.5


async def test_msrp_reset_mid_send(peer: MsrpPeer) -> None:
    data = _send(peer, b"hello world")
    _, writer = await _connect(peer)
    writer.write(data[: len(data) // 2])
    await writer.drain()
    reset(writer)
    verdict, observed = await _outcome(peer)
    assert verdict == "inconc", observed
    closed = [e for c in peer.channels for e in c.events if isinstance(e.event, ConnectionClosed)]
    assert closed


async def test_msrp_garbage_that_never_stops_is_bounded(peer: MsrpPeer) -> None:
    """After the framing is lost the tool must not keep buffering (or capturing) what a
    hostile peer keeps sending: 96 MB of garbage after a framing error."""
    _, writer = await _connect(peer)
    with RssGuard(24 * 1024 * 1024) as rss:
        writer.write(b"GARBAGE\r\n\r\n")
        try:
            for _ in range(96):
                writer.write(b"\xff" * (1024 * 1024))
                await asyncio.wait_for(writer.drain(), GUARD)
        except (ConnectionError, TimeoutError):
            pass  # the tool closed the connection: what we want
        finally:
            writer.transport.abort()
        verdict, _ = await _outcome(peer)
    assert verdict == "inconc"
    assert _violations(peer)
    print(f"endless garbage: RSS +{rss.growth / 1e6:.1f} MB")
