"""Preambles of the participant-information test cases (seed 003 8.2.3): an originating
group session through the PF, accepted by the CF emulator, up to the PF's own SUBSCRIBE.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks import inconclusive
from conformance.fixtures.case import Tc
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.message import SipResponse
from conformance.roles.cf import CfSession, IncomingSubscribe
from conformance.roles.client import ClientEmulator
from conformance.testcases.procedures.sessions import (
    GroupInvite,
    OriginatingSession,
    send_group_invite,
)


@dataclass
class FocusSession:
    """A group session the PF originated, and (when it came) the PF's SUBSCRIBE."""

    client: ClientEmulator
    session: OriginatingSession
    cf_session: CfSession
    answer: SipResponse
    subscribe: IncomingSubscribe | None


async def group_session_with_subscription(
    tc: Tc,
    *,
    user: str | None = None,
    instance: int = 0,
    ids: tuple[str, str] | None = None,
    focus: str | None = None,
) -> FocusSession:
    """Client -> PF -> CF group INVITE, the CF accepts with an isfocus Contact, the client
    ACKs; then the PF's SUBSCRIBE to the focus (``None`` when none came in time).
    ``ids`` re-uses a conversation (a re-join), ``focus`` the CF's focus URI."""
    cf = await tc.cf()
    client = await tc.client(user or tc.pixit.users[0].uri, instance)
    session = await send_group_invite(client, tc.pixit, GroupInvite(ids=ids))
    incoming = await cf.expect_invite(within=tc.guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept(focus_uri=focus)
    answer = await session.handle.final(within=tc.guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    try:
        subscribe: IncomingSubscribe | None = await cf.expect_subscribe(within=tc.guards.sip)
    except WaitTimeout:
        subscribe = None
    return FocusSession(client, session, cf_session, answer, subscribe)


async def subscribed(
    tc: Tc,
    *,
    user: str | None = None,
    instance: int = 0,
    ids: tuple[str, str] | None = None,
    focus: str | None = None,
) -> tuple[FocusSession, IncomingSubscribe]:
    """As :func:`group_session_with_subscription`, inconc without the PF's SUBSCRIBE."""
    fs = await group_session_with_subscription(
        tc, user=user, instance=instance, ids=ids, focus=focus
    )
    if fs.subscribe is None:
        inconclusive("the PF sent no SUBSCRIBE to the focus")
    return fs, fs.subscribe


__all__ = ["FocusSession", "group_session_with_subscription", "subscribed"]
