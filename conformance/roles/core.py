"""The tool's SIP/IP core: one :class:`SipPump` that every role emulator speaks through.

The SUT sends every request it originates to :attr:`ToolCore.address` (its outbound
proxy, docs/dev/topology.md). The core hands each incoming request to the role emulator
that owns it:

1. in-dialog requests by dialog (Call-ID plus our local tag, the request's To tag), or by
   Call-ID alone when a role registered the whole Call-ID;
2. otherwise the routes, in order, first match wins (Request-URI user@host, a GRUU ``gr``
   parameter, Accept-Contact ``+sip.instance``: whatever the route's predicate reads);
3. otherwise the request is kept in :attr:`ToolCore.unrouted` as evidence and answered
   with :attr:`ToolCore.unrouted_status` (404 unless configured; ``None`` leaves it
   unanswered).

The core holds no judgement: it reports what arrived and what was sent (the capture
holds every byte in and out). It names each message at its address in the capture with
the emulator that sent it or the route that takes it (``role_name`` of the emulator
behind a route, dialog or Call-ID; :meth:`ToolCore.role_of_message`), so the report's
lanes read ``tool: client bob#1`` rather than the core's own ``tool: SIP core``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.capture import Capture
from conformance.net.clock import Notifier
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest, SipPump
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import (
    Header,
    Headers,
    SipRequest,
    SipResponse,
    build_request,
    parse_message,
    with_headers,
)
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.protocol.sip.transaction import tag_of
from conformance.roles.sip_helpers import literal_address, to_tag

log = logging.getLogger(__name__)

#: receives an incoming request the core dispatched to a role
Handler = Callable[[IncomingRequest], None]
#: decides whether a route takes a request
Predicate = Callable[[SipRequest], bool]


@dataclass(frozen=True, slots=True)
class Route:
    """A named dispatch rule: requests for which ``predicate`` is true go to ``handler``."""

    name: str
    predicate: Predicate
    handler: Handler


class ToolCore:
    """The tool's SIP/IP core (module docstring). Build it with :meth:`start`."""

    def __init__(self, pump: SipPump, *, unrouted_status: int | None = 404) -> None:
        self.pump = pump
        #: the status unrouted requests are answered with (``None``: no answer)
        self.unrouted_status = unrouted_status
        #: requests no role took, kept as evidence
        self.unrouted: list[IncomingRequest] = []
        #: an outbound proxy (Kamailio in the ``kamailio`` layout): :meth:`send` goes
        #: through it (``None``: straight to the destination)
        self.outbound: Address | None = None
        #: in a pooled parallel run (fixtures/network.py pool_link): tells the dispatcher
        #: in front of this core that requests for these URIs are this worker's
        self.claim_hook: Callable[[frozenset[str]], Awaitable[None]] | None = None
        self._routes: list[Route] = []
        self._dialogs: dict[tuple[str, str], Handler] = {}
        self._call_ids: dict[str, Handler] = {}
        self._cseq = 0
        self._changed = Notifier()
        #: (Call-ID, From tag, the core sent the request) -> the emulator's role name
        self._owners: dict[tuple[str, str, bool], str] = {}
        pump.on_request = self._on_request
        pump.capture.attribute((self.host, self.port), self.role_of_message)

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        capture: Capture | None = None,
        timers: Timers | None = None,
        *,
        unrouted_status: int | None = 404,
    ) -> ToolCore:
        """Bind the core's UDP and TCP transport at ``host:port`` (0: a run-time port)."""
        pump = await SipPump.start(host, capture, timers, port=port, retransmit_2xx=True)
        return cls(pump, unrouted_status=unrouted_status)

    async def close(self) -> None:
        await self.pump.close()

    async def __aenter__(self) -> ToolCore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addresses ------------------------------------------------------------------
    @property
    def capture(self) -> Capture:
        return self.pump.capture

    @property
    def timers(self) -> Timers:
        return self.pump.timers

    @property
    def host(self) -> str:
        return self.pump.transport.host

    @property
    def port(self) -> int:
        return self.pump.transport.port

    @property
    def address(self) -> Address:
        """The core's UDP address (where the SUT sends every request it originates)."""
        return self.pump.address(Transport.UDP)

    def address_of(self, transport: Transport) -> Address:
        return self.pump.address(transport)

    def uri(self, user: str | None = None, transport: Transport = Transport.UDP) -> str:
        """``sip:[user@]host:port`` at the core (``;transport=tcp`` for TCP)."""
        suffix = ";transport=tcp" if transport is Transport.TCP else ""
        userinfo = f"{user}@" if user else ""
        return f"sip:{userinfo}{self.host}:{self.port}{suffix}"

    # -- routing --------------------------------------------------------------------
    @property
    def routes(self) -> list[Route]:
        return list(self._routes)

    async def own_uris(self, *uris: str) -> None:
        """Requests for ``uris`` (URIs an emulator made up, such as a focus) come to this
        core: in a pooled run the dispatcher learns them before the SUT can use them, as
        the users of the worker's slice (a request naming no user, such as a SUBSCRIBE to
        the focus without the user's P-Asserted-Identity, is routed by them). Nothing to
        do with the SUT in front of this core alone."""
        if self.claim_hook is not None and uris:
            await self.claim_hook(frozenset(uris))

    def add_route(
        self, name: str, predicate: Predicate, handler: Handler, *, first: bool = False
    ) -> Route:
        """Add a route (after the others, or before them with ``first``)."""
        route = Route(name, predicate, handler)
        if first:
            self._routes.insert(0, route)
        else:
            self._routes.append(route)
        return route

    def remove_route(self, name: str) -> None:
        self._routes = [r for r in self._routes if r.name != name]

    def register_dialog(self, call_id: str, local_tag: str, handler: Handler) -> None:
        """In-dialog requests with this Call-ID and To tag ``local_tag`` go to ``handler``."""
        self._dialogs[(call_id, local_tag)] = handler

    def unregister_dialog(self, call_id: str, local_tag: str) -> None:
        self._dialogs.pop((call_id, local_tag), None)

    def register_call_id(self, call_id: str, handler: Handler) -> None:
        """Every request with this Call-ID goes to ``handler`` (after dialog matches)."""
        self._call_ids[call_id] = handler

    def unregister_call_id(self, call_id: str) -> None:
        self._call_ids.pop(call_id, None)

    def _handler_for(self, request: SipRequest, *, report: bool = True) -> Handler | None:
        """The handler an incoming ``request`` goes to (the module docstring's order)."""
        call_id = request.call_id or ""
        tag = to_tag(request)
        handler: Handler | None = None
        if tag is not None:
            handler = self._dialogs.get((call_id, tag))
        if handler is None:
            handler = self._call_ids.get(call_id)
        if handler is None:
            for route in self._routes:
                try:
                    taken = route.predicate(request)
                except Exception:  # a role's predicate bug must not stop dispatch
                    if report:
                        log.exception("route %s failed on %r", route.name, request)
                    taken = False
                if taken:
                    handler = route.handler
                    break
        return handler

    def _on_request(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        handler = self._handler_for(request)
        owner = _owner_of(handler)
        if owner is not None:
            self._owners[(request.call_id or "", tag_of(request, "From") or "", False)] = owner
        if handler is None:
            self.unrouted.append(incoming)
            if self.unrouted_status is not None and request.method != "ACK":
                incoming.respond(self.unrouted_status)
            self._changed.notify()
            return
        handler(incoming)

    async def expect_unrouted(
        self, method: str | None = None, *, within: float, since: int = 0
    ) -> IncomingRequest:
        """The first unrouted request (of ``method``) at index ``since`` or later."""

        def probe() -> IncomingRequest | None:
            for item in self.unrouted[since:]:
                if method is None or item.method == method:
                    return item
            return None

        return await self._changed.wait_until(
            probe, within, f"unrouted SIP request {method or '(any)'} at {self.address}"
        )

    # -- naming messages in the capture ---------------------------------------------
    def role_of_message(self, direction: Literal["in", "out"], data: bytes) -> str | None:
        """The role name of the emulator that sent (``"out"``) or takes (``"in"``) the
        SIP message ``data`` at the core's address (None: the core's own name): the
        owner of the dialog or Call-ID our tag belongs to, the route an incoming request
        goes to, the emulator that sent a request (:meth:`send` ``sender``) or took one
        (its responses). Bytes that are no SIP message get None."""
        message = parse_message(data)
        call_id, tag = message.call_id or "", tag_of(message, "From") or ""
        if isinstance(message, SipRequest) and direction == "in":
            return _owner_of(self._handler_for(message, report=False))
        uac = isinstance(message, SipRequest) == (direction == "out")
        ours = tag if uac else to_tag(message)
        if ours is not None:
            owner = _owner_of(self._dialogs.get((call_id, ours)))
            if owner is not None:
                return owner
        return self._owners.get((call_id, tag, uac))

    # -- building and sending -------------------------------------------------------
    def via(self, transport: Transport = Transport.UDP) -> str:
        """A top Via value for the core's address with a fresh branch."""
        return f"SIP/2.0/{transport.value} {self.host}:{self.port};branch={new_branch()};rport"

    def new_call_id(self) -> str:
        return new_call_id(self.host)

    @staticmethod
    def new_tag() -> str:
        return new_tag()

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    def build_request(
        self,
        method: str,
        uri: str,
        *,
        from_: str,
        to: str,
        call_id: str | None = None,
        from_tag: str | None = None,
        cseq: int | None = None,
        contact: str | None = None,
        transport: Transport = Transport.UDP,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        """An out-of-dialog request sent from the core. ``from_``/``to``/``contact`` are
        URIs or name-addrs (a bare URI is bracketed); a From tag is added."""
        hs: list[tuple[str, str]] = [
            ("Via", self.via(transport)),
            ("Max-Forwards", "70"),
            ("From", f"{_bracket(from_)};tag={from_tag or new_tag()}"),
            ("To", _bracket(to)),
            ("Call-ID", call_id or self.new_call_id()),
            ("CSeq", f"{cseq if cseq is not None else self.next_cseq()} {method}"),
        ]
        if contact is not None:
            hs.append(("Contact", _bracket(contact)))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return build_request(method, uri, hs, body)

    async def send(
        self, request: SipRequest, to: Address, *, sender: str | None = None
    ) -> ClientTransactionHandle:
        """Start the client transaction of ``request`` (an ACK is sent statelessly);
        ``sender`` names the emulator that sent it in the capture (without it, the
        owner of the dialog its From tag belongs to, :meth:`role_of_message`).

        With :attr:`outbound` set, a request without a Route (out of a dialog, or a
        dialog without a route set) goes to the proxy with a pre-loaded
        ``Route: <sip:to;lr>``; one with a Route (its dialog's route set, RFC 3261
        12.2.1.1) goes to ``to``, the next hop its sender chose."""
        proxy = self.outbound
        if (
            proxy is not None
            and (to.host, to.port) != (proxy.host, proxy.port)
            and not request.headers.has("Route")
        ):
            request = preloaded_route(request, to)
            to = Address(proxy.host, proxy.port, to.transport)
        if sender is not None:
            self._owners[(request.call_id or "", tag_of(request, "From") or "", True)] = sender
        return await self.pump.request(request, to)


def preloaded_route(request: SipRequest, to: Address) -> SipRequest:
    """``request`` with ``Route: <sip:to;lr>`` after its Via and Max-Forwards lines."""
    suffix = ";transport=tcp" if to.transport is Transport.TCP else ""
    route = Header("Route", f"<sip:{to.host}:{to.port};lr{suffix}>")
    items = list(request.headers)
    at = 0
    while at < len(items) and items[at].name.lower() in ("via", "v", "max-forwards"):
        at += 1
    items.insert(at, route)
    out = with_headers(request, Headers(items))
    assert isinstance(out, SipRequest)
    return out


def _owner_of(handler: Handler | None) -> str | None:
    """The ``role_name`` of the role emulator whose method ``handler`` is (None: not an
    emulator's, e.g. the relay between two SUT elements)."""
    name = getattr(getattr(handler, "__self__", None), "role_name", None)
    return name if isinstance(name, str) and name else None


def _bracket(value: str) -> str:
    return value if "<" in value else f"<{value}>"


def headers_without(
    headers: Iterable[tuple[str, str]], omit: Iterable[str]
) -> list[tuple[str, str]]:
    """``headers`` without the names in ``omit`` (case-insensitive)."""
    drop = {n.lower() for n in omit}
    return [(n, v) for n, v in headers if n.lower() not in drop]


def core_routes(core: ToolCore, request: SipRequest) -> bool:
    """Whether one of the core's routes (a role emulator of the tool) takes ``request``."""

    def takes(route: Route) -> bool:
        try:
            return route.predicate(request)
        except Exception:  # a role's predicate bug is the core's to report, not ours
            return False

    return any(takes(route) for route in core.routes)


class CoreUA:
    """The SIP side of one role emulator behind the core: an inbox of the requests the
    core dispatched to it, bounded expectations, and in-dialog sending.

    Requests of a dialog the role registered (:meth:`track_dialog`) are accounted in that
    dialog (RFC 3261 12.2.2) before they reach the inbox; a request the dialog refuses
    stays in the inbox as it came (the test decides what to answer).
    """

    def __init__(self, core: ToolCore, name: str) -> None:
        self.core = core
        self.name = name
        #: every request dispatched to this role, in order (evidence)
        self.received: list[IncomingRequest] = []
        self._inbox: list[IncomingRequest] = []
        self._dialogs: dict[tuple[str, str], Dialog] = {}
        #: (Call-ID, our tag) of every dialog and call this role routes here
        self._calls: set[tuple[str, str]] = set()
        self._changed = Notifier()
        #: the role's own SIP address (not the core's), once :meth:`own_address` bound it
        self._own: SipPump | None = None

    # -- an address of its own --------------------------------------------------------
    async def own_address(self) -> Address:
        """The role's own SIP address (UDP and TCP at a run-time port of the core's host,
        not the core's), bound on first use: a SUT that sends a request straight there,
        not through its SIP/IP core (the tool's core), is seen at :meth:`arrived_at`. A
        request that arrives there comes to this role like one the core dispatched, and is
        answered from there; the role's own requests still leave through the core."""
        if self._own is None:
            pump = await SipPump.start(
                self.core.host, self.core.capture, self.core.timers, retransmit_2xx=True
            )
            pump.on_request = self.on_request
            role = getattr(self, "role_name", None) or self.name
            self.core.capture.name((pump.transport.host, pump.transport.port), role)
            self._own = pump
        return self._own.address(Transport.UDP)

    def arrived_at(self, incoming: IncomingRequest) -> Address:
        """The local address ``incoming`` arrived at: the core's, or :meth:`own_address`."""
        return incoming.pump.address(Transport.UDP)

    async def close_own(self) -> None:
        """Unbind :meth:`own_address` (when bound)."""
        if self._own is not None:
            await self._own.close()
            self._own = None

    # -- dispatch -------------------------------------------------------------------
    def on_request(self, incoming: IncomingRequest) -> None:
        """The core's handler for this role."""
        request = incoming.request
        tag = to_tag(request)
        dialog = self._dialogs.get((request.call_id or "", tag or ""))
        if dialog is not None:
            with contextlib.suppress(RemoteProtocolError, LocalProtocolError):
                dialog.receive_request(request)
        self.received.append(incoming)
        self._inbox.append(incoming)
        self._changed.notify()

    def track_dialog(self, dialog: Dialog) -> None:
        """Route the dialog's requests here and account them in ``dialog``."""
        self._dialogs[(dialog.call_id, dialog.local_tag)] = dialog
        self._calls.add((dialog.call_id, dialog.local_tag))
        self.core.register_dialog(dialog.call_id, dialog.local_tag, self.on_request)

    def track_call(self, call_id: str, local_tag: str) -> None:
        """Route requests of a dialog not yet created (our From tag is known)."""
        self._calls.add((call_id, local_tag))
        self.core.register_dialog(call_id, local_tag, self.on_request)

    def tracks(self, request: SipRequest) -> bool:
        """``request`` belongs to a dialog or call of this role (its Call-ID and To tag)."""
        return (request.call_id or "", to_tag(request) or "") in self._calls

    def forget_dialogs(self) -> None:
        for call_id, tag in self._dialogs:
            self.core.unregister_dialog(call_id, tag)
        self._dialogs.clear()

    @property
    def inbox(self) -> list[IncomingRequest]:
        """Requests not consumed by an expectation (a copy)."""
        return list(self._inbox)

    async def expect_request(
        self,
        method: str | None = None,
        *,
        within: float,
        match: Callable[[IncomingRequest], bool] | None = None,
    ) -> IncomingRequest:
        """The oldest unconsumed request with ``method`` (and ``match``) for this role."""

        def probe() -> IncomingRequest | None:
            for i, item in enumerate(self._inbox):
                if (method is None or item.method == method) and (match is None or match(item)):
                    return self._inbox.pop(i)
            return None

        return await self._changed.wait_until(
            probe, within, f"SIP request {method or '(any)'} for {self.name}"
        )

    # -- sending in a dialog --------------------------------------------------------
    @staticmethod
    def in_dialog_transport(dialog: Dialog, to: Address) -> Transport:
        """The transport of an in-dialog request (its Via), as
        :meth:`in_dialog_destination` will send it."""
        literal = literal_address(dialog.next_hop(), to.transport)
        return literal.transport if literal is not None else to.transport

    def in_dialog_destination(self, dialog: Dialog, request: SipRequest, to: Address) -> Address:
        """Where ``request`` of ``dialog`` goes (RFC 3261 12.2.1.1): its next hop, the
        first route of the route set (12.1.2: the 2xx's Record-Route reversed), else the
        remote target, when that is a literal address.

        A route set whose first entry has a domain name goes ``to``, the way the dialog
        came. Without a route set, the request goes by its Request-URI as the SIP/IP core
        would route it: to the tool's core when one of the tool's role emulators owns it
        (a focus URI goes to the CF emulator, not to a SUT that left itself off the route
        set), else ``to`` (a domain of the SUT)."""
        literal = literal_address(dialog.next_hop(), to.transport)
        if literal is not None:
            return literal
        if not dialog.route_set and core_routes(self.core, request):
            return self.core.address_of(to.transport)
        return to

    async def send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        *,
        to: Address,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> ClientTransactionHandle:
        """Send ``method`` in ``dialog`` to :meth:`in_dialog_destination`."""
        hs = list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        request = dialog.create_request(
            method, via=self.core.via(self.in_dialog_transport(dialog, to)), headers=hs, body=body
        )
        return await self.core.send(request, self.in_dialog_destination(dialog, request, to))

    async def send_ack(
        self, dialog: Dialog, cseq: int, *, to: Address, headers: Sequence[tuple[str, str]] = ()
    ) -> SipRequest:
        """The ACK of the 2xx to the INVITE with CSeq ``cseq`` (RFC 3261 13.2.2.4), sent
        to :meth:`in_dialog_destination`."""
        ack = dialog.create_ack(
            cseq, via=self.core.via(self.in_dialog_transport(dialog, to)), headers=headers
        )
        await self.core.send(ack, self.in_dialog_destination(dialog, ack, to))
        return ack

    def response(
        self,
        incoming: IncomingRequest,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        contact: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipResponse:
        """RFC 3261 8.2.6.2, plus Record-Route copied into a dialog-creating response
        (12.1.1), a Contact and a body when given."""
        request = incoming.request
        hs: list[tuple[str, str]] = []
        if request.method in ("INVITE", "SUBSCRIBE") and 100 < status < 300:
            hs += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        if contact is not None:
            hs.append(("Contact", contact))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return response_to(request, status, reason, to_tag=to_tag, headers=hs, body=body)


__all__ = [
    "CoreUA",
    "Handler",
    "Predicate",
    "Route",
    "ToolCore",
    "core_routes",
    "headers_without",
    "preloaded_route",
]
