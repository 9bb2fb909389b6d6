"""CPM System Description 5.2.3.5 (seed 000, client statements): how the CPM Client keeps its
Participant Information by a conference subscription.

The tool plays the PF and the S-CSCF (``await tc.pf()``). Expected values are written from
the seed.
"""

from __future__ import annotations

import pytest

from conformance.checks import expect_equal, expect_true, inconclusive
from conformance.fixtures.case import Tc
from conformance.roles.pf import InviteKind
from conformance.roles.sip_helpers import aor
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    delivered,
    joined_session,
    others,
)

#: seed 000 5.2.3.5: the SUBSCRIBE carries the CPM ICSI feature tag (percent-encoded)
CPM_SESSION_TAG = "urn%3aurn-7%3a3gpp-service.ims.icsi.oma.cpm.session"


@pytest.mark.users(3)
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


@pytest.mark.users(3)
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
