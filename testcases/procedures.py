"""Helper procedures the test cases share (preambles, evidence), never copied into a case.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import (
    EvidenceRef,
    VerdictRecorder,
    check,
    evidence,
    inconclusive,
    not_applicable,
)
from conformance.errors import RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.headers import get_warnings
from conformance.protocol.sip.message import SipMessage, SipRequest
from conformance.protocol.sip.sdp import MediaDescription, parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.cf import CfEmulator, CfIncomingInvite
from conformance.roles.client import ClientEmulator, IncomingInvite, InviteHandle, sdp_of
from conformance.roles.msrp_peer import MsrpPeer

T = TypeVar("T")


def sip_evidence(message: SipMessage, description: str) -> EvidenceRef:
    """Evidence pointing at a SIP message: its first line and its raw bytes."""
    return evidence("sip", description, message.first_line(), message.raw)


async def expect_arrival(
    recorder: VerdictRecorder,
    requirement: str,
    awaited: Awaitable[T],
    *,
    expected: str,
    evidence: list[EvidenceRef] | None = None,
) -> T | None:
    """Wait for something the requirement says the SUT sends; when the bounded wait runs
    out, that is a ``fail`` of the requirement (not an inconclusive case). None then."""
    try:
        return await awaited
    except (WaitTimeout, TransactionTimeoutError) as exc:
        check(
            recorder,
            requirement,
            ok=False,
            expected=expected,
            actual=f"nothing within the guard time ({exc})",
            evidence=evidence,
        )
        return None


def msrp_media(message: SipMessage) -> MediaDescription | None:
    """The MSRP media description of a message's SDP (plain or the SDP part of a
    multipart body); None when there is no SDP, no MSRP m-line, or the SDP is invalid —
    the check that needs it then fails with None as the actual value."""
    try:
        return parse_sdp(sdp_of(message)).msrp  # type: ignore[arg-type]
    except RemoteProtocolError:
        return None


def first_warning(message: SipMessage) -> tuple[int, str] | None:
    """(code, text) of the first Warning value (RFC 3261 20.43), None without one."""
    warnings = get_warnings(message)
    return (warnings[0].code, warnings[0].text) if warnings else None


async def fork_of(client: ClientEmulator, contribution_id: str, within: float) -> IncomingInvite:
    """The PF's initial INVITE to ``client`` for this case's session (same Contribution-ID,
    or none at all); INVITEs a SUT sends late for other cases stay unjudged."""
    incoming = await client.expect_request(
        "INVITE",
        within=within,
        match=lambda r: (
            ";tag=" not in (r.request.headers.get("To") or "")
            and r.request.headers.get("Contribution-ID") in (contribution_id, None)
        ),
    )
    return IncomingInvite(client, incoming)


def new_ids() -> tuple[str, str]:
    """A fresh (Conversation-ID, Contribution-ID) pair: no state leaks between cases."""
    return uuid.uuid4().hex, uuid.uuid4().hex


def pf_address(pixit: Pixit) -> Address:
    """The PF under test; the case is n/a without one."""
    address = pixit.sut.get(Role.PF)
    if address is None:
        not_applicable("no PF address in the profile")
    return address


def user_with_clients(pixit: Pixit, count: int) -> str:
    """A served user with at least ``count`` clients in the profile (inconc otherwise)."""
    for user in pixit.users:
        if len(user.clients) >= count:
            return user.uri
    inconclusive(f"the profile has no user with {count} clients")


@dataclass
class OriginatingSession:
    """A group INVITE sent by a client through the PF, as the CF emulator received it."""

    sent: SipRequest
    handle: InviteHandle
    msrp: MsrpPeer
    conversation_id: str
    contribution_id: str
    participants: tuple[str, ...]


async def send_group_invite(
    client: ClientEmulator,
    pixit: Pixit,
    *,
    participants: tuple[str, ...] | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    omit: tuple[str, ...] = (),
    asserted_identity: str | None = None,
    ids: tuple[str, str] | None = None,
    **invite_options: object,
) -> OriginatingSession:
    """The client sends a group INVITE to the conference factory through its PF.

    The tool's S-CSCF asserts the originator: P-Asserted-Identity is the client's user
    (or ``asserted_identity``), as the SIP/IP core does for an originating request.
    ``ids`` (Conversation-ID, Contribution-ID) re-uses a conversation; fresh ones otherwise.
    """
    conversation_id, contribution_id = ids or new_ids()
    others = tuple(u.uri for u in pixit.users if u.uri != client.user)
    listed = participants if participants is not None else others[:2]
    msrp = await client.new_msrp_peer()
    identity = asserted_identity or client.user
    request = client.build_group_invite(
        pixit.uris.conference_factory,
        msrp=msrp,
        conversation_id=conversation_id,
        contribution_id=contribution_id,
        participants=listed,
        extra_headers=(("P-Asserted-Identity", f"<{identity}>"), *extra_headers),
        omit=omit,
        **invite_options,  # type: ignore[arg-type]
    )
    handle = await client.send_invite(request, pf_address(pixit), msrp=msrp)
    return OriginatingSession(request, handle, msrp, conversation_id, contribution_id, listed)


async def expect_cf_invite(
    cf: CfEmulator, session: OriginatingSession, within: float
) -> CfIncomingInvite:
    """The INVITE the PF generates towards the CF for this session (via the tool's core)."""
    return await cf.expect_invite(within=within, conversation_id=session.conversation_id)


__all__ = [
    "OriginatingSession",
    "expect_arrival",
    "expect_cf_invite",
    "first_warning",
    "fork_of",
    "msrp_media",
    "new_ids",
    "pf_address",
    "send_group_invite",
    "sip_evidence",
    "user_with_clients",
]
