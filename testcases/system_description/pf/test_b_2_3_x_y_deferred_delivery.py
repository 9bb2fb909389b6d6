"""CPM System Description B.2.3.x.y and B.2.3.x.y+2 (seed 002): the PF's deferred delivery
of an active group session to client B when it is back, and the race of a re-join with
the PF's own INVITE.

The tool plays the CF (its group INVITE, the focus subscription, the chat messages),
client B and the S-CSCF (third-party REGISTER). Expected values are written from the seed.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.documents.resource_lists import parse_resource_list
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest, TransactionTimeoutError
from conformance.protocol.sip.headers import get_content_type
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.multipart import find_part, parse_multipart
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import (
    cf_ends_session,
    cf_group_session,
    cf_sends,
    client_b_gone,
    client_returns,
    conference_body,
    deliveries,
    expect_notified_before,
    expect_sent_before,
    received,
    refuse_focus_subscription,
    rejoin,
)
from conformance.testcases.procedures.deferred_invites import NEWCOMER, accept_contact, direction

SESSION_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session"


def _listed(request: SipRequest) -> set[str] | None:
    ct = get_content_type(request)
    if ct is None or ct.type.lower() != "multipart" or not request.body:
        return None
    part = find_part(parse_multipart(request.body, ct), "application/resource-lists+xml")
    return set(parse_resource_list(part.body).uris()) if part is not None else None


@pytest.mark.users(3)
@pytest.mark.requirement(
    "SD-B.2.3.x.y-7-8.a",
    "SD-B.2.3.x.y-11-12.a",
    "SD-B.2.3.x.y-11-12.c",
    "SD-B.2.3.x.y-11-12.d",
    "SD-B.2.3.x.y-18-19",
    "SD-B.2.3.x.y-16-19-ORDER",
    "SD-B.2.3.x.y+1-16-19-ORDER",
    "PF-8.3.2.9-A",
)
async def test_b_2_3_x_y_delivery_active_session(tc: Tc) -> None:
    """with {client B gone from a group session that goes on, a newcomer joined; the CF
    refused (480) the PF's earlier subscription to the focus, so the PF holds none}
    ensure that { when {client B is gone}
      then {the PF subscribes to the focus on behalf of client B (steps 7-8)}
    and { when {the third-party REGISTER of client B reaches the PF}
      then {the PF invites client B with cpm.session, a=sendrecv and the latest
            participants, and delivers the buffered messages over MSRP}
    and { when {client B subscribes through the PF once the MSRP session is set up}
      then {the NOTIFY to client B comes before the delivery (notify-first, B.2.3.x.y) or
            after it (delivery-first, B.2.3.x.y+1), as the PF claims} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    await refuse_focus_subscription(tc)
    latest = (*leg.participants, NEWCOMER)
    sub = await client_b_gone(tc, leg, latest)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-7-8.a",
        expected=True,
        actual=sub is not None,
        message="the PF subscribes to the focus on behalf of client B",
    )
    await cf_sends(leg, tc.guards, "deferred-1", "deferred-2")
    await client_returns(tc, leg)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.a",
        leg.client.expect_invite(within=tc.guards.sip, conversation_id=leg.cf.conversation_id),
        expected="the PF's INVITE to client B after the third-party REGISTER",
    )
    expect_equal(
        tc.recorder,
        "PF-8.3.2.9-A",
        expected=True,
        actual=invite is not None,
        message="the third-party REGISTER starts the deferred delivery",
    )
    if invite is None:
        return
    ev = sip_evidence(invite.request, "the PF's re-invitation")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.a",
        expected=True,
        actual=SESSION_TAG in accept_contact(invite.request),
        evidence=ev,
        message="the invitation to the active group session carries cpm.session",
    )
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.c",
        expected=set(latest),
        actual=_listed(invite.request),
        evidence=ev,
    )
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.d",
        expected="sendrecv",
        actual=direction(invite.request),
        evidence=ev,
    )
    await invite.answer(sdp_setup="passive")
    assert invite.msrp is not None
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=tc.guards.msrp)
    # steps 14-15 once the MSRP session is set up (13): client B subscribes through the PF
    client_sub = await leg.client.subscribe(leg.cf.focus_uri, to=pf_address(tc.pixit))
    got = [
        await received(invite.msrp, t, tc.guards.msrp + tc.guards.sip)
        for t in ("deferred-1", "deferred-2")
    ]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-18-19",
        expected=[True, True],
        actual=[g is not None for g in got],
        evidence=ev,
    )
    with contextlib.suppress(WaitTimeout, TransactionTimeoutError):
        await client_sub.final(within=tc.guards.sip)

    async def cf_serves_a_new_subscription() -> None:
        # steps 14-17: the CF refreshes the PF's subscription or gets a new one (the PF may
        # have un-subscribed once the session was re-established); it NOTIFYs the latest
        try:
            again = await cf.expect_subscribe(within=tc.guards.sip)
        except WaitTimeout:
            return
        again.accept()
        await again.notify(conference_body(leg.cf.focus_uri, latest))

    serving = asyncio.ensure_future(cf_serves_a_new_subscription())
    try:
        notify: IncomingRequest | None = await leg.client.expect_request(
            "NOTIFY", within=tc.guards.sip
        )
    except WaitTimeout:
        notify = None
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    # the seed conflict (PICS pf.rejoin_notify_order): both orders are checked, the side
    # the PF does not claim records n/a
    if notify is None:
        for requirement in ("SD-B.2.3.x.y-16-19-ORDER", "SD-B.2.3.x.y+1-16-19-ORDER"):
            expect_true(
                tc.recorder,
                requirement,
                notify is not None,
                expected="a NOTIFY in client B's subscription through the PF",
                actual=f"none within the SIP guard ({tc.guards.sip:g} s)",
            )
    else:
        notify.respond(200)
        nev = sip_evidence(notify.request, "the NOTIFY to client B")
        expect_notified_before(tc, "SD-B.2.3.x.y-16-19-ORDER", got, notify.request, nev)
        expect_sent_before(tc, "SD-B.2.3.x.y+1-16-19-ORDER", got, notify.request, nev)
    await cf.bye(leg.cf.dialog, to=leg.cf.destination) if leg.cf.dialog else None


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y+2-ACTIVE", "SD-B.2.3.x.y+2-ACTIVE-REJECT")
async def test_b_2_3_x_y_plus_2_race_active(tc: Tc) -> None:
    """with {client B gone from an active group session} ensure that
    { when {client B's re-join arrives after the PF's INVITE went out}
      then {the PF rejects the re-join: one session with client B} }"""
    leg = await cf_group_session(tc)
    await client_b_gone(tc, leg, leg.participants)
    await cf_sends(leg, tc.guards, "deferred-1")
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(
            within=tc.guards.sip, conversation_id=leg.cf.conversation_id
        )
    except WaitTimeout:
        invite = None
    handle = await rejoin(leg, tc.pixit)
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE-REJECT",
        handle.final(within=tc.guards.sip),
        expected="a final response to the late re-join",
    )
    if final is None:
        return
    ev = sip_evidence(final, "the PF's response to the late re-join")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE-REJECT",
        expected=True,
        actual=final.status >= 300,
        evidence=ev,
        message="the late re-join is rejected",
    )
    sessions = int(final.status < 300) + int(invite is not None)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-ACTIVE",
        expected=1,
        actual=sessions,
        evidence=ev,
        message="one session with client B for the group session",
    )
    if final.status < 300:
        await handle.ack()
    if invite is not None:
        await invite.answer(sdp_setup="passive")


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y+2-INACTIVE-COMPLETE", "SD-B.2.3.x.y+2-INACTIVE-FORWARD")
async def test_b_2_3_x_y_plus_2_race_inactive(tc: Tc) -> None:
    """with {client B gone, then the group session ended by the CF} ensure that
    { when {client B's re-join arrives after the PF's deferred delivery INVITE}
      then {the PF completes the delivery, then forwards the re-join to the CF} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    sub = await client_b_gone(tc, leg, leg.participants)
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
        invite = None
    if invite is None:
        return  # the delivery INVITE itself is checked by SD-B.2.3.5.X-1
    await rejoin(leg, tc.pixit)
    await invite.answer(sdp_setup="passive")
    [got] = await deliveries(invite, tc.guards, "deferred-1")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y+2-INACTIVE-COMPLETE",
        expected=True,
        actual=got is not None,
        evidence=sip_evidence(invite.request, "the delivery"),
        message="the buffered message is delivered despite the re-join",
    )
    forwarded = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y+2-INACTIVE-FORWARD",
        cf.expect_invite(within=2 * tc.guards.sip),
        expected="client B's re-join forwarded to the CF",
    )
    if forwarded is not None:
        expect_equal(
            tc.recorder,
            "SD-B.2.3.x.y+2-INACTIVE-FORWARD",
            expected=leg.cf.conversation_id,
            actual=forwarded.request.headers.get("Conversation-ID"),
            evidence=sip_evidence(forwarded.request, "the re-join at the CF"),
        )
        forwarded.reject(480)
