"""CPM Conversation Function 5.2.3.5 (client statements) and 7.3.11 1.a.vii: how the CPM
Client keeps its Participant Information (conference subscription, Group State Object).

The tool plays the PF and the S-CSCF (``await tc.pf()``). The client's Participant
Information is observed in the resource list of its next re-join INVITE (the upper
tester's ``send-message`` triggers it). Expected values are written from seed 000 5.2.3.5
and seed 001 7.3.11.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
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
    others,
    user_sends,
)

#: seed 000 5.2.3.5: the SUBSCRIBE carries the CPM ICSI feature tag (percent-encoded)
CPM_SESSION_TAG = "urn%3aurn-7%3a3gpp-service.ims.icsi.oma.cpm.session"


def _listed(invite: SipRequest) -> set[str] | None:
    """The AORs of the recipient-list of a (re-join) INVITE."""
    try:
        part = find_recipient_list(
            parse_multipart(invite.body, invite.headers.get("Content-Type") or "")
        )
        return {aor(u) for u in parse_resource_list(part.body).uris()} if part else None
    except DocumentError:
        return None


@pytest.mark.requirement("CLIENT-5.2.3.5-SUBSCRIBE-ID", "CLIENT-5.2.3.5-SUBSCRIBE-TAG")
async def test_5_2_3_5_subscribe_to_the_group_session_identity(tc: Tc) -> None:
    """with {a client invited to a group session whose focus is <focus>;isfocus} ensure that
    { when {the session is established}
      then {the client subscribes to the conference event package at the focus, with an
            Accept-Contact carrying the CPM session feature tag} }"""
    pf = await tc.pf()
    if tc.pixit.uris.conference_factory:
        pf.own(tc.pixit.uris.conference_factory)
    session = pf.new_session(others(tc.pixit)[:2])
    invite = await pf.invite(InviteKind.GROUP, session)
    answer = await invite.final(tc.guards.sip)
    if answer.status != 200 or not await delivered(pf, invite, within=tc.guards.sip):
        inconclusive(f"the group session was not set up ({answer.status})")
    subscribe = await absent(pf, "SUBSCRIBE", None, within=tc.guards.sip)
    ev = [sip_evidence(invite.request, "the group INVITE")]
    if subscribe is not None:
        ev.append(sip_evidence(subscribe.request, "the client's SUBSCRIBE"))
        subscribe.respond(200, headers=[("Expires", "600")])
    expect_equal(
        tc.recorder,
        "CLIENT-5.2.3.5-SUBSCRIBE-ID",
        expected=aor(session.focus),
        actual=aor(subscribe.request.uri) if subscribe else None,
        evidence=ev,
    )
    tags = " ".join(subscribe.request.headers.get_all("Accept-Contact")) if subscribe else ""
    expect_true(
        tc.recorder,
        "CLIENT-5.2.3.5-SUBSCRIBE-TAG",
        CPM_SESSION_TAG in tags.lower(),
        expected=f'Accept-Contact: *;+g.3gpp.icsi-ref="{CPM_SESSION_TAG}"',
        actual=tags or None,
        evidence=ev,
    )
    await invite.bye()


@pytest.mark.requirement("CLIENT-5.2.3.5-REFRESH")
async def test_5_2_3_5_refresh_after_reconnection(tc: Tc) -> None:
    """with {a client that was in a group session} ensure that
    { when {the PF re-connects it to the active session (cpm.session, a=sendrecv)}
      then {the client refreshes its conference subscription at the focus} }"""
    pf = await tc.pf()
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    invite = await pf.invite(InviteKind.ACTIVE, session)
    answer = await invite.final(tc.guards.sip)
    if answer.status != 200 or not await delivered(pf, invite, within=tc.guards.sip):
        inconclusive(f"the re-connection was not set up ({answer.status})")
    subscribe = await absent(pf, "SUBSCRIBE", session.focus, within=tc.guards.sip)
    ev = [sip_evidence(invite.request, "the re-connection INVITE")]
    if subscribe is not None:
        ev.append(sip_evidence(subscribe.request, "the client's SUBSCRIBE"))
        subscribe.respond(200, headers=[("Expires", "600")])
    expect_true(
        tc.recorder,
        "CLIENT-5.2.3.5-REFRESH",
        subscribe is not None,
        expected=f"SUBSCRIBE (Event: conference) to {session.focus}",
        actual=subscribe.request.first_line() if subscribe else "none",
        evidence=ev,
    )
    await invite.bye()


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
