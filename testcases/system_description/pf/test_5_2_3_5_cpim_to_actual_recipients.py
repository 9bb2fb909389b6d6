"""CPM System Description 5.2.3.5 and B.2.3.5.X step 5 (seed 000), a MAY of the PF: the
CPIM To of the stored messages lists the actual recipients.

Judged in strict runs only, and n/a when the profile does not claim it
(``pf.cpim_to_actual_recipients``). The tool plays the CF (its group INVITE, the focus
subscription, the chat messages), client B and the S-CSCF (third-party REGISTER).
Expected values are written from the seed.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import EvidenceRef, evidence, expect_equal, inconclusive
from conformance.documents.cpim import parse_cpim
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.msrp.session import MessageReceived
from conformance.testcases.procedures.deferred import (
    GroupLeg,
    accept_focus_subscription,
    cf_ends_session,
    cf_group_session,
    client_b_leaves,
    client_returns,
    conference_body,
    deliveries,
)
from conformance.testcases.procedures.messages import PEER_ERRORS

NEWCOMER = "sip:newcomer@reference.test"


def _msrp_evidence(message: MessageReceived, description: str) -> EvidenceRef:
    return evidence("msrp", description, f"MSRP SEND {message.content_type}", message.body)


async def _cf_sends_to_group(leg: GroupLeg, guards: Guards, text: str) -> int:
    """The CF sends one chat message from the originator, addressed to the group (CPIM To:
    the focus); the MSRP status of the SEND (0 when none came)."""
    requests = leg.cf.msrp.send_cpim(
        from_=f"<{leg.originator}>", to=f"<{leg.cf.focus_uri}>", body=text.encode()
    )
    channel = leg.cf.msrp.channel
    if channel is None:
        return 0
    try:
        response = await channel.response(requests[-1], within=guards.msrp)
    except WaitTimeout:
        return 0
    return response.status_code


def _cpim_to(message: MessageReceived | None) -> list[str] | None:
    """The URIs of the CPIM To headers of a delivered message, sorted (None: no message,
    or its body is no CPIM message)."""
    if message is None:
        return None
    try:
        return sorted(parse_cpim(message.body).to_uris)
    except DocumentError:
        return None


@pytest.mark.users(3)
@pytest.mark.requirement("PF-5.2.3.5-CPIM-TO")
async def test_5_2_3_5_cpim_to_lists_the_actual_recipients(tc: Tc) -> None:
    """with {client B gone from a group session of A, B and C; the PF stores one message of
    A, then C leaves and a newcomer joins, then it stores a second message of A}
    ensure that { when {client B is back (third-party REGISTER) and the PF delivers the
                        stored messages over MSRP}
      then {the CPIM To headers of each message list its actual recipients: the
            participants when the PF received it, B included, the sender A left out} }"""
    leg = await cf_group_session(tc)
    originator, user, third = leg.participants
    await client_b_leaves(tc, leg)
    try:
        sub = await accept_focus_subscription(tc, leg, leg.participants)
    except WaitTimeout:
        inconclusive("the PF did not subscribe to the focus: the participants are unknown")
    first_notify = sub.notifies[-1]
    with contextlib.suppress(WaitTimeout, TransactionTimeoutError):
        await first_notify.final(within=tc.guards.sip)
    if await _cf_sends_to_group(leg, tc.guards, "cpim-to-1") != 200:
        inconclusive("the PF did not take the first message while client B was gone")
    # the participants change: C leaves, a newcomer joins (a new full state)
    changed = (originator, user, NEWCOMER)
    notify = await sub.notify(conference_body(leg.cf.focus_uri, changed, 2))
    try:
        answer = await notify.final(within=tc.guards.sip)
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("the PF did not answer the NOTIFY of the new participants")
    if answer.status >= 300:
        inconclusive(f"the PF answered the NOTIFY of the new participants {answer.status}")
    if await _cf_sends_to_group(leg, tc.guards, "cpim-to-2") != 200:
        inconclusive("the PF did not take the second message while client B was gone")
    await client_returns(tc, leg)
    try:
        invite = await leg.client.expect_invite(
            within=tc.guards.sip, conversation_id=leg.cf.conversation_id
        )
    except WaitTimeout:
        inconclusive("the PF did not invite client B for the deferred delivery")
    await invite.answer(sdp_setup="passive")
    got = await deliveries(invite, tc.guards, "cpim-to-1", "cpim-to-2")
    if any(g is None for g in got):
        inconclusive("the stored messages were not delivered (SD-B.2.3.x.y-18-19)")
    # 5.2.3.5: "MAY set the CPIM To header(s) to reflect the actual recipient list for the
    # message ... explicitly listing all recipients for each message ... the participant
    # list for the session may have changes as the messages were recorded"
    expected = [sorted([user, third]), sorted([user, NEWCOMER])]
    expect_equal(
        tc.recorder,
        "PF-5.2.3.5-CPIM-TO",
        expected=expected,
        actual=[_cpim_to(g) for g in got],
        evidence=[
            _msrp_evidence(g, f"stored message {i} delivered to client B")
            for i, g in enumerate(got, 1)
            if g is not None
        ],
        message="CPIM To of each stored message: the participants when the PF received it, "
        "without the sender",
    )
    with contextlib.suppress(*PEER_ERRORS):
        await cf_ends_session(leg, tc.guards.sip)
