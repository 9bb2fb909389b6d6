"""Forward mode of a client's conference SUBSCRIBE at the reference PF (seed 003 8.2.3
"SHALL either forward this request to the CPM Controlling Function and terminate any
subscription that it may have initiated itself"; seed 000 5.2.3.5), PICS
``pf.client_subscribe_mode=forward`` (policy ``client_subscribe_mode == "proxy"``).

The PF relays: the client's SUBSCRIBE goes to the CF (through the SIP/IP core) with the
client's Call-ID, From, To and CSeq and the group session identity as Request-URI; the CF's
final response and its NOTIFYs come back to the client in a dialog with the same
identifiers; in-dialog SUBSCRIBEs of the client are relayed to the CF.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.sip_pump import IncomingRequest
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.pf.core import PfCore
from conformance.reference.pf.interfaces import OwnSubscriptions

log = logging.getLogger(__name__)

_COPIED = (
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Event",
    "Expires",
    "Accept",
    "Accept-Contact",
    "P-Preferred-Service",
    "P-Asserted-Service",
    "User-Agent",
)


@dataclass(eq=False)
class Relay:
    """One forwarded client subscription: the CF-side and the client-side dialog."""

    client_request: SipRequest
    client_source: object
    contact: str
    upstream: Dialog | None = None
    downstream: Dialog | None = None
    #: NOTIFYs of the CF that came before the CF's 2xx was relayed
    pending: list[SipRequest] = field(default_factory=list)


class SubscribeForwarder:
    """Forward mode of the participant information (one per PF)."""

    def __init__(self, pf: PfCore, own: OwnSubscriptions) -> None:
        self.pf = pf
        self.own = own
        #: (Call-ID, tag of the client) -> relay (NOTIFYs of the CF carry it as To tag)
        self._by_client_tag: dict[tuple[str, str], Relay] = {}
        #: (Call-ID, tag of the CF) -> relay (in-dialog requests of the client)
        self._by_cf_tag: dict[tuple[str, str], Relay] = {}

    # -- dispatch -----------------------------------------------------------------------
    def owns_notify(self, request: SipRequest) -> bool:
        return (request.call_id or "", tag_of(request, "To") or "") in self._by_client_tag

    def owns_client_request(self, request: SipRequest) -> bool:
        return (request.call_id or "", tag_of(request, "To") or "") in self._by_cf_tag

    # -- the client's initial SUBSCRIBE -------------------------------------------------
    def forward(self, incoming: IncomingRequest, user: str, focus: str) -> None:
        """Forward to the CF with Request-URI = focus, then end the PF's own subscription."""
        pf = self.pf
        request = incoming.request
        contact = f"<sip:pf-fsub-{secrets.token_hex(4)}@{pf.hostport}>"
        headers: list[tuple[str, str]] = [("Via", pf.via()), ("Max-Forwards", "70")]
        for name in _COPIED:
            value = request.headers.get(name)
            if value is not None:
                headers.append((name, value))
        headers += [("Contact", contact), ("P-Asserted-Identity", f"<{user}>")]
        forwarded = build_request("SUBSCRIBE", focus, headers, request.body)
        relay = Relay(request, incoming.source, contact)
        key = (request.call_id or "", tag_of(request, "From") or "")
        self._by_client_tag[key] = relay

        async def run() -> None:
            handle = await pf.sip.request(forwarded, pf.destination(focus))
            self._terminate_own(user, focus)
            outcome = await handle.outcome(pf.config.timers.b * 2)
            if isinstance(outcome, str):
                self._by_client_tag.pop(key, None)
                incoming.respond(408)
                return
            cf_tag = tag_of(outcome, "To") or ""
            extra = [("Contact", contact)]
            expires = outcome.headers.get("Expires")
            if expires is not None:
                extra.append(("Expires", expires))
            response = response_to(
                request, outcome.status, outcome.reason, to_tag=cf_tag or None, headers=extra
            )
            if outcome.status >= 300 or not cf_tag:
                self._by_client_tag.pop(key, None)
                incoming.send(response)
                return
            try:
                relay.upstream = Dialog.uac(forwarded, outcome)
                relay.downstream = Dialog.uas(request, cf_tag, contact)
                relay.downstream.confirm(response)
            except (LocalProtocolError, RemoteProtocolError) as exc:
                log.warning("cannot relay the CF's answer: %s", exc)
                self._by_client_tag.pop(key, None)
                incoming.respond(500)
                return
            self._by_cf_tag[(request.call_id or "", cf_tag)] = relay
            incoming.send(response)
            for notify in relay.pending:
                self._relay_notify(relay, notify)
            relay.pending.clear()

        pf.spawn(run())

    def _terminate_own(self, user: str, focus: str) -> None:
        """8.2.3: "terminate any subscription that it may have initiated itself"."""
        if self.pf.faults.on("pf.forward-own-subscription-kept"):
            return
        sub = self.own.active(user, focus)
        if sub is None:
            return
        if sub.refresh is not None:
            sub.refresh.cancel()
            sub.refresh = None
        if sub.dialog is None:
            sub.end_when_ready = True
        else:
            self.own.refresh(sub, 0)

    # -- NOTIFY of the CF ---------------------------------------------------------------
    def on_notify(self, incoming: IncomingRequest) -> None:
        request = incoming.request
        relay = self._by_client_tag.get((request.call_id or "", tag_of(request, "To") or ""))
        if relay is None:
            incoming.respond(481)
            return
        if relay.upstream is not None:
            with contextlib.suppress(RemoteProtocolError):
                relay.upstream.receive_request(request)
        incoming.respond(200)
        if self.pf.faults.on("pf.forward-notify-not-relayed"):
            return
        if relay.downstream is None:
            relay.pending.append(request)
            return
        self._relay_notify(relay, request)

    def _relay_notify(self, relay: Relay, request: SipRequest) -> None:
        pf = self.pf
        assert relay.downstream is not None
        headers = [
            (n, v)
            for n in ("Event", "Subscription-State", "Content-Type")
            if (v := request.headers.get(n)) is not None
        ]
        try:
            notify = relay.downstream.create_request(
                "NOTIFY", via=pf.via(), headers=headers, body=request.body
            )
            destination = pf.destination(relay.downstream.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot relay the NOTIFY: %s", exc)
            return
        pf.spawn(pf.sip.request(notify, destination))
        state = (request.headers.get("Subscription-State") or "").strip().lower()
        if state.startswith("terminated"):
            self._drop(relay)

    # -- in-dialog SUBSCRIBE of the client ----------------------------------------------
    def on_client_subscribe(self, incoming: IncomingRequest) -> None:
        pf = self.pf
        request = incoming.request
        relay = self._by_cf_tag.get((request.call_id or "", tag_of(request, "To") or ""))
        if relay is None or relay.upstream is None or relay.downstream is None:
            incoming.respond(481)
            return
        with contextlib.suppress(RemoteProtocolError):
            relay.downstream.receive_request(request)
        headers = [
            (n, v)
            for n in ("Event", "Expires", "Accept")
            if (v := request.headers.get(n)) is not None
        ]
        try:
            upstream = relay.upstream.create_request(
                "SUBSCRIBE", via=pf.via(), headers=[*headers, ("Contact", relay.contact)]
            )
            destination = pf.destination(relay.upstream.next_hop())
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("cannot relay the SUBSCRIBE: %s", exc)
            incoming.respond(500)
            return

        async def run() -> None:
            handle = await pf.sip.request(upstream, destination)
            outcome = await handle.outcome(pf.config.timers.b * 2)
            if isinstance(outcome, str):
                incoming.respond(408)
                return
            expires = outcome.headers.get("Expires")
            incoming.respond(
                outcome.status,
                outcome.reason,
                headers=[("Expires", expires)] if expires is not None else [],
            )

        pf.spawn(run())

    def _drop(self, relay: Relay) -> None:
        for table in (self._by_client_tag, self._by_cf_tag):
            for k in [k for k, v in table.items() if v is relay]:
                del table[k]


__all__ = ["Relay", "SubscribeForwarder"]
