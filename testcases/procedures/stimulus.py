"""Two SIP stacks as stimulus: the rejection cases of 8.2.1 and 8.3.2 run once with the
INVITE sent by our engine, once with the same INVITE sent by pjsua2 (an independent UA).

The ``stimulus_stack`` fixture (fixtures/pjsip.py) hands a :class:`StimulusStack` to the
test case; the procedures here send the case's INVITE with that stack and return the
PF's final response as a :class:`SipMessage` parsed from the raw bytes received (our
transport's bytes, or ``SipRxData.wholeMsg`` of pjsua2), so one check judges both.

What pjsua2 sends (measured, pjsua2 2.15):

- an MSRP offer like the engine's, written over pjsua's own audio offer in
  ``onCallSdpCreated`` (pjsua still plans audio media: fine for INVITEs that are
  rejected), or pjsua's own audio-only offer where that is the stimulus (8.3.2 step 5);
  made multipart/mixed with the recipient-list part (pjsua_msg_data multipart parts);
- the case's headers as custom headers (P-Asserted-Identity as the S-CSCF asserts it,
  User-Agent, Privacy, P-Preferred-Service / P-Asserted-Service, Accept-Contact,
  Conversation-ID, Contribution-ID, Require), the From of the account (the originator, or
  the focus with ``;isfocus`` in its Contact on the terminating side), and its own
  Supported/Allow/Session-Expires;
- to the PF's address through a loose route (the account's proxy), over TCP when the
  request is larger than 1300 bytes (RFC 3261 18.1.1).

Where pjsua2 cannot produce a case's stimulus, :meth:`StimulusStack.cannot` stops the
pjsip variant with an explicit ``inconc`` reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conformance.catalog.profile import Pixit
from conformance.checks import inconclusive
from conformance.documents.resource_lists import (
    RECIPIENT_LIST_DISPOSITION,
    RESOURCE_LISTS_CONTENT_TYPE,
    Entry,
    ResourceList,
    build_resource_list,
)
from conformance.errors import LocalProtocolError
from conformance.fixtures.case import Tc
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION,
    OPTION_RECIPIENT_LIST_INVITE,
)
from conformance.protocol.sip.headers import format_contact_preference, format_icsi_ref
from conformance.protocol.sip.message import SipResponse, parse_message
from conformance.roles.pjsip_peer import BodyPart, CallEvent, PjsipPeer
from conformance.testcases.procedures.sessions import (
    CfInvite,
    GroupInvite,
    new_ids,
    pf_address,
    send_group_invite,
)

ENGINE = "engine"
PJSIP = "pjsip"
STACKS = (ENGINE, PJSIP)

#: the pjsip variant keeps pjsua's own (audio-only) offer
PJSUA_AUDIO_OFFER = "pjsua-audio"


def _msrp_offer(host: str) -> str:
    """An MSRP offer like the engine's (``a=setup:actpass``) that replaces pjsua's audio
    offer: nobody listens on its path, which only serves INVITEs that are rejected."""
    session = secrets.token_hex(8)
    return (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=message 9 TCP/MSRP *\r\na=path:msrp://{host}:9/{session};tcp\r\n"
        "a=accept-types:message/cpim application/im-iscomposing+xml\r\n"
        "a=accept-wrapped-types:*\r\na=setup:actpass\r\na=sendrecv\r\n"
    )


@dataclass(frozen=True, slots=True)
class StimulusStack:
    """The SIP stack that sends the test case's stimulus."""

    name: str
    #: starts (first use) the session's pjsua2 peer; None and a reason when unusable
    peer_source: Callable[[], Awaitable[tuple[PjsipPeer | None, str]]] | None = None

    @property
    def is_pjsip(self) -> bool:
        return self.name == PJSIP

    async def pjsip(self) -> PjsipPeer:
        """The shared pjsua2 peer, reset for this case (calls hung up, observations
        drained); the case is inconc when pjsua2 is unusable."""
        if self.peer_source is None:
            inconclusive("pjsip stimulus: no pjsua2 peer")
        peer, why = await self.peer_source()
        if peer is None:
            inconclusive(f"pjsip stimulus: {why}")
        await peer.reset()
        return peer

    def cannot(self, reason: str) -> None:
        """The pjsip variant of this case: inconc with ``reason`` (nothing for the engine)."""
        if self.is_pjsip:
            inconclusive(f"pjsip stimulus: {reason}")


def _route(pixit: Pixit) -> str:
    pf = pf_address(pixit)
    return f"sip:{pf.host}:{pf.port};lr"


def _recipients(participants: tuple[str, ...]) -> BodyPart:
    body = build_resource_list(ResourceList(entries=tuple(Entry(uri=p) for p in participants)))
    return BodyPart(
        RESOURCE_LISTS_CONTENT_TYPE,
        body.decode("utf-8"),
        (("Content-Disposition", f"{RECIPIENT_LIST_DISPOSITION};handling=required"),),
    )


async def _pjsip_final(peer: PjsipPeer, call: int, within: float) -> SipResponse:
    """The final response pjsua2 received for its INVITE, parsed from the raw bytes."""

    def final(e: CallEvent) -> bool:
        if e.call != call or not e.raw.startswith(b"SIP/"):
            return False
        if e.kind == "rx":  # a 2xx arrives as a transaction event
            return e.method == "INVITE" and e.code >= 200
        return e.state == "DISCONNECTED"  # a non-2xx final response ends the call

    event = await peer.call_events.take(within, f"final response to call {call}", final)
    response = parse_message(event.raw, stream=False)
    if not isinstance(response, SipResponse):  # "SIP/" starts a status line: never here
        raise LocalProtocolError(f"pjsua2 reported a request as call {call}'s response")
    return response


async def originating_invite(
    stack: StimulusStack, tc: Tc, invite: GroupInvite | None = None, *, register: bool = True
) -> SipResponse:
    """A client of the first user (registered first when ``register``) sends a group
    INVITE to the conference factory through the PF; the PF's final response. pjsua2
    sends the ``asserted_identity``, ``user_agent``, ``privacy``, ``p_preferred_service``
    and ``extra_headers`` of ``invite``."""
    invite = invite or GroupInvite()
    pixit = tc.pixit
    user = pixit.users[0].uri
    client = await tc.client(user, 0, register=register)
    if not stack.is_pjsip:
        session = await send_group_invite(client, pixit, invite)
        return await session.handle.final(within=tc.guards.sip)
    peer = await stack.pjsip()
    identity = invite.asserted_identity or user
    conversation_id, contribution_id = new_ids()
    others = tuple(u.uri for u in pixit.users if u.uri != user)[:2]
    headers: list[tuple[str, str]] = [
        ("P-Asserted-Identity", f"<{identity}>"),
        ("Accept-Contact", format_contact_preference([format_icsi_ref([ICSI_SESSION])])),
    ]
    if invite.p_preferred_service is not None:
        headers.append(("P-Preferred-Service", invite.p_preferred_service))
    headers += [
        ("User-Agent", invite.user_agent),
        (CONVERSATION_ID, conversation_id),
        (CONTRIBUTION_ID, contribution_id),
    ]
    if invite.privacy is not None:
        headers.append(("Privacy", invite.privacy))
    headers += [("Require", OPTION_RECIPIENT_LIST_INVITE), *invite.extra_headers]
    call = await peer.make_call(
        pixit.uris.conference_factory,
        headers,
        proxy=_route(pixit),
        from_uri=user,
        parts=[_recipients(others)],
        sdp=_msrp_offer(pixit.tool_host),
    )
    return await _pjsip_final(peer, call, tc.guards.sip)


async def terminating_invite(
    stack: StimulusStack,
    tc: Tc,
    user: str,
    invite: CfInvite | None = None,
    *,
    pjsip_sdp: str = "",
) -> SipResponse:
    """The CF's group INVITE for the served ``user`` (the originator is the first user),
    sent to the PF; the PF's final response. ``invite.sdp`` replaces the engine's MSRP
    offer; pjsua2 sends an MSRP offer too, or its own audio-only offer with
    ``pjsip_sdp=PJSUA_AUDIO_OFFER``; it sends the ``user_agent``, ``asserted_service`` and
    ``extra_headers`` of ``invite``."""
    invite = invite or CfInvite()
    pixit = tc.pixit
    cf = await tc.cf()
    originator = pixit.users[0].uri
    if not stack.is_pjsip:
        handle = await invite.send(cf, user, pf_address(pixit), originator=originator)
        return await handle.final(within=tc.guards.sip)
    peer = await stack.pjsip()
    focus = cf.new_focus_uri()
    conversation_id, contribution_id = new_ids()
    headers: list[tuple[str, str]] = [
        ("P-Asserted-Identity", f"<{originator}>"),
        ("Accept-Contact", format_contact_preference([format_icsi_ref([ICSI_SESSION])])),
        (CONVERSATION_ID, conversation_id),
        (CONTRIBUTION_ID, contribution_id),
    ]
    if invite.asserted_service is not None:
        headers.append(("P-Asserted-Service", invite.asserted_service))
    headers += [("User-Agent", invite.user_agent or ""), *invite.extra_headers]
    call = await peer.make_call(
        user,
        headers,
        proxy=_route(pixit),
        from_uri=focus,
        contact_params=";isfocus",
        parts=[_recipients((originator, user))],
        sdp="" if pjsip_sdp == PJSUA_AUDIO_OFFER else (pjsip_sdp or _msrp_offer(pixit.tool_host)),
    )
    return await _pjsip_final(peer, call, tc.guards.sip)


__all__ = [
    "ENGINE",
    "PJSIP",
    "PJSUA_AUDIO_OFFER",
    "STACKS",
    "StimulusStack",
    "originating_invite",
    "terminating_invite",
]
