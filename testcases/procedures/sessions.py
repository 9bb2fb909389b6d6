"""Group sessions the test cases share: fresh ids, the PF under test, a client's group
INVITE through the PF (and the CF's view of it), the PF's INVITE to a client.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit
from conformance.checks import inconclusive, not_applicable
from conformance.protocol.sip.cpm import ICSI_SESSION_GROUP
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.timers import Address
from conformance.roles.cf import DEFAULT_SERVER, CfEmulator, CfIncomingInvite
from conformance.roles.cf_invite import CfInviteHandle, cf_invite
from conformance.roles.client import ClientEmulator, IncomingInvite, InviteHandle
from conformance.roles.ims_core import DEFAULT_USER_AGENT
from conformance.roles.msrp_peer import MsrpPeer


async def fork_of(
    client: ClientEmulator, contribution_id: str | None, within: float
) -> IncomingInvite:
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


def name_only_user(name: str, domain: str) -> str:
    """A user URI that no profile user has (a random tail), for a participant that is only
    a name in a document the tool sends (a resource list, a conference-info): the SUT
    never sends a request to it nor stores for it. A user of the profile would do instead
    only if it came from this worker's own slice (``pixit.users``): parallel workers share
    the SUT, and another worker's user may be in a test case of its own right now."""
    return f"sip:{name}-{uuid.uuid4().hex[:8]}@{domain}"


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


@dataclass(frozen=True, slots=True)
class GroupInvite:
    """How a client's group INVITE differs from a plain CPM 2.0 one (the defaults of
    ``ClientEmulator.build_group_invite``).

    ``participants`` None lists two other users of the profile; ``asserted_identity`` None
    is the client's user (the P-Asserted-Identity the S-CSCF adds); ``ids`` (Conversation-ID,
    Contribution-ID) re-uses a conversation, None takes fresh ones."""

    participants: tuple[str, ...] | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    omit: tuple[str, ...] = ()
    asserted_identity: str | None = None
    ids: tuple[str, str] | None = None
    subject: str | None = None
    in_reply_to: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    p_preferred_service: str | None = ICSI_SESSION_GROUP
    privacy: str | None = None


async def send_group_invite(
    client: ClientEmulator, pixit: Pixit, invite: GroupInvite | None = None
) -> OriginatingSession:
    """The client sends a group INVITE to the conference factory through its PF.

    The tool's S-CSCF asserts the originator: P-Asserted-Identity is the client's user
    (or ``invite.asserted_identity``), as the SIP/IP core does for an originating request.
    """
    invite = invite or GroupInvite()
    conversation_id, contribution_id = invite.ids or new_ids()
    others = tuple(u.uri for u in pixit.users if u.uri != client.user)
    listed = invite.participants if invite.participants is not None else others[:2]
    msrp = await client.new_msrp_peer()
    identity = invite.asserted_identity or client.user
    request = client.build_group_invite(
        pixit.uris.conference_factory,
        msrp=msrp,
        conversation_id=conversation_id,
        contribution_id=contribution_id,
        participants=listed,
        in_reply_to=invite.in_reply_to,
        subject=invite.subject,
        extra_headers=(("P-Asserted-Identity", f"<{identity}>"), *invite.extra_headers),
        omit=invite.omit,
        user_agent=invite.user_agent,
        p_preferred_service=invite.p_preferred_service,
        privacy=invite.privacy,
    )
    handle = await client.send_invite(request, pf_address(pixit), msrp=msrp)
    return OriginatingSession(request, handle, msrp, conversation_id, contribution_id, listed)


async def expect_cf_invite(
    cf: CfEmulator, session: OriginatingSession, within: float
) -> CfIncomingInvite:
    """The INVITE the PF generates towards the CF for this session (via the tool's core)."""
    return await cf.expect_invite(within=within, conversation_id=session.conversation_id)


@dataclass(frozen=True, slots=True)
class CfInvite:
    """How the CF's group INVITE for a served user differs from a plain one (the defaults
    of ``roles.cf_invite.build_cf_invite``); ids None are fresh ones."""

    conversation_id: str | None = None
    contribution_id: str | None = None
    user_agent: str | None = DEFAULT_SERVER
    asserted_service: str | None = ICSI_SESSION_GROUP
    extra_headers: tuple[tuple[str, str], ...] = ()
    sdp: bytes | None = None

    async def send(
        self,
        cf: CfEmulator,
        user: str,
        to: Address,
        *,
        originator: str,
        participants: tuple[str, ...] = (),
    ) -> CfInviteHandle:
        """The CF (emulator) sends this INVITE for ``user`` to the PF at ``to``."""
        return await cf_invite(
            cf,
            user,
            to,
            originator=originator,
            participants=participants,
            conversation_id=self.conversation_id,
            contribution_id=self.contribution_id,
            user_agent=self.user_agent,
            asserted_service=self.asserted_service,
            extra_headers=self.extra_headers,
            sdp=self.sdp,
        )


__all__ = [
    "CfInvite",
    "GroupInvite",
    "OriginatingSession",
    "expect_cf_invite",
    "fork_of",
    "new_ids",
    "pf_address",
    "send_group_invite",
    "user_with_clients",
]
