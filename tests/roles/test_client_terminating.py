"""The client as the called party: the core routes an INVITE for its contact URI to it;
a passive answer declares the MSRP session before the 200, so the caller's first SEND is
accepted on the very first connection."""

from __future__ import annotations

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
