"""The reference CPM Participating Function on one :class:`SipPump` and one :class:`MsrpPump`.

- REGISTER: third-party registrations from the S-CSCF (:mod:`.registrations`), 200.
- INVITE whose asserted originator (P-Asserted-Identity, else From) is a served user and
  whose Request-URI is not: the originating side, seed 003 8.2.1 (:mod:`.originating_side`,
  the messages built in :mod:`.originating`):
  steps 1-4.a may reject; with ``media_path`` the PF is a B2BUA (4.b-4.m, then the
  200 OK steps 2-10), else a Record-Routing proxy (step 5).
- INVITE to a served user: the terminating side, seed 003 8.3.2 (:mod:`.terminating`).
- SUBSCRIBE and NOTIFY: the deferred delivery (:mod:`.deferred`), the forwarded
  subscriptions (:mod:`.subscribe_forward`) and the participant information
  (:mod:`.participants`), in the order :meth:`ParticipatingFunction._on_subscribe` and
  :meth:`ParticipatingFunction._on_notify` spell out.
- BYE on either leg of a B2BUA session ends the other leg with BYE; MSRP SENDs are relayed
  between the client leg, the terminating leg and the direct-delivery legs.

The features share one :class:`~.core.PfCore` (its :class:`~.core.SessionTable` owns the
session indices) and see each other only through the protocols of :mod:`.interfaces`.
Every request the PF originates goes to ``config.core`` when set, else to the host:port
of its Request-URI. Bad input never stops the service: it is logged and answered 400,
481 or 488 as RFC 3261 says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.msrp_pump import MsrpChannel, MsrpPump
from conformance.net.sip_pump import IncomingRequest, SipPump
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.dialog import DialogId, DialogState
from conformance.protocol.sip.timers import Address
from conformance.protocol.sip.transaction import tag_of
from conformance.reference.config import ReferenceConfig
from conformance.reference.faults import ActiveFaults
from conformance.reference.lifecycle import open_pumps
from conformance.reference.pf import msrp_policy
from conformance.reference.pf.admin import AdminTrigger
from conformance.reference.pf.core import ALLOW, PfCore, address_of, identity_of
from conformance.reference.pf.deferred import DeferredDelivery
from conformance.reference.pf.model import B2buaSession, MsrpLeg, SipLeg
from conformance.reference.pf.originating_side import OriginatingSide
from conformance.reference.pf.participants import Participants
from conformance.reference.pf.policy import PfPolicy
from conformance.reference.pf.registrations import Registrations
from conformance.reference.pf.terminating import TerminatingSide
from conformance.reference.upper_tester_server import Handler

log = logging.getLogger(__name__)


class ParticipatingFunction:
    """The reference PF: the features on one :class:`PfCore`, and the dispatch of what
    arrives. Start it with :meth:`start`."""

    def __init__(self, config: ReferenceConfig, sip: SipPump, msrp: MsrpPump) -> None:
        self.core = core = PfCore(config, sip, msrp, self._on_msrp_event)
        #: 8.2.3 participant information (SUBSCRIBE/NOTIFY, Group State Objects)
        self.participants = Participants(core)
        #: 8.3.2.9 deferred group sessions (:mod:`.deferred`)
        self.deferred = DeferredDelivery(
            core, sessions=self, participants=self.participants, invites=self
        )
        #: 8.3.2 (:mod:`.terminating`)
        self.terminating = TerminatingSide(
            core, sessions=self, deferred=self.deferred, participants=self.participants
        )
        #: 8.2.1 (:mod:`.originating_side`)
        self.originating = OriginatingSide(core, sessions=self, participants=self.participants)
        #: the administrative trigger (:mod:`.admin`)
        self.admin = AdminTrigger(core)
        #: the dispatch: method -> handler (OPTIONS, CANCEL and the methods the PF does not
        #: implement are answered by the element base; a proxied session's requests go on
        #: along their route, :meth:`PfCore.proxy_in_dialog`)
        core.routes.update(
            {
                "INVITE": self.on_invite,
                "ACK": self._on_ack,
                "BYE": self._on_bye,
                "REGISTER": self._on_register,
                "SUBSCRIBE": self._on_subscribe,
                "NOTIFY": self._on_notify,
            }
        )
        core.on_msrp_connection(self._on_msrp_open, accepted_only=True)

    @classmethod
    async def start(cls, config: ReferenceConfig) -> ParticipatingFunction:
        sip, msrp = await open_pumps(
            config.host,
            config.timers,
            sip_port=config.sip_port,
            msrp_port=config.msrp_port,
            msrp_config=config.msrp_config(),
        )
        return cls(config, sip, msrp)

    async def close(self) -> None:
        await self.core.close()

    async def __aenter__(self) -> ParticipatingFunction:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what the core holds --------------------------------------------------------------
    @property
    def config(self) -> ReferenceConfig:
        return self.core.config

    @property
    def faults(self) -> ActiveFaults:
        return self.core.faults

    @property
    def policy(self) -> PfPolicy:
        return self.core.policy

    @property
    def sip(self) -> SipPump:
        return self.core.sip

    @property
    def msrp(self) -> MsrpPump:
        return self.core.msrp

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.core.loop

    @property
    def registrations(self) -> Registrations:
        return self.core.registrations

    @property
    def sessions(self) -> Mapping[str, B2buaSession]:
        return self.core.table.sessions

    @property
    def address(self) -> Address:
        return self.core.address

    @property
    def hostport(self) -> str:
        return self.core.hostport

    def own_uri(self, session_id: str) -> str:
        return self.core.own_uri(session_id)

    def served(self, uri: str) -> bool:
        return self.core.served(uri)

    # -- SIP dispatch ---------------------------------------------------------------------
    def _on_register(self, incoming: IncomingRequest) -> None:
        """A third-party REGISTER (3GPP TS 24.229 5.4.1.7)."""
        core = self.core
        user = core.registrations.on_register(incoming.request, core.loop.time())
        log.info(
            "registration of %s: %d client(s)",
            user,
            len(core.registrations.bindings(user, core.loop.time())),
        )
        status = self.deferred.register_status(user)  # B.2.3.x.y step 10
        incoming.respond(status, headers=[("Server", core.policy.server)])
        if status < 300:
            self.deferred.on_register(user)  # 8.3.2.9 trigger A

    def on_invite(self, incoming: IncomingRequest) -> None:
        """An INVITE, in this order: a re-INVITE (refused); to a served user, the
        terminating side (8.3.2); a re-join of a deferred group session (8.3.2.9 B,
        B.2.3.x.y+2); else the originating side (8.2.1)."""
        request = incoming.request
        if tag_of(request, "To"):
            # re-INVITE: the PF does not renegotiate the media (RFC 3261 14.2)
            did = DialogId.of_incoming_request(request)
            incoming.respond(488 if self.core.table.knows_dialog(did) else 481)
            return
        originator = identity_of(request)
        if self.core.served(request.uri):
            self.terminating.on_invite(incoming)
            return
        if self.deferred.on_rejoin(incoming, originator):
            return
        self.originating.on_invite(incoming, originator)

    def _on_subscribe(self, incoming: IncomingRequest) -> None:
        """A SUBSCRIBE, in this order: the client's subscription of an inactive deferred
        delivery (B.2.3.5.X step 3); an in-dialog SUBSCRIBE of a subscription the PF
        forwards (8.2.3, forward mode); else the participant information (8.2.3)."""
        if self.deferred.on_subscribe(incoming):
            return
        request = incoming.request
        forwarder = self.participants.forwarder
        if tag_of(request, "To") and forwarder.owns_client_request(request):
            forwarder.on_client_subscribe(incoming)
            return
        self.participants.on_subscribe(incoming)

    def _on_notify(self, incoming: IncomingRequest) -> None:
        """A NOTIFY: of a subscription the PF forwards (8.2.3, forward mode), else of the
        PF's own subscription to a focus (8.2.3 "Receive Participant Information")."""
        forwarder = self.participants.forwarder
        if forwarder.owns_notify(incoming.request):
            forwarder.on_notify(incoming)
            return
        self.participants.on_notify(incoming)

    # -- ACK and BYE ----------------------------------------------------------------------
    def _on_ack(self, incoming: IncomingRequest) -> None:
        core = self.core
        found = core.table.by_dialog(DialogId.of_incoming_request(incoming.request))
        if found is None:
            return
        session, leg = found
        if leg is session.client and session.acked():
            # PF-8.2.1-200OK-7-ack: "wait for the SIP ACK ... propagate it towards the
            # leg on the terminating side"
            if session.ack_guard is not None:
                session.ack_guard.cancel()
                session.ack_guard = None
            if not core.faults.on("pf.ack-not-propagated") and not session.terminating:
                core.send_ack(session.core, session.core_invite)

    def _on_bye(self, incoming: IncomingRequest) -> None:
        found = self.core.table.by_dialog(DialogId.of_incoming_request(incoming.request))
        if found is None:
            incoming.respond(481)
            return
        session, leg = found
        assert leg.dialog is not None
        try:
            leg.dialog.receive_request(incoming.request)
        except RemoteProtocolError:
            incoming.respond(500)
            return
        if (
            self.faults.on("pf.client-bye-answered-500")
            and session.terminating
            and leg is session.user_leg
        ):
            incoming.respond(500)
        else:
            incoming.respond(200)
        if self.deferred.on_bye(session, leg, incoming.request):  # 8.3.2.9 case 1
            return
        self.end(session, leg)

    def end(self, session: B2buaSession, by: SipLeg | None) -> None:
        """BYE on every leg but ``by``; forget the session."""
        if not session.end():
            return
        core = self.core
        self.participants.session_ended(session, by_client=by is session.user_leg)
        for leg in session.legs:
            if leg.dialog is not None:
                core.table.unbind_dialog(leg.dialog)
            if (
                leg is not by
                and leg.dialog is not None
                and leg.dialog.state is (DialogState.CONFIRMED)
                and not (by is session.user_leg and core.faults.on("pf.bye-not-relayed"))
            ):
                core.send_in_dialog(leg.dialog, "BYE")
            if leg.msrp.channel is not None and leg.msrp.session is not None:
                leg.msrp.channel.machine.remove_session(leg.msrp.session)
        core.table.forget(session)

    # -- MSRP -----------------------------------------------------------------------------
    def _on_msrp_open(self, channel: MsrpChannel) -> None:
        """A connection a peer opened: it may carry any leg waiting for its MSRP."""
        core = self.core
        for leg in core.table.pending_legs():
            with contextlib.suppress(LocalProtocolError, RemoteProtocolError):
                # a leg whose answer is still in flight: the peer may connect (and bind)
                # before the PF has read its a=path; the path follows (msrp_policy.sync_path)
                path = list(leg.msrp.remote_path) or [leg.msrp.local_uri]
                channel.add_session(leg.msrp.local_uri, path)
        core.spawn(core.read_channel(channel))

    def _on_msrp_event(self, channel: MsrpChannel, event: object) -> None:
        """One event of a channel the PF reads: a binding, a message to relay, and what
        the deferred delivery watches (8.3.2.9 case 3)."""
        session_id = getattr(getattr(event, "session", None), "session_id", None)
        if session_id is not None:
            self._bind(channel, session_id)
        if isinstance(event, MessageReceived):
            self._relay(channel, event)
        self.deferred.on_msrp_event(channel, event)

    def _bind(self, channel: MsrpChannel, session_id: str) -> None:
        table = self.core.table
        owner = table.claim_msrp(session_id)
        if owner is None:
            return
        _, leg = owner
        leg.msrp.channel = channel
        leg.msrp.session = next(
            (s for s in channel.machine.sessions if s.session_id == session_id), None
        )
        msrp_policy.sync_path(leg)
        for other in list(channel.machine.sessions):
            if other.session_id != session_id and table.expects_msrp(other.session_id):
                channel.machine.remove_session(other)

    def _relay(self, channel: MsrpChannel, event: MessageReceived) -> None:
        if not event.body:
            return  # a keep-alive or a binding SEND
        for session in self.core.table.values():
            sender = next(
                (
                    leg
                    for leg in session.legs
                    if leg.msrp.channel is channel and leg.msrp.session is event.session
                ),
                None,
            )
            if sender is None:
                continue
            # 8.3.2.9: kept for a client that is gone
            self.deferred.on_relay(session, sender, event.body, event.content_type)
            # 8.6 steps 1 and 2.a (:mod:`.msrp_policy`)
            msrp_policy.relay(self.core, session, sender, event, self.participants.over_msrp)
            return

    # -- upper tester ---------------------------------------------------------------------
    def actions(self) -> dict[str, Handler]:
        """The upper-tester actions the PF performs (docs/upper-tester.md)."""
        return {"reset": self._action_reset, "admin-trigger": self.admin.action}

    async def _action_reset(self, params: Mapping[str, Any]) -> str:
        return "pf: nothing to reset"


__all__ = [
    "ALLOW",
    "B2buaSession",
    "MsrpLeg",
    "ParticipatingFunction",
    "SipLeg",
    "address_of",
    "identity_of",
]
