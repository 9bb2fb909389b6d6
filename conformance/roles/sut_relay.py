"""The tool's core as the SIP/IP core between two SUT elements (system flows).

When a test case puts two SUT roles under test at once (the PF and the CF of a system
flow, docs/dev/topology.md "System flows"), nothing the tool emulates owns the requests
they send each other: the PF's SUBSCRIBE to a focus, the CF's INVITE to a user the PF
serves, the CF's NOTIFY to the PF's subscription. :class:`SutRelay` is a route of the
:class:`~conformance.roles.core.ToolCore` that takes them and forwards them as a
transaction-stateful proxy (RFC 3261 16): a Via of the core on top, Max-Forwards less one,
the core's own Route removed (loose routing, 16.4) and, for a dialog-creating request,
``Record-Route: <core;lr>`` (16.6 4) so that the in-dialog requests of both sides cross
the core too. Each response comes back without the core's Via (16.7).

Every forwarded request is kept as a :class:`Relayed` (the request as it came, as it
went on, where to and the responses relayed back): a test case reads both legs there.
The relay holds no judgement; requests any other route takes (an emulated client's) stay
with that route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.clock import Notifier, WaitTimeout
from conformance.net.sip_pump import (
    ClientTransactionHandle,
    IncomingRequest,
    TransactionTimeoutError,
)
from conformance.protocol.sip.message import (
    Header,
    Headers,
    SipRequest,
    SipResponse,
    with_headers,
)
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.uri import split_list
from conformance.roles.core import ToolCore
from conformance.roles.sip_helpers import (
    branch_of,
    literal_address,
    parse_sip_uri,
    same_aor,
    to_tag,
)

log = logging.getLogger(__name__)

#: the SUT element a relayed request goes to
SutRole = Literal["pf", "cf"]
#: the route name of the relay on the core
ROUTE_NAME = "sut-relay"


@dataclass(eq=False)
class Relayed:
    """One request the core forwarded between the SUT elements."""

    #: the SUT element it went to
    to: SutRole
    #: the request as it reached the core (from the other SUT element)
    incoming: IncomingRequest
    #: the request as the core sent it on
    forwarded: SipRequest
    destination: Address
    #: the client transaction of the forwarded request (None for an ACK)
    handle: ClientTransactionHandle | None
    #: the responses relayed back, as sent upstream
    responses: list[SipResponse] = field(default_factory=list)

    @property
    def request(self) -> SipRequest:
        return self.incoming.request

    @property
    def method(self) -> str:
        return self.incoming.request.method

    @property
    def final(self) -> SipResponse | None:
        return next((r for r in self.responses if r.status >= 200), None)


class SutRelay:
    """Forwards requests between the SUT's PF and CF through the tool's core (module
    docstring). Start with :meth:`start`, end with :meth:`close`.

    ``users``: the AORs the SUT PF serves (a request for one, not taken by an emulated
    client, goes to the PF); ``cf_uris``: the CF's URIs with a domain name (the
    conference factory, named focuses; their host names go to the CF). A Request-URI
    whose host:port is the PF's or the CF's address goes there.
    """

    def __init__(
        self,
        core: ToolCore,
        *,
        pf: Address,
        cf: Address,
        users: Iterable[str] = (),
        cf_uris: Iterable[str] = (),
        record_route: bool = True,
    ) -> None:
        self.core = core
        self.pf = pf
        self.cf = cf
        self.users = tuple(users)
        self.cf_hosts = frozenset(
            p.host.lower() for p in (parse_sip_uri(u) for u in cf_uris) if p is not None
        )
        self.record_route = record_route
        #: every forwarded request, in order (evidence)
        self.relayed: list[Relayed] = []
        self._unread: list[Relayed] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = Notifier()

    def start(self) -> SutRelay:
        self.core.add_route(ROUTE_NAME, self.owns, self.on_request)
        return self

    async def close(self) -> None:
        self.core.remove_route(ROUTE_NAME)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- routing --------------------------------------------------------------------
    def target(self, request: SipRequest) -> SutRole | None:
        """The SUT element ``request`` goes to (its Request-URI), None when neither."""
        literal = literal_address(request.uri)
        if literal is not None:
            for role, address in (("pf", self.pf), ("cf", self.cf)):
                if (literal.host, literal.port) == (address.host, address.port):
                    return role  # type: ignore[return-value]
            return None
        parsed = parse_sip_uri(request.uri)
        if parsed is None:
            return None
        if parsed.host.lower() in self.cf_hosts:
            return "cf"
        if any(same_aor(request.uri, u) for u in self.users) and not self._from(request, self.pf):
            return "pf"
        return None

    def owns(self, request: SipRequest) -> bool:
        """The route predicate: a request for a SUT element that no other route takes."""
        if self.target(self._unrouted(request)) is None:
            return False
        for route in self.core.routes:
            if route.name == ROUTE_NAME:
                continue
            with contextlib.suppress(Exception):
                if route.predicate(request):
                    return False
        return True

    @staticmethod
    def _from(request: SipRequest, address: Address) -> bool:
        """The top Via names ``address`` (the request comes from that element)."""
        via = request.headers.get("Via")
        if via is None:
            return False
        sent_by = split_list(via)[0].split(None, 1)[-1].split(";", 1)[0].strip()
        return sent_by == f"{address.host}:{address.port}"

    def _is_core(self, route_value: str) -> bool:
        parsed = parse_sip_uri(route_value)
        return (
            parsed is not None
            and parsed.host == self.core.host
            and parsed.port in (None, self.core.port)
            and not parsed.user
        )

    def _unrouted(self, request: SipRequest) -> SipRequest:
        """``request`` without a top Route naming the core (RFC 3261 16.4)."""
        items = list(request.headers)
        for i, item in enumerate(items):
            if item.key != "route":
                continue
            values = split_list(item.value)
            if not values or not self._is_core(values[0]):
                return request
            rest = values[1:]
            if rest:
                items[i] = Header(item.name, ", ".join(rest))
            else:
                del items[i]
            out = with_headers(request, Headers(items))
            assert isinstance(out, SipRequest)
            return out
        return request

    # -- forwarding -----------------------------------------------------------------
    def on_request(self, incoming: IncomingRequest) -> None:
        """The core's handler: forward ``incoming`` to its SUT element."""
        try:
            self._forward(incoming)
        except (RemoteProtocolError, LocalProtocolError, ValueError) as exc:
            log.warning("cannot relay %s: %s", incoming.request.first_line(), exc)
            if incoming.method != "ACK" and incoming.transaction is not None:
                with contextlib.suppress(LocalProtocolError):
                    incoming.respond(400, "Bad Request")

    def _forward(self, incoming: IncomingRequest) -> None:
        request = self._unrouted(incoming.request)
        role = self.target(request)
        if role is None:  # the route predicate saw it; keep the core's answer
            raise ValueError("no SUT element for the Request-URI")
        destination = self.pf if role == "pf" else self.cf
        if request.method == "CANCEL":
            self._cancel(incoming)
            return
        hops = request.headers.get("Max-Forwards")
        left = int(hops) if hops is not None and hops.strip().isdigit() else 70
        if left <= 0:
            if request.method != "ACK":
                incoming.respond(483, "Too Many Hops")
            return
        forwarded = self._forwarded(request, left - 1, destination)
        if request.method == "ACK":
            if self._acks_non_2xx(request):
                return  # hop by hop: our client transaction ACKed it (RFC 3261 17.1.1.3)
            self.core.pump.send_stateless(forwarded, destination)
            self._record(Relayed(role, incoming, forwarded, destination, None))
            return
        if request.method == "INVITE":
            incoming.respond(100, "Trying")
        task = asyncio.get_running_loop().create_task(
            self._transaction(role, incoming, forwarded, destination)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _forwarded(self, request: SipRequest, hops: int, destination: Address) -> SipRequest:
        items: list[Header] = [Header("Via", self.core.via(destination.transport))]
        dialog_creating = request.method in ("INVITE", "SUBSCRIBE") and to_tag(request) is None
        for item in request.headers:
            if item.key == "max-forwards":
                items.append(Header(item.name, str(hops)))
                continue
            items.append(item)
        if self.record_route and dialog_creating:
            at = next((i for i, h in enumerate(items) if h.key not in ("via", "max-forwards")), 1)
            items.insert(at, Header("Record-Route", f"<{self.core.uri()};lr>"))
        if not any(h.key == "max-forwards" for h in items):
            items.insert(1, Header("Max-Forwards", str(hops)))
        out = with_headers(request, Headers(items))
        assert isinstance(out, SipRequest)
        return out

    async def _transaction(
        self, role: SutRole, incoming: IncomingRequest, forwarded: SipRequest, to: Address
    ) -> None:
        handle = await self.core.send(forwarded, to)
        item = Relayed(role, incoming, forwarded, to, handle)
        self._record(item)
        guard = self.core.timers.b * 2
        while item.final is None:
            try:
                response = await handle.next_response(within=guard)
            except TransactionTimeoutError:
                self._answer(item, None)
                return
            except WaitTimeout:
                if handle.terminated:
                    self._answer(item, None)
                    return
                continue
            if response.status == 100:
                continue
            self._answer(item, response)

    def _answer(self, item: Relayed, response: SipResponse | None) -> None:
        """Relay ``response`` upstream without the core's Via; 408 for a timeout."""
        try:
            if response is None:
                sent = item.incoming.respond(408, "Request Timeout")
            else:
                sent = _without_top_via(response)
                item.incoming.send(sent)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot relay a response to %s: %s", item.method, exc)
            return
        item.responses.append(sent)
        self._changed.notify()

    def _acks_non_2xx(self, ack: SipRequest) -> bool:
        """``ack`` belongs to a relayed INVITE whose final response was not a 2xx."""
        for item in reversed(self.relayed):
            if item.method == "INVITE" and item.request.call_id == ack.call_id:
                final = item.final
                return final is not None and final.status >= 300
        return False

    def _cancel(self, incoming: IncomingRequest) -> None:
        """CANCEL (RFC 3261 16.10): answer it, cancel the forwarded INVITE."""
        incoming.respond(200)
        branch = branch_of(incoming.request)
        for item in self.relayed:
            if (
                item.method == "INVITE"
                and item.handle is not None
                and item.final is None
                and branch_of(item.request) == branch
            ):
                item.handle.cancel()

    def _record(self, item: Relayed) -> None:
        self.relayed.append(item)
        self._unread.append(item)
        self._changed.notify()

    # -- observing ------------------------------------------------------------------
    async def expect(
        self,
        method: str,
        *,
        to: SutRole | None = None,
        within: float,
        match: Callable[[Relayed], bool] | None = None,
    ) -> Relayed:
        """The oldest relayed ``method`` (to ``to``, matching ``match``) not returned yet."""

        def probe() -> Relayed | None:
            for i, item in enumerate(self._unread):
                if (
                    item.method == method
                    and (to is None or item.to == to)
                    and (match is None or match(item))
                ):
                    return self._unread.pop(i)
            return None

        return await self._changed.wait_until(
            probe, within, f"{method} relayed to the SUT {to or 'PF or CF'}"
        )

    async def watch(self, happened: Callable[[], bool], *, within: float) -> bool:
        """Whether ``happened`` (a look at :attr:`relayed`, which it leaves unread) comes
        true within ``within`` seconds, checked whenever something is relayed: an
        observation window for what a compliant SUT does not do."""
        try:
            await self._changed.wait_until(
                lambda: True if happened() else None, within, "a relayed message watched for"
            )
        except WaitTimeout:
            return False
        return True

    async def expect_final(self, item: Relayed, *, within: float) -> SipResponse:
        """The final response relayed back for ``item``."""
        return await self._changed.wait_until(
            lambda: item.final, within, f"final response to the relayed {item.method}"
        )


def _without_top_via(response: SipResponse) -> SipResponse:
    items = list(response.headers)
    for i, item in enumerate(items):
        if item.key != "via":
            continue
        values = split_list(item.value)
        if len(values) > 1:
            items[i] = Header(item.name, ", ".join(values[1:]))
        else:
            del items[i]
        break
    out = with_headers(response, Headers(items))
    assert isinstance(out, SipResponse)
    return out


__all__ = ["ROUTE_NAME", "Relayed", "SutRelay", "SutRole"]
