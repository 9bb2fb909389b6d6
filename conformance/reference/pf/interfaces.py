"""The small interfaces the features of the reference PF see of each other.

A feature depends on :class:`~.core.PfCore` and on these protocols, never on another
feature's module; :mod:`.service` wires the features together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol

from conformance.documents.conference_info import ConferenceInfo
from conformance.net.sip_pump import IncomingRequest
from conformance.reference.pf.model import (
    SUBSCRIBE_EXPIRES,
    B2buaSession,
    ClientSubscription,
    FocusSubscription,
    Fork,
    SipLeg,
    TerminatingState,
)


class SessionEnd(Protocol):
    """Ends a B2BUA session: BYE on every leg but ``by``, the session forgotten."""

    def end(self, session: B2buaSession, by: SipLeg | None) -> None: ...


class InviteHandler(Protocol):
    """Handles an out-of-dialog INVITE as the PF's dispatch does (8.2.1 / 8.3.2)."""

    def on_invite(self, incoming: IncomingRequest) -> None: ...


class OwnSubscriptions(Protocol):
    """The PF's own subscriptions to a focus (8.2.3), one per user and focus."""

    def active(self, user: str, focus: str) -> FocusSubscription | None: ...

    def refresh(self, sub: FocusSubscription, expires: int = SUBSCRIBE_EXPIRES) -> None: ...


class FocusSubscriber(OwnSubscriptions, Protocol):
    """Starts and finds the PF's own subscriptions (8.2.1 200 OK 9, 8.3.2 200 OK 3,
    8.3.2.9)."""

    def after_ok(
        self, session: B2buaSession, focus: str | None, *, reuse: bool = False
    ) -> None: ...

    async def held(self, user: str, focus: str) -> FocusSubscription | None: ...

    def current(self, user: str, focus: str) -> FocusSubscription | None: ...

    def await_client_notify(self, user: str) -> asyncio.Event: ...

    def hold_client_notifies(self, user: str, until: asyncio.Event) -> None: ...

    def subscribe_to_focus(
        self,
        user: str,
        focus: str,
        conversation_id: str,
        contribution_id: str,
        target: str | None = None,
    ) -> Coroutine[Any, Any, FocusSubscription | None]: ...


class ParticipantState(Protocol):
    """What conference-info over MSRP (8.6 step 2.b) reads and writes of the participant
    information."""

    def focus_of_session(self, session: B2buaSession) -> str | None: ...

    def session_for(self, user: str, focus: str) -> B2buaSession | None: ...

    def keep(self, user: str, focus: str, view: ConferenceInfo) -> None: ...

    def subscribed_clients(self, user: str, focus: str) -> list[ClientSubscription]: ...

    def notify_client(self, client: ClientSubscription, body: bytes, state: str) -> None: ...


class ConferenceInfoSends(Protocol):
    """8.6 step 2.b: a conference-info SEND of the CF; the client legs not relayed to."""

    def on_send(
        self,
        session: B2buaSession,
        sender: SipLeg,
        content_type: str | None,
        body: bytes,
        clients: list[SipLeg],
    ) -> list[SipLeg]: ...


class DeferredTriggers(Protocol):
    """The 8.3.2.9 triggers the terminating side reports."""

    def on_invite_timeout(
        self, session: B2buaSession, state: TerminatingState, fork: Fork
    ) -> bool: ...

    def on_msrp_setup_failed(self, session: B2buaSession, leg: SipLeg) -> None: ...


__all__ = [
    "ConferenceInfoSends",
    "DeferredTriggers",
    "FocusSubscriber",
    "InviteHandler",
    "OwnSubscriptions",
    "ParticipantState",
    "SessionEnd",
]
