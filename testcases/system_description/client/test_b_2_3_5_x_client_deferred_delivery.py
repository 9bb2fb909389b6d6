"""CPM System Description B.2.3.5.X (seed 000): the CPM Client's steps of the deferred group
chat delivery flow of an inactive session.

The tool plays the PF and the S-CSCF (``await tc.pf()``); the client under test serves the
first user of the profile. Each check names the flow step it judges; the expected values
are written from the flow's text.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.documents.cpim import parse_cpim
from conformance.documents.imdn import parse_imdn
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.roles.pf import InviteKind
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    delivered,
    joined_session,
    msrp_cpim,
    others,
)


def _imdn_id(body: bytes) -> str | None:
    try:
        return parse_imdn(parse_cpim(body).body).message_id
    except DocumentError:
        return None


@pytest.mark.users(3)
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
