"""Procedures the client test cases share: the PF invites the client, delivers, observes.

A procedure drives the PF emulator; it holds no judgement: checks stay in the test case.
"""

from __future__ import annotations

import asyncio
import contextlib

from conformance.catalog.profile import Pixit
from conformance.documents.cpim import CpimMessage, parse_cpim
from conformance.errors import DocumentError
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.msrp.session import MessageReceived
from conformance.roles.pf import GroupSession, InviteKind, PfEmulator, PfInvite
from conformance.roles.upper_tester import UpperTester, UpperTesterResult


def client_user(pixit: Pixit) -> str:
    """The user of the client under test: the first of the profile's users."""
    return pixit.users[0].uri


def others(pixit: Pixit) -> tuple[str, ...]:
    """The other users of the profile (the group's participants besides the client)."""
    found = tuple(u.uri for u in pixit.users[1:])
    return found or ("sip:alice@example.invalid", "sip:carol@example.invalid")


async def joined_session(
    pf: PfEmulator, pixit: Pixit, *, within: float, keep: bool = False
) -> tuple[GroupSession, PfInvite]:
    """A group invitation the client accepts (it learns the session's ids and focus); its
    conference SUBSCRIBE is answered 200. Unless ``keep``, the session then ends (BYE):
    the client is no longer connected, as before a deferred delivery."""
    session = pf.new_session(others(pixit)[:2])
    invite = await pf.invite(InviteKind.GROUP, session)
    response = await invite.final(within)
    if response.status != 200:
        return session, invite
    await invite.ack()
    with contextlib.suppress(WaitTimeout):
        await invite.establish_msrp(within=within)
    with contextlib.suppress(WaitTimeout):
        subscribe = await expect_at(pf, "SUBSCRIBE", session.focus, within=within)
        subscribe.respond(200, headers=[("Expires", "600")])
    if not keep:
        bye = await invite.bye()
        with contextlib.suppress(WaitTimeout):
            await bye.final(within)
    return session, invite


async def delivered(pf: PfEmulator, invite: PfInvite, *, within: float) -> bool:
    """ACK the 2xx and await the MSRP connection; False when none came in time."""
    await invite.ack()
    try:
        await invite.establish_msrp(within=within)
    except WaitTimeout:
        return False
    return True


async def expect_at(
    pf: PfEmulator, method: str, target: str | None = None, *, within: float
) -> IncomingRequest:
    """The next out-of-dialog ``method`` the client sent (to ``target`` when given)."""

    def match(item: IncomingRequest) -> bool:
        if ";tag=" in (item.request.headers.get("To") or ""):
            return False
        return target is None or target.split(":", 1)[-1] in item.request.uri

    return await pf.expect_request(method, within=within, match=match)


async def absent(
    pf: PfEmulator, method: str, target: str | None, *, within: float
) -> IncomingRequest | None:
    """``None`` when the client sent no ``method`` (to ``target``) within the window."""
    try:
        return await expect_at(pf, method, target, within=within)
    except WaitTimeout:
        return None


def user_sends(
    upper_tester: UpperTester, pixit: Pixit, text: str, session: GroupSession
) -> asyncio.Task[UpperTesterResult]:
    """The user sends ``text`` in ``session`` (upper tester ``send-message``), started in
    the background: a SUT may answer the action only once its re-join INVITE is answered,
    which the test does meanwhile. Await the task (bounded) to learn the action's result."""
    return asyncio.ensure_future(
        upper_tester.send_message(client_user(pixit), text, conversation_id=session.conversation_id)
    )


async def finished(task: asyncio.Task[UpperTesterResult], *, within: float) -> None:
    """The background action's end (its failure, e.g. inconc, is raised here)."""
    await asyncio.wait_for(task, within)


def _cpim(event: MessageReceived) -> CpimMessage | None:
    if not event.body or "cpim" not in (event.content_type or "").lower():
        return None
    with contextlib.suppress(DocumentError):
        return parse_cpim(event.body)
    return None


async def msrp_cpim(
    invite: PfInvite, inner_type: str, *, within: float
) -> tuple[MessageReceived, CpimMessage] | None:
    """The first CPIM message of ``inner_type`` the client sent in the session."""
    channel = invite.msrp.channel
    if channel is None:
        return None

    def match(event: MessageReceived) -> bool:
        cpim = _cpim(event)
        return cpim is not None and (cpim.content_type or "").lower().startswith(inner_type)

    try:
        event = await channel.expect(MessageReceived, within=within, match=match)
    except WaitTimeout:
        return None
    cpim = _cpim(event)
    return (event, cpim) if cpim is not None else None


__all__ = [
    "absent",
    "client_user",
    "delivered",
    "expect_at",
    "finished",
    "joined_session",
    "msrp_cpim",
    "others",
    "user_sends",
]
