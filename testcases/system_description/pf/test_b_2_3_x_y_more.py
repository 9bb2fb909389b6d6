"""CPM System Description B.2.3.x.y (seed 002): the delivery device, steps 3, 4-6, 10 and
11-12 (what the re-invitation copies); seed 003 8.3.2 "603" step 1 and seed 000 5.2.3.5
(the client's subscription during deferred delivery).

The tool plays the CF, client B (one or two clients of user B) and the S-CSCF. Expected
values are written from the seeds.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import get_contacts
from conformance.roles.cf_invite import cf_invite
from conformance.roles.client import IncomingInvite
from conformance.testcases.procedures import (
    expect_arrival,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.deferred import (
    INVOLUNTARY,
    GroupLeg,
    accept_focus_subscription,
    cf_group_session,
    cf_sends,
    client_returns,
    conference_body,
    deliveries,
    received,
)
from conformance.testcases.procedures.messages import SUT_SILENCE

IMDN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>%s</message-id>'
    b"<datetime>2024-01-01T00:00:00Z</datetime><delivery-notification><status>"
    b"<delivered/></status></delivery-notification></imdn>"
)


async def _gone(tc: Tc, leg: GroupLeg) -> None:
    """Client B leaves involuntarily (BYE, cause 480); the CF accepts the PF's focus
    subscription (when one comes)."""
    await leg.invite.bye(INVOLUNTARY)
    with contextlib.suppress(WaitTimeout):
        await accept_focus_subscription(tc, leg, leg.participants)


async def _no_invite(leg: GroupLeg, within: float) -> IncomingInvite | None:
    try:
        return await leg.client.expect_invite(within=within)
    except WaitTimeout:
        return None


@pytest.mark.requirement("SD-B.2.3.x.y-DEVICE")
async def test_b_2_3_x_y_delivery_to_the_accepting_device(tc: Tc) -> None:
    """with {two registered clients of user B; the second accepted the group session and
    is then gone} ensure that { when {the third-party REGISTER of that client reaches the PF}
      then {the PF's re-invitation goes to the client that accepted, not the other one} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    others = [u.uri for u in tc.pixit.users if u.uri != user]
    if len(others) < 2:
        inconclusive("the profile needs two more users")
    idle = await tc.client(user, 0)
    accepting = await tc.client(user, 1)
    participants = (others[0], user, others[1])
    handle = await cf_invite(
        cf, user, pf_address(tc.pixit), originator=others[0], participants=participants
    )
    try:
        final = await handle.final(within=tc.guards.sip)
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("the PF did not answer the CF's group INVITE")
    if final.status != 200:
        inconclusive(f"the PF answered the CF's group INVITE {final.status}")
    await handle.ack()
    await handle.establish_msrp(within=tc.guards.msrp)
    try:
        invite = await accepting.expect_invite(within=tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not invite the second client of user B")
    with contextlib.suppress(WaitTimeout):  # the fork of the idle client, left ringing
        await idle.expect_invite(within=tc.guards.sip)
    await invite.answer(sdp_setup="passive")
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=tc.guards.msrp)
    leg = GroupLeg(accepting, user, others[0], participants, handle, invite)
    await _gone(tc, leg)
    await cf_sends(leg, tc.guards, "device-1")
    await client_returns(tc, leg)
    try:
        wrong = await idle.expect_invite(within=tc.guards.sip)
    except WaitTimeout:
        wrong = None
    try:
        right = await accepting.expect_invite(within=0 if wrong else tc.guards.sip)
    except WaitTimeout:
        right = None
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-DEVICE",
        expected=(True, False),
        actual=(right is not None, wrong is not None),
        evidence=[
            sip_evidence(i.request, f"the PF's re-invitation to {name}")
            for i, name in ((right, accepting.instance), (wrong, idle.instance))
            if i is not None
        ],
        message="(accepting client invited, other client invited)",
    )
    for i in (right, wrong):
        if i is not None:
            i.decline(486)


@pytest.mark.requirement("SD-B.2.3.x.y-3", "SD-B.2.3.x.y-4-6.a", "SD-B.2.3.x.y-4-6.b")
async def test_b_2_3_x_y_3_to_6_client_stops_answering(tc: Tc) -> None:
    """with {a group session CF <-> PF <-> client B} ensure that
    { when {client B loses connectivity (answers no MSRP SEND) and the CF sends messages
            and an IMDN}
      then {the PF forwards the next message to client B; it answers the CF's SENDs 200
            itself, stays in the session and delivers the later message and IMDN when
            client B is back} }"""
    leg = await cf_group_session(tc)
    peer = leg.invite.msrp
    if peer is None or peer.channel is None:
        inconclusive("no MSRP connection between the PF and client B")
    peer.channel.machine.silent = True
    statuses = await cf_sends(leg, tc.guards, "next-1")
    got = await received(peer, "next-1", tc.guards.msrp)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-3",
        expected=True,
        actual=got is not None,
        evidence=sip_evidence(leg.invite.request, "the PF's INVITE to client B"),
        message="the next chat message reaches client B",
    )
    # step 2 completed: the connection is gone for good (the PF's own transaction timeout
    # may be long); steps 4-6: the PF subscribes to the focus on B's behalf
    await peer.close()
    with contextlib.suppress(WaitTimeout):
        await accept_focus_subscription(
            tc, leg, leg.participants, within=tc.guards.msrp + tc.guards.sip
        )
    marker = uuid.uuid4().hex
    statuses += await cf_sends(leg, tc.guards, "later-1")
    assert leg.cf.msrp.channel is not None
    requests = leg.cf.msrp.send_cpim(
        from_=f"<{leg.originator}>",
        to=f"<{leg.user}>",
        body=IMDN % marker.encode(),
        content_type="message/imdn+xml",
    )
    try:
        response = await leg.cf.msrp.channel.response(requests[-1], within=tc.guards.msrp)
        statuses.append(response.status_code)
    except SUT_SILENCE:
        statuses.append(0)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-4-6.a",
        expected=[200, 200, 200],
        actual=statuses,
        message="the CF's SENDs (the unanswered one, a later message, an IMDN) get 200",
    )
    await client_returns(tc, leg)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-4-6.b",
        leg.client.expect_invite(within=tc.guards.sip),
        expected="the PF's re-invitation of client B",
    )
    if invite is None:
        return
    await invite.answer(sdp_setup="passive")
    delivered = await deliveries(invite, tc.guards, "later-1", marker)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-4-6.b",
        expected=[True, True],
        actual=[d is not None for d in delivered],
        evidence=sip_evidence(invite.request, "the PF's re-invitation"),
        message="[later chat message delivered, IMDN delivered]",
    )


@pytest.mark.requirement("SD-B.2.3.x.y-10", "SD-B.2.3.x.y-11-12.b")
async def test_b_2_3_x_y_10_to_12_register_and_reinvitation(tc: Tc) -> None:
    """with {client B gone from a group session that goes on} ensure that
    { when {the S-CSCF sends the PF the third-party REGISTER of client B}
      then {the PF answers 200 and re-invites client B with the original INVITE's
            Conversation-ID, Contribution-ID, Subject and focus Contact} }"""
    leg = await cf_group_session(tc)
    await _gone(tc, leg)
    await cf_sends(leg, tc.guards, "deferred-1")
    response = await client_returns(tc, leg)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-10",
        expected=200,
        actual=response.status,
        evidence=sip_evidence(response, "the PF's response to the third-party REGISTER"),
    )
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.b",
        leg.client.expect_invite(within=tc.guards.sip),
        expected="the PF's re-invitation of client B",
    )
    if invite is None:
        return
    original = leg.cf.request
    names = ("Conversation-ID", "Contribution-ID", "Subject")
    contacts = get_contacts(invite.request)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.x.y-11-12.b",
        expected=(
            *(original.headers.get(n) for n in names),
            (leg.cf.focus_uri, True),
        ),
        actual=(
            *(invite.request.headers.get(n) for n in names),
            (contacts[0].uri, contacts[0].isfocus) if contacts else None,
        ),
        evidence=[
            sip_evidence(original, "the CF's original INVITE"),
            sip_evidence(invite.request, "the PF's re-invitation"),
        ],
        message="(Conversation-ID, Contribution-ID, Subject, focus Contact) as in the original",
    )
    invite.decline(486)


@pytest.mark.requirement("PF-8.3.2-603-1")
async def test_8_3_2_603_deferred_messages_discarded(tc: Tc) -> None:
    """with {client B gone from a group session, a message deferred at the PF} ensure that
    { when {client B declines the PF's delivery INVITE with 603 and registers again}
      then {the deferred message is never delivered to client B} }"""
    cf = await tc.cf()
    leg = await cf_group_session(tc)
    await _gone(tc, leg)
    await cf_sends(leg, tc.guards, "declined-1")
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(within=tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF sent no delivery INVITE to decline")
    invite.decline(603)
    with contextlib.suppress(WaitTimeout):  # 603 step 2, judged by PF-8.3.2-603-2
        bye = await cf.expect_request("BYE", within=tc.guards.sip)
        bye.respond(200)
    await client_returns(tc, leg)
    again = await _no_invite(leg, tc.guards.sip)
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
        message="the deferred message is delivered after the client's 603",
    )


@pytest.mark.requirement("PF-5.2.3.5-DD-HANDLE-SUB")
async def test_5_2_3_5_deferred_delivery_subscription(tc: Tc) -> None:
    """with {client B gone, then the group session ended by the CF; client B back and
    invited for deferred delivery} ensure that
    { when {client B subscribes to the conference at the PF}
      then {the PF answers 2xx and sends a NOTIFY} }"""
    leg = await cf_group_session(tc)
    await leg.invite.bye(INVOLUNTARY)
    try:
        sub = await accept_focus_subscription(tc, leg, leg.participants)
    except WaitTimeout:
        sub = None
    await cf_sends(leg, tc.guards, "deferred-1")
    if leg.cf.dialog is not None:
        await leg.cf.bye()
    if sub is not None:
        await sub.terminate(body=conference_body(leg.cf.focus_uri, leg.participants, 2))
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(within=tc.guards.sip)
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
    with contextlib.suppress(WaitTimeout):
        for _ in range(2):
            later = await leg.client.expect_request("NOTIFY", within=tc.guards.sip)
            later.respond(200)
    with contextlib.suppress(WaitTimeout):
        bye = await leg.client.expect_request("BYE", within=tc.guards.sip)
        bye.respond(200)
