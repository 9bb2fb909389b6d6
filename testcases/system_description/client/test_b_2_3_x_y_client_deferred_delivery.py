"""CPM System Description B.2.3.x.y and B.2.3.x.y+1 (seed 002): the CPM Client's steps of the
deferred group chat delivery flows of an active session, and its re-join.

The tool plays the PF and the S-CSCF (``await tc.pf()``); the client under test serves the
first user of the profile. Each check names the flow step it judges; the expected values
are written from the flows' text.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_true, inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.roles.pf import InviteKind
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    client_user,
    delivered,
    finished,
    joined_session,
    msrp_cpim,
    user_sends,
)


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y-13", "SD-B.2.3.x.y-14-15", "SD-B.2.3.x.y-20-24")
async def test_b_2_3_x_y_client_steps(tc: Tc) -> None:
    """with {a client back online while its group session is still active} ensure that
    { when {the PF invites it to the active session (cpm.session, a=sendrecv)}
      then {it accepts and MSRP is established (step 13), it subscribes to the focus
            (steps 14-15) and its live messages go in that session (steps 20-24)} }"""
    pf = await tc.pf()
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    invite = await pf.invite(InviteKind.ACTIVE, session)
    answer = await invite.final(tc.guards.sip)
    up = answer.status == 200 and await delivered(pf, invite, within=tc.guards.sip)
    ev = [sip_evidence(invite.request, "the INVITE"), sip_evidence(answer, "the answer")]
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y-13",
        up,
        expected="200 OK and an MSRP session",
        actual=f"{answer.status}, " + ("MSRP up" if up else "no MSRP"),
        evidence=ev,
        fatal=True,
    )
    subscribe = await absent(pf, "SUBSCRIBE", session.focus, within=tc.guards.sip)
    if subscribe is not None:
        subscribe.respond(200, headers=[("Expires", "600")])
        ev.append(sip_evidence(subscribe.request, "steps 14-15 SUBSCRIBE"))
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y-14-15",
        subscribe is not None,
        expected=f"SUBSCRIBE to the focus {session.focus}",
        actual=subscribe.request.first_line() if subscribe else "none",
        evidence=ev,
    )
    await tc.upper_tester.send_message(
        client_user(tc.pixit), "live message", conversation_id=session.conversation_id
    )
    chat = await msrp_cpim(invite, "text/plain", within=tc.guards.sip)
    rejoin = await absent(pf, "INVITE", session.focus, within=0.0)
    if rejoin is not None:
        rejoin.respond(480)
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y-20-24",
        chat is not None,
        expected="the live message in the session's MSRP",
        actual=chat[1].body if chat else ("a new INVITE" if rejoin else "nothing"),
        evidence=ev,
    )
    await invite.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.x.y+1-11", "SD-B.2.3.x.y+1-12")
async def test_b_2_3_x_y_plus_1_client_rejoin(tc: Tc) -> None:
    """with {a client back online, its group session still active, the PF not yet
            inviting it} ensure that
    { when {the user sends a message in the group}
      then {the client sends a re-join INVITE to the focus (step 11); accepted, the session
            with MSRP is established and carries the message (step 12)} }"""
    pf = await tc.pf()
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    action = user_sends(tc.upper_tester, tc.pixit, "I am back", session)
    rejoin = await absent(pf, "INVITE", session.focus, within=tc.guards.sip)
    if rejoin is None:
        await finished(action, within=tc.guards.sip * 2)
    ev = [sip_evidence(rejoin.request, "step 11 re-join INVITE")] if rejoin else []
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y+1-11",
        rejoin is not None,
        expected=f"INVITE to the focus {session.focus}",
        actual=rejoin.request.first_line() if rejoin else "none",
        evidence=ev,
        fatal=True,
    )
    assert rejoin is not None
    response, msrp = await pf.accept_invite(rejoin, focus=session.focus)
    ev.append(sip_evidence(response, "the 200 OK"))
    chat = None
    try:
        channel = await msrp.accepted(within=tc.guards.sip)
        chat = await channel.expect(
            MessageReceived, within=tc.guards.sip, match=lambda m: b"I am back" in m.body
        )
    except WaitTimeout:
        pass
    expect_true(
        tc.recorder,
        "SD-B.2.3.x.y+1-12",
        chat is not None,
        expected="an MSRP session carrying the user's message",
        actual="received" if chat else "no message over MSRP",
        evidence=ev,
    )
    subscribe = await absent(pf, "SUBSCRIBE", session.focus, within=tc.guards.sip)
    if subscribe is not None:
        subscribe.respond(200, headers=[("Expires", "600")])
    await finished(action, within=tc.guards.sip * 2)
