"""CPM System Description B.2.3.x.y NOTE after 16-17 (seed 002), a MAY of the PF: the
un-subscribe from the focus after the re-establishment.

Judged in strict runs only, and n/a when the profile does not claim it
(``pf.unsubscribe_after_rejoin``). The tool plays the CF (its group INVITE, the focus
subscription), client B and the S-CSCF (third-party REGISTER). Expected values are
written from the seed.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.testcases.procedures import expect_arrival, sip_evidence
from conformance.testcases.procedures.deferred import (
    accept_focus_subscription,
    cf_ends_session,
    cf_group_session,
    cf_sends,
    client_b_leaves,
    client_returns,
    deliveries,
    in_subscription,
)
from conformance.testcases.procedures.messages import PEER_ERRORS


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-UNSUB")
async def test_b_2_3_x_y_unsubscribe_after_reestablishment(tc: Tc) -> None:
    """with {client B gone from a group session that goes on; the PF subscribed to the
    focus and buffers for client B} ensure that
    { when {client B is back (third-party REGISTER) and its session is re-established}
      then {the PF un-subscribes from the focus (SUBSCRIBE in the subscription, Expires: 0)
            after the re-establishment, and not while it still buffered} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    await client_b_leaves(tc, leg)
    try:
        sub = await accept_focus_subscription(tc, leg, leg.participants)
    except WaitTimeout:
        inconclusive("the PF did not subscribe to the focus")
    early_match = in_subscription(sub, expires_zero=True)
    await cf_sends(leg, tc.guards, "unsub-1")
    # while the PF still buffers: no un-subscribe (one that must not come, watched for the
    # observation window; the inbox is searched again after the REGISTER)
    try:
        early: IncomingRequest | None = await cf.expect_request(
            "SUBSCRIBE", within=tc.guards.observe, match=early_match
        )
    except WaitTimeout:
        early = None
    await cf_sends(leg, tc.guards, "unsub-2")
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(
            within=tc.guards.sip, conversation_id=leg.cf.conversation_id
        )
    except WaitTimeout:
        invite = None
    if early is None:  # un-subscribed after the REGISTER, before the session is back
        early = next((i for i in cf.inbox if early_match(i)), None)
    if early is not None:
        early.respond(200, headers=[("Expires", "0")])
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-UNSUB",
        expected=None,
        actual=None if early is None else "SUBSCRIBE Expires: 0",
        evidence=[sip_evidence(early.request, "the PF's un-SUBSCRIBE")] if early else None,
        message="no un-SUBSCRIBE from the focus while the PF still buffers for client B",
    )
    if invite is None:
        inconclusive("the PF did not invite client B (trigger A): no re-establishment")
    await invite.answer(sdp_setup="passive")
    [got] = await deliveries(invite, tc.guards, "unsub-2")
    if got is None:
        inconclusive("the session with client B was not re-established (no delivery)")
    if early is not None:
        return  # the subscription already ended: nothing more to observe
    later = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-UNSUB",
        cf.expect_request(
            "SUBSCRIBE",
            within=2 * tc.guards.sip,
            match=in_subscription(sub, expires_zero=False),
        ),
        expected="the PF's SUBSCRIBE with Expires: 0 in its focus subscription",
    )
    if later is None:
        return
    later.respond(200, headers=[("Expires", later.request.headers.get("Expires") or "0")])
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-UNSUB",
        expected="0",
        actual=(later.request.headers.get("Expires") or "").strip() or None,
        evidence=sip_evidence(later.request, "the PF's SUBSCRIBE after the re-establishment"),
        message="the un-SUBSCRIBE after the re-establishment carries Expires: 0",
    )
    with contextlib.suppress(*PEER_ERRORS):
        await cf_ends_session(leg, tc.guards.sip)
