"""CPM System Description B.2.3.5.X, B.2.3.x.y and B.2.3.x.y+1: the CPM Client's steps of
the deferred group chat delivery flows (seed 000, seed 002).

The tool plays the PF and the S-CSCF (``await tc.pf()``); the client under test serves the
first user of the profile. Each check names the flow step it judges; the expected values
are written from the flows' text.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.documents.cpim import parse_cpim
from conformance.documents.imdn import parse_imdn
from conformance.errors import DocumentError
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
    others,
    user_sends,
)


def _imdn_id(body: bytes) -> str | None:
    try:
        return parse_imdn(parse_cpim(body).body).message_id
    except DocumentError:
        return None


@pytest.mark.requirement("SD-B.2.3.5.X-2", "SD-B.2.3.5.X-5", "SD-B.2.3.5.X-8")
async def test_b_2_3_5_x_client_steps(tc: Tc) -> None:
    """with {a client back online that was in a group session} ensure that
    { when {the PF invites it for deferred delivery (step 1), delivers a stored message with
            MSRP SEND (step 5) and ends the session with BYE (step 7)}
      then {the client answers 200 OK (step 2), the stored message reaches it (step 5) and
            it answers the BYE with 200 OK (step 8)} }"""
    pf = await tc.pf()
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    invite = await pf.invite(InviteKind.DEFERRED, session)
    answer = await invite.final(tc.guards.sip)
    ev = [sip_evidence(invite.request, "step 1 INVITE"), sip_evidence(answer, "step 2")]
    expect_equal(
        tc.recorder, "SD-B.2.3.5.X-2", expected=200, actual=answer.status, evidence=ev, fatal=True
    )
    up = await delivered(pf, invite, within=tc.guards.sip)
    sender = others(tc.pixit)[0]
    pf.own(sender)
    mid = invite.send_stored("stored message", sender=sender) if up else None
    message = await absent(pf, "MESSAGE", sender, within=tc.guards.sip) if up else None
    over_msrp = await msrp_cpim(invite, "message/imdn+xml", within=0.0) if up else None
    if message is not None:
        message.respond(200)
        ev.append(sip_evidence(message.request, "the client's IMDN"))
    reported = [
        m
        for m in (
            _imdn_id(message.request.body) if message else None,
            _imdn_id(over_msrp[0].body) if over_msrp else None,
        )
        if m
    ]
    expect_true(
        tc.recorder,
        "SD-B.2.3.5.X-5",
        up and mid in reported,
        expected="MSRP established and the stored message received (its IMDN)",
        actual=reported if up else "no MSRP session",
        evidence=ev,
    )
    bye = await invite.bye()
    try:
        final = await bye.final(tc.guards.sip)
    except WaitTimeout:
        final = None
    if final is not None:
        ev.append(sip_evidence(final, "step 8 answer to the BYE"))
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-8",
        expected=200,
        actual=final.status if final else None,
        evidence=ev,
    )


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
