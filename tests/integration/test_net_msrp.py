"""MSRP transport on real loopback sockets."""

from __future__ import annotations

import asyncio

from conformance.net.capture import Capture
from conformance.net.msrp_transport import MsrpTransport
from conformance.net.stream import InvalidMessage, StreamConnection
from conformance.protocol.msrp.codec import (
    MsrpMessage,
    MsrpRequest,
    MsrpResponse,
    build_response,
    build_send,
    new_message_id,
)

GUARD = 5.0

Received = tuple[MsrpMessage | InvalidMessage, StreamConnection]


async def _endpoint(cap: Capture) -> tuple[MsrpTransport, asyncio.Queue[Received]]:
    q: asyncio.Queue[Received] = asyncio.Queue()
    t = await MsrpTransport.start("127.0.0.1", cap, lambda m, c: q.put_nowait((m, c)))
    return t, q


async def test_send_and_its_200_between_two_transports() -> None:
    cap = Capture()
    a, qa = await _endpoint(cap)
    b, qb = await _endpoint(cap)
    try:
        assert a.port and b.port and a.port != b.port
        conn = await a.connect("127.0.0.1", b.port)
        assert await a.connect("127.0.0.1", b.port) is conn  # reused
        send = build_send(
            b.uri("sb"), a.uri("sa"), new_message_id(), b"hello", content_type="text/plain"
        )
        a.send(conn, send.to_bytes())
        msg, b_conn = await asyncio.wait_for(qb.get(), GUARD)
        assert isinstance(msg, MsrpRequest) and msg.method == "SEND" and msg.body == b"hello"
        assert msg.raw == send.to_bytes()
        assert await asyncio.wait_for(b.accepted(), GUARD) is b_conn
        ok = build_response(msg, 200, "OK")
        b.send(b_conn, ok.to_bytes())
        reply, on = await asyncio.wait_for(qa.get(), GUARD)
        assert on is conn
        assert isinstance(reply, MsrpResponse) and reply.tid == send.tid
        assert reply.status_code == 200
        recs = cap.filter(protocol="msrp", transport="tcp")
        assert [r.direction for r in recs] == ["out", "in", "out", "in"]
        assert recs[0].data == send.to_bytes() and recs[2].data == ok.to_bytes()
    finally:
        await a.close()
        await b.close()


async def test_broken_framing_is_evidence_and_eof_is_reported() -> None:
    cap = Capture()
    t, q = await _endpoint(cap)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", t.port)
        writer.write(b"HELLO not msrp\r\n\r\n")
        await writer.drain()
        item, _ = await asyncio.wait_for(q.get(), GUARD)
        assert isinstance(item, InvalidMessage)
        assert getattr(item.error, "fatal", None) is True
        writer.close()
        await writer.wait_closed()
        del reader
        # a half message then EOF: the parser reports the truncated stream
        _, writer = await asyncio.open_connection("127.0.0.1", t.port)
        writer.write(b"MSRP abcd1234 SEND\r\nTo-Path: msrp://127.0.0.1:1/x;tcp\r\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        item, _ = await asyncio.wait_for(q.get(), GUARD)
        assert isinstance(item, InvalidMessage) and "ended" in str(item.error)
    finally:
        await t.close()
