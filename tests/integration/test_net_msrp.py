"""MSRP transport on real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest

from conformance.net.capture import Capture
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpPump, MsrpTransactionTimeoutError
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
from conformance.protocol.msrp.session import MsrpConfig, ReportReceived

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


# ---------------------------------------------------------------------------------------
# MSRP pump: sans-IO connections on real sockets
# ---------------------------------------------------------------------------------------


async def test_pump_message_is_answered_and_reassembled() -> None:
    cap = Capture()
    async with (
        await MsrpPump.start("127.0.0.1", cap) as a,
        await MsrpPump.start("127.0.0.1", Capture()) as b,
    ):
        chan = await a.connect("127.0.0.1", b.address().port)
        sa = chan.add_session(a.uri("sa"), b.uri("sb"))
        peer = await b.accepted(within=GUARD)
        peer.add_session(b.uri("sb"), a.uri("sa"))
        body = b"x" * 5000  # three chunks of the default 2048 bytes
        chunks = chan.send_message(sa, body, "text/plain", success_report="yes")
        assert len(chunks) == 3
        got = await peer.expect_message(within=GUARD)
        assert got.body == body and got.chunk_sizes == (2048, 2048, 904)
        for chunk in chunks:
            ok = await chan.response(chunk, within=GUARD)
            assert ok.status_code == 200
        report = await chan.expect(ReportReceived, within=GUARD)
        assert report.status.code == 200
        sent = b"".join(r.data for r in cap.filter(direction="out"))
        assert sent == b"".join(c.to_bytes() for c in chunks)


async def test_pump_transaction_times_out_when_nobody_answers() -> None:
    config = MsrpConfig(transaction_timeout=0.05)
    async with (
        await MsrpPump.start("127.0.0.1", Capture(), config) as a,
        await MsrpTransport.start("127.0.0.1", Capture()) as silent,
    ):
        chan = await a.connect("127.0.0.1", silent.port)
        session = chan.add_session(a.uri("sa"), silent.uri("sb"))
        [send] = chan.send_message(session, b"hi", "text/plain")
        with pytest.raises(MsrpTransactionTimeoutError):
            await chan.response(send, within=GUARD)
        with pytest.raises(WaitTimeout, match="MessageReceived"):
            await chan.expect_message(within=0.02)
