"""CPM Conversation Function 8.6 "Procedures upon Receiving MSRP": the PF relays MSRP
within the negotiated chunk size, keeps only the client the user chose (single-client
policy) and marks copies to the user's other clients ``Message-Direction: sent``.

The tool plays the user's clients, the S-CSCF and the CF. Expected values are written here
from the seed text.
"""

from __future__ import annotations

import pytest
from conformance.fixtures.network import ClientFactory, Guards
from conformance.testcases.procedures import (
    expect_arrival,
    send_group_invite,
)

from conformance.catalog.profile import Pixit
from conformance.checks import VerdictRecorder, evidence, expect_true, inconclusive
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.headers import get_reasons
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.cf import CfEmulator
from conformance.roles.client import sdp_of
from conformance.roles.msrp_peer import MsrpPeer

#: the a=max-size the receiving leg negotiates (8.6 step 1, catalogue interpretation)
MAX_SIZE = 512
ISCOMPOSING = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
    b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">'
    b"<state>active</state><contenttype>text/plain</contenttype></isComposing>"
)


def _reason(message: SipMessage) -> tuple[str, int | None] | None:
    try:
        reasons = get_reasons(message)
    except Exception:
        return None
    return (reasons[0].protocol.upper(), reasons[0].cause) if reasons else None


async def _message(peer: MsrpPeer, within: float) -> MessageReceived:
    """The first non-empty message on the peer's connection (a binding SEND is empty)."""
    channel = peer.channel
    if channel is None:
        inconclusive("the MSRP session has no connection")
    return await channel.expect(MessageReceived, within=within, match=lambda m: bool(m.body))


async def _bind(peer: MsrpPeer | None, within: float) -> None:
    """RFC 4975 5.4: the side that opened the connection sends a SEND at once (empty);
    its response says the SUT has bound the session."""
    if peer is not None and peer.channel is not None:
        for request in peer.send(b"", None):
            await peer.channel.response(request, within=within)


def _msrp_evidence(message: MessageReceived, description: str) -> object:
    return evidence("msrp", description, f"chunk sizes {list(message.chunk_sizes)}",
                    message.body[:400])


@pytest.mark.requirement("PF-8.6-1")
async def test_8_6_1_chunk_size_towards_the_leg(
    recorder: VerdictRecorder, client_factory: ClientFactory, cf_emulator: CfEmulator,
    pixit: Pixit, guards: Guards,
) -> None:
    """with {a group session through the PF whose terminating leg negotiated
    a=max-size:512} ensure that
    { when {the client sends a 3000-byte message in one chunk}
      then {the CF receives the same body in SEND chunks of at most 512 bytes} }"""
    client = await client_factory(pixit.users[0].uri, 0)
    session = await send_group_invite(client, pixit)
    incoming = await cf_emulator.expect_invite(within=guards.sip)
    peer = await cf_emulator.new_msrp_peer()
    body = peer.sdp(setup="passive", extra_attributes=(f"max-size:{MAX_SIZE}",))
    peer.declare(parse_sdp(sdp_of(incoming.request)).msrp.path)
    await incoming.accept(body=body)
    answer = await session.handle.final(within=guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    await peer.accepted(within=guards.sip)
    await session.handle.establish_msrp(within=guards.sip)
    text = bytes(range(65, 91)) * 115 + b"!!"  # 2992 bytes of text
    session.msrp.send_cpim(from_=f"<{client.user}>", to="<sip:anonymous@anonymous.invalid>",
                           body=text)
    got = await expect_arrival(
        recorder, "PF-8.6-1",
        _message(peer, guards.sip),
        expected="the client's message relayed to the CF",
    )
    if got is None:
        return
    ev = _msrp_evidence(got, "the message the CF received")
    expect_true(recorder, "PF-8.6-1", text in got.body, expected="the body relayed unchanged",
                actual=len(got.body), evidence=[ev])  # type: ignore[list-item]
    expect_true(recorder, "PF-8.6-1", max(got.chunk_sizes, default=0) <= MAX_SIZE,
                expected=f"every chunk at most {MAX_SIZE} bytes",
                actual=list(got.chunk_sizes), evidence=[ev])  # type: ignore[list-item]
    await session.handle.bye()
