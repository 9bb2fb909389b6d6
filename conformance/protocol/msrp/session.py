"""MSRP sessions and connections as sans-IO state machines (RFC 4975 sections 7 and 8).

An :class:`MsrpConnection` is one TCP connection. It frames the incoming byte stream,
hands each request to the :class:`MsrpSession` named by its To-Path, answers and reports
as an endpoint does, and times out its own transactions. It never touches a socket or a
clock: bytes go in through ``receive_data(data, now)``, come out of ``data_to_send()``,
and the caller calls ``handle_timeout(now)`` at ``next_deadline()``.

Endpoint behaviour (RFC 4975):

- 7.2: a request for an unknown session gets ``481``; an unknown method ``501``; a
  malformed request ``400`` when its transaction id and paths can be read.
- 7.1.1 / 7.2: a SEND gets ``200`` unless its Failure-Report is ``no`` (no response at
  all) or ``partial`` (only error responses).
- 7.1.2: when a SEND asks ``Success-Report: yes``, a REPORT (``Status: 000 200 OK``,
  ``Byte-Range: 1-N/N``) follows once the whole message arrived. A REPORT never gets a
  response.
- 7.1.1: an outgoing SEND that expects a response (Failure-Report ``yes``) times out
  after ``transaction_timeout`` (30 s by default, the RFC's suggested value; the SUT
  profile may change it) with :class:`TransactionTimedOut`.
- An empty SEND (no body, no Content-Type) is a keep-alive: answered, never reassembled.

Demultiplexing and CEMA (RFC 6714): a request is routed by the **session-id** of its
To-Path alone, first URI first, then last URI. Host, port and transport are not compared
here: with ``a=msrp-cema`` the SDP c=/m= lines name the next hop while a=path keeps the
endpoint URI, so the To-Path may legitimately name another authority than the socket it
arrived on. Checks that care compare ``request.to_path`` themselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeAlias

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.fsm import Machine, Origin
from conformance.protocol.msrp.chunking import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Aborted,
    Reassembled,
    Reassembler,
    chunk_message,
)
from conformance.protocol.msrp.codec import (
    DEFAULT_MAX_CHUNK_SIZE,
    DEFAULT_MAX_HEADER_SIZE,
    ByteRange,
    MsrpParser,
    MsrpRequest,
    MsrpResponse,
    MsrpSyntaxError,
    Status,
    build_response,
    new_message_id,
    report_for,
)
from conformance.protocol.msrp.uri import MsrpUri, format_path

DEFAULT_TRANSACTION_TIMEOUT = 30.0
DEFAULT_CHUNK_SIZE = 2048


@dataclass(frozen=True, slots=True)
class MsrpConfig:
    """Limits and timers of one connection (the SUT profile may override them)."""

    #: RFC 4975 7.1.1: a response that does not arrive in this many seconds is a timeout
    transaction_timeout: float = DEFAULT_TRANSACTION_TIMEOUT
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    #: body bytes per chunk when we send a message
    chunk_size: int = DEFAULT_CHUNK_SIZE


class TransactionState(Enum):
    """An outgoing MSRP transaction (RFC 4975 7.1.1 sending, 7.2 responses)."""

    PENDING = "pending"
    """The request was sent; a response may still come."""
    COMPLETED = "completed"
    """A response with the same transaction id arrived."""
    TIMED_OUT = "timed-out"
    """No response within the transaction timeout (RFC 4975 7.1.1, treated like 408)."""


TRANSACTION_TRANSITIONS: dict[tuple[TransactionState, str], TransactionState] = {
    (TransactionState.PENDING, "response"): TransactionState.COMPLETED,
    (TransactionState.PENDING, "timeout"): TransactionState.TIMED_OUT,
}
#: ``response`` is the peer's input, ``timeout`` ours (:mod:`conformance.protocol.fsm`): a
#: response to a transaction that is no longer pending is a :class:`ProtocolViolation`.
TRANSACTION_MACHINE = Machine("MSRP transaction", TRANSACTION_TRANSITIONS)
_TRANSACTION_ORIGINS = {"response": Origin.PEER, "timeout": Origin.LOCAL}


class ConnectionState(Enum):
    """One MSRP transport connection (RFC 4975 section 8)."""

    OPEN = "open"
    """Framing is intact; messages flow."""
    BROKEN = "broken"
    """A framing error: the byte stream cannot be re-synchronised; nothing more is read."""
    CLOSED = "closed"
    """The transport closed."""


CONNECTION_TRANSITIONS: dict[tuple[ConnectionState, str], ConnectionState] = {
    (ConnectionState.OPEN, "framing-error"): ConnectionState.BROKEN,
    (ConnectionState.OPEN, "close"): ConnectionState.CLOSED,
    (ConnectionState.BROKEN, "close"): ConnectionState.CLOSED,
}
#: ``framing-error`` is the peer's input, ``close`` ours (the transport closed).
CONNECTION_MACHINE = Machine("MSRP connection", CONNECTION_TRANSITIONS)
_CONNECTION_ORIGINS = {"framing-error": Origin.PEER, "close": Origin.LOCAL}


class MsrpSession:
    """One MSRP session: our URI (its session-id is the demultiplexing key) and the
    remote path we send to (from the peer's SDP a=path)."""

    def __init__(
        self,
        local_uri: MsrpUri,
        remote_path: MsrpUri | Sequence[MsrpUri],
        *,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        if local_uri.session_id is None:
            raise LocalProtocolError(f"local MSRP URI {local_uri} has no session-id")
        self.local_uri = local_uri
        self.remote_path: tuple[MsrpUri, ...] = (
            (remote_path,) if isinstance(remote_path, MsrpUri) else tuple(remote_path)
        )
        if not self.remote_path:
            raise LocalProtocolError("an MSRP session needs a remote path")
        self.reassembler = Reassembler(max_message_size=max_message_size)
        #: Message-IDs of the messages we sent, in order
        self.sent_message_ids: list[str] = []

    @property
    def session_id(self) -> str:
        assert self.local_uri.session_id is not None
        return self.local_uri.session_id

    def __repr__(self) -> str:
        return f"MsrpSession({self.local_uri} -> {format_path(self.remote_path)})"


# -- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A whole message arrived (all its chunks)."""

    session: MsrpSession
    message_id: str
    content_type: str | None
    body: bytes
    chunks: tuple[MsrpRequest, ...]
    chunk_sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChunkReceived:
    session: MsrpSession
    request: MsrpRequest


@dataclass(frozen=True, slots=True)
class MessageAborted:
    """The sender ended a message with ``#`` (RFC 4975 7.1.1)."""

    session: MsrpSession
    message_id: str
    received: int
    chunks: tuple[MsrpRequest, ...]


@dataclass(frozen=True, slots=True)
class KeepAliveReceived:
    """An empty SEND (RFC 4975 7.1)."""

    session: MsrpSession
    request: MsrpRequest


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request of a method other than SEND and REPORT (answered 501)."""

    session: MsrpSession
    request: MsrpRequest


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    session: MsrpSession | None
    response: MsrpResponse
    request: MsrpRequest


@dataclass(frozen=True, slots=True)
class ReportReceived:
    session: MsrpSession
    report: MsrpRequest
    status: Status
    message_id: str | None
    byte_range: ByteRange | None


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    session: MsrpSession | None
    request: MsrpRequest


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke RFC 4975; ``error.raw`` holds the offending bytes."""

    error: RemoteProtocolError
    session: MsrpSession | None = None


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    pass


MsrpEvent: TypeAlias = (
    MessageReceived
    | ChunkReceived
    | MessageAborted
    | KeepAliveReceived
    | RequestReceived
    | ResponseReceived
    | ReportReceived
    | TransactionTimedOut
    | ProtocolViolation
    | ConnectionClosed
)


@dataclass(slots=True)
class OutgoingTransaction:
    request: MsrpRequest
    session: MsrpSession | None
    sent_at: float
    #: ``None`` when no response is expected (Failure-Report ``no`` or ``partial``)
    deadline: float | None
    state: TransactionState = TransactionState.PENDING
    response: MsrpResponse | None = field(default=None)

    def move(self, event: str, *, raw: bytes | None = None) -> None:
        """Apply ``event``; a missing transition raises LocalProtocolError for a
        ``timeout``, RemoteProtocolError (``raw``: the response) for a ``response``."""
        self.state = TRANSACTION_MACHINE.step(
            self.state, event, _TRANSACTION_ORIGINS.get(event, Origin.LOCAL), raw=raw
        )


def _report_value(get: str | None, default: str) -> str:
    return default if get is None else get.strip()


class MsrpConnection:
    """One MSRP connection carrying one or more sessions (see the module docstring)."""

    def __init__(self, config: MsrpConfig | None = None) -> None:
        self.config = config or MsrpConfig()
        self.state = ConnectionState.OPEN
        self._parser = MsrpParser(
            max_header_size=self.config.max_header_size,
            max_chunk_size=self.config.max_chunk_size,
        )
        self._sessions: dict[str, MsrpSession] = {}
        self._transactions: dict[str, OutgoingTransaction] = {}
        self._out = bytearray()
        #: answer nothing (an endpoint that lost its connectivity without closing the
        #: connection: the peer's transactions time out, RFC 4975 7.1.1)
        self.silent = False

    # sessions

    def add_session(self, session: MsrpSession) -> MsrpSession:
        if session.session_id in self._sessions:
            raise LocalProtocolError(f"session {session.session_id} already on this connection")
        self._sessions[session.session_id] = session
        return session

    def remove_session(self, session: MsrpSession) -> None:
        self._sessions.pop(session.session_id, None)

    @property
    def sessions(self) -> tuple[MsrpSession, ...]:
        return tuple(self._sessions.values())

    @property
    def transactions(self) -> tuple[OutgoingTransaction, ...]:
        return tuple(self._transactions.values())

    def transaction(self, tid: str) -> OutgoingTransaction | None:
        return self._transactions.get(tid)

    def _move(self, event: str) -> None:
        origin = _CONNECTION_ORIGINS.get(event, Origin.LOCAL)
        self.state = CONNECTION_MACHINE.step(self.state, event, origin)

    # output

    def data_to_send(self) -> bytes:
        data = bytes(self._out)
        self._out.clear()
        return data

    def send_raw(self, data: bytes) -> None:
        """Queue bytes as they are (a malformed stimulus); nothing is tracked."""
        self._check_sendable()
        self._out += data

    def _check_sendable(self) -> None:
        if self.state is ConnectionState.CLOSED:
            raise LocalProtocolError("the MSRP connection is closed")

    def send_request(
        self,
        request: MsrpRequest,
        now: float,
        *,
        session: MsrpSession | None = None,
        expect_response: bool | None = None,
        end_tid: str | None = None,
    ) -> OutgoingTransaction | None:
        """Queue one request. A SEND with Failure-Report ``yes`` (or ``expect_response``)
        starts a timed transaction; REPORTs never do."""
        self._check_sendable()
        if request.tid in self._transactions:
            raise LocalProtocolError(f"transaction id {request.tid} already used")
        self._out += request.to_bytes(end_tid=end_tid)
        if request.method == "REPORT" and not expect_response:
            return None
        try:
            failure = request.failure_report
        except RemoteProtocolError:
            failure = "yes"
        timed = expect_response if expect_response is not None else failure == "yes"
        deadline = now + self.config.transaction_timeout if timed else None
        transaction = OutgoingTransaction(request, session, now, deadline)
        self._transactions[request.tid] = transaction
        return transaction

    def send_message(
        self,
        session: MsrpSession,
        body: bytes,
        content_type: str | None,
        now: float,
        *,
        message_id: str | None = None,
        success_report: str | None = None,
        failure_report: str | None = None,
        chunk_size: int | None = None,
        total_known: bool = True,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> list[MsrpRequest]:
        """Send a message as SEND chunks of ``chunk_size`` (default from the config)."""
        if session.session_id not in self._sessions:
            raise LocalProtocolError(f"session {session.session_id} is not on this connection")
        message_id = message_id or new_message_id()
        chunks = chunk_message(
            session.remote_path,
            session.local_uri,
            message_id,
            body,
            content_type,
            chunk_size or self.config.chunk_size,
            success_report=success_report,
            failure_report=failure_report,
            total_known=total_known,
            extra_headers=extra_headers,
        )
        for chunk in chunks:
            self.send_request(chunk, now, session=session)
        session.sent_message_ids.append(message_id)
        return chunks

    def send_keepalive(self, session: MsrpSession, now: float) -> MsrpRequest:
        """An empty SEND (RFC 4975 7.1)."""
        return self.send_message(session, b"", None, now)[0]

    # timers

    def next_deadline(self) -> float | None:
        deadlines = [
            t.deadline
            for t in self._transactions.values()
            if t.deadline is not None and t.state is TransactionState.PENDING
        ]
        return min(deadlines, default=None)

    def handle_timeout(self, now: float) -> list[MsrpEvent]:
        events: list[MsrpEvent] = []
        for transaction in list(self._transactions.values()):
            if (
                transaction.state is TransactionState.PENDING
                and transaction.deadline is not None
                and transaction.deadline <= now
            ):
                transaction.move("timeout")
                events.append(TransactionTimedOut(transaction.session, transaction.request))
        return events

    # input

    def connection_lost(self) -> list[MsrpEvent]:
        """The transport closed; a message cut short is a violation."""
        events: list[MsrpEvent] = []
        if self.state is ConnectionState.CLOSED:
            return events
        for item in self._parser.eof():
            if isinstance(item, RemoteProtocolError):
                events.append(ProtocolViolation(item))
        self._move("close")
        events.append(ConnectionClosed())
        return events

    def receive_data(self, data: bytes, now: float) -> list[MsrpEvent]:
        events: list[MsrpEvent] = []
        if self.state is not ConnectionState.OPEN:
            return events
        for item in self._parser.feed(data):
            if isinstance(item, MsrpSyntaxError):
                self._on_syntax_error(item, events)
            elif isinstance(item, RemoteProtocolError):
                events.append(ProtocolViolation(item))
            elif isinstance(item, MsrpResponse):
                self._on_response(item, events)
            else:
                self._on_request(item, events)
        if self._parser.broken and self.state is ConnectionState.OPEN:
            self._move("framing-error")
        return events

    def _demux(self, request: MsrpRequest) -> MsrpSession | None:
        to_path = request.to_path
        for uri in (to_path[0], to_path[-1]):
            if uri.session_id is not None and uri.session_id in self._sessions:
                return self._sessions[uri.session_id]
        return None

    def _respond(self, request: MsrpRequest, status: int, comment: str, error: bool) -> None:
        """Answer unless Failure-Report forbids (``no``: never; ``partial``: errors only)."""
        failure = _report_value(request.header("Failure-Report"), "yes")
        if self.silent or failure == "no" or (failure == "partial" and not error):
            return
        if request.method == "REPORT":
            return
        self._out += build_response(request, status, comment).to_bytes()

    def _on_syntax_error(self, error: MsrpSyntaxError, events: list[MsrpEvent]) -> None:
        parsed = error.parsed
        session: MsrpSession | None = None
        if isinstance(parsed, MsrpRequest):
            try:
                session = self._demux(parsed)
            except RemoteProtocolError:
                session = None
            # when the paths are unreadable no response can be addressed
            with contextlib.suppress(RemoteProtocolError, LocalProtocolError):
                self._respond(parsed, 400, "Bad Request", error=True)
        events.append(ProtocolViolation(error, session))

    def _on_response(self, response: MsrpResponse, events: list[MsrpEvent]) -> None:
        transaction = self._transactions.get(response.tid)
        if transaction is None:
            events.append(
                ProtocolViolation(
                    RemoteProtocolError(
                        f"response to unknown transaction {response.tid}", raw=response.raw
                    )
                )
            )
            return
        try:
            transaction.move("response", raw=response.raw)
        except RemoteProtocolError:
            events.append(
                ProtocolViolation(
                    RemoteProtocolError(
                        f"response to {transaction.state.value} transaction {response.tid}",
                        raw=response.raw,
                    ),
                    transaction.session,
                )
            )
            return
        transaction.response = response
        events.append(ResponseReceived(transaction.session, response, transaction.request))

    def _on_request(self, request: MsrpRequest, events: list[MsrpEvent]) -> None:
        session = self._demux(request)
        if session is None:
            self._respond(request, 481, "Session does not exist", error=True)
            events.append(
                ProtocolViolation(
                    RemoteProtocolError(
                        f"{request.method} for unknown session {request.header('To-Path')}",
                        raw=request.raw,
                    )
                )
            )
            return
        if request.method == "REPORT":
            status = request.status
            assert status is not None  # validate() checked it
            events.append(
                ReportReceived(session, request, status, request.message_id, request.byte_range)
            )
            return
        if request.method != "SEND":
            self._respond(request, 501, "Not Implemented", error=True)
            events.append(RequestReceived(session, request))
            return
        if request.is_keepalive:
            self._respond(request, 200, "OK", error=False)
            events.append(KeepAliveReceived(session, request))
            return
        events.append(ChunkReceived(session, request))
        try:
            result = session.reassembler.add(request)
        except RemoteProtocolError as exc:
            self._respond(request, 400, "Bad Request", error=True)
            events.append(ProtocolViolation(exc, session))
            return
        self._respond(request, 200, "OK", error=False)
        if isinstance(result, Aborted):
            events.append(
                MessageAborted(session, result.message_id, result.received, result.chunks)
            )
        elif isinstance(result, Reassembled):
            events.append(
                MessageReceived(
                    session,
                    result.message_id,
                    result.content_type,
                    result.body,
                    result.chunks,
                    result.chunk_sizes,
                )
            )
            if any(chunk.success_report == "yes" for chunk in result.chunks):
                report = report_for(request, session.local_uri, len(result.body))
                self._out += report.to_bytes()
