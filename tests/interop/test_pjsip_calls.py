"""INVITE/ACK/BYE between our engine and pjsua2, both directions, UDP and TCP.

The CPM headers (Conversation-ID, Contribution-ID, P-Asserted-Service) must arrive byte
for byte in both directions: pjsua2 hands us the raw bytes it received
(``SipRxData.wholeMsg``), our transport keeps the raw bytes of every parsed message.
"""

from __future__ import annotations

import pytest

from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.timers import Transport
from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import (
    CPM_HEADERS,
    EngineUA,
    address_of,
    assert_headers_intact,
    audio_sdp,
)

pytestmark = pytest.mark.needs_server("pjsua2")

TRANSPORTS = [Transport.UDP, Transport.TCP]
WITHIN = 5.0


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_engine_invites_pjsip(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    target = pjsip.contact(transport.value.lower())
    invite = engine.request(
        "INVITE",
        target,
        to=target,
        transport=transport,
        headers=CPM_HEADERS,
        body=audio_sdp(engine.host),
    )
    await engine.send(invite, address_of(target))

    incoming = await pjsip.expect_call(WITHIN)
    assert_headers_intact(incoming.raw, CPM_HEADERS)
    await pjsip.answer(200, headers=[CPM_HEADERS[0]])

    ok = await engine.expect_response(invite, WITHIN)
    assert ok.status == 200
    assert b"m=audio" in ok.body
    assert_headers_intact(ok.raw, [CPM_HEADERS[0]])
    dialog = Dialog.uac(invite, ok)
    assert dialog.remote_target.startswith("sip:")

    await engine.send_ack(dialog, invite, transport)
    await pjsip.wait_call_state(incoming.call, "CONFIRMED", WITHIN)

    _, bye_ok = await engine.send_in_dialog(dialog, "BYE", transport, [CPM_HEADERS[1]])
    assert bye_ok.status == 200
    await pjsip.wait_call_state(incoming.call, "DISCONNECTED", WITHIN)


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_pjsip_invites_engine(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    call = await pjsip.make_call(engine.uri(transport), headers=CPM_HEADERS)

    got = await engine.expect_request("INVITE", WITHIN)
    invite = got.request
    assert isinstance(invite, SipRequest)
    assert_headers_intact(invite.raw, CPM_HEADERS)
    assert b"m=audio" in invite.body
    # RFC 3261 18.1.1: a request within 200 bytes of the 1500-byte MTU goes over TCP even
    # for a UDP URI; pjsua2 does so (measured: its INVITE with the CPM headers is larger).
    assert got.source.transport is transport or len(invite.raw) > 1300

    tag = new_tag()
    await engine.reply(got, 180, to_tag=tag)
    dialog = Dialog.uas(invite, tag, engine.uri(transport))
    ok_sent = await engine.reply(
        got,
        200,
        to_tag=tag,
        contact=True,
        transport=transport,
        headers=[CPM_HEADERS[1]],
        body=audio_sdp(engine.host),
    )
    dialog.confirm(ok_sent)
    ack = await engine.expect_request("ACK", WITHIN)
    assert ack.request.call_id == invite.call_id
    await pjsip.wait_call_state(call, "CONFIRMED", WITHIN)
    ok = await pjsip.wait_call_rx(call, WITHIN, method="INVITE", code=200)
    assert_headers_intact(ok.raw, [CPM_HEADERS[1]])

    await pjsip.hangup(call, headers=[CPM_HEADERS[0]])
    bye = await engine.expect_request("BYE", WITHIN)
    dialog.receive_request(bye.request)  # raises if the BYE is not in our dialog
    assert_headers_intact(bye.request.raw, [CPM_HEADERS[0]])
    await engine.reply(bye, 200)
    await pjsip.wait_call_state(call, "DISCONNECTED", WITHIN)


async def test_pjsip_rejects_with_chosen_code(engine: EngineUA, pjsip: PjsipPeer) -> None:
    """pjsua2 drives the rejection paths: an incoming INVITE answered 486."""
    target = pjsip.uri
    invite = engine.request("INVITE", target, to=target, body=audio_sdp(engine.host))
    await engine.send(invite, address_of(target))
    await pjsip.expect_call(WITHIN)
    await pjsip.answer(486)
    final = await engine.expect_response(invite, WITHIN)
    assert final.status == 486  # the INVITE client transaction ACKs it (RFC 3261 17.1.1.3)
