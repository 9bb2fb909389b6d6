"""The base of the reference elements: one request policy, addressing, one MSRP reader."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from conformance.errors import RemoteProtocolError
from conformance.net.msrp_pump import MsrpPump
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import ConnectionClosed, MessageReceived, MsrpEvent
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.timers import Address, Transport
from conformance.reference.config import ReferenceConfig
from conformance.reference.element import (
    Reject,
    RequestHandler,
    SipElement,
    address_of,
    aor,
    identity_of,
    msrp_events,
    msrp_session_id,
)
from conformance.reference.lifecycle import open_pumps
from tests.reference.ua import WITHIN, Peer

log = logging.getLogger(__name__)


class Echo(SipElement):
    allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE"
    allow_events = "conference"
    label = "echo"

    def handlers(self) -> Mapping[str, RequestHandler]:
        return {"MESSAGE": self.on_message}

    def on_message(self, incoming: IncomingRequest) -> None:
        text = incoming.request.body
        if text == b"reject":
            raise Reject(488, "Not Acceptable Here")
        if text == b"invalid":
            raise RemoteProtocolError("invalid on purpose")
        if text == b"crash":
            raise RuntimeError("a failure of the element itself")
        incoming.respond(200)


@asynccontextmanager
async def running(**config: object) -> AsyncIterator[tuple[Echo, Peer]]:
    cfg = ReferenceConfig(**config)  # type: ignore[arg-type]
    sip, msrp = await open_pumps(cfg.host, cfg.timers)
    element = Echo(cfg, sip, msrp, log)
    peer = await Peer.start("alice")
    try:
        yield element, peer
    finally:
        await element.close_pumps()
        await peer.close()


async def status_of(
    peer: Peer, element: Echo, method: str, body: bytes = b""
) -> tuple[int, dict[str, str]]:
    request = peer.request(
        method, f"sip:echo@{element.hostport}", body=body, content_type="text/plain"
    )
    response = await (await peer.sip.request(request, element.address)).final(WITHIN)
    return response.status, {h.name.lower(): h.value for h in response.headers}


async def test_one_policy_for_options_cancel_and_unsupported_methods() -> None:
    async with running() as (element, peer):
        status, headers = await status_of(peer, element, "OPTIONS")
        assert status == 200
        assert headers["allow"] == Echo.allow and headers["allow-events"] == "conference"
        status, _ = await status_of(peer, element, "CANCEL")
        assert status == 481
        # RFC 3261 21.5.2: a method the element does not implement, whatever it is
        for method in ("PUBLISH", "SUBSCRIBE", "FOO"):
            status, headers = await status_of(peer, element, method)
            assert (status, headers["allow"]) == (501, Echo.allow)


async def test_rejections_and_failures_are_answered() -> None:
    async with running() as (element, peer):
        assert (await status_of(peer, element, "MESSAGE", b"hello"))[0] == 200
        assert (await status_of(peer, element, "MESSAGE", b"reject"))[0] == 488
        assert (await status_of(peer, element, "MESSAGE", b"invalid"))[0] == 400
        assert (await status_of(peer, element, "MESSAGE", b"crash"))[0] == 500
        assert (await status_of(peer, element, "MESSAGE", b"hello"))[0] == 200


async def test_requests_go_to_the_core_when_configured() -> None:
    core = Address("127.0.0.1", 5999, Transport.UDP)
    async with running(core=core) as (element, _):
        assert element.destination("sip:bob@192.0.2.1:5070") == core
    async with running() as (element, _):
        assert element.destination("sip:bob@127.0.0.1:5070;transport=tcp") == Address(
            "127.0.0.1", 5070, Transport.TCP
        )
        assert element.destination_or("tel:+123", None) is None
        via = element.via(Transport.TCP)
        assert via.startswith(f"SIP/2.0/TCP {element.hostport};branch=z9hG4bK")


def test_addressing_helpers() -> None:
    assert address_of("<sip:bob@127.0.0.1:5070>;tag=x") == Address("127.0.0.1", 5070, Transport.UDP)
    with pytest.raises(RemoteProtocolError):
        address_of("tel:+123")
    assert aor("sip:bob@reference.test;transport=tcp") == "sip:bob@reference.test"
    assert aor(" not a uri ") == "not a uri"
    request = build_message("sip:alice@reference.test", "sip:carol@reference.test")
    assert identity_of(request) == "sip:carol@reference.test"


def build_message(from_: str, asserted: str) -> SipRequest:
    return build_request(
        "MESSAGE",
        "sip:bob@reference.test",
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1"),
            ("From", f"<{from_}>;tag=1"),
            ("To", "<sip:bob@reference.test>"),
            ("Call-ID", "1"),
            ("CSeq", "1 MESSAGE"),
            ("P-Asserted-Identity", f"<{asserted}>"),
        ],
        b"",
    )


async def test_msrp_events_yields_every_event_in_order_until_the_connection_closes() -> None:
    server = await MsrpPump.start()
    client = await MsrpPump.start()
    try:
        channel = await client.connect("127.0.0.1", server.address().port, reuse=False)
        there = await server.accepted(within=WITHIN)
        local, remote = client.uri("a"), server.uri("b")
        there.add_session(remote, [local])
        session = channel.add_session(local, [remote])

        async def read() -> list[MsrpEvent]:
            return [event async for event in msrp_events(there)]

        reader = asyncio.ensure_future(read())
        channel.send_message(session, b"one", "text/plain")
        channel.send_message(session, b"two", "text/plain")
        await there.expect(MessageReceived, within=WITHIN, match=lambda m: m.body == b"two")
        channel.close()
        events = await asyncio.wait_for(reader, WITHIN)
        bodies = [e.body for e in events if isinstance(e, MessageReceived)]
        assert bodies == [b"one", b"two"]
        assert isinstance(events[-1], ConnectionClosed)
        assert msrp_session_id(events[0]) == "b"
        assert msrp_session_id(events[-1]) is None
    finally:
        await client.close()
        await server.close()
