"""CPM System Description B.2.3.5.X (seed 000) end to end: the SUT's PF and CF run the group
session together, and client B gets the participant information of an inactive session.

The tool is the SIP/IP core between them (it relays and records both legs:
conformance/roles/sut_relay.py, docs/dev/topology.md "System flows"), the S-CSCF
(third-party REGISTER), client B of the PF, and the other participants, alice (the
creator) and carol, whose legs go straight to the CF. Expected values are written here
from the flow of seed 000.
"""

from __future__ import annotations

import pytest

from conformance.checks import (
    expect_equal,
    inconclusive,
)
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.roles.sut_relay import SutRelay
from conformance.testcases.procedures import expect_arrival, pf_address, sip_evidence
from conformance.testcases.procedures.deferred import deliveries, expect_sent_before
from conformance.testcases.procedures.system_flows import (
    TEXTS,
    accept_contact,
    alice_sends,
    carol_joins,
    client_b_returns,
    conference_info_of,
    for_the_session,
    sdp_direction,
    start_flow,
    user_states,
)

pytestmark = pytest.mark.sut_roles("pf", "cf")


#: 001 7.3.11 / B.2.3.x.y NOTE: the feature tags, percent-encoded in +g.3gpp.icsi-ref
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
)
async def test_b_2_3_5_x_flow_participant_info(tc: Tc, sut_relay: SutRelay) -> None:
    """with {client B gone from a group session of the SUT CF, through the SUT PF; carol
    joined, alice sent two messages, then the CF ended the session (inactive)} ensure that
    { when {client B is back (third-party REGISTER), accepts and subscribes to the PF}
      then {the PF invites with cpm.deferred and a=sendonly; accepts the SUBSCRIBE and
            its first NOTIFY lists only client B (or, under
            pf.deferred_first_notify=stored, every participant); delivers both messages
            over MSRP; its next NOTIFY lists every participant prior to the session's end
            (alice, bob, carol); then BYE} }"""
    flow = await start_flow(tc, sut_relay)
    try:
        await sut_relay.expect(
            "SUBSCRIBE",
            to="cf",
            within=2 * tc.guards.sip,
            match=for_the_session(flow, tc.pixit.uris.conference_factory),
        )
    except WaitTimeout:
        inconclusive("the PF did not subscribe to the focus (SD-B.2.3.x.y-7-8.a)")
    await carol_joins(tc, flow, sut_relay)
    await alice_sends(flow, tc.guards)
    await tc.upper_tester.end_session(flow.session.focus)
    try:
        await sut_relay.expect("BYE", to="pf", within=2 * tc.guards.sip)
    except WaitTimeout:
        inconclusive("the CF did not end the group session with the PF (no BYE)")
    await client_b_returns(tc, flow)
    invite = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        flow.client.expect_invite(
            within=2 * tc.guards.sip, conversation_id=flow.session.conversation_id
        ),
        expected="the PF's deferred delivery INVITE after the third-party REGISTER",
    )
    if invite is None:
        return
    ev = sip_evidence(invite.request, "the PF's deferred delivery INVITE")
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-1",
        expected=(True, "sendonly"),
        actual=(DEFERRED_TAG in accept_contact(invite.request), sdp_direction(invite.request)),
        message="inactive session: Accept-Contact cpm.deferred and a=sendonly",
        evidence=ev,
    )
    await invite.answer(sdp_setup="passive")
    client_sub = await flow.client.subscribe(flow.session.focus, to=pf_address(tc.pixit))
    answer = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        client_sub.final(within=tc.guards.sip),
        expected="the PF's response to client B's SUBSCRIBE",
    )
    first = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-4",
        flow.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="the PF's NOTIFY in client B's subscription",
    )
    if answer is not None:
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4",
            expected=True,
            actual=answer.status < 300,
            message="the SUBSCRIBE is accepted (2xx)",
            evidence=sip_evidence(answer, "the PF's response to the SUBSCRIBE"),
        )
    if first is not None:
        first.respond(200)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-4-only-b",
            expected=[flow.bob],
            actual=list(user_states(conference_info_of(first.request))),
            message="the users of the first NOTIFY's conference-info",
            evidence=sip_evidence(first.request, "the PF's first NOTIFY to client B"),
        )
        # the other side of the seed conflict (PICS pf.deferred_first_notify): n/a unless
        # claimed
        expect_equal(
            tc.recorder,
            "PF-8.2.3-CLSUB-LOCAL-NOTIFY-DD",
            expected={flow.alice, flow.bob, flow.carol},
            actual=set(user_states(conference_info_of(first.request))),
            message="the locally stored Participant Information (the CF's last state)",
            evidence=sip_evidence(first.request, "the PF's first NOTIFY to client B"),
        )
    got = await deliveries(invite, tc.guards, *TEXTS)
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-5",
        expected=[True, True],
        actual=[g is not None for g in got],
        message="alice's messages reach client B over MSRP",
        evidence=ev,
    )
    final = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-6",
        flow.client.expect_request("NOTIFY", within=tc.guards.sip),
        expected="the PF's NOTIFY after the last SEND",
    )
    if final is not None:
        final.respond(200)
        fev = sip_evidence(final.request, "the PF's NOTIFY after the last SEND")
        # "after the last SEND": the order on the wire, from the capture
        expect_sent_before(tc, "SD-B.2.3.5.X-6", got, final.request, fev)
        expect_equal(
            tc.recorder,
            "SD-B.2.3.5.X-6",
            expected={flow.alice, flow.bob, flow.carol},
            actual=set(user_states(conference_info_of(final.request))),
            message="every participant of the session prior to its end at the CF",
            evidence=sip_evidence(final.request, "the PF's NOTIFY after the last SEND"),
        )
    bye = await expect_arrival(
        tc.recorder,
        "SD-B.2.3.5.X-7",
        flow.client.expect_request("BYE", within=tc.guards.sip),
        expected="the PF's BYE ending the deferred delivery session",
    )
    if bye is not None:
        bye.respond(200)
