"""SIP transport and pump on real loopback sockets."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest

from conformance.net.capture import Capture
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import SipPump, TransactionTimeoutError
from conformance.net.sip_transport import InvalidMessage, SipTransport
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import TransactionTimedOut
from conformance.protocol.sip.message import SipMessage, SipRequest, build_request
from conformance.protocol.sip.timers import Address, Timers, Transport

GUARD = 5.0

Received = tuple[SipMessage | InvalidMessage, Address]


def _options(branch: str = "z9hG4bK-1", via: str = "127.0.0.1:1;transport=UDP") -> SipRequest:
    return build_request(
        "OPTIONS",
        "sip:b@127.0.0.1",
        [
            ("Via", f"SIP/2.0/UDP {via};branch={branch}"),
            ("Max-Forwards", "70"),
            ("From", "<sip:a@127.0.0.1>;tag=1"),
            ("To", "<sip:b@127.0.0.1>"),
            ("Call-ID", "c1"),
            ("CSeq", "1 OPTIONS"),
        ],
    )


async def _pair(
    capture: Capture,
) -> tuple[SipTransport, SipTransport, asyncio.Queue[Received], asyncio.Queue[Received]]:
    qa: asyncio.Queue[Received] = asyncio.Queue()
    qb: asyncio.Queue[Received] = asyncio.Queue()
    a = await SipTransport.start("127.0.0.1", capture, lambda m, s: qa.put_nowait((m, s)))
    b = await SipTransport.start("127.0.0.1", capture, lambda m, s: qb.put_nowait((m, s)))
    return a, b, qa, qb


async def test_udp_and_tcp_share_one_run_time_port() -> None:
    async with await SipTransport.start("127.0.0.1", Capture()) as t:
        udp, tcp = t.address(Transport.UDP), t.address(Transport.TCP)
        assert udp.port == tcp.port != 0
        assert tcp.transport is Transport.TCP


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
async def test_send_receive_both_ways_with_capture(transport: Transport) -> None:
    cap = Capture()
    a, b, qa, qb = await _pair(cap)
    try:
        req = _options()
        mark = cap.mark()
        await a.send(req.to_bytes(), b.address(transport))
        msg, source = await asyncio.wait_for(qb.get(), GUARD)
        assert isinstance(msg, SipRequest) and msg.raw == req.raw
        assert source.transport is transport and source.host == "127.0.0.1"
        if transport is Transport.UDP:
            assert source.port == a.port
        # answer to the source address: over TCP this reuses the accepted connection
        await b.send(b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", source)
        reply, _ = await asyncio.wait_for(qa.get(), GUARD)
        assert not isinstance(reply, InvalidMessage) and reply.cseq == (1, "OPTIONS")
        recs = cap.since(mark, protocol="sip", transport=transport.value.lower())  # type: ignore[arg-type]
        assert [r.direction for r in recs] == ["out", "in", "out", "in"]
        assert recs[0].data == req.raw and recs[1].data == req.raw
        if transport is Transport.TCP:
            # one connection seen from each end (both ends share this capture)
            ids = {r.connection for r in recs}
            assert len(ids) == 2
            ends = [cap.connection(i) for i in ids if i is not None]
            assert {e.outgoing for e in ends if e} == {True, False}
            assert len(a.connections) == 1 and len(b.connections) == 1
    finally:
        await a.close()
        await b.close()


async def test_tcp_stream_split_in_odd_segments() -> None:
    cap = Capture()
    q: asyncio.Queue[Received] = asyncio.Queue()
    t = await SipTransport.start("127.0.0.1", cap, lambda m, s: q.put_nowait((m, s)))
    try:
        wire = _options("z9hG4bK-a").to_bytes() + b"\r\n" + _options("z9hG4bK-b").to_bytes()
        reader, writer = await asyncio.open_connection("127.0.0.1", t.port)
        writer.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        # odd sizes, one segment at a time: each write is read before the next one
        cut = [0, 1, 7, 8, 60, 61, 150, len(wire)]
        for start, end in itertools.pairwise(cut):
            before = len(cap.filter(direction="in"))
            writer.write(wire[start:end])
            await writer.drain()
            while sum(len(r.data) for r in cap.filter(direction="in")[before:]) < end - start:
                await asyncio.wait_for(_next_record(cap), GUARD)
        got = [await asyncio.wait_for(q.get(), GUARD) for _ in range(2)]
        branches = [m.headers.get("Via") for m, _ in got if not isinstance(m, InvalidMessage)]
        assert branches == [
            "SIP/2.0/UDP 127.0.0.1:1;transport=UDP;branch=z9hG4bK-a",
            "SIP/2.0/UDP 127.0.0.1:1;transport=UDP;branch=z9hG4bK-b",
        ]
        assert b"".join(r.data for r in cap.filter(direction="in")) == wire
        writer.close()
        await writer.wait_closed()
        del reader
    finally:
        await t.close()


async def _next_record(cap: Capture) -> None:
    """Resolve when the capture gets its next record (event, not polling)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def on_record(_r: object) -> None:
        loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))

    remove = cap.add_listener(on_record)
    try:
        await fut
    finally:
        remove()


async def test_garbage_becomes_evidence_not_a_crash() -> None:
    cap = Capture()
    q: asyncio.Queue[Received] = asyncio.Queue()
    t = await SipTransport.start("127.0.0.1", cap, lambda m, s: q.put_nowait((m, s)))
    try:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.sendto(b"\x00\xffnot sip at all", ("127.0.0.1", t.port))
        item, source = await asyncio.wait_for(q.get(), GUARD)
        assert isinstance(item, InvalidMessage)
        assert item.data == b"\x00\xffnot sip at all"
        assert item.source == source == Address("127.0.0.1", udp.getsockname()[1], Transport.UDP)
        # TCP: a missing Content-Length breaks framing -> evidence, connection still captured
        _, writer = await asyncio.open_connection("127.0.0.1", t.port)
        writer.write(b"OPTIONS sip:b@x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n")
        await writer.drain()
        item, source = await asyncio.wait_for(q.get(), GUARD)
        assert isinstance(item, InvalidMessage) and source.transport is Transport.TCP
        assert "Content-Length" in str(item.error)
        writer.close()
        await writer.wait_closed()
        # the transport still works afterwards
        udp.sendto(_options().to_bytes(), ("127.0.0.1", t.port))
        item, _ = await asyncio.wait_for(q.get(), GUARD)
        assert isinstance(item, SipRequest)
        udp.close()
    finally:
        await t.close()


async def test_tcp_connect_failure_is_recorded_not_raised_by_send_nowait() -> None:
    t = await SipTransport.start("127.0.0.1", Capture())
    try:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nobody listens there now
        failed: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        t.on_transport_error = failed.set_result
        t.send_nowait(b"x", Address("127.0.0.1", port, Transport.TCP))
        err = await asyncio.wait_for(failed, GUARD)
        assert t.transport_errors == [err]
        with pytest.raises(OSError):
            await t.send(b"x", Address("127.0.0.1", port, Transport.TCP))
    finally:
        await t.close()


def test_wait_timeout_names_what_was_awaited() -> None:
    exc = WaitTimeout("SIP request INVITE", 0.5)
    assert "SIP request INVITE" in str(exc) and exc.within == 0.5


# ---------------------------------------------------------------------------------------
# SIP pump: transaction layer on real sockets
# ---------------------------------------------------------------------------------------

T1 = 0.01  # tiny T1: Timer B = 64*T1 = 0.64 s


def _request(method: str, local: Address, target: Address) -> SipRequest:
    proto = local.transport.value
    return build_request(
        method,
        f"sip:b@{target.host}:{target.port};transport={proto.lower()}",
        [
            ("Via", f"SIP/2.0/{proto} {local.host}:{local.port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:a@{local.host}>;tag={new_tag()}"),
            ("To", f"<sip:b@{target.host}>"),
            ("Call-ID", new_call_id(local.host)),
            ("CSeq", f"1 {method}"),
            ("Contact", f"<sip:a@{local.host}:{local.port};transport={proto.lower()}>"),
        ],
    )


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
async def test_options_and_200_between_two_pumps(transport: Transport) -> None:
    cap = Capture()
    timers = Timers(t1=T1)
    async with (
        await SipPump.start("127.0.0.1", cap, timers) as a,
        await SipPump.start("127.0.0.1", Capture(), timers) as b,
    ):
        req = _request("OPTIONS", a.address(transport), b.address(transport))
        handle = await a.request(req, b.address(transport))
        incoming = await b.expect_request("OPTIONS", within=GUARD)
        assert incoming.request.raw == req.raw and incoming.source.transport is transport
        sent = incoming.respond(200, headers=[("Allow", "INVITE, ACK, OPTIONS")])
        final = await handle.final(within=GUARD)
        assert final.status == 200 and final.raw == sent.raw
        assert handle.responses == [final]
        recs = cap.filter(protocol="sip")
        assert [r.direction for r in recs] == ["out", "in"]
        assert recs[0].data == req.raw and recs[1].data == sent.raw
        with pytest.raises(WaitTimeout, match="SIP request INVITE"):
            await b.expect_request("INVITE", within=0.05)


async def test_a_wait_for_what_should_happen_returns_when_it_arrives() -> None:
    """The guard only bounds a silent peer: a wait ends with the arrival, for a request that
    comes while it waits and for one that came before it began (the inbox is read first).
    The bound below is a quarter of the guard, never a timing of the machine."""
    guard = 120.0
    timers = Timers(t1=T1)
    tcp = Transport.TCP
    loop = asyncio.get_running_loop()
    async with (
        await SipPump.start("127.0.0.1", Capture(), timers) as a,
        await SipPump.start("127.0.0.1", Capture(), timers) as b,
    ):
        start = loop.time()
        waiting = asyncio.ensure_future(b.expect_request("MESSAGE", within=guard))
        await a.request(_request("MESSAGE", a.address(tcp), b.address(tcp)), b.address(tcp))
        (await waiting).respond(200)
        # in order on one TCP connection: the MESSAGE is in the inbox once the OPTIONS came
        await a.request(_request("MESSAGE", a.address(tcp), b.address(tcp)), b.address(tcp))
        await a.request(_request("OPTIONS", a.address(tcp), b.address(tcp)), b.address(tcp))
        (await b.expect_request("OPTIONS", within=guard)).respond(200)
        assert [item.method for item in b.inbox] == ["MESSAGE"]
        (await b.expect_request("MESSAGE", within=guard)).respond(200)
        assert loop.time() - start < guard / 4


async def test_invite_is_retransmitted_over_udp_then_timer_b_fires() -> None:
    cap = Capture()
    timers = Timers(t1=T1)
    async with (
        await SipPump.start("127.0.0.1", cap, timers) as a,
        await SipTransport.start("127.0.0.1", Capture()) as silent,  # never answers
    ):
        dest = silent.address(Transport.UDP)
        invite = _request("INVITE", a.address(), dest)
        start = asyncio.get_running_loop().time()
        handle = await a.request(invite, dest)
        with pytest.raises(TransactionTimeoutError) as info:
            await handle.final(within=timers.b * 5 + GUARD)
        elapsed = asyncio.get_running_loop().time() - start
        assert info.value.timer == "B" and handle.timed_out == "B"
        assert elapsed >= timers.b * 0.99  # the loop may run a timer a clock tick early
        await handle.wait_terminated(within=GUARD)
        sent = cap.filter(protocol="sip", direction="out")
        assert all(r.data == invite.raw for r in sent)
        # Timer A doubles from T1: 0, T1, 3T1, 7T1, ... 63T1 < 64T1 -> 7 sends
        assert 3 <= len(sent) <= 7
        gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(sent)]
        assert gaps[-1] > gaps[0]
        assert any(isinstance(e.event, TransactionTimedOut) for e in a.events)


async def test_invite_over_tcp_is_not_retransmitted_and_times_out() -> None:
    cap = Capture()
    timers = Timers(t1=T1)
    async with (
        await SipPump.start("127.0.0.1", cap, timers) as a,
        await SipTransport.start("127.0.0.1", Capture()) as silent,
    ):
        dest = silent.address(Transport.TCP)
        handle = await a.request(_request("INVITE", a.address(Transport.TCP), dest), dest)
        assert await handle.outcome(within=timers.b * 5 + GUARD) == "B"
        assert len(cap.filter(protocol="sip", direction="out")) == 1


async def test_pump_turns_unmatchable_request_into_evidence() -> None:
    async with await SipPump.start("127.0.0.1", Capture(), Timers(t1=T1)) as p:
        # CSeq method differs from the request method: the layer rejects it
        bad = build_request(
            "OPTIONS",
            "sip:b@127.0.0.1",
            [
                ("Via", f"SIP/2.0/UDP 127.0.0.1:9;branch={new_branch()}"),
                ("From", "<sip:a@x>;tag=1"),
                ("To", "<sip:b@x>"),
                ("Call-ID", "x"),
                ("CSeq", "1 INFO"),
            ],
        )
        p.send_raw(bad.to_bytes(), p.address())
        evidence = await p.expect_invalid(within=GUARD)
        assert evidence.data == bad.raw and "CSeq" in str(evidence.error)
        p.send_raw(b"garbage", p.address())
        evidence = await p.expect_invalid(within=GUARD, since=1)
        assert evidence.data == b"garbage"


async def test_refused_tcp_connection_ends_the_transaction() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    async with await SipPump.start("127.0.0.1", Capture(), Timers(t1=T1)) as a:
        dest = Address("127.0.0.1", port, Transport.TCP)
        handle = await a.request(_request("OPTIONS", a.address(Transport.TCP), dest), dest)
        assert await handle.outcome(within=GUARD) == "transport"


# ---------------------------------------------------------------------------------------
# inject: a request someone else received (the dispatcher in front of parallel workers)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
async def test_injected_request_is_captured_delivered_and_answered_by_reply(
    transport: Transport,
) -> None:
    cap = Capture()
    sut = Address("127.0.0.1", 40001, transport)  # nothing listens: only the reply path works
    front = Address("127.0.0.1", 40002, transport)  # where the request arrived (dispatcher)
    replies: list[tuple[bytes, Address]] = []
    async with await SipPump.start("127.0.0.1", cap, Timers(t1=T1)) as pump:
        req = build_request(
            "OPTIONS",
            f"sip:b@{front.host}:{front.port}",
            [
                ("Via", f"SIP/2.0/{transport.value} {sut.host}:{sut.port};branch={new_branch()}"),
                ("From", f"<sip:a@{sut.host}>;tag={new_tag()}"),
                ("To", "<sip:b@127.0.0.1>"),
                ("Call-ID", new_call_id("x")),
                ("CSeq", "1 OPTIONS"),
                ("Max-Forwards", "70"),
            ],
        )
        pump.transport.inject(
            req.to_bytes(), sut, lambda d, a: replies.append((d, a)), arrived_at=front
        )
        incoming = await pump.expect_request("OPTIONS", within=GUARD)
        assert incoming.source == sut and incoming.request.raw == req.raw
        sent = incoming.respond(200)
        assert replies == [(sent.raw, sut)]
        recs = cap.filter(protocol="sip")
        assert [(r.direction, r.src, r.dst, r.transport) for r in recs] == [
            ("in", (sut.host, sut.port), (front.host, front.port), transport.value.lower()),
            ("out", (front.host, front.port), (sut.host, sut.port), transport.value.lower()),
        ]
        assert not pump.transport.transport_errors
        # garbage injected becomes evidence, as from a socket
        pump.transport.inject(b"\x00garbage", sut, lambda d, a: replies.append((d, a)))
        invalid = await pump.expect_invalid(within=GUARD)
        assert invalid.data == b"\x00garbage" and invalid.source == sut
        assert cap.filter(protocol="sip")[-1].dst == (pump.transport.host, pump.transport.port)
        # a request the pump originates to the same address still goes out of its socket
        if transport is Transport.UDP:
            pump.transport.send_nowait(b"OPTIONS sip:x SIP/2.0\r\n\r\n", sut)
            assert len(replies) == 1
            assert cap.filter(protocol="sip")[-1].src == (pump.transport.host, pump.transport.port)
