"""CPM System Description B.2.3.5.X step 3, Note 3 and 5.2.3.5: the CPM Client subscribes
to the PF handling its deferred delivery (seed 000).

Seed conflict (PROTOCOL_NOTES "Known conflicts"): seed 001 7.3.11 1.a.vi says the client
SHALL NOT subscribe in the inactive (sendonly) case; the System Description flow has it
subscribe. The PICS ``client.subscribe_during_inactive_delivery`` picks the side: the
inactive-delivery case here is applicable only under the claim ``true``. The
client-initiated variant (Note 3) is a sendrecv re-join, outside that conflict.

The tool plays the PF and the S-CSCF (``await tc.pf()``); the client under test serves the
first user of the profile. Expected values are written from the seed text.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import (
    expect_equal,
    expect_true,
    inconclusive,
    not_applicable,
)
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.roles.pf import InviteKind
from conformance.roles.sip_helpers import aor
from conformance.testcases.procedures import sip_evidence
from conformance.testcases.procedures.client_flows import (
    absent,
    finished,
    joined_session,
    user_sends,
)

#: "a corresponding CPM Feature Tag": the CPM session ICSI in Accept-Contact (percent-encoded)
CPM_SESSION_TAG = "urn%3aurn-7%3a3gpp-service.ims.icsi.oma.cpm.session"


def _tags(subscribe_headers: list[str]) -> str:
    return " ".join(subscribe_headers).lower()


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.5.X-3", "CLIENT-5.2.3.5-DD-SUBSCRIBE")
async def test_b_2_3_5_x_3_subscribe_after_ack_of_inactive_delivery(tc: Tc) -> None:
    """with {a client that knows a group session and claims to subscribe during an inactive
            deferred delivery} ensure that
    { when {the PF's deferred-delivery INVITE (cpm.deferred, a=sendonly, step 1) is answered
            200 (step 2) and the PF sends the ACK}
      then {the client sends a SUBSCRIBE (Event: conference) to the group session identity
            at the PF handling the deferred delivery, with the CPM feature tag (step 3)} }"""
    pf = await tc.pf()
    if tc.pixit.uris.conference_factory:
        # a SUBSCRIBE addressed to the factory would reach us too: judged, not lost
        pf.own(tc.pixit.uris.conference_factory)
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    invite = await pf.invite(InviteKind.DEFERRED, session)
    answer = await invite.final(tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the client answered the deferred INVITE {answer.status} (step 2)")
    ack = await invite.ack()
    subscribe = await absent(pf, "SUBSCRIBE", None, within=tc.guards.sip)
    ev = [
        sip_evidence(invite.request, "step 1 deferred INVITE"),
        sip_evidence(answer, "step 2 200 OK"),
        sip_evidence(ack, "the PF's ACK"),
    ]
    if subscribe is not None:
        ev.append(sip_evidence(subscribe.request, "step 3 SUBSCRIBE"))
        subscribe.respond(200, headers=[("Expires", "600")])
    expect_equal(
        tc.recorder,
        "SD-B.2.3.5.X-3",
        # "a CPM Group Session Identity": the focus the PF's INVITE carried (isfocus)
        expected=aor(session.focus),
        actual=aor(subscribe.request.uri) if subscribe else None,
        evidence=ev,
    )
    tags = _tags(subscribe.request.headers.get_all("Accept-Contact")) if subscribe else ""
    expect_true(
        tc.recorder,
        "SD-B.2.3.5.X-3",
        CPM_SESSION_TAG in tags,
        expected=f'Accept-Contact: *;+g.3gpp.icsi-ref="{CPM_SESSION_TAG}"',
        actual=tags or None,
        evidence=ev,
    )
    event = (subscribe.request.headers.get("Event") or "") if subscribe else ""
    expect_equal(
        tc.recorder,
        "CLIENT-5.2.3.5-DD-SUBSCRIBE",
        expected=("conference", aor(session.focus)),
        actual=(
            (event.split(";")[0].strip().lower(), aor(subscribe.request.uri)) if subscribe else None
        ),
        evidence=ev,
    )
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=tc.guards.sip)
    await invite.bye()


@pytest.mark.users(3)
@pytest.mark.requirement("SD-B.2.3.5.X-N3")
async def test_b_2_3_5_x_n3_client_initiated_variant(tc: Tc) -> None:
    """with {a client back online that was in a group session, the PF not yet inviting it}
    ensure that
    { when {the user sends a message, the client sends the INVITE and the PF answers 200
            (steps 1 and 2 reversed)}
      then {the rest of the flow applies: the client subscribes to the group session
            identity with the CPM feature tag (step 3)} }"""
    pf = await tc.pf()
    if not tc.pics.get("client.rejoin", False):
        not_applicable("the client-initiated INVITE needs client.rejoin")
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    action = user_sends(tc.upper_tester, tc.pixit, "back online", session)
    rejoin = await absent(pf, "INVITE", session.focus, within=tc.guards.sip)
    if rejoin is None:
        await finished(action, within=tc.guards.sip * 2)
        inconclusive("the client sent no INVITE to the focus (the variant's step 1)")
    assert rejoin is not None
    response, msrp = await pf.accept_invite(rejoin, focus=session.focus)
    ev = [
        sip_evidence(rejoin.request, "the client's INVITE (step 1 reversed)"),
        sip_evidence(response, "the PF's 200 OK (step 2 reversed)"),
    ]
    with contextlib.suppress(WaitTimeout):
        await msrp.accepted(within=tc.guards.sip)
    subscribe = await absent(pf, "SUBSCRIBE", session.focus, within=tc.guards.sip)
    if subscribe is not None:
        ev.append(sip_evidence(subscribe.request, "step 3 SUBSCRIBE"))
        subscribe.respond(200, headers=[("Expires", "600")])
    expect_true(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        subscribe is not None,
        expected=f"SUBSCRIBE to the group session identity {session.focus} (step 3)",
        actual=subscribe.request.first_line() if subscribe else "no SUBSCRIBE",
        evidence=ev,
    )
    tags = _tags(subscribe.request.headers.get_all("Accept-Contact")) if subscribe else ""
    expect_true(
        tc.recorder,
        "SD-B.2.3.5.X-N3",
        CPM_SESSION_TAG in tags,
        expected=f'Accept-Contact: *;+g.3gpp.icsi-ref="{CPM_SESSION_TAG}" (step 3)',
        actual=tags or None,
        evidence=ev,
    )
    await finished(action, within=tc.guards.sip * 2)
