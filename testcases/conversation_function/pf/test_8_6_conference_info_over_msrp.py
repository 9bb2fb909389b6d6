"""CPM Conversation Function 8.6 step 2.b and 8.2.3 "Receive Participant Information
Notification" step 4: Participant Information Notifications via Conference Information
Object (MSRP ``application/conference-info+xml``) at the PF.

The tool plays the originating CPM Client (through its S-CSCF) and the CF. Expected values
are written here from the seed text.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.catalog.profile import Pixit
from conformance.checks import evidence, expect_equal, expect_true, inconclusive
from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    Endpoint,
    User,
    build_conference_info,
    parse_conference_info,
)
from conformance.errors import DocumentError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import ClientFactory, Guards
from conformance.net.clock import WaitTimeout
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf import CfEmulator, CfSession
from conformance.roles.client import ClientEmulator
from conformance.testcases.procedures import (
    OriginatingSession,
    pf_address,
    send_group_invite,
    sip_evidence,
)

CONFERENCE_INFO = "application/conference-info+xml"


def _user(uri: str, state: DocState = DocState.FULL) -> User:
    return User(
        uri,
        state=state,
        display_text=uri.split(":")[1].split("@")[0],
        endpoints=() if state is DocState.DELETED else (Endpoint(uri, status="connected"),),
    )


def _doc(focus: str, state: DocState, version: int, users: tuple[User, ...]) -> bytes:
    return build_conference_info(
        ConferenceInfo(entity=focus, state=state, version=version, users=users)
    )


def _others(pixit: Pixit, user: str) -> tuple[str, str]:
    rest = [u.uri for u in pixit.users if u.uri != user]
    if len(rest) < 2:
        inconclusive("the PIXIT names fewer than three users")
    return rest[0], rest[1]


async def _session(
    client_factory: ClientFactory, cf: CfEmulator, pixit: Pixit, guards: Guards
) -> tuple[ClientEmulator, OriginatingSession, CfSession]:
    """Client -> PF -> CF group session with MSRP on both legs."""
    client = await client_factory(pixit.users[0].uri, 0)
    session = await send_group_invite(client, pixit)
    incoming = await cf.expect_invite(within=guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept()
    answer = await session.handle.final(within=guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    await cf_session.establish_msrp(within=guards.sip)
    await session.handle.establish_msrp(within=guards.sip)
    return client, session, cf_session


async def _client_subscribes(
    client: ClientEmulator, cf: CfEmulator, cf_session: CfSession, pixit: Pixit, guards: Guards
) -> None:
    """The client's conference SUBSCRIBE through the PF; the CF accepts the PF's own."""
    handle = await client.subscribe(cf_session.focus_uri, to=pf_address(pixit))
    final = await handle.final(guards.sip)
    if not 200 <= final.status < 300:
        inconclusive(f"the client's conference SUBSCRIBE got {final.status}")
    with contextlib.suppress(WaitTimeout):  # the PF may serve it without its own
        (await cf.expect_subscribe(within=guards.sip)).accept()


async def _notify(client: ClientEmulator, within: float) -> SipRequest | None:
    try:
        incoming = await client.expect_request("NOTIFY", within=within)
    except WaitTimeout:
        return None
    incoming.respond(200)
    return incoming.request


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
    cf = await tc.cf()
    client, session, cf_session = await _session(tc.client, cf, tc.pixit, tc.guards)
    await _client_subscribes(client, cf, cf_session, tc.pixit, tc.guards)
    focus = cf_session.focus_uri
    a = client.user
    b, c = _others(tc.pixit, a)
    cf_session.msrp.send(_doc(focus, DocState.FULL, 1, (_user(a), _user(b))), CONFERENCE_INFO)
    first = await _notify(client, tc.guards.sip)
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
    partial = (_user(c), _user(b, DocState.DELETED))
    cf_session.msrp.send(_doc(focus, DocState.PARTIAL, 2, partial), CONFERENCE_INFO)
    second = await _notify(client, tc.guards.sip)
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


@pytest.mark.requirement("PF-8.2.3-RCV-4")
async def test_8_2_3_rcv_4_notify_body_over_msrp(tc: Tc) -> None:
    """with {a group session through the PF with conference-info over MSRP, the PF
    subscribed to the focus} ensure that
    { when {the CF sends a NOTIFY with a conference-info body}
      then {the PF sends the client an MSRP SEND with Content-Type
            application/conference-info+xml carrying that body} }"""
    cf = await tc.cf()
    client, session, cf_session = await _session(tc.client, cf, tc.pixit, tc.guards)
    handle = await client.subscribe(cf_session.focus_uri, to=pf_address(tc.pixit))
    await handle.final(tc.guards.sip)
    try:
        sub = await cf.expect_subscribe(within=tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF sent no SUBSCRIBE to the focus")
    sub.accept()
    body = _doc(cf_session.focus_uri, DocState.FULL, 1, (_user(client.user),))
    response = await (await sub.notify(body)).final(tc.guards.sip)
    await _notify(client, tc.guards.sip)
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
        "PF-8.2.3-RCV-4",
        expected=(CONFERENCE_INFO, body),
        actual=None if got is None else (content_type, got.body),
        message="an MSRP SEND with the NOTIFY body",
        evidence=[sip_evidence(response, "the PF's answer to the CF's NOTIFY")],
    )
    await session.handle.bye()
