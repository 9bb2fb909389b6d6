"""What every feature of the reference PF shares: the pumps, the configuration, the
registrations, the Message Store and the :class:`SessionTable`, with the I/O verbs the
features use (:class:`PfCore`, on the reference elements' base
:class:`~conformance.reference.element.SipElement`).

The session table is the only writer of the session indices (sessions by id, legs by
dialog, legs waiting for their MSRP connection); the features read and change them through
its methods.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import ClassVar

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.dialog import Dialog, DialogId, uri_of
from conformance.protocol.sip.message import SipRequest, build_request, build_response
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.transaction import tag_of
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.config import ReferenceConfig
from conformance.reference.element import RequestHandler, SipElement, address_of, msrp_events
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


class PfCore(SipElement):
    """The shared part of the reference PF and the I/O verbs of its features, on the
    reference elements' base (addressing, owned tasks, request dispatch, the OPTIONS and
    CANCEL policy, the MSRP event reader).

    The requests of a session the PF proxies go on along their route
    (:meth:`proxy_in_dialog`); any other request goes to its method's handler in
    :attr:`routes`, which the service fills.
    """

    allow: ClassVar[str] = ALLOW
    label: ClassVar[str] = "PF"

    def __init__(
        self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump, on_msrp_event: MsrpEventHandler
    ) -> None:
        super().__init__(config, sip, msrp, log)
        policy = config.pf_policy
        if policy is not None and not isinstance(policy, PfPolicy):
            raise LocalProtocolError(f"config.pf_policy is a {type(policy).__name__}")
        self.policy: PfPolicy = policy or PfPolicy()
        self.registrations = Registrations()
        self.table = SessionTable()
        #: the handler of each method the PF implements
        self.routes: dict[str, RequestHandler] = {}
        #: Call-IDs of sessions the PF proxies (8.2.1 step 5, 8.3.2 step 9)
        self.proxied: set[str] = set()
        self.store: MessageStoreWriter | None = (
            open_store_writer(config.store_url) if config.store_url else None
        )
        self._on_msrp_event = on_msrp_event

    async def close(self) -> None:
        for session in self.table.values():
            if session.ack_guard is not None:
                session.ack_guard.cancel()
        await self.close_pumps()
        if self.store is not None:
            await self.store.close()

    # -- addresses ------------------------------------------------------------------------
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

    # -- dispatch -------------------------------------------------------------------------
    def handlers(self) -> Mapping[str, RequestHandler]:
        return self.routes

    def handler_for(self, incoming: IncomingRequest) -> RequestHandler:
        if incoming.request.call_id in self.proxied and incoming.method != "REGISTER":
            return self.proxy_in_dialog
        return super().handler_for(incoming)

    def on_unsupported(self, incoming: IncomingRequest) -> None:
        """An in-dialog request of a method the PF does not implement, outside any dialog
        it knows, gets 481 (RFC 3261 12.2.2); else 501 with Allow (21.5.2)."""
        if tag_of(incoming.request, "To"):
            did = DialogId.of_incoming_request(incoming.request)
            if not self.table.knows_dialog(did):
                incoming.respond(481)
                return
        super().on_unsupported(incoming)

    # -- SIP ------------------------------------------------------------------------------
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
            headers = [
                (h.name, h.value) for h in response.headers if h.name.lower() != "content-length"
            ]
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
        async for event in msrp_events(channel):
            self._on_msrp_event(channel, event)

    # -- proxied sessions -----------------------------------------------------------------
    def proxy_in_dialog(self, incoming: IncomingRequest) -> None:
        """An in-dialog request of a proxied session: our Route is removed (RFC 3261
        16.4), the request goes on to the next Route or its Request-URI."""
        request = incoming.request
        headers: list[tuple[str, str]] = []
        own_route_seen = False
        for h in request.headers:
            name = h.name.lower()
            if name == "content-length":
                continue
            if name == "route" and not own_route_seen and self.hostport in h.value:
                own_route_seen = True
                continue
            headers.append((h.name, h.value))
        routes = [v for n, v in headers if n.lower() == "route"]
        next_uri = uri_of(routes[0]) if routes else request.uri
        out = build_request(
            request.method, request.uri, [("Via", self.via()), *headers], request.body
        )
        destination = self.destination(next_uri)
        if request.method == "ACK":
            self.sip.send_stateless(out, destination)
            return
        self.spawn(self.forward(incoming, out, destination))


__all__ = [
    "ALLOW",
    "MsrpEventHandler",
    "Owner",
    "PfCore",
    "SessionTable",
    "address_of",
    "identity_of",
]
