"""Procedures for CF test cases: the tool plays the PFs/clients of a group session hosted
by the CF under test, sending straight to the CF's address (no PF, ``register=False``).

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import EvidenceRef, inconclusive, not_applicable
from conformance.documents.conference_info import ConferenceInfo, parse_conference_info
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.headers import get_contacts
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.subscription import SubscriptionStateValue
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.uri import parse_uri
from conformance.roles.client import ClientEmulator, InviteHandle, SubscribeHandle
from conformance.roles.msrp_peer import MsrpPeer
from conformance.testcases.procedures.messages import sip_evidence
from conformance.testcases.procedures.sessions import new_ids


def cf_address(pixit: Pixit) -> Address:
    """The CF under test; the case is n/a without one."""
    address = pixit.sut.get(Role.CF)
    if address is None:
        not_applicable("no CF address in the profile")
    return address


def three_users(pixit: Pixit) -> tuple[str, str, str]:
    """The first three users of the profile (inconc with fewer)."""
    uris = [u.uri for u in pixit.users]
    if len(uris) < 3:
        inconclusive("the profile needs three users")
    return uris[0], uris[1], uris[2]


def notification_evidence(notification: Notification | None, what: str) -> list[EvidenceRef]:
    """The NOTIFY as evidence (none when none came)."""
    return [sip_evidence(notification.request, what)] if notification is not None else []


def asserted(user: str) -> tuple[tuple[str, str], ...]:
    """The P-Asserted-Identity the originating network's core adds for ``user``."""
    return (("P-Asserted-Identity", f"<{user}>"),)


@dataclass
class Leg:
    """One participant's session with the CF (as its PF would hold it)."""

    client: ClientEmulator
    handle: InviteHandle
    msrp: MsrpPeer
    answer: SipResponse


@dataclass
class HostedSession:
    """A group session the CF under test hosts, and the legs the tool holds in it."""

    cf: Address
    focus: str
    conversation_id: str
    contribution_id: str
    recipients: tuple[str, ...]
    legs: dict[str, Leg] = field(default_factory=dict)


@dataclass(frozen=True)
class Notification:
    """A NOTIFY the CF sent (answered 200 at once), with its parsed parts."""

    request: SipRequest
    state: SubscriptionStateValue | None
    info: ConferenceInfo | None


async def _connect(
    client: ClientEmulator, request: SipRequest, cf: Address, msrp: MsrpPeer, guards: Guards
) -> Leg | None:
    handle = await client.send_invite(request, cf, msrp=msrp)
    answer = await handle.final(within=guards.sip)
    if answer.status != 200:
        return None
    await handle.ack()
    await handle.establish_msrp(within=guards.msrp)
    # RFC 4975 7.1: the active endpoint binds the connection with a (here empty) SEND
    msrp.send(b"", None)
    return Leg(client, handle, msrp, answer)


async def create_hosted_session(
    tc: Tc, *, creator: str, recipients: tuple[str, ...]
) -> HostedSession:
    """``creator`` invites ``recipients`` at the conference factory (RFC 5366 recipient
    list); the session's focus is the Contact of the CF's 200. Inconc when it fails."""
    pixit, guards = tc.pixit, tc.guards
    cf = cf_address(pixit)
    client = await tc.client(creator, 0, register=False)
    msrp = await client.new_msrp_peer()
    conversation_id, contribution_id = new_ids()
    request = client.build_group_invite(
        pixit.uris.conference_factory,
        msrp=msrp,
        conversation_id=conversation_id,
        contribution_id=contribution_id,
        participants=recipients,
        extra_headers=asserted(creator),
    )
    leg = await _connect(client, request, cf, msrp, guards)
    contacts = get_contacts(leg.answer) if leg is not None else []
    if leg is None or not contacts:
        inconclusive("the CF did not create the group session (no 200 with a focus Contact)")
    session = HostedSession(
        cf, contacts[0].uri, conversation_id, contribution_id, recipients, {creator: leg}
    )
    return session


async def join(tc: Tc, session: HostedSession, user: str) -> Leg:
    """``user`` joins the session with an INVITE to its focus (inconc when refused)."""
    guards = tc.guards
    client = await tc.client(user, 0, register=False)
    msrp = await client.new_msrp_peer()
    request = client.build_group_invite(
        session.focus,
        msrp=msrp,
        conversation_id=session.conversation_id,
        contribution_id=session.contribution_id,
        participants=(),
        extra_headers=asserted(user),
    )
    leg = await _connect(client, request, session.cf, msrp, guards)
    if leg is None:
        inconclusive(f"the CF refused {user} joining the group session")
    session.legs[user] = leg
    return leg


async def leave(session: HostedSession, user: str, guards: Guards) -> None:
    """``user`` leaves the session with BYE."""
    leg = session.legs.pop(user)
    handle = await leg.handle.bye()
    await handle.final(within=guards.sip)


async def lose_connection(session: HostedSession, user: str) -> None:
    """``user``'s MSRP connection fails (the tool closes it; no BYE)."""
    leg = session.legs.pop(user)
    await leg.msrp.close()


def unknown_focus(session_or_cf: HostedSession | Address) -> str:
    """A group session identity at the CF's host that the CF does not host."""
    cf = session_or_cf.cf if isinstance(session_or_cf, HostedSession) else session_or_cf
    return f"sip:conf-unknown-{secrets.token_hex(6)}@{cf.host}:{cf.port}"


async def subscribe(
    client: ClientEmulator, focus: str, cf: Address, guards: Guards, *, expires: int = 600
) -> tuple[SubscribeHandle, SipResponse]:
    """A conference SUBSCRIBE (RFC 4575) from ``client``'s user to ``focus``, at the CF."""
    request = client.build_subscribe(focus, expires=expires, extra_headers=asserted(client.user))
    handle = await client.subscribe(focus, to=cf, request=request)
    return handle, await handle.final(within=guards.sip)


def _parse(incoming: IncomingRequest) -> Notification:
    request = incoming.request
    value = request.headers.get("Subscription-State")
    state = SubscriptionStateValue.parse(value) if value else None
    info: ConferenceInfo | None = None
    if request.body:
        try:
            info = parse_conference_info(request.body)
        except DocumentError:
            info = None
    return Notification(request, state, info)


async def next_notify(client: ClientEmulator, guards: Guards) -> Notification | None:
    """The next NOTIFY for ``client`` (answered 200 at once), None when none came within
    one SIP transaction guard."""
    try:
        incoming = await client.expect_request("NOTIFY", within=guards.sip)
    except WaitTimeout:
        return None
    incoming.send(client.response(incoming, 200))
    return _parse(incoming)


def endpoint_of(info: ConferenceInfo | None, user: str) -> tuple[str | None, str | None] | None:
    """``(status, disconnection-method)`` of ``user``'s first endpoint; None when not
    listed."""
    if info is None:
        return None
    found = info.user(user)
    if found is None:
        try:
            wanted = parse_uri(user).aor
        except RemoteProtocolError:
            return None
        found = next((u for u in info.users if _aor(u.entity) == wanted), None)
    if found is None:
        return None
    if not found.endpoints:
        return (None, None)
    return found.endpoints[0].status, found.endpoints[0].disconnection_method


def _aor(uri: str) -> str:
    try:
        return parse_uri(uri).aor
    except RemoteProtocolError:
        return uri


__all__ = [
    "HostedSession",
    "Leg",
    "Notification",
    "asserted",
    "cf_address",
    "create_hosted_session",
    "endpoint_of",
    "join",
    "leave",
    "lose_connection",
    "next_notify",
    "notification_evidence",
    "subscribe",
    "three_users",
    "unknown_focus",
]
