"""Preambles of the deferred group session test cases (seed 004 8.3.2.9, seed 002
B.2.3.x.y, seed 000 B.2.3.5.X): a group session CF <-> PF <-> client B, the trigger that
makes the client gone, the PF's focus subscription, the CF's messages and the client's
return (third-party REGISTER or re-join).

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from conformance.catalog.profile import Pixit
from conformance.checks import EvidenceRef, expect_true, inconclusive
from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    Endpoint,
    User,
    build_conference_info,
)
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpTransactionTimeoutError
from conformance.net.sip_pump import IncomingRequest, TransactionTimeoutError
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.dialog import DialogState
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.roles.cf import IncomingSubscribe
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator, IncomingInvite, InviteHandle
from conformance.roles.msrp_peer import MsrpPeer
from conformance.testcases.procedures.messages import (
    crossed_before,
    first_record,
    msrp_marker,
    sip_marker,
    where,
)
from conformance.testcases.procedures.sessions import pf_address

#: the Reason of a BYE that says the user did not leave voluntarily (cause != 200)
INVOLUNTARY = 'SIP;cause=480;text="Temporarily Unavailable"'


@dataclass
class GroupLeg:
    """A group session the CF set up with the PF, and the PF's INVITE to client B."""

    client: ClientEmulator
    user: str
    originator: str
    participants: tuple[str, ...]
    cf: CfInviteHandle
    invite: IncomingInvite
    sent: list[str] = field(default_factory=list)


async def cf_group_session(tc: Tc, *, answer: bool = True) -> GroupLeg:
    """The CF invites user B (two other participants); client B answers (unless
    ``answer`` is False: then the INVITE is left unanswered)."""
    pixit, guards = tc.pixit, tc.guards
    cf = await tc.cf()
    if len(pixit.users) < 3:
        inconclusive("the profile needs three users")
    originator, user, third = (u.uri for u in pixit.users[:3])
    client = await tc.client(user)
    participants = (originator, user, third)
    handle = await cf_invite(
        cf, user, pf_address(pixit), originator=originator, participants=participants
    )
    try:
        final = await handle.final(within=guards.sip)
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("the PF did not answer the CF's group INVITE")
    if final.status != 200:
        inconclusive(f"the PF answered the CF's group INVITE {final.status}")
    await handle.ack()
    await handle.establish_msrp(within=guards.msrp)
    try:
        invite = await client.expect_invite(
            within=guards.sip, conversation_id=handle.conversation_id
        )
    except WaitTimeout:
        inconclusive("the PF did not invite client B")
    if answer:
        await invite.answer(sdp_setup="passive")
        try:
            await invite.establish_msrp(within=guards.msrp)
        except WaitTimeout:
            inconclusive("no MSRP session between the PF and client B")
        # in the session once the PF has bound it (its first SEND, RFC 4975 5.4): a client
        # that leaves before is one the PF may treat otherwise (still setting up)
        await invite.bound(within=guards.msrp)
    return GroupLeg(client, user, originator, participants, handle, invite)


def conference_body(focus: str, users: tuple[str, ...], version: int = 1) -> bytes:
    return build_conference_info(
        ConferenceInfo(
            entity=focus,
            state=DocState.FULL,
            version=version,
            users=tuple(
                User(entity=u, endpoints=(Endpoint(u, status="connected"),)) for u in users
            ),
        )
    )


async def accept_focus_subscription(
    tc: Tc, leg: GroupLeg, users: tuple[str, ...], *, within: float | None = None
) -> IncomingSubscribe:
    """The PF's SUBSCRIBE to the focus, accepted with a full NOTIFY of ``users``."""
    cf = await tc.cf()
    sub = await cf.expect_subscribe(within=within or tc.guards.sip)
    sub.accept()
    await sub.notify(conference_body(leg.cf.focus_uri, users))
    return sub


async def refuse_focus_subscription(tc: Tc) -> IncomingSubscribe | None:
    """The PF's SUBSCRIBE to the focus of 8.3.2 200 OK step 3 (when it sends one within
    the SIP guard), refused with 480 so that the PF holds no subscription to the focus;
    None when none came."""
    cf = await tc.cf()
    try:
        sub = await cf.expect_subscribe(within=tc.guards.sip)
    except WaitTimeout:
        return None
    sub.reject(480)
    return sub


async def client_b_leaves(tc: Tc, leg: GroupLeg) -> None:
    """Client B leaves involuntarily (BYE, cause 480), and the PF has answered: what the
    CF sends next goes to a PF that has taken client B for gone (a message relayed to B's
    leg before that would be lost for B)."""
    bye = await leg.invite.bye(INVOLUNTARY)
    with contextlib.suppress(WaitTimeout):
        await bye.outcome(tc.guards.sip)


async def client_b_gone(
    tc: Tc, leg: GroupLeg, users: tuple[str, ...] | None = None
) -> IncomingSubscribe | None:
    """Client B leaves involuntarily (BYE, cause 480); the CF accepts the PF's focus
    subscription with a full NOTIFY of ``users`` (default: the session's participants);
    None when no SUBSCRIBE came."""
    await client_b_leaves(tc, leg)
    try:
        return await accept_focus_subscription(
            tc, leg, leg.participants if users is None else users
        )
    except WaitTimeout:
        return None


def in_subscription(
    sub: IncomingSubscribe, *, expires_zero: bool
) -> Callable[[IncomingRequest], bool]:
    """A request in the PF's focus subscription (with ``expires_zero``: an un-SUBSCRIBE)."""
    call_id = sub.request.call_id

    def match(item: IncomingRequest) -> bool:
        request = item.request
        if request.call_id != call_id or f"tag={sub.tag}" not in (request.headers.get("To") or ""):
            return False
        return not expires_zero or (request.headers.get("Expires") or "").strip() == "0"

    return match


async def cf_sends(leg: GroupLeg, guards: Guards, *texts: str) -> list[int]:
    """The CF sends chat messages in the session; the MSRP status of each (0 when none
    came)."""
    statuses: list[int] = []
    channel = leg.cf.msrp.channel
    for text in texts:
        requests = leg.cf.msrp.send_cpim(
            from_=f"<{leg.originator}>", to=f"<{leg.user}>", body=text.encode()
        )
        leg.sent.append(text)
        if channel is None:
            statuses.append(0)
            continue
        try:
            response = await channel.response(requests[-1], within=guards.msrp)
            statuses.append(response.status_code)
        except (WaitTimeout, MsrpTransactionTimeoutError):
            statuses.append(0)
    return statuses


async def cf_ends_session(leg: GroupLeg, within: float) -> None:
    """The CF ends the group session (BYE on its leg), unless that leg is already over: a
    PF that ended the session itself (a fault) has sent the CF its own BYE.

    It returns once the PF answered the BYE (or its transaction ended, or ``within`` s
    passed): what the test case does next (client B's return) comes after the end of the
    session, as in the flows, not beside a BYE still on its way."""
    dialog = leg.cf.dialog
    if dialog is not None and dialog.state is not DialogState.TERMINATED:
        handle = await leg.cf.bye()
        with contextlib.suppress(WaitTimeout):
            await handle.outcome(within)


async def client_returns(tc: Tc, leg: GroupLeg) -> SipResponse:
    """Client B is back: the S-CSCF's third-party REGISTER to the PF."""
    return await tc.scscf.third_party_register(
        pf_address(tc.pixit),
        leg.user,
        leg.client.instance,
        contact_user=leg.client.contact_user,
        within=tc.guards.sip,
    )


async def received(peer: MsrpPeer, text: str, within: float) -> MessageReceived | None:
    """The MSRP message carrying ``text`` on ``peer``'s connection (None when none came)."""
    try:
        channel = peer.channel
        if channel is None:
            await peer.expect_message(within=within)
            channel = peer.channel
        assert channel is not None
        return await channel.expect(
            MessageReceived, within=within, match=lambda ev: text.encode() in (ev.body or b"")
        )
    except WaitTimeout:
        return None


async def deliveries(
    invite: IncomingInvite, guards: Guards, *texts: str
) -> list[MessageReceived | None]:
    """The messages carrying ``texts`` on the MSRP session of a PF INVITE client B answered
    (its connection set up first, best effort: one that is not shows as messages not
    delivered), in the order of ``texts``."""
    assert invite.msrp is not None
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=guards.msrp)
    return [await received(invite.msrp, text, guards.msrp + guards.sip) for text in texts]


async def rejoin(leg: GroupLeg, pixit: Pixit) -> InviteHandle:
    """Client B's re-join: a group INVITE to the focus with the session's
    Conversation-ID (a fresh Contribution-ID)."""
    peer = await leg.client.new_msrp_peer()
    request = leg.client.build_group_invite(
        leg.cf.focus_uri,
        msrp=peer,
        conversation_id=leg.cf.conversation_id or "",
        contribution_id=uuid.uuid4().hex,
        participants=tuple(p for p in leg.participants if p != leg.user),
        extra_headers=(("P-Asserted-Identity", f"<{leg.user}>"),),
    )
    return await leg.client.send_invite(request, pf_address(pixit), msrp=peer)


def expect_sent_before(
    tc: Tc,
    requirement: str,
    messages: Sequence[MessageReceived | None],
    notify: SipRequest,
    evidence: EvidenceRef,
) -> None:
    """``requirement``: the NOTIFY crossed the wire after the last of ``messages`` (an MSRP
    SEND each), judged from the capture's order of records, not from the order the test
    read them in."""
    last = next((m for m in reversed(messages) if m is not None), None)
    records = tc.capture.records
    sent_at = first_record(records, msrp_marker(last)) if last is not None else None
    notify_at = first_record(records, sip_marker(notify))
    expect_true(
        tc.recorder,
        requirement,
        sent_at is not None and notify_at is not None and crossed_before(sent_at, notify_at),
        expected="the NOTIFY crosses the wire after the last SEND (capture times)",
        actual=f"last SEND: {where(sent_at)}; NOTIFY: {where(notify_at)}",
        evidence=evidence,
    )


def expect_notified_before(
    tc: Tc,
    requirement: str,
    messages: Sequence[MessageReceived | None],
    notify: SipRequest,
    evidence: EvidenceRef,
) -> None:
    """``requirement``: the NOTIFY crossed the wire before the first of ``messages`` (an
    MSRP SEND each), judged from the capture's order of records."""
    first = next((m for m in messages if m is not None), None)
    records = tc.capture.records
    sent_at = first_record(records, msrp_marker(first)) if first is not None else None
    notify_at = first_record(records, sip_marker(notify))
    expect_true(
        tc.recorder,
        requirement,
        sent_at is not None and notify_at is not None and crossed_before(notify_at, sent_at),
        expected="the NOTIFY crosses the wire before the first SEND (capture times)",
        actual=f"NOTIFY: {where(notify_at)}; first SEND: {where(sent_at)}",
        evidence=evidence,
    )


__all__ = [
    "INVOLUNTARY",
    "GroupLeg",
    "accept_focus_subscription",
    "cf_ends_session",
    "cf_group_session",
    "cf_sends",
    "client_b_gone",
    "client_returns",
    "conference_body",
    "deliveries",
    "expect_notified_before",
    "expect_sent_before",
    "in_subscription",
    "received",
    "refuse_focus_subscription",
    "rejoin",
]
