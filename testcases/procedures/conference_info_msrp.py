"""Conference Information Objects over MSRP at the PF (seed 003 8.6 step 2.b, 8.2.3
"Receive Participant Information Notification" step 4): a client -> PF -> CF group
session with MSRP on both legs, conference-info bodies, the client's next NOTIFY.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

from conformance.checks import inconclusive
from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    Endpoint,
    User,
    build_conference_info,
)
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.message import SipRequest
from conformance.roles.cf import CfSession
from conformance.roles.client import ClientEmulator
from conformance.testcases.procedures import (
    OriginatingSession,
    send_group_invite,
)

CONFERENCE_INFO = "application/conference-info+xml"


def conference_user(uri: str, state: DocState = DocState.FULL) -> User:
    return User(
        uri,
        state=state,
        display_text=uri.split(":")[1].split("@")[0],
        endpoints=() if state is DocState.DELETED else (Endpoint(uri, status="connected"),),
    )


def conference_info_body(
    focus: str, state: DocState, version: int, users: tuple[User, ...]
) -> bytes:
    return build_conference_info(
        ConferenceInfo(entity=focus, state=state, version=version, users=users)
    )


async def msrp_group_session(tc: Tc) -> tuple[ClientEmulator, OriginatingSession, CfSession]:
    """Client -> PF -> CF group session with MSRP on both legs."""
    pixit, guards = tc.pixit, tc.guards
    cf = await tc.cf()
    client = await tc.client(pixit.users[0].uri, 0)
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


async def next_notify_request(client: ClientEmulator, within: float) -> SipRequest | None:
    try:
        incoming = await client.expect_request("NOTIFY", within=within)
    except WaitTimeout:
        return None
    incoming.respond(200)
    return incoming.request


__all__ = [
    "CONFERENCE_INFO",
    "conference_info_body",
    "conference_user",
    "msrp_group_session",
    "next_notify_request",
]
