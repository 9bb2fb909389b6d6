"""The SIP transaction layer (RFC 3261 17), sans-IO.

:class:`TransactionLayer` owns every client and server transaction of one SIP peer. It

- matches responses to client transactions (RFC 3261 17.1.3: top Via branch + CSeq method);
- matches requests to server transactions (17.2.3: branch + sent-by + method, ACK matching
  INVITE), with the RFC 2543 fallback for a branch without the ``z9hG4bK`` cookie
  (Request-URI, tags, Call-ID, CSeq and top Via; an ACK matches by the To tag of the
  response the transaction sent);
- absorbs retransmissions (reported as :class:`RetransmissionAbsorbed`, the evidence that
  the peer retransmitted) and retransmits on Timers A, E and G over UDP only;
- sends the ACK for a 300-699 itself (17.1.1.3) and passes every 2xx to the TU, which
  sends the ACK through :meth:`TransactionLayer.send_stateless` (or ``send_request``);
- optionally retransmits a 2xx to an INVITE until the ACK arrives (RFC 3261 13.3.1.4),
  see :meth:`TransactionLayer.retransmit_2xx_until_ack`.

Input: parsed messages with their source address and ``now``. Output: :meth:`events`,
:meth:`data_to_send` and :meth:`next_deadline`. Deadlines are kept in a heap that is pushed
whenever a transaction (or a 2xx retransmitter) is stepped, and whose stale entries are
dropped when they reach its top, so that neither :meth:`next_deadline` nor
:meth:`handle_timeout` scans every transaction: a flood of thousands of open transactions
costs a logarithm per timer, not a pass over all of them. No byte leaves unless asked for: the
automatic ``100 Trying`` is opt-in (``auto_trying=True``).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeAlias

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.sip.ids import MAGIC_COOKIE
from conformance.protocol.sip.message import (
    REASON_PHRASES,
    SipMessage,
    SipRequest,
    SipResponse,
    build_response,
)
from conformance.protocol.sip.timers import Address, Timers
from conformance.protocol.sip.transaction import (
    Action,
    ClientTransaction,
    ClientTransactionId,
    InviteServerState,
    Output,
    ServerTransaction,
    ServerTransactionId,
    TransactionId,
    ViaInfo,
    build_cancel,
    tag_of,
    top_via,
)

# ---------------------------------------------------------------------------------------
# Events and output
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes to put on the wire, the message they encode and where they go."""

    data: bytes
    message: SipMessage
    destination: Address


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request for the TU.

    ``transaction`` is ``None`` for an ACK to a 2xx (dialog level) and for a stray ACK.
    It is the INVITE server transaction for the (first) ACK to a 300-699 final response:
    that ACK is reported so that a test case can see it, and is never answered.
    """

    transaction: ServerTransactionId | None
    request: SipRequest
    source: Address


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    transaction: ClientTransactionId
    response: SipResponse
    source: Address


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """``timer`` is "B" or "F" (client), "H" (server INVITE: no ACK for a 300-699, or no
    ACK for a 2xx retransmitted with :meth:`TransactionLayer.retransmit_2xx_until_ack`
    within 64*T1), or "transport" after :meth:`TransactionLayer.transport_error`."""

    transaction: TransactionId
    timer: str


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    transaction: TransactionId


@dataclass(frozen=True, slots=True)
class RetransmissionAbsorbed:
    """A message matched a transaction and was not passed to the TU: the peer
    retransmitted (or sent a provisional/duplicate response a finished transaction
    ignores)."""

    transaction: TransactionId
    message: SipMessage


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """A message from the peer matched a transaction (or a 2xx awaiting its ACK) whose
    state machine has no transition for it (:mod:`conformance.protocol.fsm`, PEER origin).
    A message to a transaction goes nowhere else; an ACK is still a RequestReceived."""

    transaction: TransactionId
    message: SipMessage
    error: RemoteProtocolError


@dataclass(frozen=True, slots=True)
class StrayResponse:
    """A response that matches no client transaction (17.1.3)."""

    response: SipResponse
    source: Address


Event: TypeAlias = (
    RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransactionTerminated
    | RetransmissionAbsorbed
    | ProtocolViolation
    | StrayResponse
)


# ---------------------------------------------------------------------------------------
# 2xx retransmission by the UAS core (RFC 3261 13.3.1.4)
# ---------------------------------------------------------------------------------------


class UasAckWaitState(Enum):
    """RFC 3261 13.3.1.4: the UAS core retransmits a 2xx to INVITE until the ACK."""

    WAITING = "waiting for ACK"
    ACKED = "ACK received"
    GAVE_UP = "no ACK within 64*T1"


class UasAckInput(Enum):
    RETRANSMIT_TIMER = "retransmit interval elapsed"
    GIVE_UP_TIMER = "64*T1 elapsed"
    ACK = "ACK received"


UAS_ACK_WAIT_TABLE: dict[tuple[UasAckWaitState, UasAckInput], UasAckWaitState] = {
    (UasAckWaitState.WAITING, UasAckInput.RETRANSMIT_TIMER): UasAckWaitState.WAITING,
    (UasAckWaitState.WAITING, UasAckInput.GIVE_UP_TIMER): UasAckWaitState.GAVE_UP,
    (UasAckWaitState.WAITING, UasAckInput.ACK): UasAckWaitState.ACKED,
}
#: The timers are LOCAL inputs, the ACK is the PEER's (:mod:`conformance.protocol.fsm`).
UAS_ACK_WAIT = Machine("2xx retransmission until ACK", UAS_ACK_WAIT_TABLE)


@dataclass(eq=False)
class InviteUasRetransmitter:
    """Retransmits one 2xx with an interval from T1 doubling up to T2 until the ACK
    arrives or 64*T1 passes. Keyed in the layer by (Call-ID, CSeq number)."""

    transaction: ServerTransactionId
    response: SipResponse
    destination: Address
    timers: Timers
    interval: float
    next_at: float
    give_up_at: float
    state: UasAckWaitState = UasAckWaitState.WAITING

    @classmethod
    def start(
        cls,
        transaction: ServerTransactionId,
        response: SipResponse,
        destination: Address,
        timers: Timers,
        now: float,
    ) -> InviteUasRetransmitter:
        return cls(
            transaction=transaction,
            response=response,
            destination=destination,
            timers=timers,
            interval=timers.t1,
            next_at=now + timers.t1,
            give_up_at=now + 64 * timers.t1,
        )

    def next_deadline(self) -> float | None:
        if self.state is not UasAckWaitState.WAITING:
            return None
        return min(self.next_at, self.give_up_at)

    def step(self, stimulus: UasAckInput, *, raw: bytes | None = None) -> bool:
        """Apply ``stimulus`` (True). A missing transition raises, per the convention of
        :mod:`conformance.protocol.fsm`: RemoteProtocolError for the ACK (``raw`` is its
        bytes), LocalProtocolError for a timer."""
        origin = Origin.PEER if stimulus is UasAckInput.ACK else Origin.LOCAL
        self.state = UAS_ACK_WAIT.step(self.state, stimulus, origin, raw=raw)
        return True


# ---------------------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------------------


def response_to(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response built per RFC 3261 8.2.6.2: Via lines, From, To (plus ``to_tag`` when the
    To has none), Call-ID, CSeq and Timestamp copied from ``request``, then ``headers``."""
    out: list[tuple[str, str]] = [("Via", v) for v in request.headers.get_all("Via")]
    from_value = request.headers.get("From")
    if from_value is not None:
        out.append(("From", from_value))
    to_value = request.headers.get("To")
    if to_value is not None:
        if to_tag is not None and tag_of(request, "To") is None:
            to_value = f"{to_value};tag={to_tag}"
        out.append(("To", to_value))
    for name in ("Call-ID", "CSeq", "Timestamp"):
        value = request.headers.get(name)
        if value is not None:
            out.append((name, value))
    out.extend(headers)
    return build_response(status, reason or REASON_PHRASES.get(status, "Unknown"), out, body)


@dataclass(frozen=True, slots=True)
class _LegacyKey:
    """RFC 3261 17.2.3 matching for requests without the magic cookie."""

    uri: str
    from_tag: str | None
    call_id: str | None
    cseq_number: int
    via: str


_Timed: TypeAlias = "ClientTransaction | ServerTransaction | InviteUasRetransmitter"
#: kinds of a heap entry, in the order timers due at the same instant fire
_CLIENT, _SERVER, _RETRANSMIT = 0, 1, 2


class TransactionLayer:
    """Every transaction of one SIP peer (RFC 3261 17). See the module docstring."""

    def __init__(
        self, timers: Timers, *, auto_trying: bool = False, retransmit_2xx: bool = False
    ) -> None:
        self.timers = timers
        #: send 100 Trying as soon as an INVITE server transaction is created
        self.auto_trying = auto_trying
        #: every 2xx to INVITE given to send_response is retransmitted until the ACK
        self.retransmit_2xx = retransmit_2xx
        self._clients: dict[ClientTransactionId, ClientTransaction] = {}
        self._servers: dict[ServerTransactionId, ServerTransaction] = {}
        self._legacy: dict[ServerTransactionId, tuple[_LegacyKey, str | None, str]] = {}
        self._uas_2xx: dict[tuple[str, int], InviteUasRetransmitter] = {}
        self._events: list[Event] = []
        self._out: list[Outgoing] = []
        self._legacy_serial = 0
        #: (deadline, kind, creation serial, transaction or retransmitter); entries go
        #: stale when their owner is stepped or forgotten and are dropped lazily
        self._heap: list[tuple[float, int, int, _Timed]] = []
        #: id(owner) -> its creation serial (the tie-break among equal deadlines)
        self._serials: dict[int, int] = {}
        self._serial = itertools.count()
        #: id(retransmitter) -> its key in ``_uas_2xx``
        self._uas_keys: dict[int, tuple[str, int]] = {}

    # -- queries --------------------------------------------------------------------
    def events(self) -> list[Event]:
        """Drain the pending events."""
        out, self._events = self._events, []
        return out

    def data_to_send(self) -> list[Outgoing]:
        """Drain the pending output."""
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            deadline, kind, _, owner = heap[0]
            if self._live(kind, owner) and owner.next_deadline() == deadline:
                return deadline
            heapq.heappop(heap)
        return None

    def _live(self, kind: int, owner: _Timed) -> bool:
        if kind == _CLIENT:
            assert isinstance(owner, ClientTransaction)
            return self._clients.get(owner.id) is owner
        if kind == _SERVER:
            assert isinstance(owner, ServerTransaction)
            return self._servers.get(owner.id) is owner
        key = self._uas_keys.get(id(owner))
        return key is not None and self._uas_2xx.get(key) is owner

    def _schedule(self, kind: int, owner: _Timed) -> None:
        """Push ``owner``'s next deadline (after every step that may have changed it)."""
        deadline = owner.next_deadline()
        if deadline is None:
            return
        serial = self._serials.setdefault(id(owner), next(self._serial))
        heapq.heappush(self._heap, (deadline, kind, serial, owner))

    def client_transaction(self, tid: ClientTransactionId) -> ClientTransaction | None:
        return self._clients.get(tid)

    def server_transaction(self, tid: ServerTransactionId) -> ServerTransaction | None:
        return self._servers.get(tid)

    def cancel_target(self, cancel: ServerTransactionId) -> ServerTransactionId | None:
        """The INVITE server transaction a received CANCEL matches (RFC 3261 9.2)."""
        if cancel.method != "CANCEL":
            raise LocalProtocolError(f"{cancel} is not a CANCEL transaction")
        tx = self._servers.get(cancel)
        if tx is None:
            return None
        return self._find_server(tx.request, "INVITE", top_via(tx.request))

    # -- sending --------------------------------------------------------------------
    def send_request(
        self, request: SipRequest, destination: Address, now: float
    ) -> ClientTransactionId:
        """Start a client transaction for ``request``.

        An ACK is sent statelessly (no transaction: RFC 3261 17, an ACK to a 2xx is its
        own transaction-less request); the returned id then names no transaction.
        """
        via = top_via(request)
        if not via.branch:
            raise LocalProtocolError("request without a Via branch")
        if request.method == "ACK":
            self.send_stateless(request, destination)
            return ClientTransactionId(via.branch, "ACK")
        tx = ClientTransaction(request, destination, self.timers)
        if tx.id in self._clients:
            raise LocalProtocolError(f"client transaction {tx.id} already exists")
        self._clients[tx.id] = tx
        self._apply(tx, tx.start(now), destination)
        return tx.id

    def send_cancel(self, transaction: ClientTransactionId, now: float) -> ClientTransactionId:
        """Send a CANCEL for a pending client transaction (RFC 3261 9.1)."""
        tx = self._clients.get(transaction)
        if tx is None:
            raise LocalProtocolError(f"no client transaction {transaction}")
        return self.send_request(build_cancel(tx.request), tx.peer, now)

    def send_response(
        self, transaction: ServerTransactionId, response: SipResponse, now: float
    ) -> None:
        """Send ``response`` in a server transaction, to the request's source address."""
        tx = self._servers.get(transaction)
        if tx is None:
            raise LocalProtocolError(f"no server transaction {transaction}")
        self._apply(tx, tx.send_response(response, now), tx.peer)
        if self.retransmit_2xx and tx.request.method == "INVITE" and 200 <= response.status < 300:
            self._start_2xx_retransmission(tx, response, now)

    def retransmit_2xx_until_ack(
        self, transaction: ServerTransactionId, response: SipResponse, now: float
    ) -> None:
        """Send a 2xx to INVITE and retransmit it until the ACK (RFC 3261 13.3.1.4).

        Intervals start at T1 and double up to T2, on every transport; after 64*T1
        without an ACK a :class:`TransactionTimedOut` with timer "H" is reported. The ACK
        stops the retransmissions and is reported as ``RequestReceived(None, ack, ...)``.
        """
        tx = self._servers.get(transaction)
        if tx is None:
            raise LocalProtocolError(f"no server transaction {transaction}")
        if tx.request.method != "INVITE" or not 200 <= response.status < 300:
            raise LocalProtocolError("only a 2xx to INVITE is retransmitted until the ACK")
        self._apply(tx, tx.send_response(response, now), tx.peer)
        self._start_2xx_retransmission(tx, response, now)

    def send_stateless(self, message: SipMessage, destination: Address) -> None:
        """Send outside any transaction (ACK for 2xx, stray responses, stimuli)."""
        self._out.append(Outgoing(message.raw, message, destination))

    def transport_error(self, transaction: TransactionId, now: float) -> None:
        """The transport failed for this transaction (RFC 3261 17.1.4, 17.2.4)."""
        tx: ClientTransaction | ServerTransaction | None
        if isinstance(transaction, ClientTransactionId):
            tx = self._clients.get(transaction)
        else:
            tx = self._servers.get(transaction)
        if tx is not None:
            self._apply(tx, tx.transport_error(now), tx.peer)

    # -- receiving ------------------------------------------------------------------
    def receive(self, message: SipMessage, source: Address, now: float) -> None:
        """Feed one parsed message.

        Raises RemoteProtocolError for a request that cannot be matched at all (no Via,
        invalid Via or CSeq). A response that matches nothing is a StrayResponse event.
        """
        if isinstance(message, SipResponse):
            self._receive_response(message, source, now)
        else:
            self._receive_request(message, source, now)

    def _receive_response(self, response: SipResponse, source: Address, now: float) -> None:
        try:
            branch = top_via(response).branch
            _, method = response.cseq
        except RemoteProtocolError:
            branch, method = None, ""
        tx = self._clients.get(ClientTransactionId(branch, method)) if branch else None
        if tx is None:
            self._events.append(StrayResponse(response, source))
            return
        self._apply(tx, tx.receive_response(response, now), tx.peer, source)

    def _receive_request(self, request: SipRequest, source: Address, now: float) -> None:
        via = top_via(request)
        number, cseq_method = request.cseq
        if cseq_method != request.method:
            raise RemoteProtocolError(
                f"CSeq method {cseq_method} differs from the method {request.method}",
                raw=request.raw,
            )
        method = "INVITE" if request.method == "ACK" else request.method
        tid = self._find_server(request, method, via)
        if tid is not None:
            tx = self._servers[tid]
            self._apply(tx, tx.receive_request(request, now), tx.peer, source)
            return
        if request.method == "ACK":
            key = (request.call_id or "", number)
            retransmitter = self._uas_2xx.get(key)
            if retransmitter is not None:
                try:
                    retransmitter.step(UasAckInput.ACK, raw=request.raw)
                except RemoteProtocolError as exc:
                    self._events.append(ProtocolViolation(retransmitter.transaction, request, exc))
                else:
                    self._drop_2xx(key)
            self._events.append(RequestReceived(None, request, source))
            return
        tid = self._new_server_id(request, via)
        server = ServerTransaction(request, source, self.timers, tid)
        self._servers[tid] = server
        self._schedule(_SERVER, server)
        self._events.append(RequestReceived(tid, request, source))
        if request.method == "INVITE" and self.auto_trying:
            self.send_response(tid, response_to(request, 100), now)

    # -- matching -------------------------------------------------------------------
    def _find_server(
        self, request: SipRequest, method: str, via: ViaInfo
    ) -> ServerTransactionId | None:
        branch = via.branch
        if branch and branch.startswith(MAGIC_COOKIE):
            tid = ServerTransactionId(branch, via.sent_by, method)
            return tid if tid in self._servers else None
        key = self._legacy_key(request, via)
        to_tag = tag_of(request, "To")
        for tid, (other, other_to_tag, other_method) in self._legacy.items():
            if other != key or other_method != method:
                continue
            if request.method == "ACK":
                sent = self._servers[tid].last_response
                if sent is not None and tag_of(sent, "To") == to_tag:
                    return tid
            elif request.method == "CANCEL" and method == "INVITE":
                return tid  # RFC 3261 9.2: the To tag of a CANCEL may be absent
            elif other_to_tag == to_tag:
                return tid
        return None

    @staticmethod
    def _legacy_key(request: SipRequest, via: ViaInfo) -> _LegacyKey:
        number, _ = request.cseq
        return _LegacyKey(
            uri=request.uri,
            from_tag=tag_of(request, "From"),
            call_id=request.call_id,
            cseq_number=number,
            via="".join(via.value.split()),
        )

    def _new_server_id(self, request: SipRequest, via: ViaInfo) -> ServerTransactionId:
        branch = via.branch
        if branch and branch.startswith(MAGIC_COOKIE):
            return ServerTransactionId(branch, via.sent_by, request.method)
        self._legacy_serial += 1
        tid = ServerTransactionId(f"rfc2543-{self._legacy_serial}", via.sent_by, request.method)
        self._legacy[tid] = (self._legacy_key(request, via), tag_of(request, "To"), request.method)
        return tid

    # -- timers ---------------------------------------------------------------------
    def handle_timeout(self, now: float) -> None:
        """Fire every timer due at ``now`` (in deadline order)."""
        for _ in range(10_000):  # zero-length timers may become due while firing
            owners: dict[int, tuple[int, int, _Timed]] = {}
            heap = self._heap
            while heap and heap[0][0] <= now:
                deadline, kind, serial, owner = heapq.heappop(heap)
                if self._live(kind, owner) and owner.next_deadline() == deadline:
                    owners[id(owner)] = (kind, serial, owner)
            if not owners:
                return
            due: list[tuple[float, int, int, str, ClientTransaction | ServerTransaction]] = []
            retrans_due: list[tuple[int, InviteUasRetransmitter]] = []
            for kind, serial, owner in owners.values():
                if isinstance(owner, InviteUasRetransmitter):
                    retrans_due.append((serial, owner))
                else:
                    due.extend((t, kind, serial, name, owner) for t, name in owner.due_timers(now))
            for _deadline, _kind, _serial, name, tx in sorted(due, key=lambda d: d[:3]):
                if not tx.terminated:
                    self._apply(tx, tx.fire(name, now), tx.peer)
            for _serial, retransmitter in sorted(retrans_due, key=lambda r: r[0]):
                self._fire_2xx(retransmitter, now)
        raise LocalProtocolError("timers keep firing at the same instant")  # pragma: no cover

    def _start_2xx_retransmission(
        self, tx: ServerTransaction, response: SipResponse, now: float
    ) -> None:
        number, _ = tx.request.cseq
        key = (tx.request.call_id or "", number)
        retransmitter = InviteUasRetransmitter.start(tx.id, response, tx.peer, self.timers, now)
        self._drop_2xx(key)
        self._uas_2xx[key] = retransmitter
        self._uas_keys[id(retransmitter)] = key
        self._schedule(_RETRANSMIT, retransmitter)

    def _drop_2xx(self, key: tuple[str, int]) -> None:
        old = self._uas_2xx.pop(key, None)
        if old is not None:
            self._uas_keys.pop(id(old), None)
            self._serials.pop(id(old), None)

    def _fire_2xx(self, r: InviteUasRetransmitter, now: float) -> None:
        if now >= r.give_up_at:
            r.step(UasAckInput.GIVE_UP_TIMER)
            key = self._uas_keys.get(id(r))
            if key is not None:
                self._drop_2xx(key)
            self._events.append(TransactionTimedOut(r.transaction, "H"))
            return
        if now >= r.next_at and r.step(UasAckInput.RETRANSMIT_TIMER):
            self.send_stateless(r.response, r.destination)
            r.interval = min(2 * r.interval, self.timers.t2)
            r.next_at = now + r.interval
        self._schedule(_RETRANSMIT, r)

    # -- applying transaction outputs -------------------------------------------------
    def _apply(
        self,
        tx: ClientTransaction | ServerTransaction,
        outputs: list[Output],
        destination: Address,
        source: Address | None = None,
    ) -> None:
        for out in outputs:
            action, message = out.action, out.message
            if action in (
                Action.SEND_REQUEST,
                Action.SEND_ACK,
                Action.SEND_RESPONSE,
                Action.RESEND_RESPONSE,
            ):
                assert message is not None
                self._out.append(Outgoing(message.raw, message, destination))
            elif action is Action.TO_TU:
                src = source or tx.peer
                if isinstance(message, SipResponse):
                    assert isinstance(tx.id, ClientTransactionId)
                    self._events.append(ResponseReceived(tx.id, message, src))
                elif isinstance(message, SipRequest):
                    assert isinstance(tx.id, ServerTransactionId)
                    self._events.append(RequestReceived(tx.id, message, src))
            elif action is Action.ABSORB:
                assert message is not None
                self._events.append(RetransmissionAbsorbed(tx.id, message))
            elif action is Action.TIMEOUT:
                self._events.append(TransactionTimedOut(tx.id, out.timer))
            elif action is Action.VIOLATION:
                assert message is not None and out.error is not None
                self._events.append(ProtocolViolation(tx.id, message, out.error))
            else:  # TRANSPORT_FAILURE
                self._events.append(TransactionTimedOut(tx.id, "transport"))
        if tx.terminated:
            self._forget(tx)
        else:
            self._schedule(_CLIENT if isinstance(tx, ClientTransaction) else _SERVER, tx)

    def _forget(self, tx: ClientTransaction | ServerTransaction) -> None:
        if isinstance(tx, ClientTransaction):
            if self._clients.pop(tx.id, None) is None:
                return
        else:
            if self._servers.pop(tx.id, None) is None:
                return
            self._legacy.pop(tx.id, None)
        self._serials.pop(id(tx), None)
        self._events.append(TransactionTerminated(tx.id))

    def server_state(self, tid: ServerTransactionId) -> InviteServerState | None:
        """State of an INVITE server transaction (None when gone or not INVITE)."""
        tx = self._servers.get(tid)
        return tx.state if tx is not None and isinstance(tx.state, InviteServerState) else None


__all__ = [
    "UAS_ACK_WAIT",
    "UAS_ACK_WAIT_TABLE",
    "Event",
    "InviteUasRetransmitter",
    "Outgoing",
    "ProtocolViolation",
    "RequestReceived",
    "ResponseReceived",
    "RetransmissionAbsorbed",
    "StrayResponse",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimedOut",
    "UasAckInput",
    "UasAckWaitState",
    "response_to",
]
