"""CPM System Description B.2.3.x.y (seed 002): the delivery device, steps 3, 4-6, 10 and
11-12 (what the re-invitation copies).

The tool plays the CF, client B (one or two clients of user B) and the S-CSCF. Expected
values are written from the seed.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout, now
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import get_contacts
from conformance.roles.cf_invite import cf_invite
from conformance.testcases.procedures import (
    expect_arrival,
    pf_address,
    sip_evidence,
    user_with_clients,
)
from conformance.testcases.procedures.deferred import (
    GroupLeg,
    accept_focus_subscription,
    cf_group_session,
    cf_sends,
    client_b_gone,
    client_returns,
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


@pytest.mark.users(3)
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
    await client_b_gone(tc, leg)
    await cf_sends(leg, tc.guards, "device-1")
    await client_returns(tc, leg)
    # the re-invitation that must come, then (for the observation window more) the one
    # that must not: both answer the same REGISTER
    try:
        right = await accepting.expect_invite(within=tc.guards.sip)
    except WaitTimeout:
        right = None
    try:
        wrong = await idle.expect_invite(within=tc.guards.observe)
    except WaitTimeout:
        wrong = None
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
        message="(accepting client invited, other client invited within the observation "
        f"window, {tc.guards.observe:.2f} s)",
    )
    for i in (right, wrong):
        if i is not None:
            i.decline(486)


@pytest.mark.users(3)
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
    lost_by = now() + tc.pixit.timers.msrp_transaction_timeout
    # steps 4-6 begin once the PF has taken client B for lost: a PF that ends client B's
    # leg (BYE) says when; otherwise the closed connection counts as lost the PIXIT MSRP
    # transaction timeout after the close at the latest (the seed's editor's note, as in
    # 8.3.2.9 case 3). A message the CF sent before could still be forwarded to the dead
    # connection (step 3 again, unanswered), not buffered, and never re-delivered; and
    # client B's registration (step 9) could reach the PF while B is still in the session
    with contextlib.suppress(WaitTimeout):
        call_id = leg.invite.request.call_id
        bye = await leg.client.expect_request(
            "BYE",
            within=max(lost_by - now(), 0.0),
            match=lambda r: r.request.call_id == call_id,
        )
        bye.respond(200)
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
        leg.client.expect_invite(within=tc.guards.sip, conversation_id=leg.cf.conversation_id),
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


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-10", "SD-B.2.3.x.y-11-12.b")
async def test_b_2_3_x_y_10_to_12_register_and_reinvitation(tc: Tc) -> None:
    """with {client B gone from a group session that goes on} ensure that
    { when {the S-CSCF sends the PF the third-party REGISTER of client B}
      then {the PF answers 200 and re-invites client B with the original INVITE's
            Conversation-ID, Contribution-ID, Subject and focus Contact} }"""
    leg = await cf_group_session(tc)
    await client_b_gone(tc, leg)
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
        leg.client.expect_invite(within=tc.guards.sip, conversation_id=leg.cf.conversation_id),
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
