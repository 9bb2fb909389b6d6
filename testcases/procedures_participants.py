"""Preambles of the participant-information test cases (seed 003 8.2.3): an originating
group session through the PF, accepted by the CF emulator, up to the PF's own SUBSCRIBE.

A procedure drives the role emulators; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.fixtures.network import ClientFactory, Guards
from conformance.testcases.procedures import OriginatingSession, send_group_invite

from conformance.catalog.profile import Pixit
from conformance.checks import inconclusive
from conformance.net.clock import WaitTimeout
from conformance.protocol.sip.message import SipResponse
from conformance.roles.cf import CfEmulator, CfSession, IncomingSubscribe
from conformance.roles.client import ClientEmulator


@dataclass
class FocusSession:
    """A group session the PF originated, and (when it came) the PF's SUBSCRIBE."""

    client: ClientEmulator
    session: OriginatingSession
    cf_session: CfSession
    answer: SipResponse
    subscribe: IncomingSubscribe | None


async def group_session_with_subscription(
    client_factory: ClientFactory,
    cf: CfEmulator,
    pixit: Pixit,
    guards: Guards,
    *,
    user: str | None = None,
    instance: int = 0,
    ids: tuple[str, str] | None = None,
    focus: str | None = None,
) -> FocusSession:
    """Client -> PF -> CF group INVITE, the CF accepts with an isfocus Contact, the client
    ACKs; then the PF's SUBSCRIBE to the focus (``None`` when none came in time).
    ``ids`` re-uses a conversation (a re-join), ``focus`` the CF's focus URI."""
    client = await client_factory(user or pixit.users[0].uri, instance)
    session = await send_group_invite(client, pixit, ids=ids)
    incoming = await cf.expect_invite(within=guards.sip, conversation_id=session.conversation_id)
    cf_session = await incoming.accept(focus_uri=focus)
    answer = await session.handle.final(within=guards.sip)
    if answer.status != 200:
        inconclusive(f"the group session was not established ({answer.status})")
    await session.handle.ack()
    try:
        subscribe: IncomingSubscribe | None = await cf.expect_subscribe(within=guards.sip)
    except WaitTimeout:
        subscribe = None
    return FocusSession(client, session, cf_session, answer, subscribe)


async def subscribed(
    client_factory: ClientFactory, cf: CfEmulator, pixit: Pixit, guards: Guards, **kw: object
) -> tuple[FocusSession, IncomingSubscribe]:
    """As :func:`group_session_with_subscription`, inconc without the PF's SUBSCRIBE."""
    fs = await group_session_with_subscription(
        client_factory,
        cf,
        pixit,
        guards,
        **kw,  # type: ignore[arg-type]
    )
    if fs.subscribe is None:
        inconclusive("the PF sent no SUBSCRIBE to the focus")
    return fs, fs.subscribe


__all__ = ["FocusSession", "group_session_with_subscription", "subscribed"]
