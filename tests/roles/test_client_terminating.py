"""The client as the called party: the core routes an INVITE for its contact URI to it;
a passive answer declares the MSRP session before the 200, so the caller's first SEND is
accepted on the very first connection."""

from __future__ import annotations

import asyncio

import pytest

from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.client import ClientEmulator
from conformance.roles.core import ToolCore
from conformance.roles.msrp_peer import MsrpPeer

WITHIN = 5.0
BOB = "sip:bob@reference.test"
BOB_1 = "urn:uuid:00000000-0000-4000-8000-00000000b001"


async def test_passive_answer_accepts_the_first_send(core: ToolCore) -> None:
    client = await ClientEmulator.create(core, BOB, BOB_1)
    caller = await MsrpPeer.start()
    try:
        offer = caller.sdp(setup="active")
        request = core.build_request(
            "INVITE",
            client.contact_uri,
            from_="sip:conf-1@cf.reference.test",
            to=BOB,
            contact="<sip:conf-1@cf.reference.test>;isfocus",
            body=offer,
        )
        handle = await core.send(request, core.address)

        incoming = await client.expect_invite(within=WITHIN)
        incoming.ringing()
        await incoming.answer(200, sdp_setup="passive")
        ok = await handle.final(WITHIN)
        assert ok.status == 200
        assert [r.status for r in handle.responses] == [180, 200]
        dialog = Dialog.uac(request, ok)
        ack = dialog.create_ack(request.cseq[0], via=core.via())
        await core.send(ack, core.address)
        await client.expect_request("ACK", within=WITHIN)

        await caller.connect(parse_sdp(ok.body).msrp.path)
        caller.send(b"first", "text/plain")
        await incoming.establish_msrp(within=WITHIN)
        assert incoming.msrp is not None
        received = await incoming.msrp.expect_message(within=WITHIN)
        assert received.body == b"first"
    finally:
        await caller.close()
        await client.close()


async def test_an_invite_of_another_conversation_is_taken_only_when_asked(core: ToolCore) -> None:
    # an earlier session's INVITE (another Conversation-ID) the SUT still sends this user
    client = await ClientEmulator.create(core, BOB, BOB_1)
    caller = await MsrpPeer.start()
    try:

        async def invite(*conversation: str) -> None:
            request = core.build_request(
                "INVITE",
                client.contact_uri,
                from_="sip:conf-1@cf.reference.test",
                to=BOB,
                headers=[("Conversation-ID", c) for c in conversation],
                body=caller.sdp(setup="active"),
            )
            await core.send(request, core.address)

        await invite("earlier")
        with pytest.raises(WaitTimeout):  # never, for a check that this session has none
            await client.expect_invite(within=0.2, conversation_id="mine", others=False)
        other = await client.expect_invite(within=0.2, conversation_id="mine")
        assert other.request.headers.get("Conversation-ID") == "earlier"
        await invite()  # no Conversation-ID: it may be this session's
        unnamed = await client.expect_invite(within=WITHIN, conversation_id="mine", others=False)
        assert unnamed.request.headers.get("Conversation-ID") is None
        await invite("earlier")
        await invite("mine")
        mine = await client.expect_invite(within=WITHIN, conversation_id="mine", others=False)
        assert mine.request.headers.get("Conversation-ID") == "mine"
    finally:
        await caller.close()
        await client.close()


async def test_a_notify_of_no_subscription_of_the_client_is_answered_481(core: ToolCore) -> None:
    # what the SUT still sends for a subscription an earlier client of the same user and
    # instance (the same contact) made: RFC 6665 4.1.3, kept from the test's inbox
    client = await ClientEmulator.create(core, BOB, BOB_1)
    try:

        async def notify(call_id: str, tag: str) -> int:
            request = core.build_request(
                "NOTIFY",
                client.contact_uri,
                from_="sip:conf-1@cf.reference.test",
                to=f"<{BOB}>;tag={tag}",
                call_id=call_id,
                headers=[("Event", "conference"), ("Subscription-State", "active")],
            )
            handle = await core.send(request, core.address)
            return (await handle.final(WITHIN)).status

        assert await notify("stale-call", "stale-tag") == 481
        assert client.inbox == [] and [r.method for r in client.received] == ["NOTIFY"]
        client.track_call("mine", "my-tag")  # as subscribe() does for its SUBSCRIBE
        sent = asyncio.ensure_future(notify("mine", "my-tag"))
        incoming = await client.expect_request("NOTIFY", within=WITHIN)
        incoming.send(client.response(incoming, 200))
        assert await sent == 200
    finally:
        await client.close()
