"""One emulated MSRP endpoint (RFC 4975): a listener, one session, one connection.

:class:`MsrpPeer` wraps an :class:`~conformance.net.msrp_pump.MsrpPump` for a single
endpoint of a role (a client's chat session, the CF's leg towards a PF):

- :attr:`MsrpPeer.uri` is its ``a=path`` URI (on its own run-time port);
  :meth:`MsrpPeer.sdp` builds the SDP offer or answer that carries it;
- the active side :meth:`connect`\\ s to the first hop of the remote path and binds the
  session with an empty SEND (RFC 4975 5.4), awaiting its response; the passive
  side :meth:`declare`\\ s the session *before* the peer connects (the first SEND may
  arrive in the connection's first segment, so the session must exist when the connection
  opens) and then awaits :meth:`accepted`;
- :meth:`send_cpim` / :meth:`send` send a message; :meth:`expect_message` waits for one.

Every wait is bounded (``within`` seconds, :class:`~conformance.net.clock.WaitTimeout`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from conformance.documents.cpim import CPIM_CONTENT_TYPE, build_cpim, new_cpim
from conformance.errors import LocalProtocolError
from conformance.net.capture import Capture
from conformance.net.clock import Notifier, WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump, MsrpTransactionTimeoutError
from conformance.net.stream import StreamConnection
from conformance.protocol.msrp.codec import MsrpRequest, MsrpResponse
from conformance.protocol.msrp.session import MessageReceived, MsrpConfig, MsrpSession
from conformance.protocol.msrp.uri import parse_uri
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp

DEFAULT_ACCEPT_TYPES: tuple[str, ...] = ("message/cpim", "application/im-iscomposing+xml")
#: how long :meth:`MsrpPeer.connect` awaits the response to its binding SEND by default
BIND_WITHIN = 5.0
DEFAULT_WRAPPED_TYPES: tuple[str, ...] = (
    "text/plain",
    "message/imdn+xml",
    "application/conference-info+xml",
)


class MsrpPeer:
    """One MSRP endpoint of a role (module docstring). Build it with :meth:`start`."""

    def __init__(self, pump: MsrpPump, session_id: str) -> None:
        self.pump = pump
        self.session_id = session_id
        #: the remote path (first hop first) once known
        self.remote_path: list[str] = []
        self.channel: MsrpChannel | None = None
        self.session: MsrpSession | None = None
        #: every channel this peer used (accepted or opened), as evidence
        self.channels: list[MsrpChannel] = []
        self._declared: list[str] | None = None
        #: the response to the binding SEND of :meth:`connect` (None: none came)
        self.binding: MsrpResponse | None = None
        self._changed = Notifier()
        self._pump_open = pump.transport.on_open
        pump.transport.on_open = self._on_open

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        capture: Capture | None = None,
        config: MsrpConfig | None = None,
        *,
        session_id: str | None = None,
        role: str | None = None,
        peer_role: str | None = None,
    ) -> MsrpPeer:
        """A listener on a run-time port of ``host`` for one session. ``role`` (and
        ``peer_role``, the far end's) name its addresses in the capture (the report's
        lanes, :meth:`conformance.net.msrp_transport.MsrpTransport.name`)."""
        pump = await MsrpPump.start(host, capture, config)
        if role is not None:
            pump.transport.name(role, peer_role)
        return cls(pump, session_id or secrets.token_hex(8))

    async def close(self) -> None:
        await self.pump.close()

    # -- addresses and SDP ----------------------------------------------------------
    @property
    def host(self) -> str:
        return self.pump.address().host

    @property
    def port(self) -> int:
        return self.pump.address().port

    @property
    def uri(self) -> str:
        """The local MSRP URI (the ``a=path`` value of this endpoint)."""
        return self.pump.uri(self.session_id)

    def sdp(
        self,
        *,
        setup: str | None = "actpass",
        accept_types: Sequence[str] = DEFAULT_ACCEPT_TYPES,
        accept_wrapped_types: Sequence[str] | None = DEFAULT_WRAPPED_TYPES,
        direction: str | None = "sendrecv",
        path: Sequence[str] | None = None,
        extra_attributes: Sequence[str] = (),
    ) -> bytes:
        """An SDP with one MSRP m-line for this endpoint (``path`` overrides ``a=path``)."""
        return build_msrp_sdp(
            host=self.host,
            port=self.port,
            path=list(path) if path is not None else [self.uri],
            accept_types=accept_types,
            accept_wrapped_types=accept_wrapped_types,
            setup=setup,
            direction=direction,
            extra_attributes=extra_attributes,
        )

    # -- establishing the session ---------------------------------------------------
    def declare(self, remote_path: Sequence[str]) -> None:
        """Accept a connection for this session: every connection accepted from now on
        carries the session from its first byte (the passive side, RFC 4975 8.1)."""
        self.remote_path = list(remote_path)
        self._declared = list(remote_path)
        for channel in self.pump.channels:  # a connection that opened already
            if not channel.stream.outgoing and channel not in self.channels:
                self._bind(channel, self._declared)

    async def accepted(self, *, within: float) -> MsrpChannel:
        """The connection the remote endpoint opened for the declared session."""
        if self._declared is None:
            raise LocalProtocolError("declare() the session before awaiting a connection")
        channel = await self.pump.accepted(within=within)
        if channel not in self.channels:
            self._bind(channel, self._declared)
        self.channel = channel
        self._changed.notify()
        return channel

    async def connect(
        self,
        remote_path: Sequence[str],
        *,
        within: float = BIND_WITHIN,
        peer_role: str | None = None,
    ) -> MsrpChannel:
        """Open the connection to the first hop of ``remote_path`` (the active side) and
        bind the session at once with an empty SEND (RFC 4975 5.4), awaiting its response
        for at most ``within`` seconds (:attr:`binding`: the response, None when none came;
        an unanswered binding is left for the test's own waits to show). ``peer_role``
        names the far end (:meth:`name_peer`)."""
        if not remote_path:
            raise LocalProtocolError("an MSRP session needs a remote path")
        self.remote_path = list(remote_path)
        first = parse_uri(remote_path[0])
        if first.port is None:
            raise LocalProtocolError(f"MSRP URI without a port: {remote_path[0]}")
        channel = await self.pump.connect(first.host, first.port, reuse=False)
        self.name_peer(channel, peer_role)
        self._bind(channel, self.remote_path)
        self.channel = channel
        self._changed.notify()
        await self._send_binding(channel, within)
        return channel

    async def _send_binding(self, channel: MsrpChannel, within: float) -> None:
        assert self.session is not None
        self.binding = None
        try:
            for request in channel.send_message(self.session, b"", None):
                self.binding = await channel.response(request, within=within)
        except (WaitTimeout, MsrpTransactionTimeoutError, LocalProtocolError):
            self.binding = None

    async def establish(
        self,
        remote_sdp: bytes,
        *,
        local_setup: str,
        within: float,
        peer_role: str | None = None,
    ) -> MsrpChannel:
        """Connect or accept by the negotiated roles: ``local_setup`` "active" connects to
        the remote ``a=path``; "passive" declares the session and awaits the connection.
        ``peer_role`` names the far end of the connection in the capture, as the
        signalling that negotiated it tells (:meth:`name_peer`)."""
        path = parse_sdp(remote_sdp).msrp.path
        if local_setup == "active":
            return await self.connect(path, within=within, peer_role=peer_role)
        self.declare(path)
        channel = await self.accepted(within=within)
        self.name_peer(channel, peer_role)
        return channel

    def name_peer(self, channel: MsrpChannel, peer_role: str | None) -> None:
        """Name the far end of ``channel`` ``peer_role`` in the capture: the element the
        signalling says it is (the SIP peer of the dialog), which replaces the guess from
        the role under test (:meth:`conformance.net.capture.Capture.name`)."""
        if peer_role is not None:
            self.pump.transport.capture.name(
                channel.stream.remote, peer_role, owner=False, signalled=True
            )

    def _bind(self, channel: MsrpChannel, remote_path: Sequence[str]) -> None:
        self.session = channel.add_session(self.uri, list(remote_path))
        self.channels.append(channel)

    def _on_open(self, stream: StreamConnection) -> None:
        if self._pump_open is not None:
            self._pump_open(stream)
        if stream.outgoing or self._declared is None:
            return
        for channel in self.pump.channels:
            if channel.stream is stream and channel not in self.channels:
                self._bind(channel, self._declared)

    # -- sending and receiving ------------------------------------------------------
    def _require(self) -> tuple[MsrpChannel, MsrpSession]:
        if self.channel is None or self.session is None:
            raise LocalProtocolError("the MSRP session has no connection yet")
        return self.channel, self.session

    def send(
        self,
        body: bytes,
        content_type: str | None,
        *,
        message_id: str | None = None,
        success_report: str | None = None,
        failure_report: str | None = None,
        chunk_size: int | None = None,
    ) -> list[MsrpRequest]:
        """Send one message as SEND chunks in this session."""
        channel, session = self._require()
        return channel.send_message(
            session,
            body,
            content_type,
            message_id=message_id,
            success_report=success_report,
            failure_report=failure_report,
            chunk_size=chunk_size,
        )

    def send_cpim(
        self,
        *,
        from_: str,
        to: str | tuple[str, ...],
        body: bytes,
        content_type: str = "text/plain",
        imdn_message_id: str | None = None,
        disposition_notification: tuple[str, ...] = (),
        datetime_: str | None = None,
        success_report: str | None = None,
        failure_report: str | None = None,
    ) -> list[MsrpRequest]:
        """Send ``body`` wrapped in ``message/cpim`` (RFC 3862); From/To are header values
        such as ``"<sip:alice@example.com>"``."""
        cpim = new_cpim(
            from_=from_,
            to=to,
            body=body,
            content_type=content_type,
            datetime_=datetime_,
            imdn_message_id=imdn_message_id,
            disposition_notification=disposition_notification,
        )
        return self.send(
            build_cpim(cpim),
            CPIM_CONTENT_TYPE,
            success_report=success_report,
            failure_report=failure_report,
        )

    async def expect_message(self, *, within: float, since: int = 0) -> MessageReceived:
        """The first complete message received at index ``since`` or later of this
        session's connection (awaiting the connection itself within the same bound)."""
        loop_start = self.pump.now()
        channel = self.channel
        if channel is None:
            channel = await self._changed.wait_until(
                lambda: self.channel, within, f"MSRP connection for {self.uri}"
            )
        left = max(within - (self.pump.now() - loop_start), 0.0)
        return await channel.expect_message(within=left, since=since)

    def messages(self) -> list[MessageReceived]:
        """Every complete message received so far on this peer's connections."""
        out: list[MessageReceived] = []
        for channel in self.channels:
            out += [e.event for e in channel.events if isinstance(e.event, MessageReceived)]
        return out


__all__ = ["BIND_WITHIN", "DEFAULT_ACCEPT_TYPES", "DEFAULT_WRAPPED_TYPES", "MsrpPeer"]
