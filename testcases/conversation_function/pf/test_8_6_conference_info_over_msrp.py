"""CPM Conversation Function 8.6 step 2.b (seed 003): Participant Information Notifications
via Conference Information Object (MSRP ``application/conference-info+xml``) at the PF.

The tool plays the originating CPM Client (through its S-CSCF) and the CF. Expected values
are written here from the seed text.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import evidence, expect_equal, expect_true, inconclusive
from conformance.documents.conference_info import (
    DocState,
    parse_conference_info,
)
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf import CfSession
from conformance.roles.client import ClientEmulator
from conformance.testcases.procedures import (
    pf_address,
    sip_evidence,
)
from conformance.testcases.procedures.conference_info_msrp import (
    CONFERENCE_INFO,
    conference_info_body,
    conference_user,
    msrp_group_session,
    next_notify_request,
)


def _others(pixit: Pixit, user: str) -> tuple[str, str]:
    rest = [u.uri for u in pixit.users if u.uri != user]
    if len(rest) < 2:
        inconclusive("the PIXIT names fewer than three users")
    return rest[0], rest[1]


async def _client_subscribes(tc: Tc, client: ClientEmulator, cf_session: CfSession) -> None:
    """The client's conference SUBSCRIBE through the PF; the CF accepts the PF's own."""
    pixit, guards = tc.pixit, tc.guards
    cf = await tc.cf()
    handle = await client.subscribe(cf_session.focus_uri, to=pf_address(pixit))
    final = await handle.final(guards.sip)
    if not 200 <= final.status < 300:
        inconclusive(f"the client's conference SUBSCRIBE got {final.status}")
    with contextlib.suppress(WaitTimeout):  # the PF may serve it without its own
        (await cf.expect_subscribe(within=guards.sip)).accept()


def _entities(request: SipRequest | None) -> tuple[str | None, list[str]]:
    """(document state, entities of the users not deleted) of a NOTIFY body."""
    if request is None or not request.body:
        return None, []
    try:
        doc = parse_conference_info(request.body)
    except DocumentError:
        return None, []
    users = sorted(u.entity for u in doc.users if u.state is not DocState.DELETED)
    return doc.state.value, users


@pytest.mark.users(3)
@pytest.mark.requirement(
    "PF-8.6-2.b.i", "PF-8.6-2.b.ii.1", "PF-8.6-2.b.ii.1-notify", "PF-8.6-2.b.ii.2"
)
async def test_8_6_2_b_conference_info_send_to_a_subscribed_client(tc: Tc) -> None:
    """with {a group session through the PF with conference-info over MSRP, the client
    subscribed to the conference at the PF} ensure that
    { when {the CF sends a full conference-info SEND (users A, B), then a partial one
            (C added, B deleted), then a chat message}
      then {the client gets no conference-info SEND but a NOTIFY with a Conference
            Information Object for each, the second the kept state merged with the
            partial one (A and C, full)} }"""
    client, session, cf_session = await msrp_group_session(tc)
    await _client_subscribes(tc, client, cf_session)
    focus = cf_session.focus_uri
    a = client.user
    b, c = _others(tc.pixit, a)
    cf_session.msrp.send(
        conference_info_body(focus, DocState.FULL, 1, (conference_user(a), conference_user(b))),
        CONFERENCE_INFO,
    )
    first = await next_notify_request(client, tc.guards.sip)
    ev1 = [sip_evidence(first, "the NOTIFY after the full SEND")] if first is not None else []
    state1, users1 = _entities(first)
    expect_true(
        tc.recorder,
        "PF-8.6-2.b.ii.1-notify",
        first is not None
        and (first.headers.get("Event") or "").split(";")[0].strip().lower() == "conference"
        and users1 == sorted([a, b]),
        expected=f"NOTIFY (Event: conference) with a Conference Information Object of {a}, {b}",
        actual=None if first is None else (first.headers.get("Event"), state1, users1),
        evidence=ev1,
    )
    partial = (conference_user(c), conference_user(b, DocState.DELETED))
    cf_session.msrp.send(conference_info_body(focus, DocState.PARTIAL, 2, partial), CONFERENCE_INFO)
    second = await next_notify_request(client, tc.guards.sip)
    ev2 = [sip_evidence(second, "the NOTIFY after the partial SEND")] if second is not None else []
    state2, users2 = _entities(second)
    expect_true(
        tc.recorder,
        "PF-8.6-2.b.i",
        a in users2,
        expected=f"the kept Participant Information: {a} (only in the first SEND) still listed",
        actual=users2,
        evidence=ev2,
    )
    expect_equal(
        tc.recorder,
        "PF-8.6-2.b.ii.2",
        expected=("full", sorted([a, c])),
        actual=(state2, users2),
        message="the partial notification merged into the kept state",
        evidence=ev2,
    )
    cf_session.msrp.send_cpim(from_=f"<{b}>", to=f"<{focus}>", body=b"after the state")
    channel = session.msrp.channel
    if channel is None:
        inconclusive("the client's MSRP session has no connection")
    try:
        got: MessageReceived | None = await channel.expect(
            MessageReceived, within=tc.guards.sip, match=lambda m: bool(m.body)
        )
    except WaitTimeout:
        got = None
    content_type = None if got is None else (got.content_type or "").split(";")[0].strip()
    expect_equal(
        tc.recorder,
        "PF-8.6-2.b.ii.1",
        expected="message/cpim",
        actual=content_type,
        message="the first message the client receives is the chat message, not a relayed "
        "conference-info SEND",
        evidence=[
            evidence(
                "msrp",
                "the client's first message",
                content_type or "",
                b"" if got is None else got.body[:400],
            )
        ],
    )
    await session.handle.bye()
