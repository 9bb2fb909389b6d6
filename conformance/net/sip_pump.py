"""The SIP pump: joins a :class:`SipTransport` to the sans-IO transaction layer.

One :class:`SipPump` per emulated SIP peer. It

- feeds every parsed message to :class:`~conformance.protocol.sip.layer.TransactionLayer`
  with the loop's monotonic time;
- after every input (message, API call, timer) drains ``data_to_send`` to the transport,
  dispatches the layer's events, and re-arms exactly one timer (``loop.call_at``) at the
  layer's ``next_deadline``;
- offers an async API for roles: :meth:`SipPump.request` returns a
  :class:`ClientTransactionHandle` to await responses on; incoming requests go to
  :attr:`SipPump.on_request` or to an inbox read with :meth:`SipPump.expect_request`.

Every wait is bounded and raises :class:`~conformance.net.clock.WaitTimeout` naming what
was awaited. A transaction that times out (Timer B or F) is an observation, reported by
:class:`TransactionTimeoutError` from :meth:`ClientTransactionHandle.final`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from conformance.errors import GuardTimeout, LocalProtocolError, RemoteProtocolError
from conformance.net.capture import Capture
from conformance.net.clock import DeadlineTimer, Notifier
from conformance.net.sip_transport import InvalidMessage, SipTransport, TransportError
from conformance.protocol.sip.layer import (
    Event,
    RequestReceived,
    ResponseReceived,
    RetransmissionAbsorbed,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimedOut,
    response_to,
)
from conformance.protocol.sip.message import SipMessage, SipRequest, SipResponse, parse_message
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.protocol.sip.transaction import (
    ClientTransactionId,
    ServerTransactionId,
    TransactionId,
    top_via,
)

log = logging.getLogger(__name__)


class TransactionTimeoutError(GuardTimeout):
    """A client transaction ended without a final response (Timer B/F, or transport)."""

    def __init__(
        self, transaction: ClientTransactionId, timer: str, destination: Address | None = None
    ) -> None:
        to = f" from {destination}" if destination is not None else ""
        super().__init__(
            f"transaction {transaction.method} {transaction.branch} timed out"
            f" (timer {timer}) without a final response{to}"
        )
        self.transaction = transaction
        self.timer = timer
        self.destination = destination


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A layer event with the loop time it happened at (evidence order)."""

    at: float
    event: Event


@dataclass(eq=False)
class IncomingRequest:
    """A request delivered to the TU, with what is needed to answer it."""

    pump: SipPump
    transaction: ServerTransactionId | None
    request: SipRequest
    source: Address
    received_at: float
    #: responses sent in this transaction through :meth:`respond`
    responses: list[SipResponse] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.request.method

    def respond(
        self,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SipResponse:
        """Build a response per RFC 3261 8.2.6.2 and send it in the server transaction."""
        response = response_to(
            self.request, status, reason, to_tag=to_tag, headers=headers, body=body
        )
        self.send(response)
        return response

    def send(self, response: SipResponse) -> None:
        """Send ``response`` (built by the caller, possibly odd) in the transaction."""
        if self.transaction is None:
            raise LocalProtocolError(f"{self.request.method} has no server transaction")
        self.pump.send_response(self.transaction, response)
        self.responses.append(response)


class ClientTransactionHandle:
    """The TU's view of one client transaction; await its responses here."""

    def __init__(
        self, pump: SipPump, tid: ClientTransactionId, request: SipRequest, destination: Address
    ) -> None:
        self.pump = pump
        self.id = tid
        self.request = request
        self.destination = destination
        #: every response passed to the TU, in order, with its source
        self.received: list[ResponseReceived] = []
        #: retransmissions the transaction absorbed
        self.absorbed: list[SipMessage] = []
        #: "B", "F", "transport"... when the transaction timed out
        self.timed_out: str | None = None
        self.terminated = False
        self._read = 0
        self._changed = Notifier()

    @property
    def responses(self) -> list[SipResponse]:
        return [r.response for r in self.received]

    @property
    def provisional(self) -> list[SipResponse]:
        return [r for r in self.responses if r.status < 200]

    @property
    def final_response(self) -> SipResponse | None:
        for r in self.responses:
            if r.status >= 200:
                return r
        return None

    def _what(self, what: str) -> str:
        return f"{what} to {self.request.method} (branch {self.id.branch}) from {self.destination}"

    async def next_response(self, within: float) -> SipResponse:
        """The next response not yet returned by this method (provisional or final)."""

        def probe() -> SipResponse | None:
            if self._read < len(self.received):
                self._read += 1
                return self.received[self._read - 1].response
            if self.timed_out is not None:
                raise TransactionTimeoutError(self.id, self.timed_out, self.destination)
            return None

        return await self._changed.wait_until(probe, within, self._what("SIP response"))

    async def final(self, within: float) -> SipResponse:
        """The first final response; :class:`TransactionTimeoutError` if the transaction
        timed out first; :class:`WaitTimeout` after ``within`` seconds."""

        def probe() -> SipResponse | None:
            final = self.final_response
            if final is None and self.timed_out is not None:
                raise TransactionTimeoutError(self.id, self.timed_out, self.destination)
            return final

        return await self._changed.wait_until(probe, within, self._what("final response"))

    async def outcome(self, within: float) -> SipResponse | str:
        """The final response, or the name of the timer that ended the transaction."""

        def probe() -> SipResponse | str | None:
            return self.final_response or self.timed_out

        return await self._changed.wait_until(
            probe, within, self._what("final response or timeout")
        )

    async def wait_terminated(self, within: float) -> None:
        await self._changed.wait_until(
            lambda: True if self.terminated else None, within, self._what("termination")
        )

    def cancel(self) -> ClientTransactionHandle:
        """Send a CANCEL for this (INVITE) transaction; returns the CANCEL's handle."""
        return self.pump.cancel_transaction(self)

    # -- fed by the pump --------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        """The pump hands over an event of this client transaction."""
        if isinstance(event, ResponseReceived):
            self.received.append(event)
        elif isinstance(event, RetransmissionAbsorbed):
            self.absorbed.append(event.message)
        elif isinstance(event, TransactionTimedOut):
            self.timed_out = event.timer
        elif isinstance(event, TransactionTerminated):
            self.terminated = True
        self._changed.notify()


class SipPump:
    """One SIP peer: a transport, a transaction layer, one timer. See the module docstring."""

    def __init__(self, transport: SipTransport, layer: TransactionLayer) -> None:
        self.transport = transport
        self.layer = layer
        self.loop = asyncio.get_running_loop()
        #: when set, incoming requests go here instead of the inbox
        self.on_request: Callable[[IncomingRequest], None] | None = None
        #: every layer event, in order, with its loop time
        self.events: list[LoggedEvent] = []
        #: every request delivered to the TU
        self.received: list[IncomingRequest] = []
        #: bytes that did not parse, or messages the layer could not match
        self.invalid: list[InvalidMessage] = []
        self.stray: list[StrayResponse] = []
        self._inbox: list[IncomingRequest] = []
        self._handles: dict[ClientTransactionId, ClientTransactionHandle] = {}
        self._changed = Notifier()
        self._timer = DeadlineTimer(self.loop, self._on_timer)
        self._closed = False
        transport.set_handler(self._on_message)
        transport.on_transport_error = self._on_transport_error

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        capture: Capture | None = None,
        timers: Timers | None = None,
        *,
        auto_trying: bool = False,
        retransmit_2xx: bool = False,
        port: int = 0,
    ) -> SipPump:
        """A pump on a new transport bound to a run-time port of ``host``."""
        transport = await SipTransport.start(host, capture, port=port)
        layer = TransactionLayer(
            timers or Timers(), auto_trying=auto_trying, retransmit_2xx=retransmit_2xx
        )
        return cls(transport, layer)

    @property
    def capture(self) -> Capture:
        return self.transport.capture

    @property
    def timers(self) -> Timers:
        return self.layer.timers

    def address(self, transport: Transport = Transport.UDP) -> Address:
        return self.transport.address(transport)

    def now(self) -> float:
        return self.loop.time()

    async def close(self) -> None:
        self._closed = True
        self._timer.cancel()
        await self.transport.close()

    async def __aenter__(self) -> SipPump:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- sending ----------------------------------------------------------------------
    async def request(self, request: SipRequest, destination: Address) -> ClientTransactionHandle:
        """Start a client transaction (an ACK is sent statelessly; its handle stays empty)."""
        if destination.transport is Transport.TCP:
            # A refused connection is not raised here: the send below fails again and the
            # transaction ends as RFC 3261 17.1.4 says (TransactionTimedOut "transport").
            with contextlib.suppress(OSError):
                await self.transport.connect(destination)
        tid = self.layer.send_request(request, destination, self.now())
        handle = ClientTransactionHandle(self, tid, request, destination)
        if request.method != "ACK":
            self._handles[tid] = handle
        self._pump()
        return handle

    def send_response(self, transaction: ServerTransactionId, response: SipResponse) -> None:
        self.layer.send_response(transaction, response, self.now())
        self._pump()

    def retransmit_2xx_until_ack(self, incoming: IncomingRequest, response: SipResponse) -> None:
        """Send a 2xx to INVITE and retransmit it until the ACK (RFC 3261 13.3.1.4)."""
        if incoming.transaction is None:
            raise LocalProtocolError("no server transaction to answer")
        self.layer.retransmit_2xx_until_ack(incoming.transaction, response, self.now())
        incoming.responses.append(response)
        self._pump()

    def send_stateless(self, message: SipMessage, destination: Address) -> None:
        """Send outside any transaction (ACK to a 2xx, stimuli)."""
        self.layer.send_stateless(message, destination)
        self._pump()

    def send_raw(self, data: bytes, destination: Address) -> None:
        """Put exactly ``data`` on the wire (a malformed stimulus); nothing is tracked."""
        self.transport.send_nowait(data, destination)

    def cancel_transaction(self, handle: ClientTransactionHandle) -> ClientTransactionHandle:
        tid = self.layer.send_cancel(handle.id, self.now())
        tx = self.layer.client_transaction(tid)
        request = tx.request if tx is not None else handle.request
        cancel = ClientTransactionHandle(self, tid, request, handle.destination)
        self._handles[tid] = cancel
        self._pump()
        return cancel

    # -- waiting ----------------------------------------------------------------------
    async def expect_request(
        self,
        method: str | None = None,
        *,
        within: float,
        match: Callable[[IncomingRequest], bool] | None = None,
    ) -> IncomingRequest:
        """The oldest unconsumed incoming request with ``method`` (and ``match``)."""

        def probe() -> IncomingRequest | None:
            for i, item in enumerate(self._inbox):
                if (method is None or item.method == method) and (match is None or match(item)):
                    return self._inbox.pop(i)
            return None

        what = f"SIP request {method or '(any)'} at {self.address()}"
        return await self._changed.wait_until(probe, within, what)

    async def expect_invalid(self, *, within: float, since: int = 0) -> InvalidMessage:
        """The first invalid message at index ``since`` or later of :attr:`invalid`."""

        def probe() -> InvalidMessage | None:
            return self.invalid[since] if len(self.invalid) > since else None

        return await self._changed.wait_until(probe, within, "invalid SIP message")

    @property
    def inbox(self) -> list[IncomingRequest]:
        """Incoming requests not consumed by :meth:`expect_request` (a copy)."""
        return list(self._inbox)

    # -- the pump ---------------------------------------------------------------------
    def _on_message(self, item: SipMessage | InvalidMessage, source: Address) -> None:
        if isinstance(item, InvalidMessage):
            self.invalid.append(item)
            self._changed.notify()
            return
        try:
            self.layer.receive(item, source, self.now())
        except RemoteProtocolError as exc:
            self.invalid.append(InvalidMessage(item.raw, exc, source))
            self._changed.notify()
        self._pump()

    def _on_transport_error(self, error: TransportError) -> None:
        """RFC 3261 17.1.4 / 17.2.4: a transport failure ends the transaction."""
        tid: TransactionId | None = None
        try:
            message = parse_message(error.data)
            via = top_via(message)
            _, method = message.cseq
        except RemoteProtocolError:
            return
        if via.branch is None:
            return
        if isinstance(message, SipRequest):
            tid = ClientTransactionId(via.branch, method)
        else:
            tid = ServerTransactionId(
                via.branch, via.sent_by, "INVITE" if method == "ACK" else method
            )
        self.layer.transport_error(tid, self.now())
        self._pump()

    def _on_timer(self, now: float) -> None:
        self.layer.handle_timeout(now)
        self._pump()

    def _pump(self) -> None:
        """Drain output, dispatch events, re-arm the single timer."""
        if self._closed:
            return
        for out in self.layer.data_to_send():
            try:
                self.transport.send_nowait(out.data, out.destination)
            except (OSError, ConnectionError) as exc:
                self._on_transport_error(TransportError(out.destination, out.data, exc))
        for event in self.layer.events():
            self._dispatch(event)
        self._timer.arm(self.layer.next_deadline())
        self._changed.notify()

    def _dispatch(self, event: Event) -> None:
        self.events.append(LoggedEvent(self.now(), event))
        if isinstance(event, RequestReceived):
            incoming = IncomingRequest(
                self, event.transaction, event.request, event.source, self.now()
            )
            self.received.append(incoming)
            if self.on_request is not None:
                try:
                    self.on_request(incoming)
                except Exception:  # a role bug must not stop the pump
                    log.exception("request handler failed on %r", event.request)
            else:
                self._inbox.append(incoming)
            return
        if isinstance(event, StrayResponse):
            self.stray.append(event)
            return
        tid = event.transaction
        if isinstance(tid, ClientTransactionId):
            handle = self._handles.get(tid)
            if handle is not None:
                handle.deliver(event)
                if isinstance(event, TransactionTerminated):
                    del self._handles[tid]


__all__ = [
    "ClientTransactionHandle",
    "IncomingRequest",
    "LoggedEvent",
    "SipPump",
    "TransactionTimeoutError",
]
