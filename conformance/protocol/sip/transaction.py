"""SIP transactions (RFC 3261 17, with the Accepted state of RFC 6026), sans-IO.

Each of the four transaction kinds is a transition table over its state enum:

``(state, Stimulus) -> Transition(target state, effects)``

An effect is an :class:`Action` (send, pass to the TU, report) or a :class:`TimerOp`
(start or back off a timer). Entering a state cancels every timer that is not alive in
that state (``*_ALIVE`` maps). The tables follow the convention of
:mod:`conformance.protocol.fsm`: a stimulus from the TU, a timer or the transport is
:attr:`~conformance.protocol.fsm.Origin.LOCAL` (a pair missing from the table is a
:class:`LocalProtocolError`, for example a second final response), one from the network is
:attr:`~conformance.protocol.fsm.Origin.PEER` (a missing pair becomes an
:attr:`Action.VIOLATION` output, which the layer reports as a ``ProtocolViolation``
event). What RFC 3261 ignores (a transport error once the final response is handled, say)
has an explicit entry without effects.

The transaction objects never see sockets or clocks: they take ``now`` and return
:class:`Output` records that :class:`conformance.protocol.sip.layer.TransactionLayer`
turns into bytes and events.

Deviation from RFC 3261, on purpose: a 2xx does not terminate an INVITE transaction at
once. RFC 6026 (which updates RFC 3261) adds the Accepted state on both sides so that a
retransmitted INVITE is absorbed instead of becoming a new request (server, Timer L) and a
retransmitted 2xx is passed to the TU so it can re-send its ACK (client, Timer M).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeAlias

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.sip.message import (
    SipMessage,
    SipRequest,
    SipResponse,
    build_request,
    split_list,
)
from conformance.protocol.sip.timers import Address, Timers

# ---------------------------------------------------------------------------------------
# Minimal header helpers (interim: the typed accessors live in headers.py)
# ---------------------------------------------------------------------------------------

_SLASH_LWS = re.compile(r"\s*/\s*")


@dataclass(frozen=True, slots=True)
class ViaInfo:
    """The parts of one Via value the transaction layer needs (RFC 3261 20.42)."""

    protocol: str
    """``SIP/2.0/UDP``"""
    sent_by: str
    """``host[:port]``, host lower-cased"""
    params: Mapping[str, str | None]
    """parameter names lower-cased; a flag parameter maps to ``None``"""
    value: str
    """the whole Via value as received"""

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def transport(self) -> str:
        return self.protocol.rsplit("/", 1)[-1].upper()


def parse_via(value: str) -> ViaInfo:
    """Parse one Via element; RemoteProtocolError when it has no protocol or sent-by."""
    head, *param_parts = value.split(";")
    head = _SLASH_LWS.sub("/", head.strip())
    protocol, _, sent_by = head.partition(" ")
    sent_by = "".join(sent_by.split())
    if not sent_by or protocol.count("/") != 2 or not protocol.upper().startswith("SIP/"):
        raise RemoteProtocolError(f"invalid Via {value!r}")
    params: dict[str, str | None] = {}
    for part in param_parts:
        name, eq, val = part.strip().partition("=")
        if name:
            params[name.strip().lower()] = val.strip() if eq else None
    return ViaInfo(protocol=protocol, sent_by=_norm_sent_by(sent_by), params=params, value=value)


def _norm_sent_by(sent_by: str) -> str:
    if sent_by.startswith("["):
        end = sent_by.find("]")
        return sent_by[: end + 1].lower() + sent_by[end + 1 :]
    host, colon, port = sent_by.partition(":")
    return host.lower() + colon + port


def top_via(message: SipMessage) -> ViaInfo:
    """The topmost Via; RemoteProtocolError when there is none."""
    values = message.headers.values("Via")
    if not values:
        raise RemoteProtocolError("message without Via", raw=message.raw)
    return parse_via(values[0])


def header_param(value: str, name: str) -> str | None:
    """A header parameter of a name-addr/addr-spec value (e.g. ``tag`` of From/To).

    Parameters inside ``<...>`` belong to the URI and are skipped. Returns ``None`` when
    absent, ``""`` for a flag parameter.
    """
    close = value.rfind(">")
    tail = value[close + 1 :] if close >= 0 else value.partition(";")[2]
    for part in split_list(tail, ";"):
        key, eq, val = part.partition("=")
        if key.strip().lower() == name.lower():
            return val.strip().strip('"') if eq else ""
    return None


def tag_of(message: SipMessage, header: str) -> str | None:
    """The ``tag`` parameter of From or To."""
    value = message.headers.get(header)
    return None if value is None else header_param(value, "tag")


# ---------------------------------------------------------------------------------------
# States, stimuli, effects
# ---------------------------------------------------------------------------------------


class InviteClientState(Enum):
    """RFC 3261 17.1.1.2 figure 5; Accepted from RFC 6026 7.2 figure 5."""

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class NonInviteClientState(Enum):
    """RFC 3261 17.1.2.2 figure 6."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class InviteServerState(Enum):
    """RFC 3261 17.2.1 figure 7; Accepted from RFC 6026 7.1 figure 7."""

    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class NonInviteServerState(Enum):
    """RFC 3261 17.2.2 figure 8."""

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


TransactionState: TypeAlias = (
    InviteClientState | NonInviteClientState | InviteServerState | NonInviteServerState
)


class Stimulus(Enum):
    """What drives a transaction (RFC 3261 17): network input, TU input, timers."""

    R1XX = "1xx from network"
    R2XX = "2xx from network"
    R3XX_6XX = "300-699 from network"
    REQUEST = "request retransmission from network"
    ACK = "ACK from network"
    TU_1XX = "1xx from TU"
    TU_2XX = "2xx from TU"
    TU_3XX_6XX = "300-699 from TU"
    TIMER_A = "A"
    TIMER_B = "B"
    TIMER_D = "D"
    TIMER_E = "E"
    TIMER_F = "F"
    TIMER_G = "G"
    TIMER_H = "H"
    TIMER_I = "I"
    TIMER_J = "J"
    TIMER_K = "K"
    TIMER_L = "L"
    TIMER_M = "M"
    TRANSPORT_ERROR = "transport error"

    @property
    def from_tu(self) -> bool:
        return self in (Stimulus.TU_1XX, Stimulus.TU_2XX, Stimulus.TU_3XX_6XX)

    @property
    def origin(self) -> Origin:
        """PEER for a message from the network, LOCAL for the TU, a timer or the transport."""
        return Origin.PEER if self in _NETWORK_STIMULI else Origin.LOCAL


_NETWORK_STIMULI = frozenset(
    {Stimulus.R1XX, Stimulus.R2XX, Stimulus.R3XX_6XX, Stimulus.REQUEST, Stimulus.ACK}
)


class Action(Enum):
    """Effects of a transition (besides timers)."""

    SEND_REQUEST = "pass the request to the transport (first send or retransmission)"
    SEND_ACK = "send the ACK for a non-2xx final response (17.1.1.3)"
    SEND_RESPONSE = "pass the TU's response to the transport and remember it"
    RESEND_RESPONSE = "retransmit the most recent response, if any"
    TO_TU = "pass the received message to the TU"
    ABSORB = "report a retransmission absorbed by the transaction"
    TIMEOUT = "inform the TU of a timeout"
    TRANSPORT_FAILURE = "inform the TU of a transport error"
    VIOLATION = "report a message from the network that no transition accepts"


class TimerMode(Enum):
    START = "start with the initial value"
    BACKOFF = "double the interval (capped at T2 for E and G)"
    T2 = "restart with T2"


@dataclass(frozen=True, slots=True)
class TimerOp:
    timer: str
    mode: TimerMode = TimerMode.START


Effect: TypeAlias = Action | TimerOp


@dataclass(frozen=True, slots=True)
class Transition:
    target: TransactionState
    effects: tuple[Effect, ...] = ()


def _t(target: TransactionState, *effects: Effect) -> Transition:
    return Transition(target, effects)


_S = Stimulus
_A = Action
_ICS = InviteClientState
_NCS = NonInviteClientState
_ISS = InviteServerState
_NSS = NonInviteServerState


def _start(name: str) -> TimerOp:
    return TimerOp(name, TimerMode.START)


INVITE_CLIENT_TABLE: dict[tuple[InviteClientState, Stimulus], Transition] = {
    (_ICS.CALLING, _S.TIMER_A): _t(_ICS.CALLING, _A.SEND_REQUEST, TimerOp("A", TimerMode.BACKOFF)),
    (_ICS.CALLING, _S.TIMER_B): _t(_ICS.TERMINATED, _A.TIMEOUT),
    (_ICS.CALLING, _S.TRANSPORT_ERROR): _t(_ICS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_ICS.CALLING, _S.R1XX): _t(_ICS.PROCEEDING, _A.TO_TU),
    (_ICS.CALLING, _S.R2XX): _t(_ICS.ACCEPTED, _A.TO_TU, _start("M")),
    (_ICS.CALLING, _S.R3XX_6XX): _t(_ICS.COMPLETED, _A.SEND_ACK, _A.TO_TU, _start("D")),
    (_ICS.PROCEEDING, _S.R1XX): _t(_ICS.PROCEEDING, _A.TO_TU),
    (_ICS.PROCEEDING, _S.R2XX): _t(_ICS.ACCEPTED, _A.TO_TU, _start("M")),
    (_ICS.PROCEEDING, _S.R3XX_6XX): _t(_ICS.COMPLETED, _A.SEND_ACK, _A.TO_TU, _start("D")),
    (_ICS.PROCEEDING, _S.TRANSPORT_ERROR): _t(_ICS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_ICS.COMPLETED, _S.R1XX): _t(_ICS.COMPLETED, _A.ABSORB),
    (_ICS.COMPLETED, _S.R2XX): _t(_ICS.COMPLETED, _A.ABSORB),
    (_ICS.COMPLETED, _S.R3XX_6XX): _t(_ICS.COMPLETED, _A.SEND_ACK, _A.ABSORB),
    (_ICS.COMPLETED, _S.TRANSPORT_ERROR): _t(_ICS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_ICS.COMPLETED, _S.TIMER_D): _t(_ICS.TERMINATED),
    (_ICS.ACCEPTED, _S.R1XX): _t(_ICS.ACCEPTED, _A.ABSORB),
    (_ICS.ACCEPTED, _S.R2XX): _t(_ICS.ACCEPTED, _A.TO_TU),  # RFC 6026 7.2: TU re-ACKs
    (_ICS.ACCEPTED, _S.R3XX_6XX): _t(_ICS.ACCEPTED, _A.ABSORB),
    (_ICS.ACCEPTED, _S.TIMER_M): _t(_ICS.TERMINATED),
    (_ICS.ACCEPTED, _S.TRANSPORT_ERROR): _t(_ICS.ACCEPTED),  # ignored: the 2xx is the TU's
}

_NON_INVITE_FINALS = (_S.R2XX, _S.R3XX_6XX)

NON_INVITE_CLIENT_TABLE: dict[tuple[NonInviteClientState, Stimulus], Transition] = {
    (_NCS.TRYING, _S.TIMER_E): _t(_NCS.TRYING, _A.SEND_REQUEST, TimerOp("E", TimerMode.BACKOFF)),
    (_NCS.TRYING, _S.TIMER_F): _t(_NCS.TERMINATED, _A.TIMEOUT),
    (_NCS.TRYING, _S.TRANSPORT_ERROR): _t(_NCS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_NCS.TRYING, _S.R1XX): _t(_NCS.PROCEEDING, _A.TO_TU),
    **{(_NCS.TRYING, s): _t(_NCS.COMPLETED, _A.TO_TU, _start("K")) for s in _NON_INVITE_FINALS},
    (_NCS.PROCEEDING, _S.TIMER_E): _t(_NCS.PROCEEDING, _A.SEND_REQUEST, TimerOp("E", TimerMode.T2)),
    (_NCS.PROCEEDING, _S.TIMER_F): _t(_NCS.TERMINATED, _A.TIMEOUT),
    (_NCS.PROCEEDING, _S.TRANSPORT_ERROR): _t(_NCS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_NCS.PROCEEDING, _S.R1XX): _t(_NCS.PROCEEDING, _A.TO_TU),
    **{(_NCS.PROCEEDING, s): _t(_NCS.COMPLETED, _A.TO_TU, _start("K")) for s in _NON_INVITE_FINALS},
    **{(_NCS.COMPLETED, s): _t(_NCS.COMPLETED, _A.ABSORB) for s in (_S.R1XX, *_NON_INVITE_FINALS)},
    (_NCS.COMPLETED, _S.TIMER_K): _t(_NCS.TERMINATED),
    (_NCS.COMPLETED, _S.TRANSPORT_ERROR): _t(_NCS.COMPLETED),  # ignored: nothing left to send
}

INVITE_SERVER_TABLE: dict[tuple[InviteServerState, Stimulus], Transition] = {
    (_ISS.PROCEEDING, _S.REQUEST): _t(_ISS.PROCEEDING, _A.RESEND_RESPONSE, _A.ABSORB),
    (_ISS.PROCEEDING, _S.ACK): _t(_ISS.PROCEEDING, _A.ABSORB),
    (_ISS.PROCEEDING, _S.TU_1XX): _t(_ISS.PROCEEDING, _A.SEND_RESPONSE),
    (_ISS.PROCEEDING, _S.TU_2XX): _t(_ISS.ACCEPTED, _A.SEND_RESPONSE, _start("L")),
    (_ISS.PROCEEDING, _S.TU_3XX_6XX): _t(
        _ISS.COMPLETED, _A.SEND_RESPONSE, _start("G"), _start("H")
    ),
    (_ISS.PROCEEDING, _S.TRANSPORT_ERROR): _t(_ISS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_ISS.COMPLETED, _S.REQUEST): _t(_ISS.COMPLETED, _A.RESEND_RESPONSE, _A.ABSORB),
    (_ISS.COMPLETED, _S.TIMER_G): _t(
        _ISS.COMPLETED, _A.RESEND_RESPONSE, TimerOp("G", TimerMode.BACKOFF)
    ),
    (_ISS.COMPLETED, _S.TIMER_H): _t(_ISS.TERMINATED, _A.TIMEOUT),
    (_ISS.COMPLETED, _S.ACK): _t(_ISS.CONFIRMED, _A.TO_TU, _start("I")),
    (_ISS.COMPLETED, _S.TRANSPORT_ERROR): _t(_ISS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_ISS.CONFIRMED, _S.REQUEST): _t(_ISS.CONFIRMED, _A.ABSORB),
    (_ISS.CONFIRMED, _S.ACK): _t(_ISS.CONFIRMED, _A.ABSORB),
    (_ISS.CONFIRMED, _S.TIMER_I): _t(_ISS.TERMINATED),
    (_ISS.CONFIRMED, _S.TRANSPORT_ERROR): _t(_ISS.CONFIRMED),  # ignored: the ACK arrived
    (_ISS.ACCEPTED, _S.REQUEST): _t(_ISS.ACCEPTED, _A.ABSORB),
    (_ISS.ACCEPTED, _S.ACK): _t(_ISS.ACCEPTED, _A.TO_TU),  # RFC 6026 7.1
    (_ISS.ACCEPTED, _S.TU_2XX): _t(_ISS.ACCEPTED, _A.SEND_RESPONSE),  # RFC 6026 7.1
    (_ISS.ACCEPTED, _S.TIMER_L): _t(_ISS.TERMINATED),
    (_ISS.ACCEPTED, _S.TRANSPORT_ERROR): _t(_ISS.ACCEPTED),  # ignored: 2xx resends are the TU's
}

_TU_FINALS = (_S.TU_2XX, _S.TU_3XX_6XX)

NON_INVITE_SERVER_TABLE: dict[tuple[NonInviteServerState, Stimulus], Transition] = {
    (_NSS.TRYING, _S.REQUEST): _t(_NSS.TRYING, _A.ABSORB),
    (_NSS.TRYING, _S.TRANSPORT_ERROR): _t(_NSS.TRYING),  # ignored: nothing was sent yet
    (_NSS.TRYING, _S.TU_1XX): _t(_NSS.PROCEEDING, _A.SEND_RESPONSE),
    **{(_NSS.TRYING, s): _t(_NSS.COMPLETED, _A.SEND_RESPONSE, _start("J")) for s in _TU_FINALS},
    (_NSS.PROCEEDING, _S.REQUEST): _t(_NSS.PROCEEDING, _A.RESEND_RESPONSE, _A.ABSORB),
    (_NSS.PROCEEDING, _S.TU_1XX): _t(_NSS.PROCEEDING, _A.SEND_RESPONSE),
    **{(_NSS.PROCEEDING, s): _t(_NSS.COMPLETED, _A.SEND_RESPONSE, _start("J")) for s in _TU_FINALS},
    (_NSS.PROCEEDING, _S.TRANSPORT_ERROR): _t(_NSS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_NSS.COMPLETED, _S.REQUEST): _t(_NSS.COMPLETED, _A.RESEND_RESPONSE, _A.ABSORB),
    (_NSS.COMPLETED, _S.TRANSPORT_ERROR): _t(_NSS.TERMINATED, _A.TRANSPORT_FAILURE),
    (_NSS.COMPLETED, _S.TIMER_J): _t(_NSS.TERMINATED),
}

#: Timers that survive entering each state; all others are cancelled.
ALIVE: dict[TransactionState, frozenset[str]] = {
    _ICS.CALLING: frozenset("AB"),
    _ICS.PROCEEDING: frozenset(),
    _ICS.COMPLETED: frozenset("D"),
    _ICS.ACCEPTED: frozenset("M"),
    _ICS.TERMINATED: frozenset(),
    _NCS.TRYING: frozenset("EF"),
    _NCS.PROCEEDING: frozenset("EF"),
    _NCS.COMPLETED: frozenset("K"),
    _NCS.TERMINATED: frozenset(),
    _ISS.PROCEEDING: frozenset(),
    _ISS.COMPLETED: frozenset("GH"),
    _ISS.CONFIRMED: frozenset("I"),
    _ISS.ACCEPTED: frozenset("L"),
    _ISS.TERMINATED: frozenset(),
    _NSS.TRYING: frozenset(),
    _NSS.PROCEEDING: frozenset(),
    _NSS.COMPLETED: frozenset("J"),
    _NSS.TERMINATED: frozenset(),
}

_TERMINAL = frozenset({_ICS.TERMINATED, _NCS.TERMINATED, _ISS.TERMINATED, _NSS.TERMINATED})

_TransactionMachine = Machine[TransactionState, Stimulus, Transition]

INVITE_CLIENT: _TransactionMachine = Machine(
    "INVITE client transaction",
    INVITE_CLIENT_TABLE,  # type: ignore[arg-type]
)
NON_INVITE_CLIENT: _TransactionMachine = Machine(
    "non-INVITE client transaction",
    NON_INVITE_CLIENT_TABLE,  # type: ignore[arg-type]
)
INVITE_SERVER: _TransactionMachine = Machine(
    "INVITE server transaction",
    INVITE_SERVER_TABLE,  # type: ignore[arg-type]
)
NON_INVITE_SERVER: _TransactionMachine = Machine(
    "non-INVITE server transaction",
    NON_INVITE_SERVER_TABLE,  # type: ignore[arg-type]
)


# ---------------------------------------------------------------------------------------
# Transaction ids and outputs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientTransactionId:
    """RFC 3261 17.1.3: top Via branch plus CSeq method."""

    branch: str
    method: str


@dataclass(frozen=True, slots=True)
class ServerTransactionId:
    """RFC 3261 17.2.3: branch, sent-by and method (ACK counts as INVITE).

    For an RFC 2543 request (no magic cookie) ``branch`` is a synthetic ``rfc2543-N``.
    """

    branch: str
    sent_by: str
    method: str


TransactionId: TypeAlias = ClientTransactionId | ServerTransactionId


@dataclass(frozen=True, slots=True)
class Output:
    """What a transition asks the layer to do."""

    action: Action
    message: SipMessage | None = None
    timer: str = ""
    #: for :attr:`Action.VIOLATION`: what the peer's message broke
    error: RemoteProtocolError | None = None


def stimulus_for_response(status: int, *, from_tu: bool) -> Stimulus:
    if not 100 <= status <= 699:
        err = LocalProtocolError if from_tu else RemoteProtocolError
        raise err(f"status code {status} out of range")
    if status < 200:
        return Stimulus.TU_1XX if from_tu else Stimulus.R1XX
    if status < 300:
        return Stimulus.TU_2XX if from_tu else Stimulus.R2XX
    return Stimulus.TU_3XX_6XX if from_tu else Stimulus.R3XX_6XX


_TIMER_STIMULI = {s.value: s for s in Stimulus if s.name.startswith("TIMER_")}


@dataclass(eq=False)
class _Transaction:
    """State, timers and the transition engine shared by the four kinds."""

    request: SipRequest
    peer: Address
    """the destination of a client transaction, the source of a server transaction"""
    timers: Timers
    state: TransactionState
    machine: _TransactionMachine
    deadlines: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)
    last_response: SipResponse | None = None

    @property
    def terminated(self) -> bool:
        return self.state in _TERMINAL

    @property
    def table(self) -> Mapping[tuple[TransactionState, Stimulus], Transition]:
        return self.machine.table

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values(), default=None)

    def due_timers(self, now: float) -> list[tuple[float, str]]:
        return sorted((t, n) for n, t in self.deadlines.items() if t <= now)

    def fire(self, timer: str, now: float) -> list[Output]:
        """Fire one timer if it is still set and due."""
        deadline = self.deadlines.get(timer)
        if deadline is None or deadline > now:
            return []
        del self.deadlines[timer]
        return self._step(_TIMER_STIMULI[timer], now, None)

    def transport_error(self, now: float) -> list[Output]:
        return self._step(Stimulus.TRANSPORT_ERROR, now, None)

    # -- engine ---------------------------------------------------------------------
    def _step(self, stimulus: Stimulus, now: float, message: SipMessage | None) -> list[Output]:
        try:
            transition = self.machine.step(
                self.state, stimulus, stimulus.origin, raw=None if message is None else message.raw
            )
        except RemoteProtocolError as exc:
            return [Output(Action.VIOLATION, message, error=exc)]
        if transition.target != self.state:
            alive = ALIVE[transition.target]
            for name in [n for n in self.deadlines if n not in alive]:
                del self.deadlines[name]
        self.state = transition.target
        out: list[Output] = []
        for effect in transition.effects:
            if isinstance(effect, TimerOp):
                self._timer(effect, now)
            else:
                out.extend(self._act(effect, message, stimulus))
        return out

    def _timer(self, op: TimerOp, now: float) -> None:
        initial = self.timers.for_transport(op.timer, self.peer.transport)
        if initial is None:
            return
        if op.mode is TimerMode.START:
            interval = initial
        elif op.mode is TimerMode.T2:
            interval = self.timers.t2
        else:
            interval = 2 * self.intervals.get(op.timer, initial)
            if op.timer in ("E", "G"):
                interval = min(interval, self.timers.t2)
        self.intervals[op.timer] = interval
        self.deadlines[op.timer] = now + interval

    def _act(self, action: Action, message: SipMessage | None, stimulus: Stimulus) -> list[Output]:
        if action is Action.SEND_REQUEST:
            return [Output(action, self.request)]
        if action is Action.SEND_ACK:
            assert isinstance(message, SipResponse)
            return [Output(action, build_ack_for_non_2xx(self.request, message))]
        if action is Action.SEND_RESPONSE:
            assert isinstance(message, SipResponse)
            self.last_response = message
            return [Output(action, message)]
        if action is Action.RESEND_RESPONSE:
            if self.last_response is None:
                return []
            return [Output(action, self.last_response)]
        if action in (Action.TO_TU, Action.ABSORB):
            return [Output(action, message)]
        assert action in (Action.TIMEOUT, Action.TRANSPORT_FAILURE)
        # TIMEOUT / TRANSPORT_FAILURE
        return [Output(action, None, timer=stimulus.value)]


class ClientTransaction(_Transaction):
    """An INVITE (17.1.1) or non-INVITE (17.1.2) client transaction."""

    def __init__(self, request: SipRequest, destination: Address, timers: Timers) -> None:
        if request.method == "ACK":
            raise LocalProtocolError("ACK never creates a client transaction (RFC 3261 17)")
        invite = request.method == "INVITE"
        state: TransactionState = (
            InviteClientState.CALLING if invite else NonInviteClientState.TRYING
        )
        machine = INVITE_CLIENT if invite else NON_INVITE_CLIENT
        super().__init__(
            request=request, peer=destination, timers=timers, state=state, machine=machine
        )
        branch = top_via(request).branch
        if not branch:
            raise LocalProtocolError("a request sent in a transaction needs a Via branch")
        self.id = ClientTransactionId(branch, request.method)

    def start(self, now: float) -> list[Output]:
        """Send the request and start A+B (INVITE) or E+F (non-INVITE)."""
        first = ("A", "B") if self.request.method == "INVITE" else ("E", "F")
        for name in first:
            self._timer(TimerOp(name), now)
        return [Output(Action.SEND_REQUEST, self.request)]

    def receive_response(self, response: SipResponse, now: float) -> list[Output]:
        return self._step(stimulus_for_response(response.status, from_tu=False), now, response)


class ServerTransaction(_Transaction):
    """An INVITE (17.2.1) or non-INVITE (17.2.2) server transaction."""

    def __init__(
        self, request: SipRequest, source: Address, timers: Timers, tid: ServerTransactionId
    ) -> None:
        invite = request.method == "INVITE"
        state: TransactionState = (
            InviteServerState.PROCEEDING if invite else NonInviteServerState.TRYING
        )
        machine = INVITE_SERVER if invite else NON_INVITE_SERVER
        super().__init__(request=request, peer=source, timers=timers, state=state, machine=machine)
        self.id = tid

    def receive_request(self, request: SipRequest, now: float) -> list[Output]:
        stimulus = Stimulus.ACK if request.method == "ACK" else Stimulus.REQUEST
        return self._step(stimulus, now, request)

    def send_response(self, response: SipResponse, now: float) -> list[Output]:
        return self._step(stimulus_for_response(response.status, from_tu=True), now, response)


# ---------------------------------------------------------------------------------------
# Builders the transactions need
# ---------------------------------------------------------------------------------------


def build_ack_for_non_2xx(request: SipRequest, response: SipResponse) -> SipRequest:
    """RFC 3261 17.1.1.3: the ACK a client INVITE transaction sends for a 300-699.

    Same Request-URI, Call-ID, From, CSeq number and the top Via only (same branch); To
    from the response (with its tag); the Route headers of the request.
    """
    number, _ = request.cseq
    via = request.headers.values("Via")[0]
    headers: list[tuple[str, str]] = [("Via", via), ("Max-Forwards", "70")]
    headers += [("Route", r) for r in request.headers.get_all("Route")]
    headers += [
        ("From", request.headers.get("From") or ""),
        ("To", response.headers.get("To") or request.headers.get("To") or ""),
        ("Call-ID", request.headers.get("Call-ID") or ""),
        ("CSeq", f"{number} ACK"),
    ]
    return build_request("ACK", request.uri, headers)


def build_cancel(request: SipRequest) -> SipRequest:
    """RFC 3261 9.1: CANCEL for a pending request (same Request-URI, Call-ID, From, To,
    CSeq number, top Via and Route headers)."""
    if request.method in ("ACK", "CANCEL"):
        raise LocalProtocolError(f"{request.method} cannot be cancelled (RFC 3261 9.1)")
    number, _ = request.cseq
    headers: list[tuple[str, str]] = [
        ("Via", request.headers.values("Via")[0]),
        ("Max-Forwards", "70"),
    ]
    headers += [("Route", r) for r in request.headers.get_all("Route")]
    headers += [
        ("From", request.headers.get("From") or ""),
        ("To", request.headers.get("To") or ""),
        ("Call-ID", request.headers.get("Call-ID") or ""),
        ("CSeq", f"{number} CANCEL"),
    ]
    return build_request("CANCEL", request.uri, headers)


__all__ = [
    "ALIVE",
    "INVITE_CLIENT",
    "INVITE_CLIENT_TABLE",
    "INVITE_SERVER",
    "INVITE_SERVER_TABLE",
    "NON_INVITE_CLIENT",
    "NON_INVITE_CLIENT_TABLE",
    "NON_INVITE_SERVER",
    "NON_INVITE_SERVER_TABLE",
    "Action",
    "ClientTransaction",
    "ClientTransactionId",
    "InviteClientState",
    "InviteServerState",
    "NonInviteClientState",
    "NonInviteServerState",
    "Output",
    "ServerTransaction",
    "ServerTransactionId",
    "Stimulus",
    "TimerMode",
    "TimerOp",
    "TransactionId",
    "TransactionState",
    "Transition",
    "ViaInfo",
    "build_ack_for_non_2xx",
    "build_cancel",
    "header_param",
    "parse_via",
    "stimulus_for_response",
    "tag_of",
    "top_via",
]
