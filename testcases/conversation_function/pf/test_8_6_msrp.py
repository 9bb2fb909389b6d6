"""CPM Conversation Function 8.6 "Procedures upon Receiving MSRP": the PF relays MSRP
within the negotiated chunk size, keeps only the client the user chose (single-client
policy) and marks copies to the user's other clients ``Message-Direction: sent``.

The tool plays the user's clients, the S-CSCF and the CF. Expected values are written here
from the seed text.
"""

from __future__ import annotations

import contextlib

import pytest

from conformance.checks import EvidenceRef, evidence, expect_equal, expect_true, inconclusive
from conformance.documents.cpim import parse_cpim
from conformance.documents.imdn import Imdn, ImdnKind, build_imdn
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import ConnectionClosed, MessageReceived
from conformance.protocol.sip.headers import get_reasons
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator, IncomingInvite, sdp_of
from conformance.roles.msrp_peer import MsrpPeer
from conformance.testcases.procedures import (
    expect_arrival,
    pf_address,
    send_group_invite,
    sip_evidence,
    user_with_clients,
)

#: the a=max-size the receiving leg negotiates (8.6 step 1, catalogue interpretation)
MAX_SIZE = 512
ISCOMPOSING = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
    b'<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">'
    b"<state>active</state><contenttype>text/plain</contenttype></isComposing>"
)


def _imdn(kind: ImdnKind, status: str) -> bytes:
    """An IMDN (RFC 5438) of ``kind`` about a message the CF sent earlier."""
    return build_imdn(
        Imdn(
            message_id="0123456789abcdef",
            datetime="2026-01-01T00:00:00Z",
            kind=kind,
            status=status,
        )
    )


#: the stimuli of 2.a.i.1: what the user's choice is seen in (chat message, IMDN carrying
#: a display notification, isComposing), and a content that is none of these (an IMDN
#: carrying a delivery notification: the client received, the user did not choose)
CHOOSING = ("chat", "display-imdn", "iscomposing")


def _reason(message: SipMessage) -> tuple[str, int | None] | None:
    try:
        reasons = get_reasons(message)
    except RemoteProtocolError:  # a Reason that does not parse is no Reason to judge
        return None
    return (reasons[0].protocol.upper(), reasons[0].cause) if reasons else None


async def _message(peer: MsrpPeer, within: float) -> MessageReceived:
    """The first non-empty message on the peer's connection (a binding SEND is empty)."""
    channel = peer.channel
    if channel is None:
        inconclusive("the MSRP session has no connection")
    return await channel.expect(MessageReceived, within=within, match=lambda m: bool(m.body))


def _msrp_evidence(message: MessageReceived, description: str) -> EvidenceRef:
    return evidence(
        "msrp", description, f"chunk sizes {list(message.chunk_sizes)}", message.body[:400]
    )


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.6-1")
async def test_8_6_1_chunk_size_towards_the_leg(tc: Tc) -> None:
    """with {a group session through the PF whose terminating leg negotiated
    a=max-size:512} ensure that
    { when {the client sends a 3000-byte message in one chunk}
      then {the CF receives the same body in SEND chunks of at most 512 bytes} }"""
    cf = await tc.cf()
    client = await tc.client(tc.pixit.users[0].uri, 0)
    session = await send_group_invite(client, tc.pixit)
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    peer = await cf.new_msrp_peer()
    body = peer.sdp(setup="passive", extra_attributes=(f"max-size:{MAX_SIZE}",))
    peer.declare(parse_sdp(sdp_of(incoming.request)).msrp.path)
    await incoming.accept(body=body)
    answer = await session.handle.final(within=tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    await peer.accepted(within=tc.guards.sip)
    await session.handle.establish_msrp(within=tc.guards.sip)
    text = bytes(range(65, 91)) * 115 + b"!!"  # 2992 bytes of text
    session.msrp.send_cpim(
        from_=f"<{client.user}>", to="<sip:anonymous@anonymous.invalid>", body=text
    )
    got = await expect_arrival(
        tc.recorder,
        "PF-8.6-1",
        _message(peer, tc.guards.sip),
        expected="the client's message relayed to the CF",
    )
    if got is None:
        return
    ev = _msrp_evidence(got, "the message the CF received")
    expect_true(
        tc.recorder,
        "PF-8.6-1",
        text in got.body,
        expected="the body relayed unchanged",
        actual=len(got.body),
        evidence=[ev],
    )
    expect_true(
        tc.recorder,
        "PF-8.6-1",
        max(got.chunk_sizes, default=0) <= MAX_SIZE,
        expected=f"every chunk at most {MAX_SIZE} bytes",
        actual=list(got.chunk_sizes),
        evidence=[ev],
    )
    await session.handle.bye()


async def _fork_of(
    client: ClientEmulator, contribution_id: str | None, within: float
) -> IncomingInvite:
    """The PF's INVITE to ``client`` for this case's session only: same Contribution-ID
    (INVITEs of other cases' sessions for the same user stay unconsumed)."""
    incoming = await client.expect_request(
        "INVITE",
        within=within,
        match=lambda r: (
            ";tag=" not in (r.request.headers.get("To") or "")
            and contribution_id is not None
            and r.request.headers.get("Contribution-ID") == contribution_id
        ),
    )
    return IncomingInvite(client, incoming)


async def _in_dialog(
    client: ClientEmulator, method: str, call_id: str | None, within: float
) -> IncomingRequest:
    """``method`` in the dialog of ``call_id`` (not one of another case's dialogs)."""
    return await client.expect_request(
        method, within=within, match=lambda r: r.request.call_id == call_id
    )


async def _close_chosen(
    client: ClientEmulator, handle: CfInviteHandle, chosen: IncomingInvite, within: float
) -> None:
    """Teardown: the CF leaves; the PF's BYE to the chosen client is answered."""
    await handle.bye()
    try:
        bye = await _in_dialog(client, "BYE", chosen.request.call_id, within)
    except WaitTimeout:
        return
    bye.respond(200)


@pytest.mark.users(2)
@pytest.mark.parametrize("stimulus", ["chat", "iscomposing", "display-imdn", "delivery-imdn"])
@pytest.mark.requirement("PF-8.6-2.a.i.1.a", "PF-8.6-2.a.i.1.b", "PF-8.6-2.a.i.1.c")
async def test_8_6_2_a_i_single_client(tc: Tc, stimulus: str) -> None:
    """with {a PF whose policy keeps only the client the user chooses, and two clients of
    the user that answered the CF's group invitation} ensure that
    { when {one client sends a chat message (or an isComposing, or an IMDN carrying a
            display notification) over MSRP}
      then {the other client gets a BYE with Reason SIP;cause=200, its MSRP session is
            released after the 200, and the SEND reaches the CF} }
    and { when {it sends an IMDN carrying a delivery notification (no choice of the user)}
      then {no BYE reaches the other client within the observation window} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    first, second = await tc.client(user, 0), await tc.client(user, 1)
    handle = await cf_invite(cf, user, pf_address(tc.pixit), originator=tc.pixit.users[0].uri)
    cid = handle.contribution_id
    try:
        invites = [await _fork_of(c, cid, tc.guards.sip) for c in (first, second)]
    except WaitTimeout:
        inconclusive("the PF did not offer this session to both clients of the user")
    for invite in invites:
        await invite.answer()
    final = await handle.final(within=tc.guards.sip)
    if final.status != 200:
        inconclusive(f"the PF did not accept the group invitation ({final.status})")
    await handle.ack()
    await handle.establish_msrp(within=tc.guards.sip)
    for invite in invites:
        await invite.establish_msrp(within=tc.guards.sip)
    chooser, other = invites
    assert chooser.msrp is not None and other.msrp is not None
    if stimulus == "chat":
        chooser.msrp.send_cpim(
            from_=f"<{user}>", to="<sip:anonymous@anonymous.invalid>", body=b"I take this one"
        )
    elif stimulus == "iscomposing":
        chooser.msrp.send(ISCOMPOSING, "application/im-iscomposing+xml")
    else:
        kind, status = (
            (ImdnKind.DISPLAY, "displayed")
            if stimulus == "display-imdn"
            else (ImdnKind.DELIVERY, "delivered")
        )
        chooser.msrp.send_cpim(
            from_=f"<{user}>",
            to=f"<{tc.pixit.users[0].uri}>",
            body=_imdn(kind, status),
            content_type="message/imdn+xml",
        )
    if stimulus not in CHOOSING:
        # a BYE would be the PF's reaction to the SEND: the observation window
        window = tc.guards.observe
        unchosen: IncomingRequest | None = None
        with contextlib.suppress(WaitTimeout):
            unchosen = await _in_dialog(second, "BYE", other.request.call_id, window)
        if unchosen is not None:
            unchosen.respond(200)
        expect_true(
            tc.recorder,
            "PF-8.6-2.a.i.1.a",
            unchosen is None,
            expected=f"no BYE to the other client (observed for the observation window, "
            f"{window:.2f} s): a delivery notification is no choice of the user",
            actual=unchosen.request.first_line() if unchosen is not None else "none",
            evidence=[sip_evidence(unchosen.request, "the BYE")] if unchosen else [],
        )
        await handle.bye()
        for client, invite in ((first, chooser), (second, other)):
            with contextlib.suppress(WaitTimeout):
                bye_in = await _in_dialog(client, "BYE", invite.request.call_id, tc.guards.sip)
                bye_in.respond(200)
        return
    bye = await expect_arrival(
        tc.recorder,
        "PF-8.6-2.a.i.1.a",
        _in_dialog(second, "BYE", other.request.call_id, tc.guards.sip),
        expected="a BYE to the client the user did not choose",
    )
    if bye is not None:
        bye.respond(200)
        expect_equal(
            tc.recorder,
            "PF-8.6-2.a.i.1.a",
            expected=("SIP", 200),
            actual=_reason(bye.request),
            evidence=sip_evidence(bye.request, "the BYE to the other client"),
        )
        channel = other.msrp.channel
        assert channel is not None
        # the wait is the check: the connection closes within the guard, or 1.b fails
        await expect_arrival(
            tc.recorder,
            "PF-8.6-2.a.i.1.b",
            channel.expect(ConnectionClosed, within=tc.guards.sip),
            expected="the MSRP connection to the released client closed",
        )
    relayed = await expect_arrival(
        tc.recorder,
        "PF-8.6-2.a.i.1.c",
        _message(handle.msrp, tc.guards.sip),
        expected="the choosing SEND relayed to the CF",
    )
    if relayed is not None:
        expect_equal(
            tc.recorder,
            "PF-8.6-2.a.i.1.c",
            expected="application/im-iscomposing+xml"
            if stimulus == "iscomposing"
            else "message/cpim",
            actual=(relayed.content_type or "").split(";")[0].strip().lower(),
            evidence=[_msrp_evidence(relayed, "the SEND the CF received")],
        )
    await _close_chosen(first, handle, chooser, tc.guards.sip)


def _direction(message: MessageReceived) -> str | None:
    """The CPIM ``Message-Direction`` header of a relayed message (None: absent)."""
    try:
        cpim = parse_cpim(message.body)
    except DocumentError:
        return None
    for header in cpim.headers:
        if header.local_name.lower() == "message-direction":
            return header.value.strip()
    return None


@pytest.mark.users(3)
@pytest.mark.requirement("PF-8.6-2.a.ii.1")
async def test_8_6_2_a_ii_message_direction_sent(tc: Tc) -> None:
    """with {a PF that delivers originated sessions to all of the user's clients, and a
    user with two registered clients whose client 0 originated a group session that the
    PF also delivered to client 1} ensure that
    { when {client 0 sends a chat message over MSRP}
      then {client 1 receives it with the CPIM header Message-Direction: sent} }"""
    cf = await tc.cf()
    user = user_with_clients(tc.pixit, 2)
    first, second = await tc.client(user, 0), await tc.client(user, 1)
    session = await send_group_invite(first, tc.pixit)
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept()
    answer = await session.handle.final(within=tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    await cf_session.establish_msrp(within=tc.guards.sip)
    await session.handle.establish_msrp(within=tc.guards.sip)
    try:
        delivered = await _fork_of(second, session.contribution_id, tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not deliver the session to the user's other client")
    await delivered.answer()
    await delivered.establish_msrp(within=tc.guards.sip)
    assert delivered.msrp is not None
    # the PF's ACK: its leg to client 1 is confirmed, so the message below is one it must
    # copy there (sent earlier, it could overtake the 200 OK on its way to the PF)
    try:
        await _in_dialog(second, "ACK", delivered.request.call_id, tc.guards.sip)
    except WaitTimeout:
        inconclusive("the PF did not acknowledge client 1's 200 OK")
    text = b"sent from client 0"
    session.msrp.send_cpim(from_=f"<{user}>", to="<sip:anonymous@anonymous.invalid>", body=text)
    got = await expect_arrival(
        tc.recorder,
        "PF-8.6-2.a.ii.1",
        _message(delivered.msrp, tc.guards.sip),
        expected="client 0's message relayed to client 1",
    )
    if got is not None:
        expect_equal(
            tc.recorder,
            "PF-8.6-2.a.ii.1",
            expected="sent",
            actual=_direction(got),
            message="the CPIM Message-Direction header of the copy",
            evidence=[_msrp_evidence(got, "the message client 1 received")],
        )
    await session.handle.bye()
    try:
        bye = await _in_dialog(second, "BYE", delivered.request.call_id, tc.guards.sip)
    except WaitTimeout:
        return
    bye.respond(200)
