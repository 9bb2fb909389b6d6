"""The state of the reference PF: its legs, B2BUA sessions, the forks of a terminating
session and the subscriptions to a focus; plain data, owned by :class:`.core.SessionTable`
(the sessions) and by the feature that creates it (the rest).

A B2BUA session moves through :class:`SessionPhase` by :data:`SESSION_PHASES`, a transition
table stepped with :func:`conformance.protocol.fsm.step`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from enum import Enum

from conformance.documents.conference_info import ConferenceInfo, ConferenceState
from conformance.net.msrp_pump import MsrpChannel
from conformance.net.sip_pump import ClientTransactionHandle
from conformance.protocol.fsm import step
from conformance.protocol.msrp.session import MsrpSession
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.message import SipRequest
from conformance.reference.pf.registrations import Binding

#: Expires of the PF's own subscription to a focus (RFC 4575 default range)
SUBSCRIBE_EXPIRES = 3600
#: seed 003 8.3.2 "603" step 2: the Reason of the BYE towards the CF
DECLINE_REASON = 'SIP;cause=200;text="Call completed"'


class SessionKind(Enum):
    """Which side of seed 003 the PF plays in a B2BUA session."""

    #: 8.2.1 step 4: the served user invited; ``client`` is its leg, ``core`` the far end
    ORIGINATING = "originating"
    #: 8.3.2 step 8: the served user is invited; ``client`` is the incoming (CF) leg,
    #: ``core`` the answering client's; the PF ACKs the client itself
    TERMINATING = "terminating"


class SessionPhase(Enum):
    """Where a B2BUA session is (RFC 3261 13.3.1.4 for the ACK; seed 003 8.3.2 "603")."""

    #: the 200 OK towards the incoming leg is out, its ACK is awaited
    AWAITING_ACK = "awaiting-ack"
    #: the incoming leg ACKed the 200 OK
    CONFIRMED = "confirmed"
    #: 8.3.2 "603": the user declined; the session is being ended
    DECLINED = "declined"
    #: every leg is ended (or handed over) and the session forgotten
    ENDED = "ended"


#: (phase, event) -> next phase; events: ``ack``, ``decline``, ``end``
SESSION_PHASES: dict[tuple[SessionPhase, str], SessionPhase] = {
    (SessionPhase.AWAITING_ACK, "ack"): SessionPhase.CONFIRMED,
    (SessionPhase.AWAITING_ACK, "decline"): SessionPhase.DECLINED,
    (SessionPhase.CONFIRMED, "decline"): SessionPhase.DECLINED,
    (SessionPhase.AWAITING_ACK, "end"): SessionPhase.ENDED,
    (SessionPhase.CONFIRMED, "end"): SessionPhase.ENDED,
    (SessionPhase.DECLINED, "end"): SessionPhase.ENDED,
}


@dataclass(eq=False)
class MsrpLeg:
    """One MSRP session of the PF: its own URI and the peer's path."""

    local_uri: str
    remote_path: tuple[str, ...] = ()
    channel: MsrpChannel | None = None
    #: the peer's a=max-size (8.6 step 1: the chunk size limit towards it)
    max_size: int | None = None
    _session: MsrpSession | None = field(default=None, repr=False)
    #: set while ``session`` is bound (waited on, never polled)
    _bound: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def session(self) -> MsrpSession | None:
        """The bound MSRP session (None until the peer's connection carries it)."""
        return self._session

    @session.setter
    def session(self, value: MsrpSession | None) -> None:
        self._session = value
        if value is None:
            self._bound.clear()
        else:
            self._bound.set()

    async def bound(self, within: float) -> bool:
        """Whether the session is bound, waiting up to ``within`` seconds for it."""
        if self._session is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._bound.wait(), within)
        return self._session is not None


@dataclass(eq=False)
class SipLeg:
    """One SIP dialog of a B2BUA session with its MSRP session."""

    name: str
    msrp: MsrpLeg
    dialog: Dialog | None = None


@dataclass(eq=False)
class Fork:
    """One INVITE of the terminating B2BUA towards a client (8.3.2 8.c-8.e)."""

    binding: Binding
    leg: SipLeg
    sid: str
    invite: SipRequest
    handle: ClientTransactionHandle | None = None
    #: set once the fork is over: its INVITE's outcome and what the PF does after it
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


@dataclass(eq=False)
class TerminatingState:
    """The forks of a terminating B2BUA session and the one that answered first."""

    user: str
    forks: list[Fork] = field(default_factory=list)
    answered: Fork | None = None


@dataclass(eq=False)
class B2buaSession:
    """A CPM session the PF is in the media path of (8.2.1 step 4, 8.3.2 step 8)."""

    id: str
    user: str
    client_request: SipRequest
    client: SipLeg
    core: SipLeg
    core_invite: SipRequest
    extra: list[SipLeg] = field(default_factory=list)
    ack_guard: asyncio.TimerHandle | None = None
    kind: SessionKind = SessionKind.ORIGINATING
    phase: SessionPhase = SessionPhase.AWAITING_ACK
    #: the forks of a terminating session (None for an originating one)
    forks: TerminatingState | None = None
    #: 8.6 step 2.a.i.1: the client the user chose by its first message (single-client
    #: policy), None before; a fork that answers afterwards is released at once
    chosen: SipLeg | None = None

    @property
    def legs(self) -> list[SipLeg]:
        return [self.client, self.core, *self.extra]

    @property
    def terminating(self) -> bool:
        return self.kind is SessionKind.TERMINATING

    @property
    def user_leg(self) -> SipLeg:
        """The served user's own leg: the client's (originating) or the answering
        client's (terminating)."""
        return self.core if self.terminating else self.client

    @property
    def awaiting_ack(self) -> bool:
        return self.phase is SessionPhase.AWAITING_ACK

    @property
    def ended(self) -> bool:
        return self.phase is SessionPhase.ENDED

    @property
    def declined(self) -> bool:
        return self.phase is SessionPhase.DECLINED

    def step(self, event: str) -> None:
        """Move by :data:`SESSION_PHASES`; an event the phase lacks is our own misuse."""
        self.phase = step(SESSION_PHASES, self.phase, event, f"session {self.id}")

    def acked(self) -> bool:
        """The incoming leg's ACK: True when it confirms the session (the first one)."""
        if self.phase is not SessionPhase.AWAITING_ACK:
            return False
        self.step("ack")
        return True

    def decline(self) -> None:
        """8.3.2 "603" (a no-op once the session ended)."""
        if self.phase in (SessionPhase.AWAITING_ACK, SessionPhase.CONFIRMED):
            self.step("decline")

    def end(self) -> bool:
        """End the session: True the first time, False when it had already ended."""
        if self.ended:
            return False
        self.step("end")
        if self.ack_guard is not None:
            self.ack_guard.cancel()
            self.ack_guard = None
        return True


@dataclass(eq=False)
class ClientSubscription:
    """A client's conference subscription the PF serves as a B2BUA (8.2.3)."""

    dialog: Dialog
    source: object
    expires: int
    #: the subscribing user (a deferred delivery may hold its NOTIFYs back)
    user: str = ""


@dataclass(eq=False)
class FocusSubscription:
    """The PF's own subscription to a focus for one user (8.2.3 items 1-9)."""

    user: str
    focus: str
    conversation_id: str
    contribution_id: str
    request: SipRequest
    dialog: Dialog | None = None
    state: ConferenceState = field(default_factory=ConferenceState)
    clients: list[ClientSubscription] = field(default_factory=list)
    refresh: asyncio.TimerHandle | None = None
    ended: bool = False
    #: the reason of the focus's terminating NOTIFY (RFC 6665 4.1.3); None while the focus
    #: has not ended the subscription
    terminated_reason: str | None = None
    #: the user left while the SUBSCRIBE was pending: end it once the dialog exists
    end_when_ready: bool = False
    #: set once the initial SUBSCRIBE has its outcome (the dialog, or the failure)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    #: the coherent state after each NOTIFY, with the NOTIFY's arrival time (the latest
    #: few): the participants at a given moment (deferred delivery, 5.2.3.5 CPIM To)
    history: list[tuple[float, ConferenceInfo]] = field(default_factory=list)


__all__ = [
    "DECLINE_REASON",
    "SESSION_PHASES",
    "SUBSCRIBE_EXPIRES",
    "B2buaSession",
    "ClientSubscription",
    "FocusSubscription",
    "Fork",
    "MsrpLeg",
    "SessionKind",
    "SessionPhase",
    "SipLeg",
    "TerminatingState",
]
