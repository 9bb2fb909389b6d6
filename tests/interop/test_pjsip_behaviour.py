"""What pjsua2 does with CPM-specific stimuli: the reasons our own engine exists.

DESIGN.md ("Dependencies and why") rests on these measurements; if a pjsua2 upgrade
changes them, this test says so.
"""

from __future__ import annotations

import pytest

from conformance.protocol.sip.dialog import Dialog
from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import EngineUA, address_of, msrp_sdp

pytestmark = pytest.mark.needs_server("pjsua2")

WITHIN = 5.0


async def test_msrp_only_offer_is_refused_with_488(engine: EngineUA, pjsip: PjsipPeer) -> None:
    target = pjsip.uri
    invite = engine.request("INVITE", target, to=target, body=msrp_sdp(engine.host, 7394, "s1"))
    await engine.send(invite, address_of(target))
    final = await engine.expect_response(invite, WITHIN)
    assert final.status == 488
    assert pjsip.incoming_calls.items == []  # refused before the application saw it


async def test_audio_and_msrp_offer_declines_the_msrp_stream(
    engine: EngineUA, pjsip: PjsipPeer
) -> None:
    target = pjsip.uri
    invite = engine.request(
        "INVITE", target, to=target, body=msrp_sdp(engine.host, 7394, "s1", with_audio=True)
    )
    await engine.send(invite, address_of(target))
    await pjsip.expect_call(WITHIN)
    await pjsip.answer(200)
    ok = await engine.expect_response(invite, WITHIN)
    assert ok.status == 200
    assert b"m=message 0 TCP/MSRP" in ok.body  # RFC 3264 6: a declined stream has port 0
    await engine.send_ack(Dialog.uac(invite, ok), invite)


async def test_subscribe_to_conference_is_refused_with_489(
    engine: EngineUA, pjsip: PjsipPeer
) -> None:
    target = pjsip.uri
    subscribe = engine.request(
        "SUBSCRIBE",
        target,
        to=target,
        headers=[
            ("Event", "conference"),
            ("Accept", "application/conference-info+xml"),
            ("Expires", "600"),
        ],
    )
    await engine.send(subscribe, address_of(target))
    final = await engine.expect_response(subscribe, WITHIN)
    assert final.status == 489  # RFC 6665 8.2.1: Bad Event
