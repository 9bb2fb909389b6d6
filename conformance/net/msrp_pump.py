"""The MSRP pump: joins an :class:`MsrpTransport` to sans-IO MSRP connections.

Each TCP connection gets one :class:`~conformance.protocol.msrp.session.MsrpConnection`
(framing, session demultiplexing, automatic 200/481/REPORT as an endpoint, transaction
timeouts). The pump feeds it the received bytes with the loop's monotonic time, writes
what it has to send, records its events, and keeps one timer armed at the earliest
``next_deadline`` of all its connections.

Roles use :class:`MsrpChannel` (one per connection): add sessions, send messages or raw
stimuli, and wait for events with a guard timeout (:class:`~conformance.net.clock.WaitTimeout`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from conformance.errors import GuardTimeout, LocalProtocolError
from conformance.net.capture import Capture
from conformance.net.clock import DeadlineTimer, Notifier
from conformance.net.msrp_transport import MsrpTransport
from conformance.net.stream import StreamConnection
from conformance.protocol.msrp.codec import MsrpRequest, MsrpResponse
from conformance.protocol.msrp.session import (
    ConnectionState,
    MessageReceived,
    MsrpConfig,
    MsrpConnection,
    MsrpEvent,
    MsrpSession,
    OutgoingTransaction,
    ResponseReceived,
    TransactionTimedOut,
)
from conformance.protocol.msrp.uri import MsrpUri, parse_uri
from conformance.protocol.sip.timers import Address, Transport

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class LoggedMsrpEvent:
    at: float
    event: MsrpEvent


class MsrpTransactionTimeoutError(GuardTimeout):
    """An MSRP transaction got no response within the connection's transaction timeout."""

    def __init__(self, request: MsrpRequest) -> None:
        super().__init__(f"MSRP {request.method} {request.tid} timed out without a response")
        self.request = request


class MsrpChannel:
    """One MSRP connection as the roles see it."""

    def __init__(self, pump: MsrpPump, stream: StreamConnection, machine: MsrpConnection) -> None:
        self.pump = pump
        self.stream = stream
        self.machine = machine
        #: every event of this connection, in order, with its loop time
        self.events: list[LoggedMsrpEvent] = []
        self._changed = Notifier()

    @property
    def remote(self) -> Address:
        return Address(self.stream.remote[0], self.stream.remote[1], Transport.TCP)

    @property
    def closed(self) -> bool:
        return not self.stream.is_open

    # -- sessions and sending -----------------------------------------------------------
    def add_session(
        self,
        local_uri: MsrpUri | str,
        remote_path: MsrpUri | str | Sequence[MsrpUri | str],
    ) -> MsrpSession:
        local = parse_uri(local_uri) if isinstance(local_uri, str) else local_uri
        if isinstance(remote_path, (str, MsrpUri)):
            remote_path = [remote_path]
        remote = [parse_uri(u) if isinstance(u, str) else u for u in remote_path]
        return self.machine.add_session(MsrpSession(local, remote))

    def send_message(
        self,
        session: MsrpSession,
        body: bytes,
        content_type: str | None,
        *,
        message_id: str | None = None,
        success_report: str | None = None,
        failure_report: str | None = None,
        chunk_size: int | None = None,
        total_known: bool = True,
        extra_headers: Iterable[tuple[str, str]] = (),
    ) -> list[MsrpRequest]:
        """Send a message as SEND chunks (see ``MsrpConnection.send_message``)."""
        chunks = self.machine.send_message(
            session,
            body,
            content_type,
            self.pump.now(),
            message_id=message_id,
            success_report=success_report,
            failure_report=failure_report,
            chunk_size=chunk_size,
            total_known=total_known,
            extra_headers=extra_headers,
        )
        self.pump.flush(self)
        return chunks

    def send_request(
        self,
        request: MsrpRequest,
        *,
        session: MsrpSession | None = None,
        expect_response: bool | None = None,
        end_tid: str | None = None,
    ) -> OutgoingTransaction | None:
        tx = self.machine.send_request(
            request,
            self.pump.now(),
            session=session,
            expect_response=expect_response,
            end_tid=end_tid,
        )
        self.pump.flush(self)
        return tx

    def send_raw(self, data: bytes) -> None:
        """Put exactly ``data`` on the connection (a malformed stimulus)."""
        self.machine.send_raw(data)
        self.pump.flush(self)

    def close(self) -> None:
        self.stream.close()

    # -- waiting ------------------------------------------------------------------------
    async def expect(
        self,
        kind: type[E],
        *,
        within: float,
        match: Callable[[E], bool] | None = None,
        since: int = 0,
    ) -> E:
        """The first event of type ``kind`` (and ``match``) at index ``since`` or later."""

        def probe() -> E | None:
            for logged in self.events[since:]:
                ev = logged.event
                if isinstance(ev, kind) and (match is None or match(ev)):
                    return ev
            return None

        return await self._changed.wait_until(
            probe, within, f"MSRP {kind.__name__} from {self.remote}"
        )

    async def expect_message(self, *, within: float, since: int = 0) -> MessageReceived:
        return await self.expect(MessageReceived, within=within, since=since)

    async def response(self, request: MsrpRequest, *, within: float) -> MsrpResponse:
        """The response to ``request``; :class:`MsrpTransactionTimeoutError` if it timed out."""

        def probe() -> MsrpResponse | None:
            for logged in self.events:
                ev = logged.event
                if isinstance(ev, ResponseReceived) and ev.request.tid == request.tid:
                    return ev.response
                if isinstance(ev, TransactionTimedOut) and ev.request.tid == request.tid:
                    raise MsrpTransactionTimeoutError(request)
            return None

        return await self._changed.wait_until(
            probe, within, f"MSRP response to {request.method} {request.tid}"
        )

    def record_events(self, events: Iterable[MsrpEvent]) -> None:
        """The pump hands over what the session machine made of received bytes."""
        now = self.pump.now()
        self.events.extend(LoggedMsrpEvent(now, e) for e in events)
        self._changed.notify()


class MsrpPump:
    """MSRP transport + one sans-IO connection per TCP connection + one timer."""

    def __init__(self, transport: MsrpTransport, config: MsrpConfig | None = None) -> None:
        self.transport = transport
        self.config = config or MsrpConfig()
        self.loop = asyncio.get_running_loop()
        self._channels: dict[StreamConnection, MsrpChannel] = {}
        self._accepted: list[MsrpChannel] = []
        self._changed = Notifier()
        self._timer = DeadlineTimer(self.loop, self._on_timer)
        transport.on_open = self._on_open
        transport.on_data = self._on_data
        transport.on_close = self._on_close

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        capture: Capture | None = None,
        config: MsrpConfig | None = None,
        *,
        port: int = 0,
    ) -> MsrpPump:
        return cls(await MsrpTransport.start(host, capture, port=port), config)

    @property
    def capture(self) -> Capture:
        return self.transport.capture

    def now(self) -> float:
        return self.loop.time()

    def address(self) -> Address:
        return self.transport.address()

    def uri(self, session_id: str) -> str:
        return self.transport.uri(session_id)

    @property
    def channels(self) -> list[MsrpChannel]:
        return list(self._channels.values())

    async def connect(self, host: str, port: int, *, reuse: bool = True) -> MsrpChannel:
        stream = await self.transport.connect(host, port, reuse=reuse)
        return self._channels[stream]

    async def accepted(self, *, within: float) -> MsrpChannel:
        """The next connection a peer opened to our listener."""

        def probe() -> MsrpChannel | None:
            return self._accepted.pop(0) if self._accepted else None

        return await self._changed.wait_until(probe, within, f"MSRP connection to {self.address()}")

    async def close(self) -> None:
        self._timer.cancel()
        await self.transport.close()

    async def __aenter__(self) -> MsrpPump:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- transport callbacks ------------------------------------------------------------
    def _on_open(self, stream: StreamConnection) -> None:
        channel = MsrpChannel(self, stream, MsrpConnection(self.config))
        self._channels[stream] = channel
        if not stream.outgoing:
            self._accepted.append(channel)
            self._changed.notify()

    def _on_data(self, stream: StreamConnection, data: bytes) -> None:
        channel = self._channels.get(stream)
        if channel is None:
            return
        channel.record_events(channel.machine.receive_data(data, self.now()))
        self.flush(channel)
        if channel.machine.state is ConnectionState.BROKEN:
            # the framing is lost for good and nothing more is read: stop receiving, so
            # that a hostile peer cannot make the capture grow without bound
            channel.stream.close()

    def _on_close(self, stream: StreamConnection) -> None:
        channel = self._channels.pop(stream, None)
        if channel is None:
            return
        channel.record_events(channel.machine.connection_lost())
        self._arm()

    # -- output and timer ---------------------------------------------------------------
    def flush(self, channel: MsrpChannel) -> None:
        """Send what the channel's session machine has queued and re-arm its timer."""
        data = channel.machine.data_to_send()
        if data:
            try:
                channel.stream.write(data)
            except ConnectionError as exc:
                raise LocalProtocolError(f"MSRP connection is closed: {exc}") from exc
        self._arm()

    def _arm(self) -> None:
        deadlines = [
            d for c in self._channels.values() if (d := c.machine.next_deadline()) is not None
        ]
        self._timer.arm(min(deadlines, default=None))

    def _on_timer(self, now: float) -> None:
        for channel in list(self._channels.values()):
            events = channel.machine.handle_timeout(now)
            if events:
                channel.record_events(events)
            data = channel.machine.data_to_send()
            if data and channel.stream.is_open:
                channel.stream.write(data)
        self._arm()


__all__ = ["LoggedMsrpEvent", "MsrpChannel", "MsrpPump", "MsrpTransactionTimeoutError"]
