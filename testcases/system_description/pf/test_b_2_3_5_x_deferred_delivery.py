"""CPM System Description B.2.3.5.X (seed 000): the PF's deferred delivery of an inactive
group session to client B when it is back.

The tool plays the CF (its group INVITE, the focus subscription, the chat messages),
client B and the S-CSCF (third-party REGISTER). Expected values are written from the seed.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true
from conformance.documents.conference_info import parse_conference_info
from conformance.fixtures.case import Tc
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import (
    cf_group_session,
    cf_sends,
    client_b_gone,
    client_returns,
    conference_body,
    deliveries,
    expect_sent_before,
)
from conformance.testcases.procedures.deferred_invites import NEWCOMER, accept_contact, direction

#: B.2.3.x.y NOTE / 001 7.3.11: the feature tags, percent-encoded in +g.3gpp.icsi-ref
DEFERRED_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.deferred"


@pytest.mark.requirement(
    "SD-B.2.3.5.X-1",
    "SD-B.2.3.5.X-4",
    "SD-B.2.3.5.X-4-only-b",
    "PF-8.2.3-CLSUB-LOCAL-NOTIFY-DD",
    "SD-B.2.3.5.X-5",
    "SD-B.2.3.5.X-6",
    "SD-B.2.3.5.X-7",
    "PF-5.2.3.5-DD-FINAL-NOTIFY",
)
async def test_b_2_3_5_x_delivery_inactive_session(tc: Tc) -> None:
    """with {client B gone, then the group session ended by the CF} ensure that
    { when {client B is back (third-party REGISTER) and subscribes to the PF}
      then {INVITE with cpm.deferred and a=sendonly; a first NOTIFY listing only B (or,
            under pf.deferred_first_notify=stored, the stored participants); the
            messages over MSRP; a final NOTIFY (terminated) with every participant; BYE} }"""
    leg = await cf_group_session(tc)
    latest = (*leg.participants, NEWCOMER)
    sub = await client_b_gone(tc, leg, latest)
    await cf_sends(leg, tc.guards, "deferred-1", "deferred-2")
    # the group session ends at the CF (inactive)
    if leg.cf.dialog is not None:
        await leg.cf.bye()
    if sub is not None:
        await sub.terminate(body=conference_body(leg.cf.focus_uri, latest, 2))
    await client_returns(tc, leg)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        leg.client.expect_invite(within=tc.guards.sip),
        expected="the PF's deferred delivery INVITE",
    )
    if invite is None:
        return
    ev = sip_evidence(invite.request, "the PF's deferred delivery INVITE")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        expected=(True, "sendonly"),
        actual=(DEFERRED_TAG in accept_contact(invite.request), direction(invite.request)),
        evidence=ev,
        message="inactive session: Accept-Contact cpm.deferred and a=sendonly",
    )
    await invite.answer(sdp_setup="passive")
    client_sub = await leg.client.subscribe(leg.cf.focus_uri, to=pf_address(tc.pixit))
    answer = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        client_sub.final(within=tc.guards.sip),
        expected="a response to client B's SUBSCRIBE",
    )
    first = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        leg.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="a NOTIFY in client B's subscription",
    )
    if answer is not None:
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4",
            expected=True,
            actual=answer.status < 300,
            evidence=sip_evidence(answer, "the PF's response to the SUBSCRIBE"),
        )
    if first is not None:
        first.respond(200)
        state = (first.request.headers.get("Subscription-State") or "").split(";")[0]
        expect_true(
            tc.recorder,
            "SD-B.2.3.5.X-4",
            state.strip().lower() in ("active", "pending"),
            expected="the NOTIFY of step 4 (Subscription-State active or pending), not the "
            "terminating one of step 6",
            actual=first.request.headers.get("Subscription-State"),
            evidence=sip_evidence(first.request, "the first NOTIFY in client B's subscription"),
        )
        users = [u.entity for u in parse_conference_info(first.request.body).users]
        # the seed conflict (PICS pf.deferred_first_notify): each side's check is made,
        # the side the PF does not claim records n/a
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4-only-b",
            expected=[leg.user],
            actual=users,
            evidence=sip_evidence(first.request, "the first NOTIFY"),
        )
        expect_equal(
            tc.recorder,
            "PF-8.2.3-CLSUB-LOCAL-NOTIFY-DD",
            expected=set(latest),
            actual=set(users),
            message="the locally stored Participant Information (the CF's last state)",
            evidence=sip_evidence(first.request, "the first NOTIFY"),
        )
    got = await deliveries(invite, tc.guards, "deferred-1", "deferred-2")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-5",
        expected=[True, True],
        actual=[g is not None for g in got],
        evidence=ev,
    )
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-6",
        leg.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="a NOTIFY with the final participant list after the last SEND",
    )
    if final is not None:
        final.respond(200)
        fev = sip_evidence(final.request, "the final NOTIFY")
        # "after the last SEND": the order on the wire, from the capture
        expect_sent_before(tc, "SD-B.2.3.5.X-6", got, final.request, fev)
        final_users = {u.entity for u in parse_conference_info(final.request.body).users}
        expect_equal(
            tc.recorder, "SD-B.2.3.5.X-6", expected=set(latest), actual=final_users, evidence=fev
        )
        state = (final.request.headers.get("Subscription-State") or "").split(";")[0]
        expect_equal(
            tc.recorder,
            "PF-5.2.3.5-DD-FINAL-NOTIFY",
            expected=("terminated", set(latest)),
            actual=(state.strip(), final_users),
            evidence=fev,
        )
    else:
        expect_equal(tc.recorder, "PF-5.2.3.5-DD-FINAL-NOTIFY", expected="terminated", actual=None)
    bye = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-7",
        leg.client.expect_request("BYE", within=tc.guards.sip),
        expected="the PF's BYE ending the deferred delivery session",
    )
    if bye is not None:
        bye.respond(200)
