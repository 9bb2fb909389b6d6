"""CPM Conversation Function 8.2.3 "Receive Participant Information Notification" step 4
(seed 003): the PF sends a subscribed client the body of the CF's NOTIFY over MSRP.

The tool plays the originating CPM Client (through its S-CSCF) and the CF. Expected values
are written here from the seed text.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.documents.conference_info import (
    DocState,
)
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.testcases.procedures import (
    pf_address,
    sip_evidence,
)
from conformance.testcases.procedures.conference_info_msrp import (
    CONFERENCE_INFO,
    conference_info_body,
    conference_user,
    msrp_group_session,
    next_notify_request,
)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.2.3-RCV-4")
async def test_8_2_3_rcv_4_notify_body_over_msrp(tc: Tc) -> None:
    """with {a group session through the PF with conference-info over MSRP, the PF
    subscribed to the focus} ensure that
    { when {the CF sends a NOTIFY with a conference-info body}
      then {the PF sends the client an MSRP SEND with Content-Type
            application/conference-info+xml carrying that body} }"""
    cf = await tc.cf()
    client, session, cf_session = await msrp_group_session(tc)
    handle = await client.subscribe(cf_session.focus_uri, to=pf_address(tc.pixit))
    await handle.final(tc.guards.sip)
    try:
        sub = await cf.expect_subscribe(within=tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF sent no SUBSCRIBE to the focus")
    sub.accept()
    body = conference_info_body(
        cf_session.focus_uri, DocState.FULL, 1, (conference_user(client.user),)
    )
    response = await (await sub.notify(body)).final(tc.guards.sip)
    await next_notify_request(client, tc.guards.sip)
    channel = session.msrp.channel
    if channel is None:
        inconclusive("the client's MSRP session has no connection")
    try:
        got: MessageReceived | None = await channel.expect(
            MessageReceived, within=tc.guards.sip, match=lambda m: bool(m.body)
        )
    except WaitTimeout:
        got = None
    content_type = None if got is None else (got.content_type or "").split(";")[0].strip()
    expect_equal(
        tc.recorder,
        "PF-8.2.3-RCV-4",
        expected=(CONFERENCE_INFO, body),
        actual=None if got is None else (content_type, got.body),
        message="an MSRP SEND with the NOTIFY body",
        evidence=[sip_evidence(response, "the PF's answer to the CF's NOTIFY")],
    )
    await session.handle.bye()
