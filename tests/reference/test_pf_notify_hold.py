"""The reference PF, deferred delivery into the active session (seed 002 B.2.3.x.y+1 step
16 before 17-19, PICS pf.rejoin_notify_order=delivery-first): NOTIFYs to client B's
subscription wait until the delivery is over, the last SEND answered.

Without the hold, client B's SUBSCRIBE could be answered with a NOTIFY while the stored
messages were still on their way; under the load of a parallel run the tool saw that
NOTIFY first.
"""

from __future__ import annotations

import asyncio

from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.dialog import Dialog
from conformance.reference.pf.model import ClientSubscription
from tests.reference.test_pf_originating import ALICE, FOCUS, network
from tests.reference.ua import WITHIN


def notifies(inbox: list[IncomingRequest]) -> int:
    return sum(1 for item in inbox if item.method == "NOTIFY")


async def test_notifies_to_the_user_wait_for_the_delivery() -> None:
    async with network() as net:
        pf, core = net.pf, net.core
        # client B's subscription, as the PF holds it (the SUBSCRIBE came from the core)
        subscribe = core.request("SUBSCRIBE", FOCUS, identity=ALICE)
        dialog = Dialog.uas(subscribe, "pf-csub", f"<sip:pf-csub@{pf.hostport}>")
        client = ClientSubscription(dialog, core.sip.address(), 600, ALICE)
        over = asyncio.Event()
        pf.participants.hold_client_notifies(ALICE, over)
        pf.participants.notify_client(client, b"", "active;expires=600")
        # a round trip through the PF: a NOTIFY sent at once would be here before its end
        options = core.request("OPTIONS", "sip:pf.reference.test")
        await (await core.sip.request(options, pf.address)).final(WITHIN)
        assert notifies(core.sip.inbox) == 0
        # the delivery is over: the held NOTIFY goes, and the next is not held
        over.set()
        first = await core.sip.expect_request("NOTIFY", within=WITHIN)
        first.respond(200)
        pf.participants.notify_client(client, b"", "terminated;reason=noresource")
        second = await core.sip.expect_request("NOTIFY", within=WITHIN)
        second.respond(200)
        assert (first.request.headers.get("Subscription-State") or "").startswith("active")
        assert second.request.cseq[0] > first.request.cseq[0]
