"""CPM System Description B.2.3.5.X (seed 000): the PF's deferred delivery of an inactive
group session to client B when it is back.

The tool plays the CF (its group INVITE, the focus subscription, the chat messages),
client B and the S-CSCF (third-party REGISTER). Expected values are written from the seed.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, not_applicable
from conformance.documents.conference_info import parse_conference_info
from conformance.fixtures.case import Tc
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import (
    cf_ends_session,
    cf_group_session,
    cf_sends,
    client_b_gone,
    client_returns,
    conference_body,
    deliveries,
    expect_sent_before,
    received,
    rejoin,
)
from conformance.testcases.procedures.deferred_invites import NEWCOMER, accept_contact, direction

#: B.2.3.x.y NOTE / 001 7.3.11: the feature tags, percent-encoded in +g.3gpp.icsi-ref
DEFERRED_TAG = "urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.deferred"


@pytest.mark.users(3)
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
    await cf_ends_session(leg, tc.guards.sip)
    if sub is not None:
        await sub.terminate(body=conference_body(leg.cf.focus_uri, latest, 2))
    await client_returns(tc, leg)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        leg.client.expect_invite(within=tc.guards.sip, conversation_id=leg.cf.conversation_id),
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


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.5.X-N3")
async def test_b_2_3_5_x_note_3_client_initiated_delivery(tc: Tc) -> None:
    """with {client B gone from a group session that goes on, messages buffered at the PF}
    ensure that
    { when {client B sends the INVITE itself (Note 3: steps 1 and 2 reversed, before any
            third-party REGISTER), and after the ACK subscribes to the PF (step 3)}
      then {the PF answers the INVITE 200, answers the SUBSCRIBE 2xx with a NOTIFY
            (step 4), and delivers the buffered messages as MSRP SENDs in that session
            (step 5)} }"""
    if not tc.pics.get("pf.deferred_delivery", False):
        not_applicable("the PF does no deferred delivery (PICS pf.deferred_delivery)")
    leg = await cf_group_session(tc)
    await client_b_gone(tc, leg)
    await cf_sends(leg, tc.guards, "deferred-1", "deferred-2")
    handle = await rejoin(leg, tc.pixit)
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        handle.final(within=tc.guards.sip),
        expected="the PF's final response to client B's INVITE",
    )
    if final is None:
        return
    ev = [sip_evidence(final, "the PF's answer to client B's INVITE")]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        expected=200,
        actual=final.status,
        message="steps 1-2 reversed: the PF answers client B's INVITE with 200",
        evidence=ev,
    )
    if final.status != 200:
        return
    await handle.ack()
    # step 3 after the ACK, before the media plane (step 5) is set up
    client_sub = await leg.client.subscribe(leg.cf.focus_uri, to=pf_address(tc.pixit))
    answer = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        client_sub.final(within=tc.guards.sip),
        expected="a response to client B's SUBSCRIBE",
    )
    notify = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        leg.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="a NOTIFY in client B's subscription (step 4)",
    )
    if notify is not None:
        notify.respond(200)
        ev.append(sip_evidence(notify.request, "the PF's NOTIFY to client B"))
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        expected=(True, "conference"),
        actual=(
            answer is not None and answer.status < 300,
            None
            if notify is None
            else (notify.request.headers.get("Event") or "").split(";")[0].strip().lower(),
        ),
        message="steps 3-4: the SUBSCRIBE is accepted and a conference NOTIFY follows",
        evidence=ev,
    )
    await handle.establish_msrp(within=tc.guards.msrp)
    handle.msrp.send(b"", None)  # binds the session (RFC 4975 5.4)
    got = [
        await received(handle.msrp, t, tc.guards.msrp + tc.guards.sip)
        for t in ("deferred-1", "deferred-2")
    ]
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        expected=[True, True],
        actual=[g is not None for g in got],
        message="step 5: the buffered messages arrive as MSRP SENDs in client B's session",
        evidence=ev,
    )
