"""MESSAGE and OPTIONS outside a dialog between our engine and pjsua2, both ways."""

from __future__ import annotations

import asyncio

import pytest

from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.timers import Transport
from conformance.roles.pjsip_peer import PjsipPeer
from tests.interop import CPM_HEADERS, EngineUA, address_of, assert_headers_intact

pytestmark = pytest.mark.needs_server("pjsua2")

TRANSPORTS = [Transport.UDP, Transport.TCP]
WITHIN = 5.0


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_engine_sends_message_to_pjsip(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    target = pjsip.contact(transport.value.lower())
    message = engine.request(
        "MESSAGE",
        target,
        to=target,
        transport=transport,
        headers=CPM_HEADERS,
        body=b"hello from the engine",
        content_type="text/plain",
    )
    await engine.send(message, address_of(target))
    response = await engine.expect_response(message, WITHIN)
    assert response.status == 200

    received = await pjsip.expect_message(WITHIN)
    assert received.body == "hello from the engine"
    assert received.content_type == "text/plain"
    assert_headers_intact(received.raw, CPM_HEADERS)


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_pjsip_sends_message_to_engine(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    sending = asyncio.create_task(
        pjsip.send_message(engine.uri(transport), "hello from pjsua2", "text/plain", CPM_HEADERS)
    )
    got = await engine.expect_request("MESSAGE", WITHIN)
    assert isinstance(got.request, SipRequest)
    assert got.request.body == b"hello from pjsua2"
    assert got.request.headers.get("Content-Type") == "text/plain"
    assert_headers_intact(got.request.raw, CPM_HEADERS)
    await engine.reply(got, 200, to_tag=new_tag(), headers=[("X-Engine", "stored; id=1")])

    result = await asyncio.wait_for(sending, WITHIN)
    assert result.code == 200
    assert_headers_intact(result.raw, [("X-Engine", "stored; id=1")])


@pytest.mark.parametrize("status", [403, 488])
async def test_pjsip_sees_message_rejection(
    engine: EngineUA, pjsip: PjsipPeer, status: int
) -> None:
    sending = asyncio.create_task(pjsip.send_message(engine.uri(), "x"))
    got = await engine.expect_request("MESSAGE", WITHIN)
    await engine.reply(got, status, to_tag=new_tag())
    result = await asyncio.wait_for(sending, WITHIN)
    assert result.code == status


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_engine_sends_options_to_pjsip(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    target = pjsip.contact(transport.value.lower())
    options = engine.request("OPTIONS", target, to=target, transport=transport)
    await engine.send(options, address_of(target))
    response = await engine.expect_response(options, WITHIN)
    assert response.status == 200
    allow = response.headers.values("Allow")
    assert {"INVITE", "ACK", "BYE", "MESSAGE", "OPTIONS"} <= set(allow)


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
async def test_pjsip_sends_options_to_engine(
    engine: EngineUA, pjsip: PjsipPeer, transport: Transport
) -> None:
    sending = asyncio.create_task(pjsip.send_options(engine.uri(transport), [CPM_HEADERS[2]]))
    got = await engine.expect_request("OPTIONS", WITHIN)
    assert got.source.transport is transport
    assert_headers_intact(got.request.raw, [CPM_HEADERS[2]])
    await engine.reply(
        got, 200, to_tag=new_tag(), headers=[("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")]
    )
    result = await asyncio.wait_for(sending, WITHIN)
    assert result.code == 200
    assert_headers_intact(result.raw, [("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")])
