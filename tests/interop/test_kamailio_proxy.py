"""Our engine through Kamailio (stateful proxy + registrar on loopback).

- the generated configuration passes ``kamailio -c``, with and without the MSRP relay;
- a dialog between two engine endpoints: the 200 carries Kamailio's Record-Route, the
  caller builds its route set from it, and ACK and BYE go through Kamailio with a Route
  header that Kamailio consumes (loose routing, RFC 3261 16.12 and 12.2.1.1);
- pjsua2 registers at Kamailio; the engine reaches it by its address-of-record (MESSAGE
  and INVITE), and pjsua2's BYE follows the recorded route back through Kamailio.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from conformance.net.kamailio import Kamailio, KamailioConfig, check_config, render_config
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipMessage, SipRequest
from conformance.protocol.sip.timers import Address, Transport
from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import (
    CPM_HEADERS,
    EngineUA,
    address_of,
    assert_headers_intact,
    audio_sdp,
    route_set,
)

pytestmark = pytest.mark.needs_server("kamailio")

WITHIN = 5.0


def via_by(message: SipMessage) -> tuple[str, int]:
    """The sent-by of the top Via: who relayed the request (over TCP Kamailio connects
    from an ephemeral port, so the source address does not say it)."""
    top = message.headers.values("Via")[0]
    host, _, port = top.split()[1].split(";", 1)[0].partition(":")
    return host, int(port or 5060)


@pytest.mark.parametrize(
    "config",
    [
        KamailioConfig(),
        KamailioConfig(next_hop="127.0.0.1:5999"),
        KamailioConfig(next_hop="sip:127.0.0.1:5999;transport=tcp", msrp=True),
    ],
    ids=["registrar-only", "next-hop", "msrp-relay"],
)
def test_generated_config_passes_kamailio_check(tmp_path: Path, config: KamailioConfig) -> None:
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(render_config(config, 5088))
    check_config(cfg)


async def test_kamailio_starts_and_stops() -> None:
    async with Kamailio.start(msrp=True) as k:
        assert k.process is not None and k.process.returncode is None
        host, port = k.address
        assert host == "127.0.0.1" and port > 0
    assert k.process.returncode is not None
    assert not k.workdir.exists()


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP], ids=lambda t: t.value)
async def test_dialog_between_engines_is_loose_routed(
    engine: EngineUA, engine_b: EngineUA, transport: Transport
) -> None:
    callee = engine_b.uri(transport)
    async with Kamailio.start(next_hop=callee) as k:
        proxy = Address(k.address[0], k.address[1], transport)
        invite = engine.request(
            "INVITE",
            callee,
            to=callee,
            transport=transport,
            route=[k.route],
            headers=CPM_HEADERS,
            body=audio_sdp(engine.host),
        )
        await engine.send(invite, proxy)

        got = await engine_b.expect_request("INVITE", WITHIN)
        at_b = got.request
        assert isinstance(at_b, SipRequest)
        assert via_by(at_b) == k.address
        assert at_b.headers.get("Route") is None  # Kamailio consumed its own Route entry
        assert len(at_b.headers.values("Via")) == 2
        assert at_b.headers.values("Record-Route"), "Kamailio did not Record-Route"
        assert_headers_intact(at_b.raw, CPM_HEADERS)

        tag = new_tag()
        await engine_b.reply(
            got, 200, to_tag=tag, contact=True, transport=transport, body=audio_sdp(engine_b.host)
        )
        ok = await engine.expect_response(invite, WITHIN)
        assert ok.status == 200
        routes = route_set(ok)
        assert routes, "no Record-Route in the 200"
        assert f"{k.address[0]}:{k.address[1]}" in routes[0] and ";lr" in routes[0]

        dialog = Dialog.uac(invite, ok)
        assert dialog.route_set == routes
        # RFC 3261 12.2.1.1, loose routing: Request-URI = remote target, Route = route
        # set, sent to the first route (Kamailio)
        hop = address_of(dialog.next_hop(), transport)
        assert (hop.host, hop.port) == k.address

        ack = await engine.send_ack(dialog, invite, transport)
        assert ack.uri == dialog.remote_target
        assert ack.headers.values("Route") == routes
        arrived = await engine_b.expect_request("ACK", WITHIN)
        assert via_by(arrived.request) == k.address
        assert arrived.request.headers.get("Route") is None  # Kamailio consumed its entry

        bye_task = asyncio.create_task(engine.send_in_dialog(dialog, "BYE", transport))
        arrived = await engine_b.expect_request("BYE", WITHIN)
        assert via_by(arrived.request) == k.address
        assert arrived.request.call_id == invite.call_id
        assert arrived.request.headers.get("Route") is None
        await engine_b.reply(arrived, 200)
        bye, bye_ok = await asyncio.wait_for(bye_task, WITHIN)
        assert bye.headers.values("Route") == routes
        assert bye_ok.status == 200


@pytest.mark.needs_server("pjsua2")
async def test_engine_reaches_registered_pjsip_through_kamailio(
    engine: EngineUA, pjsip: PjsipPeer
) -> None:
    async with Kamailio.start() as k:
        registrar = f"sip:{k.address[0]}:{k.address[1]}"
        reg = await pjsip.register(registrar, "alice", "unused")
        assert reg.code == 200
        aor = f"sip:alice@{k.address[0]}:{k.address[1]}"
        proxy = Address(k.address[0], k.address[1], Transport.UDP)

        message = engine.request(
            "MESSAGE",
            aor,
            to=aor,
            headers=CPM_HEADERS,
            body=b"via proxy",
            content_type="text/plain",
            route=[k.route],
        )
        await engine.send(message, proxy)
        assert (await engine.expect_response(message, WITHIN)).status == 200
        received = await pjsip.expect_message(WITHIN)
        assert received.body == "via proxy"
        assert_headers_intact(received.raw, CPM_HEADERS)

        invite = engine.request("INVITE", aor, to=aor, route=[k.route], body=audio_sdp(engine.host))
        await engine.send(invite, proxy)
        incoming = await pjsip.expect_call(WITHIN)
        assert b"Record-Route:" in incoming.raw
        await pjsip.answer(200)
        ok = await engine.expect_response(invite, WITHIN)
        assert ok.status == 200
        routes = route_set(ok)
        assert routes
        ack = await engine.send_ack(Dialog.uac(invite, ok), invite)
        assert ack.headers.values("Route") == routes
        await pjsip.wait_call_state(incoming.call, "CONFIRMED", WITHIN)

        # pjsua2 hangs up: its BYE must follow the route set back through Kamailio
        await pjsip.hangup(incoming.call)
        bye = await engine.expect_request("BYE", WITHIN)
        assert via_by(bye.request) == k.address
        assert bye.request.headers.get("Route") is None
        await engine.reply(bye, 200)
        await pjsip.wait_call_state(incoming.call, "DISCONNECTED", WITHIN)
        await asyncio.wait_for(pjsip.unregister(), WITHIN)
