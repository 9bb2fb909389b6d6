"""Preambles of the system flows (seed 002 B.2.3.x.y, seed 000 B.2.3.5.X), where the SUT's PF
and CF run the group session together and the tool's core relays between them
(conformance/roles/sut_relay.py, docs/dev/topology.md "System flows"): client B in the
session and gone, carol joining, alice's messages, client B back; and readers of what the
relay saw.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from conformance.checks import (
    inconclusive,
    not_applicable,
)
from conformance.documents.conference_info import (
    ConferenceInfo,
    parse_conference_info,
)
from conformance.errors import DocumentError, RemoteProtocolError
from conformance.fixtures.case import Tc
from conformance.fixtures.network import Guards
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.client import ClientEmulator, IncomingInvite, sdp_of
from conformance.roles.sip_helpers import same_aor
from conformance.roles.sut_relay import Relayed, SutRelay
from conformance.testcases.procedures import pf_address
from conformance.testcases.procedures.deferred import INVOLUNTARY
from conformance.testcases.procedures.hosted_session import (
    HostedSession,
    create_hosted_session,
    join,
)
from conformance.testcases.procedures.messages import SUT_SILENCE

TEXTS = ("flow-deferred-1", "flow-deferred-2")


def accept_contact(request: SipRequest) -> str:
    return " ".join(request.headers.get_all("Accept-Contact"))


def sdp_direction(request: SipRequest) -> str | None:
    try:
        return parse_sdp(sdp_of(request)).msrp.direction
    except (RemoteProtocolError, AttributeError):
        return None


def conference_info_of(request: SipRequest) -> ConferenceInfo | None:
    try:
        return parse_conference_info(request.body) if request.body else None
    except DocumentError:
        return None


def user_states(info: ConferenceInfo | None) -> dict[str, str | None]:
    """entity -> status of its first endpoint."""
    if info is None:
        return {}
    return {u.entity: (u.endpoints[0].status if u.endpoints else None) for u in info.users}


@dataclass
class Flow:
    """A group session alice created at the SUT CF with recipient B; the CF's invitation
    reached client B through the SUT PF, and client B has gone."""

    session: HostedSession
    client: ClientEmulator
    alice: str
    bob: str
    carol: str


async def start_flow(tc: Tc, sut_relay: SutRelay) -> Flow:
    """B.2.3.x.y steps 1-2 and the precondition: client B in the group session through
    the PF, then gone (BYE with cause 480: the PF keeps the CF leg). Both flows need a
    PF that stays in the media path and defers the delivery (B.2.3.x.y 4-6)."""
    pics = tc.pics
    if not (pics.get("pf.deferred_delivery", False) and pics.get("pf.media_path", False)):
        not_applicable(
            "the flow needs a PF in the media path with deferred delivery "
            "(pf.media_path, pf.deferred_delivery)"
        )
    pixit, guards = tc.pixit, tc.guards
    if len(pixit.users) < 3:
        inconclusive("the profile needs three users")
    alice, bob, carol = (u.uri for u in pixit.users[:3])
    client = await tc.client(bob)
    session = await create_hosted_session(tc, creator=alice, recipients=(bob,))
    try:
        await sut_relay.expect("INVITE", to="pf", within=2 * guards.sip)
        invite = await client.expect_invite(
            within=2 * guards.sip, conversation_id=session.conversation_id
        )
    except WaitTimeout:
        inconclusive("the CF's invitation did not reach client B through the PF")
    await invite.answer(sdp_setup="passive")
    try:
        await invite.establish_msrp(within=guards.msrp)
    except WaitTimeout:
        inconclusive("no MSRP session between the PF and client B")
    # client B leaves once in the session: after the PF's binding SEND, not while the PF
    # may still be setting its MSRP session up (a leave the PF may then take otherwise)
    await invite.bound(within=guards.msrp)
    await client_b_leaves(invite, guards)
    return Flow(session, client, alice, bob, carol)


async def client_b_leaves(invite: IncomingInvite, guards: Guards) -> None:
    """Client B leaves involuntarily: BYE with cause 480 in the dialog with the PF. Its
    remote target is the focus (the PF copies the CF's isfocus Contact, 003 8.3.2 8.d.v):
    the BYE reaches the PF by the dialog's route set, the PF's own Record-Route."""
    handle = await invite.bye(INVOLUNTARY)
    try:
        final = await handle.final(guards.sip)
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("nobody answered client B's BYE")
    if final.status >= 300:
        inconclusive(
            f"client B's BYE got {final.status}: it did not reach the PF (no Record-Route "
            "of the PF in its INVITE, whose Contact is the focus?)"
        )


async def carol_joins(tc: Tc, flow: Flow, relay: SutRelay) -> None:
    """carol joins at the focus: a participant change the CF notifies the PF of."""
    guards = tc.guards
    await join(tc, flow.session, flow.carol)
    with contextlib.suppress(WaitTimeout):  # judged through what the PF does with it
        await relay.expect(
            "NOTIFY",
            to="pf",
            within=guards.sip,
            match=lambda r: flow.carol in user_states(conference_info_of(r.request)),
        )


async def alice_sends(flow: Flow, guards: Guards) -> None:
    """alice sends the messages; each accepted by the CF (its MSRP 200)."""
    leg = flow.session.legs[flow.alice]
    channel = leg.msrp.channel
    for text in TEXTS:
        requests = leg.msrp.send_cpim(
            from_=f"<{flow.alice}>", to=f"<{flow.bob}>", body=text.encode()
        )
        if channel is None:
            inconclusive("alice has no MSRP connection with the CF")
        try:
            response = await channel.response(requests[-1], within=guards.msrp)
        except SUT_SILENCE:
            inconclusive(f"the CF did not answer alice's SEND of {text!r}")
        if response.status_code != 200:
            inconclusive(f"the CF answered alice's SEND {response.status_code}")


async def client_b_returns(tc: Tc, flow: Flow) -> None:
    """Client B is back: the S-CSCF's third-party REGISTER to the PF."""
    try:
        await tc.scscf.third_party_register(
            pf_address(tc.pixit),
            flow.bob,
            flow.client.instance,
            contact_user=flow.client.contact_user,
            within=tc.guards.sip,
        )
    except (WaitTimeout, TransactionTimeoutError):
        inconclusive("the PF did not answer the third-party REGISTER")


__all__ = [
    "TEXTS",
    "Flow",
    "accept_contact",
    "alice_sends",
    "carol_joins",
    "client_b_leaves",
    "client_b_returns",
    "conference_info_of",
    "sdp_direction",
    "start_flow",
    "user_states",
]


def for_the_session(flow: Flow, conference_factory: str) -> Callable[[Relayed], bool]:
    """Matches a request of the SUT PF to the CF for ``flow``'s group session: addressed
    to its focus (or, wrongly, to the conference factory, which the checks then judge).
    Not one the PF still sends for an earlier session of the same users, such as a retry
    of a subscription that failed (a fault's), which would otherwise be taken for this
    session's in whichever test case comes next on the worker."""

    def match(item: Relayed) -> bool:
        uri = item.request.uri
        return same_aor(uri, flow.session.focus) or same_aor(uri, conference_factory)

    return match
