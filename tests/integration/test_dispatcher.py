"""The dispatcher in front of two workers (real ToolCores and XdmsServers) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import quote

import pytest

from conformance.net.capture import Capture
from conformance.net.dispatch_link import DispatchLink
from conformance.net.dispatcher import Dispatcher
from conformance.net.sip_pump import IncomingRequest
from conformance.net.sip_transport import SipTransport
from conformance.protocol.sip.dispatch import Claim
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import (
    SipMessage,
    SipRequest,
    SipResponse,
    StreamParser,
    build_request,
    parse_message,
)
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.roles.core import ToolCore
from conformance.roles.xdms import XdmsServer

GUARD = 5.0
HOST = "127.0.0.1"
ALICE = "sip:alice@reference.test"
BOB = "sip:bob@reference.test"
CAROL = "sip:carol@reference.test"
DAVE = "sip:dave@reference.test"


@dataclass
class Worker:
    name: str
    core: ToolCore
    xdms: XdmsServer
    link: DispatchLink
    got: list[IncomingRequest] = field(default_factory=list)
    #: requests to this user are kept, not answered (the test answers them)
    hold: str | None = None
    held: asyncio.Queue[IncomingRequest] = field(default_factory=asyncio.Queue)

    def on_request(self, incoming: IncomingRequest) -> None:
        self.got.append(incoming)
        if self.hold is not None and self.hold in incoming.request.uri:
            self.held.put_nowait(incoming)
            return
        incoming.respond(200, headers=[("X-Worker", self.name)])


@dataclass
class Net:
    dispatcher: Dispatcher
    workers: dict[str, Worker]
    xdms_url: str


@contextlib.asynccontextmanager
async def _network() -> AsyncIterator[Net]:
    dispatcher = await Dispatcher.start(HOST, 0)
    workers: dict[str, Worker] = {}
    stack = contextlib.AsyncExitStack()
    try:
        url = await dispatcher.start_xdms_relay(HOST, 0)
        for name, users in (("gw0", (ALICE, BOB)), ("gw1", (CAROL, DAVE))):
            core = await ToolCore.start(HOST, 0, Capture(), Timers(t1=0.02))
            stack.push_async_callback(core.close)
            xdms = await XdmsServer.start(HOST, 0)
            stack.push_async_callback(xdms.close)
            claim = Claim(
                name,
                frozenset(users),
                addresses=frozenset({(core.host, core.port)}),
                xdms=(xdms.host, xdms.port),
            )
            link = await DispatchLink.connect(
                dispatcher.control, claim, core.pump.transport, within=GUARD
            )
            stack.push_async_callback(link.close)
            worker = Worker(name, core, xdms, link)
            core.add_route("all", lambda _r: True, worker.on_request)
            workers[name] = worker
        await dispatcher.wait_workers(2, within=GUARD)
        yield Net(dispatcher, workers, url)
    finally:
        await stack.aclose()
        await dispatcher.close()


def _message(user: str, via: tuple[str, int], transport: Transport) -> bytes:
    proto = transport.value
    return build_request(
        "MESSAGE",
        user,
        [
            ("Via", f"SIP/2.0/{proto} {via[0]}:{via[1]};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:pf@sut.test>;tag={new_tag()}"),
            ("To", f"<{user}>"),
            ("Call-ID", new_call_id("sut.test")),
            ("CSeq", "1 MESSAGE"),
            ("Content-Type", "text/plain"),
        ],
        b"hi",
    ).to_bytes()


class FakeSut:
    """A plain UDP socket and TCP connections towards the dispatcher."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((HOST, 0))
        self.udp.setblocking(False)

    @property
    def udp_port(self) -> int:
        return int(self.udp.getsockname()[1])

    async def udp_exchange(self, data: bytes, to: tuple[str, int]) -> tuple[SipMessage, tuple]:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(self.udp, data, to)
        raw, peer = await asyncio.wait_for(loop.sock_recvfrom(self.udp, 65536), GUARD)
        return parse_message(raw), peer

    def close(self) -> None:
        self.udp.close()


async def _read_sip(reader: asyncio.StreamReader, parser: StreamParser) -> SipMessage:
    while True:
        chunk = await asyncio.wait_for(reader.read(65536), GUARD)
        assert chunk, "connection closed before a SIP message"
        items = parser.feed(chunk)
        if items:
            item = items[0]
            assert isinstance(item, SipMessage), item
            return item


def _status(message: SipMessage) -> int:
    assert isinstance(message, SipResponse), message
    return message.status


async def _http(url: str, raw: bytes | None = None) -> tuple[int, bytes]:
    """GET ``url`` (or send ``raw`` to its host:port); status and body."""
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), GUARD)
    try:
        writer.write(raw or f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\n\r\n".encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), GUARD)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


# -- SIP ------------------------------------------------------------------------------
async def test_udp_requests_reach_only_their_owner_and_answers_come_from_the_dispatcher() -> None:
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            via = (HOST, sut.udp_port)
            for user, owner, other in ((ALICE, "gw0", "gw1"), (DAVE, "gw1", "gw0")):
                before = len(net.workers[other].got)
                response, peer = await sut.udp_exchange(_message(user, via, Transport.UDP), to)
                assert _status(response) == 200 and peer == to
                assert response.headers.get("X-Worker") == owner
                assert net.workers[owner].got[-1].request.uri == user
                assert len(net.workers[other].got) == before
            # the worker's evidence shows the exchange at the dispatcher's address
            capture = net.workers["gw0"].core.capture
            sip = [r for r in capture.records if r.protocol == "sip"]
            assert [(r.direction, r.src, r.dst) for r in sip[:2]] == [
                ("in", via, to),
                ("out", to, via),
            ]
            # a Request-URI at a worker's core address goes to that worker
            gw1 = net.workers["gw1"].core
            response, _ = await sut.udp_exchange(
                _message(f"sip:focus-1@{gw1.host}:{gw1.port}", via, Transport.UDP), to
            )
            assert response.headers.get("X-Worker") == "gw1"
            assert not d.unroutable
    finally:
        sut.close()


async def test_tcp_answers_come_back_on_the_same_connection() -> None:
    async with _network() as net:
        d = net.dispatcher
        reader, writer = await asyncio.open_connection(d.address.host, d.address.port)
        try:
            local = writer.get_extra_info("sockname")
            parser = StreamParser()
            for user, owner in ((BOB, "gw0"), (CAROL, "gw1"), (ALICE, "gw0")):
                writer.write(_message(user, (HOST, local[1]), Transport.TCP))
                response = await _read_sip(reader, parser)
                assert _status(response) == 200
                assert response.headers.get("X-Worker") == owner
            # unroutable over TCP: 404 on the same connection
            writer.write(_message("sip:nobody@reference.test", (HOST, local[1]), Transport.TCP))
            assert _status(await _read_sip(reader, parser)) == 404
            assert d.unroutable[-1].reason == "unroutable"
            assert d.unroutable[-1].source.transport is Transport.TCP
        finally:
            writer.close()
            await writer.wait_closed()


async def test_a_direct_send_waits_for_the_relayed_answer_before_it() -> None:
    """A worker answers a relayed request (its reply path is a relay that says when it has
    sent the answer), then sends a request of its own straight to the SUT: the request
    waits until the relay has sent the answer, however late that is, so the SUT gets them
    in the order the tool made them."""
    sut = FakeSut()
    loop = asyncio.get_running_loop()
    relayed: list[bytes] = []
    transport = await SipTransport.start(HOST, Capture())
    try:

        def relay(data: bytes, destination: Address) -> None:
            relayed.append(data)
            transport.relay_started()

        sut_address = Address(HOST, sut.udp_port, Transport.UDP)
        request = parse_message(_message(DAVE, (HOST, sut.udp_port), Transport.UDP))
        transport.inject(request.to_bytes(), sut_address, relay)
        answer = response_to(request, 200, to_tag="t").to_bytes()
        transport.send_nowait(answer, sut_address)
        assert relayed == [answer]
        # the worker's own request: held while the answer is with the relay
        own = _message(CAROL, (HOST, transport.port), Transport.UDP)
        transport.send_nowait(own, sut_address)
        assert transport.held_behind_relay == 1
        # the relay sent the answer (the dispatcher's "sent"): the request goes now
        await loop.sock_sendto(sut.udp, answer, (HOST, sut.udp_port))  # the relay's copy
        transport.relay_sent()
        assert transport.held_behind_relay == 0
        first, _ = await asyncio.wait_for(loop.sock_recvfrom(sut.udp, 65536), GUARD)
        second, _ = await asyncio.wait_for(loop.sock_recvfrom(sut.udp, 65536), GUARD)
        assert first == answer and second == own
    finally:
        await transport.close()
        sut.close()


async def test_a_relayed_request_is_captured_with_the_time_the_dispatcher_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker's record of a relayed request has the dispatcher's time, not the later
    time of the relay (order checks between SIP and MSRP read the times)."""
    import conformance.net.dispatcher as dispatcher_module

    monkeypatch.setattr(dispatcher_module, "time", SimpleNamespace(time=lambda: 1000.0))
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            via = (HOST, sut.udp_port)
            response, _ = await sut.udp_exchange(
                _message(DAVE, via, Transport.UDP), (d.address.host, d.address.port)
            )
            assert _status(response) == 200
            records = net.workers["gw1"].core.capture.records
            relayed = [r for r in records if r.direction == "in" and r.data.startswith(b"MESSAGE")]
            answered = [r for r in records if r.direction == "out"]
            assert [r.timestamp for r in relayed] == [1000.0]
            assert answered and answered[-1].timestamp > 1000.0
    finally:
        sut.close()


async def test_the_dispatcher_says_when_it_sent_a_reply() -> None:
    """Every reply a worker relays is acknowledged: nothing stays held behind it."""
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            via = (HOST, sut.udp_port)
            worker = net.workers["gw1"]
            for _ in range(3):
                response, _ = await sut.udp_exchange(
                    _message(DAVE, via, Transport.UDP), (d.address.host, d.address.port)
                )
                assert _status(response) == 200
            # a request of the worker's own right after: not held
            worker.core.pump.transport.send_nowait(
                _message(CAROL, via, Transport.UDP), Address(HOST, sut.udp_port, Transport.UDP)
            )
            assert worker.core.pump.transport.held_behind_relay == 0
    finally:
        sut.close()


async def test_tcp_answer_after_the_connection_is_gone_goes_to_the_via() -> None:
    """RFC 3261 18.2.2: a new connection to the top Via when the request's is closed."""
    opened: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    server = await asyncio.start_server(lambda r, w: opened.put_nowait((r, w)), HOST, 0)
    via = (HOST, int(server.sockets[0].getsockname()[1]))
    try:
        async with _network() as net:
            worker = net.workers["gw1"]
            worker.hold = "dave"
            d = net.dispatcher
            _, writer = await asyncio.open_connection(d.address.host, d.address.port)
            writer.write(_message(DAVE, via, Transport.TCP))
            await writer.drain()
            incoming = await asyncio.wait_for(worker.held.get(), GUARD)
            assert len(d.sip_connections) == 1
            writer.close()
            await writer.wait_closed()
            await d.wait_sip_connections(0, within=GUARD)
            incoming.respond(200)
            reader, back = await asyncio.wait_for(opened.get(), GUARD)
            response = await _read_sip(reader, StreamParser())
            assert _status(response) == 200 and response.call_id == incoming.request.call_id
            back.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_unroutable_gets_404_from_the_dispatcher_and_is_recorded() -> None:
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            data = _message("sip:conference-factory@cf.test", (HOST, sut.udp_port), Transport.UDP)
            response, peer = await sut.udp_exchange(data, to)
            assert _status(response) == 404 and peer == to
            assert response.headers.get("To", "").count("tag=") == 1
            assert [(u.reason, u.data) for u in d.unroutable] == [("unroutable", data)]
            assert all(not w.got for w in net.workers.values())
    finally:
        sut.close()


async def test_garbage_responses_and_unroutable_ack_are_recorded_not_answered() -> None:
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            loop = asyncio.get_running_loop()
            await loop.sock_sendto(sut.udp, b"\x00\xffgarbage", to)
            await d.wait_unroutable(1, within=GUARD)
            await loop.sock_sendto(
                sut.udp,
                b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-1\r\n"
                b"CSeq: 1 OPTIONS\r\nCall-ID: r\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
                b"Content-Length: 0\r\n\r\n",
                to,
            )
            await d.wait_unroutable(2, within=GUARD)
            ack = _message("sip:nobody@x.test", (HOST, sut.udp_port), Transport.UDP)
            ack = ack.replace(b"MESSAGE", b"ACK")
            await loop.sock_sendto(sut.udp, ack, to)
            await d.wait_unroutable(3, within=GUARD)
            reasons = [u.reason for u in d.unroutable]
            assert reasons[0].startswith("invalid:") and reasons[1:] == ["response", "unroutable"]
            # nothing was answered (an ACK never is), and the dispatcher still works
            response, _ = await sut.udp_exchange(
                _message(ALICE, (HOST, sut.udp_port), Transport.UDP), to
            )
            assert _status(response) == 200
            # a TCP stream whose framing is lost is closed by the dispatcher
            reader, writer = await asyncio.open_connection(*to)
            writer.write(b"MESSAGE sip:a@b SIP/2.0\r\nCSeq: 1 MESSAGE\r\n\r\n")
            assert await asyncio.wait_for(reader.read(), GUARD) == b""
            writer.close()
            assert d.unroutable[-1].reason.startswith("invalid:")
    finally:
        sut.close()


async def test_a_closed_link_makes_its_users_unroutable_and_reclaim_moves_users() -> None:
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            via = (HOST, sut.udp_port)
            gw0, gw1 = net.workers["gw0"], net.workers["gw1"]
            # the serial group: gw0 re-claims the whole pool
            await gw0.link.reclaim(Claim("gw0", frozenset({ALICE, BOB, CAROL, DAVE})), within=GUARD)
            response, _ = await sut.udp_exchange(_message(CAROL, via, Transport.UDP), to)
            assert response.headers.get("X-Worker") == "gw0"
            assert d.first_release is None
            await gw0.link.close()
            await d.wait_released("gw0", within=GUARD)
            assert d.table.claim_of("gw0") is None
            # what was unroutable from here on came after a worker left (pool.py
            # dispatcher_misses counts only what came before)
            assert d.first_release is not None
            response, _ = await sut.udp_exchange(_message(ALICE, via, Transport.UDP), to)
            assert _status(response) == 404
            # gw1's claim was older, so it owns its users again once gw0 is gone
            response, _ = await sut.udp_exchange(_message(DAVE, via, Transport.UDP), to)
            assert response.headers.get("X-Worker") == "gw1"
            assert d.workers == ["gw1"]
            del gw1
    finally:
        sut.close()


async def test_in_dialog_requests_follow_the_learned_call_id() -> None:
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            via = (HOST, sut.udp_port)
            first = _message(ALICE, via, Transport.UDP)
            response, _ = await sut.udp_exchange(first, to)
            assert response.headers.get("X-Worker") == "gw0"
            call_id = parse_message(first).call_id or ""
            # same Call-ID, a Request-URI no rule but the Call-ID gives to gw0
            second = build_request(
                "MESSAGE",
                "sip:contact-1@192.0.2.1:5060",
                [
                    ("Via", f"SIP/2.0/UDP {via[0]}:{via[1]};branch={new_branch()};rport"),
                    ("From", f"<sip:pf@sut.test>;tag={new_tag()}"),
                    ("To", f"<{CAROL}>;tag=x"),
                    ("Call-ID", call_id),
                    ("CSeq", "2 MESSAGE"),
                    ("Max-Forwards", "70"),
                ],
            ).to_bytes()
            response, _ = await sut.udp_exchange(second, to)
            assert response.headers.get("X-Worker") == "gw0"
    finally:
        sut.close()


# -- control connections --------------------------------------------------------------
@pytest.mark.parametrize(
    "frame",
    [
        b"\xff\xff\xff\xff",  # length out of bounds
        struct.pack(">IH", 6, 4) + b"nope",  # not JSON
        struct.pack(">IH", 2, 0),  # empty header
        (lambda h: struct.pack(">IH", 2 + len(h), len(h)) + h)(b'{"type":"reply"}'),  # no hello
        (lambda h: struct.pack(">IH", 2 + len(h), len(h)) + h)(
            b'{"type":"hello","seq":1,"claim":{"worker":"x","users":"sip:a@b"}}'
        ),
    ],
)
async def test_a_bad_control_frame_closes_that_link_only(frame: bytes) -> None:
    async with _network() as net:
        d = net.dispatcher
        reader, writer = await asyncio.open_connection(*d.control)
        writer.write(frame)
        assert await asyncio.wait_for(reader.read(), GUARD) == b""
        writer.close()
        assert len(d.link_errors) == 1
        assert d.workers == ["gw0", "gw1"]


async def test_bad_frame_after_hello_releases_the_claim() -> None:
    async with _network() as net:
        d = net.dispatcher
        reader, writer = await asyncio.open_connection(*d.control)
        hello = json.dumps(
            {"type": "hello", "seq": 7, "claim": {"worker": "gw9", "users": ["sip:z@x.test"]}}
        ).encode()
        writer.write(struct.pack(">IH", 2 + len(hello), len(hello)) + hello)
        await d.wait_workers(3, within=GUARD)
        assert d.table.owner_of_user("sip:z@x.test") == "gw9"
        writer.write(b"\x00\x00\x00\x01x")
        await d.wait_released("gw9", within=GUARD)
        assert d.table.owner_of_user("sip:z@x.test") is None
        assert d.link_errors[-1].worker == "gw9"
        writer.close()
        del reader


async def test_wait_workers_times_out_with_a_clear_error() -> None:
    async with await Dispatcher.start(HOST, 0) as d:
        with pytest.raises(Exception, match=r"3 worker links .* \(linked: none\)"):
            await d.wait_workers(3, within=0.05)


async def test_link_close_by_the_dispatcher_is_seen_by_the_worker() -> None:
    d = await Dispatcher.start(HOST, 0)
    core = await ToolCore.start(HOST, 0, Capture(), Timers(t1=0.02))
    try:
        link = await DispatchLink.connect(
            d.control, Claim("gw0", frozenset({ALICE})), core.pump.transport, within=GUARD
        )
        await d.close()
        reason = await asyncio.wait_for(link.closed, GUARD)
        assert "dispatcher" in reason or "lost" in reason
        with pytest.raises(ConnectionError):
            await link.reclaim(Claim("gw0", frozenset()), within=GUARD)
        await link.close()
    finally:
        await core.close()
        await d.close()


# -- XDMS relay -----------------------------------------------------------------------
async def test_xdms_relay_reaches_the_owner_xdms() -> None:
    async with _network() as net:
        gw0, gw1 = net.workers["gw0"], net.workers["gw1"]
        gw0.xdms.set_preferences(ALICE, allow_store=False)
        gw1.xdms.set_preferences(CAROL, blacklist=["sip:mallory@x.test"])
        # the relay URL has the XdmsServer.url shape: preferences_url(user) works on it
        for user, worker, key, value in (
            (ALICE, gw0, "allow-store", False),
            (CAROL, gw1, "blacklist", ["sip:mallory@x.test"]),
        ):
            status, body = await _http(f"{net.xdms_url}/preferences/{quote(user, safe='')}")
            assert status == 200 and json.loads(body)[key] == value
            assert worker.xdms.requests[-1].user == user
        assert [r.user for r in gw0.xdms.requests] == [ALICE]
        assert [r.user for r in gw1.xdms.requests] == [CAROL]
        # owned user without a document: the worker's XDMS answers 404
        status, _ = await _http(f"{net.xdms_url}/preferences/{quote(BOB, safe='')}")
        assert status == 404 and gw0.xdms.requests[-1].user == BOB
        # nobody owns it: 404 from the relay, no worker asked
        status, _ = await _http(f"{net.xdms_url}/preferences/{quote('sip:x@y.test', safe='')}")
        assert status == 404
        status, _ = await _http(f"{net.xdms_url}/other/path")
        assert status == 404
        assert len(gw0.xdms.requests) == 2 and len(gw1.xdms.requests) == 1
        # malformed
        status, _ = await _http(net.xdms_url, b"GARBAGE\r\n\r\n")
        assert status == 400
        status, _ = await _http(
            net.xdms_url, b"GET /preferences/x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"
        )
        assert status == 400
        status, _ = await _http(net.xdms_url, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n")
        assert status == 400


async def test_xdms_relay_with_a_root_and_a_dead_worker_xdms() -> None:
    d = await Dispatcher.start(HOST, 0)
    try:
        url = await d.start_xdms_relay(HOST, 0, root="/xdms/")
        assert url.endswith("/xdms")
        dead = socket.socket()
        dead.bind((HOST, 0))
        port = dead.getsockname()[1]
        dead.close()
        d.table.claim(Claim("gw0", frozenset({ALICE}), xdms=(HOST, port)))
        status, _ = await _http(f"{url}/preferences/{quote(ALICE, safe='')}")
        assert status == 502
        status, _ = await _http(f"{url.removesuffix('/xdms')}/preferences/{quote(ALICE, safe='')}")
        assert status == 404
        # a worker that claims no XDMS: 404 from the relay
        d.table.claim(Claim("gw1", frozenset({CAROL})))
        status, _ = await _http(f"{url}/preferences/{quote(CAROL, safe='')}")
        assert status == 404
    finally:
        await d.close()


def test_request_type_is_sip_request() -> None:
    assert isinstance(parse_message(_message(ALICE, (HOST, 1), Transport.UDP)), SipRequest)


async def test_a_focus_an_emulator_made_up_routes_to_its_worker() -> None:
    """A request naming no user of any slice (a SUBSCRIBE to a focus without the user's
    P-Asserted-Identity) is unroutable, until the worker whose CF made the focus up claims
    it (ToolCore.own_uris through DispatchLink.add_users)."""
    focus = "sip:conf-0123abcd@cf.reference.test"
    sut = FakeSut()
    try:
        async with _network() as net:
            d = net.dispatcher
            to = (d.address.host, d.address.port)
            gw1 = net.workers["gw1"]
            data = _message(focus, (HOST, sut.udp_port), Transport.UDP)
            response, _ = await sut.udp_exchange(data, to)
            assert _status(response) == 404
            gw1.core.claim_hook = gw1.link.add_users
            await asyncio.gather(gw1.core.own_uris(focus), gw1.core.own_uris(focus + "x"))
            assert {focus, focus + "x"} <= gw1.link.claim.users
            for target in (focus, focus + "x"):
                data = _message(target, (HOST, sut.udp_port), Transport.UDP)
                response, _ = await sut.udp_exchange(data, to)
                assert _status(response) == 200
                assert response.headers.get("X-Worker") == "gw1"
    finally:
        sut.close()
