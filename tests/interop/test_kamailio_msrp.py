"""MSRP through Kamailio's ``msrp`` relay (RFC 4976): our framing must pass unchanged.

Alice's SEND chunks go to the relay (first hop of the To-Path), the relay forwards them
to Bob on a connection it opens, and Bob's success REPORT (To-Path: the whole From-Path
he received) comes back through it.

Measured with Kamailio 5.6: the relay is stateless and forwards a *response* by popping
itself from the response's To-Path. Our responses carry only the previous hop there
(RFC 4975 7.2 as the codec reads it), so Kamailio finds "nowhere to forward" and drops
them. The second test pins that until one side changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conformance.net.clock import WaitTimeout
from conformance.net.kamailio import Kamailio
from conformance.net.msrp_pump import MsrpPump
from conformance.net.stream import StreamConnection
from conformance.protocol.msrp.session import ReportReceived

pytestmark = pytest.mark.needs_server("kamailio")

WITHIN = 5.0


def bind_on_accept(pump: MsrpPump, local_uri: str, remote_path: list[str]) -> None:
    """Add the session to every connection ``pump`` accepts, as soon as it opens.

    The relay opens its connection and writes the first frame at once, so the session
    must exist before that frame is parsed; MsrpPump has no API for sessions awaited on
    future accepted connections yet, so the open callback is wrapped here.
    """
    opened = pump.transport.on_open

    def bind(stream: StreamConnection) -> None:
        assert opened is not None
        opened(stream)
        if stream.outgoing:
            return
        for channel in pump.channels:
            if channel.stream is stream:
                channel.add_session(local_uri, remote_path)

    pump.transport.on_open = bind


@pytest.fixture
async def msrp_pumps() -> AsyncIterator[tuple[MsrpPump, MsrpPump]]:
    a = await MsrpPump.start()
    b = await MsrpPump.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_chunked_send_and_report_through_the_relay(
    msrp_pumps: tuple[MsrpPump, MsrpPump],
) -> None:
    msrp_a, msrp_b = msrp_pumps
    async with Kamailio.start(msrp=True) as k:
        host, port = k.address
        relay = f"msrp://{host}:{port}/relay-hop;tcp"
        alice_uri = msrp_a.uri("alice-session")
        bob_uri = msrp_b.uri("bob-session")

        # Bob learns the way back from the From-Path the relay extends (RFC 4976 7.3.1).
        # Without AUTH the relay reaches Alice by her own URI, on a new connection.
        bind_on_accept(msrp_b, bob_uri, [relay, alice_uri])
        bind_on_accept(msrp_a, alice_uri, [relay, bob_uri])

        channel_a = await msrp_a.connect(host, port)
        session_a = channel_a.add_session(alice_uri, [relay, bob_uri])
        body = b"x" * 2500 + b"relayed"
        chunks = channel_a.send_message(
            session_a,
            body,
            "text/plain",
            success_report="yes",
            failure_report="no",  # no transaction responses: see the module docstring
            chunk_size=1000,
        )
        assert len(chunks) == 3

        channel_b = await msrp_b.accepted(within=WITHIN)
        received = await channel_b.expect_message(within=WITHIN)
        assert received.body == body
        # RFC 4976 7.3.1: the relay removed itself from the To-Path and added itself to
        # the From-Path; everything else of the chunk is unchanged
        first = received.chunks[0]
        assert first.header("To-Path") == bob_uri
        assert first.header("From-Path") == f"{relay} {alice_uri}"
        assert first.body == chunks[0].body
        assert first.message_id == chunks[0].message_id

        back = await msrp_a.accepted(within=WITHIN)  # the relay's connection to Alice
        report = await back.expect(ReportReceived, within=WITHIN)
        assert report.status.code == 200
        assert report.message_id == chunks[0].message_id


async def test_relay_drops_our_one_hop_responses(
    msrp_pumps: tuple[MsrpPump, MsrpPump],
) -> None:
    """Pins a measured incompatibility (module docstring); when this test fails, the
    relay or our codec changed and the main test can ask for transaction responses."""
    msrp_a, msrp_b = msrp_pumps
    async with Kamailio.start(msrp=True) as k:
        host, port = k.address
        relay = f"msrp://{host}:{port}/relay-hop;tcp"
        alice_uri = msrp_a.uri("alice-session")
        bob_uri = msrp_b.uri("bob-session")
        bind_on_accept(msrp_b, bob_uri, [relay, alice_uri])
        channel_a = await msrp_a.connect(host, port)
        session_a = channel_a.add_session(alice_uri, [relay, bob_uri])
        (chunk,) = channel_a.send_message(session_a, b"hello", "text/plain")
        channel_b = await msrp_b.accepted(within=WITHIN)
        await channel_b.expect_message(within=WITHIN)
        answered = [
            r.data
            for r in msrp_b.capture.records
            if r.direction == "out" and r.data.startswith(f"MSRP {chunk.tid} 200".encode())
        ]
        assert answered, "Bob did not answer the chunk"
        assert answered[0].split(b"\r\n")[1] == f"To-Path: {relay}".encode()
        with pytest.raises(WaitTimeout):
            await channel_a.response(chunk, within=1.0)
