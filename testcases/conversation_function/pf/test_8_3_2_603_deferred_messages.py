"""CPM Conversation Function 8.3.2 "603" step 1 (seed 003): the deferred messages of a user
who declined are discarded.

The tool plays the CF, client B and the S-CSCF. Expected values are written from the seed.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.roles.client import IncomingInvite
from conformance.testcases.procedures import (
    sip_evidence,
)
from conformance.testcases.procedures.deferred import (
    GroupLeg,
    cf_group_session,
    cf_sends,
    client_b_gone,
    client_returns,
    deliveries,
)


async def _no_invite(leg: GroupLeg, within: float) -> IncomingInvite | None:
    try:
        # an INVITE of another conversation (an earlier test case's) is no delivery of this one
        return await leg.client.expect_invite(
            within=within, conversation_id=leg.cf.conversation_id, others=False
        )
    except WaitTimeout:
        return None


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.3.2-603-1")
async def test_8_3_2_603_deferred_messages_discarded(tc: Tc) -> None:
    """with {client B gone from a group session, a message deferred at the PF} ensure that
    { when {client B declines the PF's delivery INVITE with 603 and registers again}
      then {the deferred message is never delivered to client B} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    await client_b_gone(tc, leg)
    await cf_sends(leg, tc.guards, "declined-1")
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(
            within=tc.guards.sip, conversation_id=leg.cf.conversation_id
        )
    except WaitTimeout:
        inconclusive("the PF sent no delivery INVITE to decline")
    invite.decline(603)
    with contextlib.suppress(WaitTimeout):  # 603 step 2, judged by PF-8.3.2-603-2
        bye = await cf.expect_request("BYE", within=tc.guards.sip)
        bye.respond(200)
    await client_returns(tc, leg)
    # a delivery would answer the registration at once: the observation window
    again = await _no_invite(leg, tc.guards.observe)
    delivered = None
    if again is not None:
        await again.answer(sdp_setup="passive")
        [delivered] = await deliveries(again, tc.guards, "declined-1")
    expect_equal(
        tc.recorder,
        "PF-8.3.2-603-1",
        expected=False,
        actual=delivered is not None,
        evidence=[sip_evidence(invite.request, "the delivery INVITE declined with 603")]
        + ([sip_evidence(again.request, "a later INVITE of the PF")] if again else []),
        message="the deferred message is delivered after the client's 603 (an INVITE "
        f"watched for the observation window, {tc.guards.observe:.2f} s, after it registers)",
    )
