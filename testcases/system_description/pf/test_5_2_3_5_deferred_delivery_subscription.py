"""CPM System Description 5.2.3.5 (seed 000): the client's subscription during deferred
delivery, through the PF.

The tool plays the CF, client B and the S-CSCF. Expected values are written from the seed.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.testcases.procedures import (
    expect_arrival,
    pf_address,
    sip_evidence,
)
from conformance.testcases.procedures.deferred import (
    accept_focus_subscription,
    cf_ends_session,
    cf_group_session,
    cf_sends,
    client_b_leaves,
    client_returns,
    conference_body,
)


@pytest.mark.users(3)
@pytest.mark.requirement("PF-5.2.3.5-DD-HANDLE-SUB")
async def test_5_2_3_5_deferred_delivery_subscription(tc: Tc) -> None:
    """with {client B gone, then the group session ended by the CF; client B back and
    invited for deferred delivery} ensure that
    { when {client B subscribes to the conference at the PF}
      then {the PF answers 2xx and sends a NOTIFY} }"""
    leg = await cf_group_session(tc)
    await client_b_leaves(tc, leg)
    try:
        sub = await accept_focus_subscription(tc, leg, leg.participants)
    except WaitTimeout:
        sub = None
    await cf_sends(leg, tc.guards, "deferred-1")
    await cf_ends_session(leg, tc.guards.sip)
    if sub is not None:
        await sub.terminate(body=conference_body(leg.cf.focus_uri, leg.participants, 2))
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(
            within=tc.guards.sip, conversation_id=leg.cf.conversation_id
        )
    except WaitTimeout:
        inconclusive("no deferred delivery INVITE (judged by SD-B.2.3.5.X-1)")
    await invite.answer(sdp_setup="passive")
    client_sub = await leg.client.subscribe(leg.cf.focus_uri, to=pf_address(tc.pixit))
    answer = await expect_arrival(
        tc.recorder,
        "PF-5.2.3.5-DD-HANDLE-SUB",
        client_sub.final(within=tc.guards.sip),
        expected="a response to client B's SUBSCRIBE",
    )
    if answer is None:
        return
    ev = sip_evidence(answer, "the PF's response to the SUBSCRIBE")
    notify = None
    if answer.status < 300:
        with contextlib.suppress(WaitTimeout):
            notify = await leg.client.expect_request("NOTIFY", within=tc.guards.sip)
            notify.respond(200)
    expect_equal(
        tc.recorder,
        "PF-5.2.3.5-DD-HANDLE-SUB",
        expected=(True, "NOTIFY"),
        actual=(answer.status < 300, notify.request.method if notify else None),
        evidence=[ev] + ([sip_evidence(notify.request, "the NOTIFY")] if notify else []),
        message="(SUBSCRIBE answered 2xx, a NOTIFY follows)",
    )
    assert invite.msrp is not None
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=tc.guards.msrp)
    # teardown: the PF's later NOTIFYs (at most two) are answered until its BYE, which
    # ends the delivery session
    with contextlib.suppress(WaitTimeout):
        for _ in range(3):
            later = await leg.client.expect_request(
                None, within=tc.guards.sip, match=lambda r: r.method in ("NOTIFY", "BYE")
            )
            later.respond(200)
            if later.method == "BYE":
                break
