"""What the reference elements (PF, CF, client) share: one SIP element on one
:class:`SipPump` and one :class:`MsrpPump`.

:class:`SipElement` gives each element the same addressing (``via``, ``destination``), the
same owned background tasks (``spawn``, ``track``), the same dispatch of incoming requests
(a table of handlers per method; bad input never stops the element) and one policy for the
requests every element answers alike:

- ``OPTIONS`` gets ``200`` with ``Allow`` (and ``Allow-Events`` for an element with an event
  package) (RFC 3261 11.2).
- ``CANCEL`` gets ``481``: every element answers an INVITE at once (or through its own
  client transaction), so a CANCEL finds no pending INVITE it could end (RFC 3261 9.2).
- A method the element does not implement (no handler in its table) gets
  ``501 Not Implemented`` with ``Allow``, whatever the dialog (RFC 3261 21.5.2: "the
  appropriate response when a UAS does not recognize the request method"; 8.2: the method
  is inspected before anything else, so an in-dialog request of such a method gets 501
  too, not 481). ``405 Method Not Allowed`` (RFC 3261 8.2.1, 21.4.6) is for a method the
  element implements but does not allow for the Request-URI; no reference element has
  such a method today (each handler answers for every URI it serves), so none sends 405.
- A handler refuses a request by raising :class:`Reject`; a request the peer got wrong
  (:class:`RemoteProtocolError`) gets ``400``; a failure of the element itself ``500``.

:func:`msrp_events` is the one reader of a connection's MSRP events, in order, until the
connection closes. The addressing helpers (:func:`address_of`, :func:`aor`,
:func:`identity_of`) resolve the URIs the elements send to and the identities they serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, ClassVar, TypeVar

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest, SipPump
from conformance.protocol.msrp.session import ConnectionClosed, MsrpEvent
from conformance.protocol.sip.dialog import Dialog, uri_of
from conformance.protocol.sip.ids import new_branch
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.uri import parse_uri
from conformance.reference.config import ReferenceConfig
from conformance.reference.lifecycle import BackgroundTasks, close_pumps

_T = TypeVar("_T")

#: the handler of one incoming request (it answers it, or raises :class:`Reject`)
RequestHandler = Callable[[IncomingRequest], None]

#: how long one wait of :func:`msrp_events` lasts before it looks whether the connection
#: closed without a ConnectionClosed event (a guard, not a timer of the protocol)
MSRP_IDLE_GUARD = 3600.0


# -- addressing -------------------------------------------------------------------------------
def address_of(uri: str) -> Address:
    """Where a request for ``uri`` (a URI or a name-addr) goes (RFC 3263 reduced to a
    literal host:port; UDP unless ``transport=tcp``)."""
    parsed = parse_uri(uri_of(uri) if "<" in uri else uri)
    if not parsed.is_sip or not parsed.host:
        raise RemoteProtocolError(f"no SIP address in {uri!r}")
    tcp = (parsed.param("transport") or "").lower() == "tcp"
    return Address(
        parsed.host.strip("[]"), parsed.port or 5060, Transport.TCP if tcp else Transport.UDP
    )


def literal_address_of(uri: str) -> Address | None:
    """The address a URI with an IP-literal host names; None for a domain name (only the
    SIP/IP core resolves it) or no SIP URI. Only faults that bypass the core use it."""
    try:
        address = address_of(uri)
        ipaddress.ip_address(address.host)
    except (RemoteProtocolError, ValueError):
        return None
    return address


def aor(uri: str) -> str:
    """``scheme:user@host`` of ``uri`` (its own text when it does not parse)."""
    try:
        return parse_uri(uri).aor
    except RemoteProtocolError:
        return uri.strip()


def identity_of(request: SipRequest) -> str:
    """The asserted identity of the sender: P-Asserted-Identity, else From, as an AOR."""
    value = request.headers.get("P-Asserted-Identity") or request.headers.get("From") or ""
    return aor(uri_of(value))


# -- MSRP -------------------------------------------------------------------------------------
def msrp_session_id(event: MsrpEvent) -> str | None:
    """The session-id of the MSRP session ``event`` belongs to (None for a connection event)."""
    session = getattr(event, "session", None)
    session_id = getattr(session, "session_id", None)
    return session_id if isinstance(session_id, str) else None


async def msrp_events(
    channel: MsrpChannel, *, idle: float = MSRP_IDLE_GUARD
) -> AsyncIterator[MsrpEvent]:
    """Every event of ``channel`` in order, from its first, until the connection closes.

    The last event yielded is the :class:`ConnectionClosed` of the connection; when the
    connection is found closed without one (after a wait of ``idle`` seconds), the
    iteration ends without it.
    """
    index = 0
    while True:
        try:
            await channel.expect(object, within=idle, since=index)
        except WaitTimeout:  # keep waiting while the connection lives
            if channel.closed:
                return
            continue
        event = channel.events[index].event
        index += 1
        yield event
        if isinstance(event, ConnectionClosed):
            return


# -- the element ------------------------------------------------------------------------------
class Reject(Exception):
    """Raised by a request handler: answer the request with ``status`` and ``reason``."""

    def __init__(self, status: int, reason: str | None = None) -> None:
        super().__init__(reason or str(status))
        self.status = status
        self.reason = reason


class Sending:
    """A request the element sent (at once, in the background): its outcome when awaited."""

    def __init__(self, task: asyncio.Task[ClientTransactionHandle]) -> None:
        self._task = task

    async def outcome(self, within: float) -> SipResponse | str:
        """The final response, or the name of the timer that ended the transaction."""
        handle = await self._task
        return await handle.outcome(within)


class SipElement:
    """The base of a reference element: its pumps, addresses, tasks and request dispatch.

    A subclass names its methods in :meth:`handlers` and the value of its ``Allow``
    header in :attr:`allow`.
    """

    #: the ``Allow`` header of the element (RFC 3261 20.5)
    allow: ClassVar[str] = "INVITE, ACK, BYE, CANCEL, OPTIONS"
    #: the ``Allow-Events`` of its OPTIONS answer, None for an element without an event
    #: package it serves (RFC 6665 8.2.2)
    allow_events: ClassVar[str | None] = None
    #: the element's name in its log lines
    label: ClassVar[str] = "element"

    def __init__(
        self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump, log: logging.Logger
    ) -> None:
        self.config = config
        self.faults = config.faults
        self.sip = sip
        self.msrp = msrp
        self.log = log
        self.loop = asyncio.get_running_loop()
        self.tasks = BackgroundTasks(log, self.label)
        sip.on_request = self.dispatch

    async def close_pumps(self) -> None:
        """Stop the pumps and the background tasks (see :func:`close_pumps`)."""
        await close_pumps(self.sip, self.msrp, self.tasks, self.config.timers.b)

    # -- addresses --------------------------------------------------------------------------
    @property
    def address(self) -> Address:
        """The element's SIP address."""
        return self.sip.address()

    @property
    def hostport(self) -> str:
        address = self.sip.address()
        return f"{address.host}:{address.port}"

    def via(self, transport: Transport = Transport.UDP) -> str:
        """A Via of a new request of the element (new branch, ``rport``, RFC 3581)."""
        return f"SIP/2.0/{transport.value} {self.hostport};branch={new_branch()};rport"

    def destination(self, uri: str) -> Address:
        """Where a request for ``uri`` goes: the core when configured, else ``uri`` itself
        (:class:`RemoteProtocolError` when it names no SIP address)."""
        return self.config.core if self.config.core is not None else address_of(uri)

    def destination_or(self, uri: str, fallback: Address | None) -> Address | None:
        """:meth:`destination`, or ``fallback`` when ``uri`` names no SIP address."""
        try:
            return self.destination(uri)
        except RemoteProtocolError:
            return fallback

    def send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        to: Address | None = None,
    ) -> Sending | None:
        """Send a request in ``dialog`` to its next hop (over the transport its URI names),
        or to ``to`` (only a fault uses it); None (logged) when the dialog cannot make one."""
        target = dialog.next_hop()
        try:
            transport = address_of(target).transport
            request = dialog.create_request(
                method, via=self.via(transport), headers=headers or [], body=body
            )
            destination = to or self.destination(target)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            self.log.warning("cannot send %s in %s: %s", method, dialog, exc)
            return None
        return Sending(self.track(asyncio.ensure_future(self.sip.request(request, destination))))

    # -- background tasks -------------------------------------------------------------------
    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run ``coro`` in the background, owned by the element (closing cancels it); an
        exception it raises is logged."""
        self.tasks.spawn(coro)

    def track(self, task: asyncio.Task[_T]) -> asyncio.Task[_T]:
        """Own ``task`` until it ends (closing cancels it)."""
        return self.tasks.track(task)

    def on_msrp_connection(
        self, callback: Callable[[MsrpChannel], None], *, accepted_only: bool = False
    ) -> None:
        """Call ``callback`` with the channel of every MSRP connection that opens (only those
        a peer opened when ``accepted_only``), after the hooks already installed."""
        previous = self.msrp.transport.on_open

        def on_open(stream: Any) -> None:
            if previous is not None:
                previous(stream)
            if accepted_only and getattr(stream, "outgoing", False):
                return
            channel = next((c for c in self.msrp.channels if c.stream is stream), None)
            if channel is not None:
                callback(channel)

        self.msrp.transport.on_open = on_open

    # -- SIP dispatch -----------------------------------------------------------------------
    def handlers(self) -> Mapping[str, RequestHandler]:
        """The element's handler of each method it implements (OPTIONS and CANCEL are
        handled unless it names its own)."""
        return {}

    def handler_for(self, incoming: IncomingRequest) -> RequestHandler:
        """The handler of ``incoming``: its method's, else the common policy."""
        common: dict[str, RequestHandler] = {
            "OPTIONS": self.on_options,
            "CANCEL": self.on_cancel,
        }
        found = self.handlers().get(incoming.method) or common.get(incoming.method)
        return found or self.on_unsupported

    def dispatch(self, incoming: IncomingRequest) -> None:
        """Answer ``incoming`` with its handler; bad input never stops the element."""
        try:
            self.handler_for(incoming)(incoming)
        except Reject as rej:
            self.reply_if_open(incoming, rej.status, rej.reason)
        except RemoteProtocolError as exc:
            self.log.warning("invalid %s from %s: %s", incoming.method, incoming.source, exc)
            self.reply_if_open(incoming, 400, "Bad Request")
        except Exception:
            self.log.exception("%s failed on %s", self.label, incoming.method)
            self.reply_if_open(incoming, 500)

    def reply_if_open(
        self,
        incoming: IncomingRequest,
        status: int,
        reason: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Answer ``incoming`` unless it is an ACK or already has its final response."""
        if incoming.method == "ACK" or incoming.transaction is None:
            return
        if any(r.status >= 200 for r in incoming.responses):
            return
        with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
            incoming.respond(status, reason, headers=headers or [])

    def reply(
        self,
        incoming: IncomingRequest,
        status: int,
        *,
        reason: str | None = None,
        to_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipResponse:
        """Answer ``incoming`` (RFC 3261 8.2.6). A 1xx-2xx to INVITE or SUBSCRIBE copies the
        Record-Route (12.1.1); a 2xx to INVITE is retransmitted until the ACK (13.3.1.4);
        a body is ``application/sdp`` unless ``content_type`` says otherwise."""
        hs: list[tuple[str, str]] = []
        request = incoming.request
        if request.method in ("INVITE", "SUBSCRIBE") and 100 < status < 300:
            hs += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        hs += headers or []
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        response = response_to(request, status, reason, to_tag=to_tag, headers=hs, body=body)
        if request.method == "INVITE" and 200 <= status < 300:
            self.sip.retransmit_2xx_until_ack(incoming, response)
        else:
            incoming.send(response)
        return response

    def on_options(self, incoming: IncomingRequest) -> None:
        """RFC 3261 11.2: 200 with the element's capabilities."""
        headers = [("Allow", self.allow)]
        if self.allow_events:
            headers.append(("Allow-Events", self.allow_events))
        incoming.respond(200, headers=headers)

    def on_cancel(self, incoming: IncomingRequest) -> None:
        """RFC 3261 9.2: no pending INVITE transaction of the element matches a CANCEL."""
        incoming.respond(481)

    def on_unsupported(self, incoming: IncomingRequest) -> None:
        """RFC 3261 21.5.2: a method the element does not implement."""
        incoming.respond(501, headers=[("Allow", self.allow)])


__all__ = [
    "MSRP_IDLE_GUARD",
    "Reject",
    "RequestHandler",
    "Sending",
    "SipElement",
    "address_of",
    "aor",
    "identity_of",
    "literal_address_of",
    "msrp_events",
    "msrp_session_id",
]
