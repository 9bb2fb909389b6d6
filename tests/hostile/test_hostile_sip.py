"""A hostile SUT answering the tool's SIP: every input ends, within the guard and with
bounded memory, in an outcome a test case turns into fail or inconc (a
RemoteProtocolError, a WaitTimeout or a TransactionTimeoutError), with the offending bytes
kept as evidence; none raises anything else, logs a traceback or hangs.
docs/robustness.md has the table."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import pytest

from conformance.errors import RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, build_request, parse_message
from conformance.protocol.sip.sdp import parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.client import ClientEmulator, sdp_of
from conformance.roles.core import ToolCore

from .conftest import FACTORY, GUARD
from .peers import RssGuard, TcpPeer, UdpPeer, read_sip, reset

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=message 7 TCP/MSRP *\r\na=accept-types:message/cpim\r\n"
    b"a=path:msrp://127.0.0.1:7/s;tcp\r\n"
)
XML_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<r>&c;&x;</r>'
)

Craft = Callable[[SipRequest], bytes]


def _ok(request: SipRequest, body: bytes = SDP, content_type: str = "application/sdp") -> bytes:
    headers = [("Contact", "<sip:sut@127.0.0.1:7>"), ("Content-Type", content_type)]
    return response_to(request, 200, to_tag="sut1", headers=headers, body=body).to_bytes()


def _with_length(data: bytes, value: bytes) -> bytes:
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"content-length")]
    return b"\r\n".join([*lines, b"Content-Length: " + value]) + sep + body


def _big_header(size: int) -> Craft:
    def craft(request: SipRequest) -> bytes:
        data = _ok(request)
        return data.replace(b"\r\n", b"\r\nX-Big: " + b"A" * size + b"\r\n", 1)

    return craft


#: (name, how the hostile SUT answers the INVITE)
HOSTILE_ANSWERS: list[tuple[str, Craft]] = [
    ("garbage", lambda r: b"\x16\x03\x01\x00\xa5\x00\xff garbage\r\n\r\n"),
    ("bad start line", lambda r: _ok(r).replace(b"SIP/2.0 200 OK", b"SIP/2.0 2OO OK", 1)),
    ("status 99", lambda r: _ok(r).replace(b"SIP/2.0 200 OK", b"SIP/2.0 099 Low", 1)),
    (
        "no Via",
        lambda r: b"\r\n".join(ln for ln in _ok(r).split(b"\r\n") if not ln.startswith(b"Via:")),
    ),
    (
        "no CSeq",
        lambda r: b"\r\n".join(ln for ln in _ok(r).split(b"\r\n") if not ln.startswith(b"CSeq:")),
    ),
    ("NUL in a header", lambda r: _ok(r).replace(b"Contact: ", b"Contact: \x00", 1)),
    ("Content-Length long", lambda r: _with_length(_ok(r), b"5000")),
    ("Content-Length short", lambda r: _with_length(_ok(r), b"3")),
    ("Content-Length negative", lambda r: _with_length(_ok(r), b"-1")),
    ("Content-Length huge", lambda r: _with_length(_ok(r), b"99999999999999999999")),
    (
        "Content-Length twice",
        lambda r: _ok(r).replace(b"\r\n\r\n", b"\r\nContent-Length: 1\r\n\r\n", 1),
    ),
    # a valid (if huge) answer: the tool may accept it; it must stay bounded
    ("64 KB header", _big_header(64 * 1024 - 2048)),
    ("SDP garbage", lambda r: _ok(r, b"\x00\x01garbage\xff\r\nnot sdp at all")),
    ("SDP is XML", lambda r: _ok(r, XML_BOMB)),
    ("SDP without MSRP", lambda r: _ok(r, SDP.split(b"m=")[0])),
    (
        "multipart lie",
        lambda r: _ok(
            r, b"--x\r\nContent-Type: application/sdp\r\n\r\nv=0", "multipart/mixed;boundary=x"
        ),
    ),
    ("XML content type", lambda r: _ok(r, XML_BOMB, "application/sdp+xml")),
]

#: the answers that are valid SIP, which the tool may rightly accept
_ALLOWED = {"64 KB header": ("pass",)}


async def invite_outcome(client: ClientEmulator, to: Address) -> tuple[str, object]:
    """What a test case observes when it sends a group INVITE to ``to`` and reads the
    answer's MSRP offer: ("pass", final), ("fail", RemoteProtocolError or a non-2xx), or
    ("inconc", the timeout)."""
    msrp = await client.new_msrp_peer()
    request = client.build_group_invite(
        FACTORY,
        msrp=msrp,
        conversation_id="c1",
        contribution_id="k1",
        participants=["sip:bob@reference.test", "sip:carol@reference.test"],
    )
    handle = await client.send_invite(request, to, msrp=msrp)
    try:
        final = await handle.final(GUARD)
    except (WaitTimeout, TransactionTimeoutError) as exc:
        return "inconc", exc
    except RemoteProtocolError as exc:
        return "fail", exc
    if final.status >= 300:
        return "fail", final
    try:
        parse_sdp(sdp_of(final)).msrp  # noqa: B018 (what a test case reads)
    except RemoteProtocolError as exc:
        return "fail", exc
    return "pass", final


def _what(observed: object) -> str:
    if isinstance(observed, Exception):
        return f"{type(observed).__name__}: {str(observed)[:70]}"
    return repr(observed)[:70]


def _evidence(core: ToolCore, crafted: bytes) -> bool:
    """The offending bytes are in the capture (and, when they did not parse, among the
    pump's invalid messages)."""
    stream = b"".join(r.data for r in core.capture.records if r.direction == "in")
    return crafted[:200] in stream


@pytest.mark.parametrize(("name", "craft"), HOSTILE_ANSWERS, ids=[n for n, _ in HOSTILE_ANSWERS])
async def test_hostile_answer_over_udp(
    core: ToolCore, client: ClientEmulator, name: str, craft: Craft
) -> None:
    sent: list[bytes] = []

    def answer(data: bytes, addr: tuple[str, int], peer: UdpPeer) -> None:
        message = parse_message(data)
        if isinstance(message, SipRequest) and message.method == "INVITE":
            crafted = craft(message)
            sent.append(crafted)
            peer.send(crafted, addr)

    peer = await UdpPeer.start(answer)
    began = time.monotonic()
    try:
        with RssGuard(32 * 1024 * 1024):
            verdict, observed = await invite_outcome(client, peer.address)
    finally:
        peer.close()
    print(f"OUTCOME udp | {name} | {verdict} | {_what(observed)}")
    assert time.monotonic() - began < GUARD + 1.0
    assert verdict in _ALLOWED.get(name, ("fail", "inconc")), (name, observed)
    assert sent and _evidence(core, sent[0])
    if verdict == "inconc":  # nothing valid came: the bytes are evidence of why
        kept = [inv.data for inv in core.pump.invalid]
        kept += [s.response.raw for s in core.pump.stray]
        assert any(sent[0][:64] in k[:64] or k in sent[0] for k in kept), name


@pytest.mark.parametrize(("name", "craft"), HOSTILE_ANSWERS, ids=[n for n, _ in HOSTILE_ANSWERS])
async def test_hostile_answer_over_tcp(
    core: ToolCore, client: ClientEmulator, name: str, craft: Craft
) -> None:
    sent: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            message = parse_message(await read_sip(reader))
            if isinstance(message, SipRequest) and message.method == "INVITE":
                crafted = craft(message)
                sent.append(crafted)
                writer.write(crafted)
                await writer.drain()

    peer = await TcpPeer.start(script)
    began = time.monotonic()
    try:
        with RssGuard(32 * 1024 * 1024):
            verdict, observed = await invite_outcome(client, peer.address)
    finally:
        await peer.close()
    print(f"OUTCOME tcp | {name} | {verdict} | {_what(observed)}")
    assert time.monotonic() - began < GUARD + 1.0
    assert verdict in _ALLOWED.get(name, ("fail", "inconc")), (name, observed)
    assert sent and _evidence(core, sent[0])


async def test_header_section_without_end_is_bounded(
    core: ToolCore, client: ClientEmulator
) -> None:
    """A SUT that streams 4 MB of header bytes that never end: the stream parser gives up
    at its size bound (1 MB) instead of buffering all of it."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_sip(reader)
        writer.write(b"SIP/2.0 200 OK\r\nX-Endless: ")
        for _ in range(64):
            writer.write(b"A" * 65536)
            await writer.drain()
        await asyncio.sleep(GUARD * 2)

    peer = await TcpPeer.start(script)
    try:
        with RssGuard(48 * 1024 * 1024):
            verdict, _ = await invite_outcome(client, peer.address)
    finally:
        await peer.close()
    assert verdict == "inconc"
    assert any("size bound" in str(inv.error) for inv in core.pump.invalid)


async def test_tcp_reset_mid_message(core: ToolCore, client: ClientEmulator) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        message = parse_message(await read_sip(reader))
        assert isinstance(message, SipRequest)
        crafted = _ok(message)
        writer.write(crafted[: len(crafted) // 2])
        await writer.drain()
        reset(writer)

    peer = await TcpPeer.start(script)
    began = time.monotonic()
    try:
        verdict, observed = await invite_outcome(client, peer.address)
    finally:
        await peer.close()
    assert verdict == "inconc", observed
    assert time.monotonic() - began < GUARD + 1.0


async def test_a_sut_that_only_sends_100_trying(core: ToolCore, client: ClientEmulator) -> None:
    """The INVITE client transaction leaves Timer B behind at the first provisional (RFC
    3261 17.1.1.2): the tool's wait must still end, at its guard."""
    trying: list[int] = []

    def answer(data: bytes, addr: tuple[str, int], peer: UdpPeer) -> None:
        message = parse_message(data)
        if isinstance(message, SipRequest) and message.method == "INVITE":
            trying.append(1)
            peer.send(response_to(message, 100).to_bytes(), addr)

    peer = await UdpPeer.start(answer)
    began = time.monotonic()
    try:
        verdict, observed = await invite_outcome(client, peer.address)
    finally:
        peer.close()
    elapsed = time.monotonic() - began
    assert verdict == "inconc" and isinstance(observed, WaitTimeout), observed
    assert GUARD - 0.1 <= elapsed < GUARD + 1.0
    assert trying


def _options(n: int, port: int) -> bytes:
    return build_request(
        "OPTIONS",
        "sip:nobody@127.0.0.1",
        [
            ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKflood{n};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:flood@127.0.0.1>;tag=f{n}"),
            ("To", "<sip:nobody@127.0.0.1>"),
            ("Call-ID", f"flood{n}@127.0.0.1"),
            ("CSeq", "1 OPTIONS"),
        ],
    ).to_bytes()


@pytest.mark.timeout(120)
async def test_a_flood_of_10000_unsolicited_requests(core: ToolCore) -> None:
    """10,000 requests no role expects: the core answers each (404), in bounded time and
    memory, and still serves a request afterwards."""
    answered: list[int] = []
    state: dict[str, object] = {}

    def count(data: bytes, addr: tuple[str, int], peer: UdpPeer) -> None:
        answered.append(1)
        fut = state.get("future")
        if (
            isinstance(fut, asyncio.Future)
            and not fut.done()
            and len(answered) >= int(str(state["target"]))
        ):
            fut.set_result(None)

    peer = await UdpPeer.start(count)
    port = peer.address.port
    target = (core.address.host, core.address.port)
    loop = asyncio.get_running_loop()
    began = time.monotonic()
    try:
        with RssGuard(160 * 1024 * 1024) as rss:
            n = 0
            for _ in range(100):  # 100 bursts of 100: the socket buffers never overflow
                state["target"] = n + 100
                state["future"] = future = loop.create_future()
                for _ in range(100):
                    peer.send(_options(n, port), target)
                    n += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, 2.0)
    finally:
        peer.close()
    elapsed = time.monotonic() - began
    print(f"flood: {len(answered)} answered in {elapsed:.1f} s, RSS +{rss.growth / 1e6:.1f} MB")
    assert elapsed < 60, elapsed
    assert len(answered) >= 9_900, len(answered)
    assert len(core.unrouted) >= 9_900

    # the tool still works: an OPTIONS of its own gets its answer
    def ok(data: bytes, addr: tuple[str, int], p: UdpPeer) -> None:
        message = parse_message(data)
        if isinstance(message, SipRequest):
            p.send(response_to(message, 200).to_bytes(), addr)

    peer2 = await UdpPeer.start(ok)
    try:
        request = core.build_request(
            "OPTIONS",
            f"sip:{peer2.address.host}:{peer2.address.port}",
            from_="sip:a@127.0.0.1",
            to="sip:b@127.0.0.1",
        )
        handle = await core.send(request, peer2.address)
        assert (await handle.final(GUARD)).status == 200
    finally:
        peer2.close()


async def test_stream_garbage_after_lost_framing_is_not_buffered(
    core: ToolCore, client: ClientEmulator
) -> None:
    """A negative Content-Length breaks the stream's framing for good; whatever the SUT
    sends after it (96 MB here) must not be read and kept."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        message = parse_message(await read_sip(reader))
        assert isinstance(message, SipRequest)
        writer.write(_with_length(_ok(message), b"-1"))
        for _ in range(96):
            writer.write(b"\xff" * (1024 * 1024))
            await asyncio.wait_for(writer.drain(), GUARD)

    peer = await TcpPeer.start(script)
    try:
        with RssGuard(24 * 1024 * 1024):
            verdict, _ = await invite_outcome(client, peer.address)
    finally:
        await peer.close()
    assert verdict == "inconc"
    assert any("Content-Length" in str(inv.error) for inv in core.pump.invalid)
    received = sum(len(r.data) for r in core.capture.records if r.direction == "in")
    assert received < 16 * 1024 * 1024, received


def _blank_list_header(name: str, blanks: int) -> bytes:
    return (
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
        + name.encode()
        + b": <sip:a@b>"
        + b" " * blanks
        + b"\n\r\nContent-Length: 0\r\n\r\n"
    )


@pytest.mark.parametrize("name", ["Contact", "Record-Route"])
def test_a_list_header_of_blanks_parses_in_linear_time(name: str) -> None:
    """A SUT's Contact or Record-Route of 16 KB blanks ending in a bare LF: parsing (in the
    tool and in the reference SUT alike) must take milliseconds; 64 KB took ~20 s, so one
    such datagram froze the event loop beyond every guard."""
    from conformance.errors import RemoteProtocolError as Rpe

    began = time.monotonic()
    with pytest.raises(Rpe):
        parse_message(_blank_list_header(name, 16_000))
    assert time.monotonic() - began < 0.1


_VALID = _options(0, 9).replace(b"127.0.0.1:9", b"127.0.0.1:PORT")

HOSTILE_REQUESTS: list[tuple[str, bytes]] = [
    ("garbage", b"\x00\xff\xfe GET / HTTP/1.1\r\n\r\n"),
    ("no method", b" sip:a@b SIP/2.0\r\n" + _VALID.split(b"\r\n", 1)[1]),
    (
        "no Call-ID",
        b"\r\n".join(ln for ln in _VALID.split(b"\r\n") if not ln.startswith(b"Call-ID")),
    ),
    ("CSeq method differs", _VALID.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")),
    ("CSeq huge", _VALID.replace(b"CSeq: 1 OPTIONS", b"CSeq: 99999999999999999999 OPTIONS")),
    ("Max-Forwards -1", _VALID.replace(b"Max-Forwards: 70", b"Max-Forwards: -1")),
    ("Content-Length lies", _with_length(_VALID, b"4000")),
    ("Content-Length negative", _with_length(_VALID, b"-7")),
    ("64 KB header", _VALID.replace(b"\r\n", b"\r\nX-Big: " + b"B" * 64000 + b"\r\n", 1)),
    ("Via without branch", _VALID.replace(b";branch=z9hG4bKflood0", b"")),
    ("SIP/3.0", _VALID.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)),
]


@pytest.mark.parametrize(("name", "data"), HOSTILE_REQUESTS, ids=[n for n, _ in HOSTILE_REQUESTS])
async def test_hostile_request_to_the_core(core: ToolCore, name: str, data: bytes) -> None:
    """A malformed request from the SUT: kept as evidence (invalid, or answered as an
    unrouted request), and the core goes on answering."""
    answers: list[bytes] = []
    peer = await UdpPeer.start(lambda d, a, p: answers.append(d))
    port = str(peer.address.port).encode()
    target = (core.address.host, core.address.port)
    try:
        with RssGuard(32 * 1024 * 1024):
            hostile = data.replace(b"PORT", port)
            peer.send(hostile, target)
            valid = _VALID.replace(b"PORT", port).replace(b"flood0", b"after")
            peer.send(valid, target)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + GUARD
            while loop.time() < deadline and not any(
                b"flood0" not in a and b"after" in a for a in answers
            ):
                await asyncio.sleep(0.01)  # poll the peer's inbox; the guard decides
    finally:
        peer.close()
    assert any(b"after" in a for a in answers), name  # the core still answers
    kept = [i.data for i in core.pump.invalid] + [u.request.raw for u in core.unrouted]
    assert any(hostile[:40] in k for k in kept) or any(b"flood0" in a for a in answers), name


def test_a_folded_message_with_a_run_of_blanks_parses_in_linear_time() -> None:
    """Campaign input 2026:41518 in small: 10,000 blanks then a bare LF in a message with
    folded lines took 0.9 s to unfold (40,000: 12 to 15 s)."""
    data = (
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"Max-Forwards: 70" + b" " * 10_000 + b"\n\r\n 1\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    began = time.monotonic()
    with contextlib.suppress(RemoteProtocolError):
        parse_message(data)
    assert time.monotonic() - began < 0.1
