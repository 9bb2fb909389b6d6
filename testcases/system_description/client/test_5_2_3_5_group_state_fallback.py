"""CPM System Description 5.2.3.5 (seed 000): a CPM Client whose subscription refresh gets
404 Not Found falls back to the CPM Group State Object.

"If the subscription refresh resulted in an 404 NOT FOUND error due to the fact that the
CPM Group Session was inactive, the CPM Client SHALL use the CPM Group State Object to
retrieve the latest Participants Information."

Message Storage access is not in the seeds: the Group State Object the client holds is the
one the PF sent it over MSRP in a deferred delivery (seed 001 7.3.11 1.a.vii). The tool
plays the PF and the S-CSCF (``await tc.pf()``). The client's Participant Information is
observed in the resource list of its next re-join INVITE (the upper tester's
``send-message`` triggers it, 7.3.11 1.a.viii).
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import expect_equal, inconclusive, not_applicable
from conformance.documents.conference_info import (
    CONFERENCE_INFO_CONTENT_TYPE,
    ConferenceInfo,
    DocState,
    User,
    build_conference_info,
)
from conformance.documents.resource_lists import parse_resource_list
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.multipart import find_recipient_list, parse_multipart
from conformance.roles.pf import GroupSession, InviteKind, PfEmulator, PfInvite
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
    """The AORs of the recipient list of a (re-join) INVITE."""
    try:
        part = find_recipient_list(
            parse_multipart(invite.body, invite.headers.get("Content-Type") or "")
        )
        return {aor(u) for u in parse_resource_list(part.body).uris()} if part else None
    except (DocumentError, RemoteProtocolError):
        return None


async def _reconnect(
    pf: PfEmulator, session: GroupSession, guards: Guards
) -> tuple[PfInvite, IncomingRequest]:
    """The PF re-connects the client to the active session (cpm.session, a=sendrecv); the
    client's refresh SUBSCRIBE to the focus that follows (5.2.3.5 REFRESH)."""
    mark = len(pf.received)
    invite = await pf.invite(InviteKind.ACTIVE, session)
    answer = await invite.final(guards.sip)
    if answer.status != 200 or not await delivered(pf, invite, within=guards.sip):
        inconclusive(f"the re-connection was not set up ({answer.status})")

    def fresh(item: IncomingRequest) -> bool:
        return (
            any(item is r for r in pf.received[mark:])
            and ";tag=" not in (item.request.headers.get("To") or "")
            and session.focus.split(":", 1)[-1] in item.request.uri
        )

    try:
        subscribe = await pf.expect_request("SUBSCRIBE", within=guards.sip, match=fresh)
    except WaitTimeout:
        inconclusive("the re-connected client did not refresh its subscription (REFRESH)")
    return invite, subscribe


async def _accept_and_notify(
    pf: PfEmulator,
    subscribe: IncomingRequest,
    session: GroupSession,
    users: tuple[str, ...],
    guards: Guards,
) -> SipRequest:
    """200 to the SUBSCRIBE, then a full-state NOTIFY listing ``users``; the NOTIFY sent."""
    tag = new_tag()
    response = pf.response(
        subscribe,
        200,
        to_tag=tag,
        contact=f"<{session.focus}>;isfocus",
        headers=[("Expires", "600")],
    )
    dialog = Dialog.uas(subscribe.request, tag, session.focus)
    dialog.confirm(response)
    pf.track_dialog(dialog)
    subscribe.send(response)
    body = build_conference_info(
        ConferenceInfo(
            entity=session.focus,
            state=DocState.FULL,
            version=1,
            users=tuple(User(u) for u in users),
        )
    )
    handle = await pf.send_in_dialog(
        dialog,
        "NOTIFY",
        to=pf.client_address,
        headers=[("Event", "conference"), ("Subscription-State", "active;expires=600")],
        body=body,
        content_type=CONFERENCE_INFO_CONTENT_TYPE,
    )
    answer = await handle.final(guards.sip)
    if answer.status != 200:
        inconclusive(f"the client answered the NOTIFY with {answer.status}")
    return handle.request


@pytest.mark.users(3)
@pytest.mark.requirement("CLIENT-5.2.3.5-404-GSO")
async def test_5_2_3_5_404_on_refresh_uses_the_group_state_object(tc: Tc) -> None:
    """with {a client that received a Group State Object listing A and N over MSRP, and
            later a NOTIFY listing A, N and X} ensure that
    { when {its subscription refresh on the next re-connection gets 404 Not Found}
      then {the client's Participant Information is that of the Group State Object: its
            next re-join INVITE (after send-message) lists A and N, not X} }"""
    pf = await tc.pf()
    if not tc.pics.get("client.deferred_delivery", False):
        not_applicable("the Group State Object reaches the client in a deferred delivery")
    session, first = await joined_session(pf, tc.pixit, within=tc.guards.sip)
    if first.response is None or first.response.status != 200:
        inconclusive("the client did not accept the group invitation (preamble)")
    # the inactive deferred delivery brings the Group State Object (7.3.11 1.a.vii)
    deferred = await pf.invite(InviteKind.DEFERRED, session)
    answer = await deferred.final(tc.guards.sip)
    if answer.status != 200 or not await delivered(pf, deferred, within=tc.guards.sip):
        inconclusive(f"the deferred delivery was not set up ({answer.status})")
    host = aor(session.focus).split("@", 1)[-1]
    tail = session.conversation_id[:6]
    member = session.participants[0]
    newcomer = f"sip:newcomer-{tail}@{host}"
    stale = f"sip:stale-{tail}@{host}"
    deferred.send_group_state([member, newcomer])
    # a stored message after it: its IMDN shows the client has read the MSRP stream so far
    pf.own(member)
    deferred.send_stored("after the group state", sender=member)
    imdn = await absent(pf, "MESSAGE", member, within=tc.guards.sip)
    if imdn is not None:
        imdn.respond(200)
    bye = await deferred.bye()
    with contextlib.suppress(WaitTimeout):
        await bye.final(tc.guards.sip)
    # re-connected: the refresh is accepted and a NOTIFY adds X (not in the object)
    me = client_user(tc.pixit)
    first_active, refresh = await _reconnect(pf, session, tc.guards)
    notify = await _accept_and_notify(
        pf, refresh, session, (member, newcomer, stale, me), tc.guards
    )
    bye = await first_active.bye()
    with contextlib.suppress(WaitTimeout):
        await bye.final(tc.guards.sip)
    # re-connected again: the refresh gets 404, the group session being inactive
    second_active, refused = await _reconnect(pf, session, tc.guards)
    not_found = pf.response(refused, 404, "Not Found")
    refused.send(not_found)
    bye = await second_active.bye()
    with contextlib.suppress(WaitTimeout):
        await bye.final(tc.guards.sip)
    action = user_sends(tc.upper_tester, tc.pixit, "after the 404", session)
    rejoin = await expect_at(pf, "INVITE", session.focus, within=tc.guards.sip)
    listed = _listed(rejoin.request)
    rejoin.respond(480)
    await finished(action, within=tc.guards.sip * 2)
    # CLIENT-5.2.3.5-404-GSO: "the CPM Client SHALL use the CPM Group State Object to
    # retrieve the latest Participants Information"
    expect_equal(
        tc.recorder,
        "CLIENT-5.2.3.5-404-GSO",
        expected={aor(member), aor(newcomer)},
        actual=(listed or set()) - {aor(me)},
        message="the participants of the re-join INVITE's resource list after the 404",
        evidence=[
            sip_evidence(notify, "the NOTIFY listing X before the 404"),
            sip_evidence(refused.request, "the client's refresh SUBSCRIBE"),
            sip_evidence(not_found, "the 404 to the refresh"),
            sip_evidence(rejoin.request, "the client's re-join INVITE"),
        ],
    )
