"""CPM Conversation Function 7.3.11 1.a.vii (seed 001): the CPM Client updates its
Participant Information from the Group State Object of a deferred delivery.

The tool plays the PF and the S-CSCF (``await tc.pf()``). The client's Participant
Information is observed in the resource list of its next re-join INVITE (the upper
tester's ``send-message`` triggers it). Expected values are written from the seed.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, inconclusive
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.roles.pf import InviteKind
from conformance.roles.sip_helpers import aor
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    client_user,
    delivered,
    expect_at,
    finished,
    joined_session,
    user_sends,
)


def _listed(invite: SipRequest) -> set[str] | None:
    """The AORs of the recipient-list of a (re-join) INVITE."""
    try:
        part = find_recipient_list(
            parse_multipart(invite.body, invite.headers.get("Content-Type") or "")
        )
        return {aor(u) for u in parse_resource_list(part.body).uris()} if part else None
    except DocumentError:
        return None


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-7.3.11-1.a.vii")
async def test_7_3_11_1_a_vii_group_state_object_updates_participants(tc: Tc) -> None:
    """with {a client receiving an inactive deferred delivery of a group of A and B} ensure
    that { when {a Group State Object listing A and a newcomer N arrives over MSRP}
      then {the client's Participant Information is A and N: its next re-join INVITE
            (after send-message) lists A and N} }"""
    pf = await tc.pf()
    session, _ = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    invite = await pf.invite(InviteKind.DEFERRED, session)
    answer = await invite.final(tc.guards.sip)
    if answer.status != 200 or not await delivered(pf, invite, within=tc.guards.sip):
        inconclusive(f"the deferred delivery was not set up ({answer.status})")
    host = aor(session.focus).split("@", 1)[-1]
    newcomer = f"sip:newcomer-{session.conversation_id[:6]}@{host}"
    wanted = {aor(session.participants[0]), aor(newcomer)}
    invite.send_group_state([session.participants[0], newcomer])
    # a stored message after it: its IMDN shows the client has read the MSRP stream so far
    sender = session.participants[0]
    pf.own(sender)
    invite.send_stored("after the group state", sender=sender)
    imdn = await absent(pf, "MESSAGE", sender, within=tc.guards.sip)
    if imdn is not None:
        imdn.respond(200)
    bye = await invite.bye()
    await bye.final(tc.guards.sip)
    action = user_sends(tc.upper_tester, tc.pixit, "hello again", session)
    rejoin = await expect_at(pf, "INVITE", session.focus, within=tc.guards.sip)
    listed = _listed(rejoin.request)
    rejoin.respond(480)
    await finished(action, within=tc.guards.sip * 2)
    expect_equal(
        tc.recorder,
        "CLIENT-7.3.11-1.a.vii",
        expected=wanted,
        actual=(listed or set()) - {aor(client_user(tc.pixit))},
        message="the participants of the re-join INVITE's resource list",
        evidence=[sip_evidence(rejoin.request, "the client's re-join INVITE")],
    )
