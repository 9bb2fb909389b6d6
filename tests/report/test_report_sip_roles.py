"""Who a message was for: the tool's SIP core names each SIP message at its one address
with the emulator that sent it or the route that took it (the core's own name when none),
and an MSRP connection's far end is named from the signalling that negotiated it (the
dialog's SIP peer) rather than guessed from the role under test."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from conformance.checks.verdict import Verdict
from conformance.net.capture import Capture, CaptureRecord
from conformance.net.msrp_transport import MsrpTransport
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.message import SipRequest, parse_message
from conformance.protocol.sip.timers import Address, Transport
from conformance.report.evidence import records_from_capture
from conformance.report.html import ladder, render_html
from conformance.report.model import RunResults, TestCaseResult
from conformance.roles.client import signalled_peer_role
from conformance.roles.core import ToolCore
from conformance.roles.msrp_peer import MsrpPeer

SUT = ("127.0.0.2", 5070)


def _record(cap: Capture, direction: str, local: tuple[str, int], data: bytes) -> CaptureRecord:
    src, dst = (local, SUT) if direction == "out" else (SUT, local)
    return cap.record(
        direction=direction,  # type: ignore[arg-type]
        transport="udp",
        protocol="sip",
        src=src,
        dst=dst,
        data=data,
    )


def test_an_attributor_names_each_record_at_a_shared_address() -> None:
    cap = Capture()
    core = ("127.0.0.1", 5060)
    cap.name(core, "tool: SIP core")
    cap.name(SUT, "SUT: PF")
    seen: list[tuple[str, bytes]] = []

    def attributor(direction: str, data: bytes) -> str | None:
        seen.append((direction, data))
        if data == b"boom":
            raise ValueError("unreadable")
        return {b"bob": "tool: client bob#1", b"cf": "tool: CF"}.get(data)

    cap.attribute(core, attributor)
    out_bob = _record(cap, "out", core, b"bob")
    in_cf = _record(cap, "in", core, b"cf")
    other = _record(cap, "out", core, b"?")
    broken = _record(cap, "in", core, b"boom")
    assert (out_bob.src_role, out_bob.dst_role) == ("tool: client bob#1", "SUT: PF")
    assert (in_cf.src_role, in_cf.dst_role) == ("SUT: PF", "tool: CF")
    # nobody in particular, or bytes the attributor cannot read: the address's name
    assert other.src_role == "tool: SIP core" and broken.dst_role == "tool: SIP core"
    assert seen[:2] == [("out", b"bob"), ("in", b"cf")]
    # per record: the address keeps its own name, and another address is not asked
    assert cap.role_of(core) == "tool: SIP core"
    _record(cap, "out", ("127.0.0.1", 5061), b"bob")
    assert len(seen) == 4
    cap.attribute(core, None)
    assert _record(cap, "out", core, b"bob").src_role == "tool: SIP core"


def test_a_name_from_the_signalling_replaces_a_guess_but_not_the_owners() -> None:
    cap = Capture()
    far = ("127.0.0.3", 4000)
    cap.name(far, "SUT: PF", owner=False)
    cap.name(far, "SUT: CF", owner=False, signalled=True)
    assert cap.role_of(far) == "SUT: CF"
    cap.name(far, "SUT: PF", owner=False)  # a later guess (another emulator's)
    assert cap.role_of(far) == "SUT: CF"
    owned = ("127.0.0.1", 4001)
    cap.name(owned, "tool: CF")
    cap.name(owned, "SUT: CF", owner=False, signalled=True)
    assert cap.role_of(owned) == "tool: CF"


class _Emulator:
    """A role emulator behind the core: it answers every request it takes with 200."""

    def __init__(self, role_name: str) -> None:
        self.role_name = role_name
        self.taken: list[IncomingRequest] = []

    def on_request(self, incoming: IncomingRequest) -> None:
        self.taken.append(incoming)
        incoming.respond(200, to_tag="bobtag")


def _invite(core: ToolCore, user: str, call_id: str, via: tuple[str, int]) -> bytes:
    return (
        f"INVITE sip:{user}@{core.host}:{core.port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {via[0]}:{via[1]};branch=z9hG4bK-{call_id}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:pf@sut>;tag=sut-{call_id}\r\n"
        f"To: <sip:{user}@tool>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:pf@{via[0]}:{via[1]}>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class _Sut(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait(data)


async def test_the_core_names_each_sip_message_with_its_emulator() -> None:
    cap = Capture()
    core = await ToolCore.start("127.0.0.1", capture=cap)
    cap.name((core.host, core.port), "tool: SIP core")
    loop = asyncio.get_running_loop()
    transport, sut = await loop.create_datagram_endpoint(_Sut, local_addr=("127.0.0.1", 0))
    here = transport.get_extra_info("sockname")[:2]
    try:
        bob = _Emulator("tool: client bob#1")
        core.add_route("bob", lambda r: r.uri.startswith("sip:bob@"), bob.on_request)
        # an incoming request goes to bob's route, bob's 200 goes back
        transport.sendto(_invite(core, "bob", "c1", here), (core.host, core.port))
        assert (await asyncio.wait_for(sut.received.get(), 5)).startswith(b"SIP/2.0 200")
        # a request no emulator takes: the core answers it, in its own name
        transport.sendto(_invite(core, "nobody", "c2", here), (core.host, core.port))
        assert (await asyncio.wait_for(sut.received.get(), 5)).startswith(b"SIP/2.0 404")
        # a request an emulator sends, and the response to it
        request = parse_message(
            b"MESSAGE sip:x@sut SIP/2.0\r\n"
            + f"Via: {core.via()}\r\nMax-Forwards: 70\r\n".encode()
            + b"From: <sip:cf@tool>;tag=cf1\r\nTo: <sip:x@sut>\r\nCall-ID: c3\r\n"
            b"CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
        )
        assert isinstance(request, SipRequest)
        handle = await core.send(request, Address(*here, Transport.UDP), sender="tool: CF")
        sent = await asyncio.wait_for(sut.received.get(), 5)
        answer = sent.split(b"\r\n\r\n")[0].replace(b"MESSAGE sip:x@sut SIP/2.0", b"SIP/2.0 200 OK")
        transport.sendto(answer + b"\r\n\r\n", (core.host, core.port))
        await asyncio.wait_for(handle.final(5), 5)
    finally:
        transport.close()
        await core.close()
    roles = [
        (
            r.direction,
            r.data.split(b"\r\n", 1)[0].decode(),
            r.dst_role if r.direction == "in" else r.src_role,
        )
        for r in cap.records
    ]
    assert roles == [
        ("in", f"INVITE sip:bob@{core.host}:{core.port} SIP/2.0", "tool: client bob#1"),
        ("out", "SIP/2.0 200 OK", "tool: client bob#1"),
        ("in", f"INVITE sip:nobody@{core.host}:{core.port} SIP/2.0", "tool: SIP core"),
        ("out", "SIP/2.0 404 Not Found", "tool: SIP core"),
        ("out", "MESSAGE sip:x@sut SIP/2.0", "tool: CF"),
        ("in", "SIP/2.0 200 OK", "tool: CF"),
    ]
    assert len(bob.taken) == 1  # naming a message does not dispatch it
    # the report: one address, a lane per role
    lad = ladder(records_from_capture(cap.records), set())
    tool_lanes = [lane.full for lane in lad.lanes if lane.side == "tool"]
    where = f"({core.host}:{core.port})"
    assert tool_lanes == [
        f"tool: client bob#1 {where}",
        f"tool: SIP core {where}",
        f"tool: CF {where}",
    ]


def test_the_core_names_no_message_it_cannot_read() -> None:
    transport = SimpleNamespace(host="127.0.0.1", port=1)
    pump: Any = SimpleNamespace(capture=Capture(), transport=transport, on_request=None)
    core = ToolCore(pump)
    # the capture swallows what the attributor raises; the core itself raises for junk
    cap = Capture()
    cap.attribute(("127.0.0.1", 1), core.role_of_message)
    rec = cap.record(
        direction="in",
        transport="udp",
        protocol="sip",
        src=SUT,
        dst=("127.0.0.1", 1),
        data=b"\x00junk\r\n\r\n",
    )
    assert rec.dst_role is None


def _client(cap: Capture, core: tuple[str, int]) -> Any:
    return SimpleNamespace(capture=cap, core=SimpleNamespace(host=core[0], port=core[1]))


def test_the_far_end_is_the_sip_peer_the_dialog_is_with() -> None:
    cap = Capture()
    cap.name(("127.0.0.2", 5080), "SUT: CF")
    client = _client(cap, ("127.0.0.1", 5060))

    def answer(contact: str) -> Any:
        return parse_message(
            f"SIP/2.0 200 OK\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: {contact}\r\n\r\n".encode()
        )

    assert signalled_peer_role(client, answer("<sip:conf-1@127.0.0.2:5080>;isfocus")) == "SUT: CF"
    # unknown, the core's own address, a domain, no SIP URI: no name (the guess stays)
    assert signalled_peer_role(client, answer("<sip:x@127.0.0.2:5999>")) is None
    assert signalled_peer_role(client, answer("<sip:bob@127.0.0.1:5060>")) is None
    assert signalled_peer_role(client, answer("<sip:conf@cf.example.com>")) is None
    assert signalled_peer_role(client, answer("<tel:+15551234>")) is None
    no_contact = parse_message(b"SIP/2.0 200 OK\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n")
    assert signalled_peer_role(client, no_contact) is None


async def test_an_msrp_connection_is_named_by_the_signalling_over_the_guess() -> None:
    cap = Capture()
    far = await MsrpTransport.start("127.0.0.1", Capture())
    peer = await MsrpPeer.start("127.0.0.1", cap, role="tool: client alice#0", peer_role="SUT: PF")
    try:
        path = [f"msrp://127.0.0.1:{far.port}/s1;tcp"]
        await peer.connect(path, within=0.2, peer_role="SUT: CF")
        (binding, *_) = cap.records
        assert (binding.src_role, binding.dst_role) == ("tool: client alice#0", "SUT: CF")
    finally:
        await peer.close()
        await far.close()


def test_lanes_named_by_the_sut_stay_text() -> None:
    cap = Capture()
    core = ("127.0.0.1", 5060)
    hostile = "<script>document.body.dataset.pwned='lane'</script>"
    cap.name(SUT, f"SUT: {hostile}")
    cap.attribute(core, lambda _d, _b: f"tool: client {hostile}#0")
    _record(cap, "out", core, b"MESSAGE sip:x SIP/2.0\r\n\r\n")
    tc = TestCaseResult(
        nodeid="testcases/x/test_y.py::test_z",
        verdict=Verdict.PASS,
        requirements=(),
        evidence=tuple(records_from_capture(cap.records)),
    )
    html = render_html(RunResults(run={}, test_cases=[tc]), load_catalogue=False)
    assert "<script>document.body.dataset" not in html
    assert "tool: client &lt;script&gt;" in html and "SUT: &lt;script&gt;" in html
