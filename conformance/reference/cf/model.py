"""What the reference CF knows of its group sessions: the sessions, their participants and
the ``conference`` subscriptions to their focus."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum

from conformance.documents.conference_info import DisconnectionMethod, EndpointStatus
from conformance.net.msrp_pump import MsrpChannel
from conformance.protocol.msrp.codec import MsrpRequest
from conformance.protocol.msrp.session import MsrpSession
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.subscription import Notifier

#: the event package the CF serves (RFC 4575)
EVENT_PACKAGE = "conference"
#: the CF's Allow header (RFC 3261 20.5)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, SUBSCRIBE, NOTIFY"
#: the accept-types of the CF's MSRP offers and answers (RFC 4975 8.6)
ACCEPT_TYPES = ("message/cpim", "text/plain")
#: how many relayed messages a session remembers for an orderly end (see GroupSession)
RELAYING_KEPT = 64


class SessionState(Enum):
    """A group session: ACTIVE while a participant is connected; INACTIVE keeps the
    identity so that an INVITE to the focus re-starts it (long-lived group session)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(eq=False)
class Participant:
    """One participant of a group session (one RFC 4575 ``<user>`` with one endpoint)."""

    uri: str
    dialog: Dialog | None = None
    contact: str = ""
    status: EndpointStatus = EndpointStatus.CONNECTED
    disconnection: DisconnectionMethod | None = None
    #: our MSRP URI for this participant, and its path (from its SDP offer)
    local_msrp: str = ""
    remote_path: tuple[str, ...] = ()
    channel: MsrpChannel | None = None
    msrp_session: MsrpSession | None = None
    #: whether it sent an MSRP message of its own (fault cf.idle-participant-dropped)
    has_sent: bool = False

    @property
    def connected(self) -> bool:
        return self.status is EndpointStatus.CONNECTED


@dataclass(eq=False)
class ConferenceSubscription:
    """One ``conference`` subscription to a focus (RFC 6665 notifier side)."""

    subscriber: str
    notifier: Notifier
    dialog: Dialog
    version: int = 0
    outbox: asyncio.Queue[tuple[bool, bytes]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    expiry: asyncio.TimerHandle | None = None


@dataclass(eq=False)
class GroupSession:
    """The CF's state of one group session."""

    id: str
    focus_uri: str
    conversation_id: str | None
    contribution_id: str | None
    subject: str | None
    recipients: tuple[str, ...]
    state: SessionState = SessionState.ACTIVE
    participants: dict[str, Participant] = field(default_factory=dict)
    subscriptions: list[ConferenceSubscription] = field(default_factory=list)
    inactivity: asyncio.TimerHandle | None = None
    #: the last chunk of each message relayed to a participant, whose response is awaited
    #: before the session is ended on request (bounded: the oldest are answered long since)
    relaying: list[tuple[MsrpChannel, MsrpRequest]] = field(default_factory=list)

    @property
    def connected(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.connected]


__all__ = [
    "ACCEPT_TYPES",
    "ALLOW",
    "EVENT_PACKAGE",
    "RELAYING_KEPT",
    "ConferenceSubscription",
    "GroupSession",
    "Participant",
    "SessionState",
]
