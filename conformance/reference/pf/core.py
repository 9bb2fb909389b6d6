"""What every feature of the reference PF shares: the pumps, the configuration, the
registrations, the Message Store and the :class:`SessionTable`, with the I/O verbs the
features use (:class:`PfCore`).

The session table is the only writer of the session indices (sessions by id, legs by
dialog, legs waiting for their MSRP connection); the features read and change them through
its methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import ConnectionClosed
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.dialog import Dialog, DialogId, uri_of
from conformance.protocol.sip.ids import new_branch
from conformance.protocol.sip.message import SipRequest, build_response
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import ActiveFaults
from conformance.reference.lifecycle import BackgroundTasks, close_pumps
from conformance.reference.pf.model import B2buaSession, MsrpLeg, SipLeg
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.registrations import Registrations, aor
from conformance.reference.store import MessageStoreWriter, open_store_writer

log = logging.getLogger(__name__)

#: the methods the PF answers (RFC 3261 20.5)
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"

#: what a leg is in its session
Owner = tuple[B2buaSession, SipLeg]
#: a handler of every event of an MSRP channel the PF reads
MsrpEventHandler = Callable[[MsrpChannel, object], None]


def address_of(uri: str) -> Address:
    """Where a request for ``uri`` goes (RFC 3263 reduced to a literal host:port)."""
    parsed = parse_uri(uri_of(uri) if "<" in uri else uri)
    if not parsed.is_sip or not parsed.host:
        raise RemoteProtocolError(f"no SIP address in {uri!r}")
    tcp = (parsed.param("transport") or "").lower() == "tcp"
    return Address(parsed.host.strip("[]"), parsed.port or 5060, Transport.TCP if tcp else (
        Transport.UDP
    ))


def identity_of(request: SipRequest) -> str:
    """The asserted originator: P-Asserted-Identity, else From, as an AOR."""
    value = request.headers.get("P-Asserted-Identity") or request.headers.get("From") or ""
    return aor(uri_of(value))


class SessionTable:
    """The B2BUA sessions of the PF and their indices; the only writer of them."""

    def __init__(self) -> None:
        self._sessions: dict[str, B2buaSession] = {}
        self._by_dialog: dict[DialogId, Owner] = {}
        self._pending_msrp: dict[str, Owner] = {}

    # -- sessions -------------------------------------------------------------------------
    @property
    def sessions(self) -> Mapping[str, B2buaSession]:
        return self._sessions

    def values(self) -> list[B2buaSession]:
        """A snapshot of the sessions (safe to end them while iterating)."""
        return list(self._sessions.values())

    def add(self, session: B2buaSession) -> None:
        self._sessions[session.id] = session

    def forget(self, session: B2buaSession) -> None:
        """Drop ``session``: its dialogs, its legs waiting for MSRP and the session."""
        for leg in session.legs:
            if leg.dialog is not None:
                self._by_dialog.pop(leg.dialog.id, None)
        self.unexpect_session(session)
        self._sessions.pop(session.id, None)

    # -- dialogs --------------------------------------------------------------------------
    def bind_dialog(self, dialog: Dialog, session: B2buaSession, leg: SipLeg) -> None:
        self._by_dialog[dialog.id] = (session, leg)

    def unbind_dialog(self, dialog: Dialog) -> None:
        self._by_dialog.pop(dialog.id, None)

    def by_dialog(self, did: DialogId | None) -> Owner | None:
        return self._by_dialog.get(did) if did is not None else None

    def knows_dialog(self, did: DialogId | None) -> bool:
        return did is not None and did in self._by_dialog

    # -- legs waiting for their MSRP connection -------------------------------------------
    def expect_msrp(self, sid: str, session: B2buaSession, leg: SipLeg) -> None:
        """``leg`` (MSRP session id ``sid``) may be bound by a connection the peer opens."""
        self._pending_msrp[sid] = (session, leg)

    def unexpect_msrp(self, sid: str) -> None:
        self._pending_msrp.pop(sid, None)

    def claim_msrp(self, sid: str) -> Owner | None:
        """The leg waiting for ``sid``, no longer waiting; None when none was."""
        return self._pending_msrp.pop(sid, None)

    def expects_msrp(self, sid: str) -> bool:
        return sid in self._pending_msrp

    def pending_legs(self) -> list[SipLeg]:
        return [leg for _, leg in self._pending_msrp.values()]

    def unexpect_session(self, session: B2buaSession, *, keep: SipLeg | None = None) -> None:
        """No leg of ``session`` but ``keep`` waits for its MSRP connection any more."""
        for sid, (owner, leg) in list(self._pending_msrp.items()):
            if owner is session and leg is not keep:
                del self._pending_msrp[sid]


class PfCore:
    """The shared part of the reference PF and the I/O verbs of its features."""

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump,
                 on_msrp_event: MsrpEventHandler) -> None:
        self.config = config
        self.faults: ActiveFaults = config.faults
        policy = config.pf_policy
        if policy is not None and not isinstance(policy, PfPolicy):
            raise LocalProtocolError(f"config.pf_policy is a {type(policy).__name__}")
        self.policy: PfPolicy = policy or PfPolicy()
        self.sip = sip
        self.msrp = msrp
        self.loop = asyncio.get_running_loop()
        self.registrations = Registrations()
        self.table = SessionTable()
        #: Call-IDs of sessions the PF proxies (8.2.1 step 5, 8.3.2 step 9)
        self.proxied: set[str] = set()
        self.store: MessageStoreWriter | None = (
            open_store_writer(config.store_url) if config.store_url else None
        )
        self._tasks = BackgroundTasks(log, "PF")
        self._on_msrp_event = on_msrp_event

    async def close(self) -> None:
        for session in self.table.values():
            if session.ack_guard is not None:
                session.ack_guard.cancel()
        await close_pumps(self.sip, self.msrp, self._tasks, self.config.timers.b)
        if self.store is not None:
            await self.store.close()

    # -- addresses ------------------------------------------------------------------------
    @property
    def address(self) -> Address:
        return self.sip.address()

    @property
    def hostport(self) -> str:
        return f"{self.address.host}:{self.address.port}"

    @property
    def agent(self) -> str:
        """The warn-agent of the PF's Warning headers (RFC 3261 20.43): its host."""
        try:
            return parse_uri(self.config.pf_uri).host or self.hostport
        except RemoteProtocolError:
            return self.hostport

    def own_uri(self, session_id: str) -> str:
        """A URI of the PF that resolves back to one session (8.2.1 4.i, 200 OK 5)."""
        return f"sip:pf-{session_id}@{self.hostport}"

    def served(self, uri: str) -> bool:
        users = {aor(u.uri) for u in self.config.users}
        return aor(uri) in users

    @property
    def b2bua_record_route(self) -> str:
        """The Record-Route of an INVITE the PF sends to a client as a B2BUA: its Contact
        is the focus's (8.3.2 8.d.v), so the client's in-dialog requests target the focus
        URI and only this route keeps the PF on their path (RFC 3261 12.2.1.1)."""
        return f"<sip:{self.hostport};lr>"

    def record_route(self) -> str | None:
        """The Record-Route of a request the PF proxies (8.2.1 step 5, 8.3.2 step 9)."""
        if self.faults.on("pf.no-record-route"):
            return None
        return f"<sip:{self.hostport};lr>"

    def via(self, transport: Transport = Transport.UDP) -> str:
        return f"SIP/2.0/{transport.value} {self.hostport};branch={new_branch()};rport"

    def destination(self, uri: str) -> Address:
        """Every request the PF originates goes to ``config.core`` when set, else to the
        host:port of ``uri``."""
        return self.config.core if self.config.core is not None else address_of(uri)

    def spawn(self, coro: Awaitable[Any]) -> None:
        self._tasks.spawn(coro)

    # -- SIP ------------------------------------------------------------------------------
    @staticmethod
    def reply_if_open(incoming: IncomingRequest, status: int, reason: str | None = None,
                      headers: list[tuple[str, str]] | None = None) -> None:
        """A final response, unless the request is an ACK or already has one."""
        if incoming.method == "ACK" or incoming.transaction is None:
            return
        if any(r.status >= 200 for r in incoming.responses):
            return
        with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
            incoming.respond(status, reason, headers=headers or [])

    def send_ack(self, leg: SipLeg, invite: SipRequest) -> None:
        """The ACK of ``invite``'s 2xx in ``leg``'s dialog."""
        dialog = leg.dialog
        if dialog is None:
            return
        try:
            target = dialog.next_hop()
            ack = dialog.create_ack(invite.cseq[0], via=self.via())
            self.sip.send_stateless(ack, self.destination(target))
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot ACK %s: %s", dialog, exc)

    def send_in_dialog(
        self, dialog: Dialog, method: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        """A request in ``dialog`` (its outcome is not awaited)."""
        try:
            target = dialog.next_hop()
            request = dialog.create_request(method, via=self.via(), headers=headers or [])
            destination = self.destination(target)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot send %s in %s: %s", method, dialog, exc)
            return
        self.spawn(self.sip.request(request, destination))

    async def forward(
        self, incoming: IncomingRequest, forwarded: SipRequest, destination: Address
    ) -> None:
        """Proxy ``forwarded`` statefully and relay its responses to ``incoming``."""
        handle = await self.sip.request(forwarded, destination)
        while True:
            try:
                response = await handle.next_response(self.config.timers.b * 2)
            except Exception:
                self.reply_if_open(incoming, 408, "Request Timeout")
                return
            if response.status == 100:
                continue
            # RFC 3261 16.7: remove the topmost Via (ours) and pass the response on
            headers = [(h.name, h.value) for h in response.headers
                       if h.name.lower() != "content-length"]
            vias = [i for i, (n, _) in enumerate(headers) if n.lower() in ("via", "v")]
            if vias:
                del headers[vias[0]]
            relayed = build_response(response.status, response.reason, headers, response.body)
            if response.status >= 200 and incoming.method == "INVITE" and response.status < 300:
                self.sip.retransmit_2xx_until_ack(incoming, relayed)
            else:
                with contextlib.suppress(LocalProtocolError):
                    incoming.send(relayed)
            if response.status >= 200:
                return

    # -- MSRP -----------------------------------------------------------------------------
    async def connect_msrp(self, leg: MsrpLeg) -> None:
        """Connect to the peer's path (it answered a=setup:passive) and bind the session
        with an empty SEND (RFC 4975 5.4)."""
        if not leg.remote_path:
            return
        try:
            uri = parse_msrp_uri(leg.remote_path[-1])
            channel = await self.msrp.connect(uri.host, uri.port or 0, reuse=False)
            leg.channel = channel
            leg.session = channel.add_session(leg.local_uri, list(leg.remote_path))
            channel.send_message(leg.session, b"", None)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("MSRP connection to %s failed: %s", leg.remote_path, exc)
            return
        self.spawn(self.read_channel(channel))

    async def read_channel(self, channel: MsrpChannel) -> None:
        """Every event of ``channel`` to the PF's MSRP handler, until it closes."""
        index = 0
        while True:
            try:
                event = await channel.expect(object, within=3600.0, since=index)
            except WaitTimeout:
                if channel.closed:
                    return
                continue
            index += 1
            self._on_msrp_event(channel, event)
            if isinstance(event, ConnectionClosed):
                return


__all__ = ["ALLOW", "MsrpEventHandler", "Owner", "PfCore", "SessionTable", "address_of",
           "identity_of"]
