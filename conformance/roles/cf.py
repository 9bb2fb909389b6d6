"""The CPM Controlling Function role (the conference factory and its focuses).

A :class:`CfEmulator` owns a route on the tool's core for requests whose Request-URI is
the conference-factory URI (PIXIT ``uris.conference_factory``) or one of the focus URIs it
handed out. The test scripts it:

- :meth:`CfEmulator.expect_invite` returns a :class:`CfIncomingInvite`; ``accept`` answers
  200 with ``Contact: <focus>;isfocus`` and an MSRP answer (a :class:`CfSession`),
  ``reject`` answers an error;
- :meth:`CfEmulator.expect_subscribe` returns an :class:`IncomingSubscribe`; ``accept``
  then ``notify`` (conference-info) and ``terminate`` (``Subscription-State:
  terminated;reason=noresource``);
- :meth:`CfEmulator.bye` ends a session; :class:`CfSession` carries the MSRP endpoint
  towards the PF (chat messages, conference-info over MSRP);
- :meth:`CfEmulator.own_focus_uri` is a focus URI at an address of the CF's own (a
  run-time port of the core's host, not the core's): a SUT that sends a request for it
  straight to that address, not through its SIP/IP core, is seen at
  :meth:`~conformance.roles.core.CoreUA.arrived_at` (the address the request arrived at).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from conformance.errors import LocalProtocolError
from conformance.net.capture import Capture
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest
from conformance.protocol.sip.cpm import CONFERENCE_INFO_TYPE, CPM_SERVER_RELEASE, SDP_TYPE
from conformance.protocol.sip.dialog import Dialog, uri_of
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.sdp import parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.client import sdp_of
from conformance.roles.core import CoreUA, ToolCore
from conformance.roles.msrp_peer import DEFAULT_ACCEPT_TYPES, DEFAULT_WRAPPED_TYPES, MsrpPeer
from conformance.roles.sip_helpers import parse_sip_uri, request_targets

DEFAULT_SERVER = f"{CPM_SERVER_RELEASE} tool-cf/1"


class CfSession:
    """One group session the CF accepted: its dialog, focus and MSRP endpoint."""

    def __init__(
        self,
        cf: CfEmulator,
        invite: IncomingRequest,
        dialog: Dialog,
        focus_uri: str,
        msrp: MsrpPeer,
        local_setup: str,
        participants: Sequence[str],
    ) -> None:
        self.cf = cf
        self.invite = invite
        self.dialog = dialog
        self.focus_uri = focus_uri
        self.msrp = msrp
        self.local_setup = local_setup
        self.participants = list(participants)

    @property
    def destination(self) -> Address:
        """Where in-dialog requests go when the remote target is not a literal address."""
        return self.invite.source

    async def establish_msrp(self, *, within: float) -> None:
        """Connect (we answered active) or await the PF's connection (passive)."""
        await self.msrp.establish(
            sdp_of(self.invite.request), local_setup=self.local_setup, within=within
        )

    async def bye(self, reason: str | None = None) -> ClientTransactionHandle:
        return await self.cf.bye(self, reason=reason)


class CfIncomingInvite:
    """An INVITE the SUT sent to the conference factory or a focus."""

    def __init__(self, cf: CfEmulator, incoming: IncomingRequest) -> None:
        self.cf = cf
        self.incoming = incoming
        self.tag = new_tag()
        self.response: SipResponse | None = None

    @property
    def request(self) -> SipRequest:
        return self.incoming.request

    async def accept(
        self,
        *,
        focus_uri: str | None = None,
        participants: Sequence[str] = (),
        sdp_setup: str = "passive",
        direction: str | None = "sendrecv",
        accept_types: Sequence[str] = DEFAULT_ACCEPT_TYPES,
        accept_wrapped_types: Sequence[str] | None = DEFAULT_WRAPPED_TYPES,
        headers: Sequence[tuple[str, str]] = (),
        server: str | None = DEFAULT_SERVER,
        body: bytes | None = None,
        contact: str | None = None,
    ) -> CfSession:
        """200 with ``Contact: <focus>;isfocus`` (``contact`` replaces it) and an MSRP answer
        from a new endpoint (``body`` replaces it). A passive answer declares the MSRP
        session before the 200 leaves. The focus URI (new when not given) is routed to this CF."""
        focus = focus_uri or self.cf.new_focus_uri()
        await self.cf.add_focus(focus)
        msrp = await self.cf.new_msrp_peer()
        offer = sdp_of(self.request)
        if body is None:
            body = msrp.sdp(
                setup=sdp_setup,
                direction=direction,
                accept_types=accept_types,
                accept_wrapped_types=accept_wrapped_types,
            )
            if sdp_setup == "passive" and offer:
                msrp.declare(parse_sdp(offer).msrp.path)
        hs = list(headers)
        if server is not None:
            hs.append(("Server", server))
        response = self.cf.response(
            self.incoming,
            200,
            to_tag=self.tag,
            contact=contact or f"<{focus}>;isfocus",
            headers=hs,
            body=body,
            content_type=SDP_TYPE,
        )
        dialog = Dialog.uas(self.request, self.tag, focus)
        dialog.confirm(response)
        self.cf.track_dialog(dialog)
        self.incoming.send(response)
        self.response = response
        session = CfSession(self.cf, self.incoming, dialog, focus, msrp, sdp_setup, participants)
        self.cf.sessions.append(session)
        return session

    def reject(
        self, status: int, reason: str | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> SipResponse:
        response = self.cf.response(self.incoming, status, reason, to_tag=self.tag, headers=headers)
        self.incoming.send(response)
        self.response = response
        return response


class IncomingSubscribe:
    """A SUBSCRIBE to a focus (or the factory): accept, notify, terminate."""

    def __init__(self, cf: CfEmulator, incoming: IncomingRequest) -> None:
        self.cf = cf
        self.incoming = incoming
        self.tag = new_tag()
        self.dialog: Dialog | None = None
        self.expires: int | None = None
        #: every NOTIFY sent in this subscription
        self.notifies: list[ClientTransactionHandle] = []

    @property
    def request(self) -> SipRequest:
        return self.incoming.request

    @property
    def event(self) -> str:
        return self.request.headers.get("Event") or "conference"

    def accept(
        self, expires: int | None = None, *, headers: Sequence[tuple[str, str]] = ()
    ) -> SipResponse:
        """200 with ``Expires`` (the requested value when not given, else 3600)."""
        if expires is None:
            asked = self.request.headers.get("Expires")
            expires = int(asked) if asked is not None and asked.strip().isdigit() else 3600
        self.expires = expires
        contact = uri_of(self.request.uri)
        response = self.cf.response(
            self.incoming,
            200,
            to_tag=self.tag,
            contact=f"<{contact}>;isfocus",
            headers=[("Expires", str(expires)), *headers],
        )
        self.dialog = Dialog.uas(self.request, self.tag, contact)
        self.dialog.confirm(response)
        self.cf.track_dialog(self.dialog)
        self.incoming.send(response)
        return response

    def reject(
        self, status: int, reason: str | None = None, headers: Sequence[tuple[str, str]] = ()
    ) -> SipResponse:
        response = self.cf.response(self.incoming, status, reason, to_tag=self.tag, headers=headers)
        self.incoming.send(response)
        return response

    async def notify(
        self,
        body: bytes,
        *,
        state: str = "active",
        content_type: str = CONFERENCE_INFO_TYPE,
        headers: Sequence[tuple[str, str]] = (),
    ) -> ClientTransactionHandle:
        """NOTIFY in the subscription's dialog with ``Subscription-State: <state>``
        (``;expires=`` added for active/pending unless ``state`` has parameters)."""
        if self.dialog is None:
            raise LocalProtocolError("accept() the subscription first")
        value = state
        if state in ("active", "pending") and self.expires is not None:
            value = f"{state};expires={self.expires}"
        handle = await self.cf.send_in_dialog(
            self.dialog,
            "NOTIFY",
            to=self.incoming.source,
            headers=[("Event", self.event), ("Subscription-State", value), *headers],
            body=body,
            content_type=content_type,
        )
        self.notifies.append(handle)
        return handle

    async def terminate(
        self,
        reason: str = "noresource",
        *,
        body: bytes = b"",
        content_type: str = CONFERENCE_INFO_TYPE,
    ) -> ClientTransactionHandle:
        """The final NOTIFY: ``Subscription-State: terminated;reason=<reason>``."""
        return await self.notify(
            body, state=f"terminated;reason={reason}", content_type=content_type
        )


class CfEmulator(CoreUA):
    """The CPM Controlling Function (module docstring). Build it with :meth:`create`."""

    def __init__(
        self,
        core: ToolCore,
        factory_uri: str,
        *,
        msrp_host: str = "127.0.0.1",
        capture: Capture | None = None,
    ) -> None:
        super().__init__(core, f"CF {factory_uri}")
        self.factory_uri = factory_uri
        self.msrp_host = msrp_host
        self.capture = capture or core.capture
        self.focus_uris: list[str] = []
        self.sessions: list[CfSession] = []
        self.msrp_peers: list[MsrpPeer] = []
        self.route_name = f"cf:{factory_uri}"
        #: the names of its MSRP addresses and of their far ends in the capture
        self.role_name = "tool: CF"
        self.peer_role_name: str | None = None

    @classmethod
    async def create(
        cls, core: ToolCore, factory_uri: str, *, msrp_host: str = "127.0.0.1"
    ) -> CfEmulator:
        cf = cls(core, factory_uri, msrp_host=msrp_host)
        core.add_route(cf.route_name, cf.owns, cf.on_request)
        return cf

    async def close(self) -> None:
        self.core.remove_route(self.route_name)
        self.forget_dialogs()
        for peer in self.msrp_peers:
            await peer.close()
        await self.close_own()

    async def own_focus_uri(self) -> str:
        """A fresh focus URI whose host part is :meth:`own_address` (the request-URI of
        a request to it names the CF's own address; the core routes it here too)."""
        at = await self.own_address()
        return f"sip:conf-{secrets.token_hex(6)}@{at.host}:{at.port}"

    def owns(self, request: SipRequest) -> bool:
        return request_targets(request, [self.factory_uri, *self.focus_uris])

    def new_focus_uri(self) -> str:
        """A fresh focus URI in the factory's domain."""
        parsed = parse_sip_uri(self.factory_uri)
        host = parsed.host if parsed is not None and parsed.host else self.core.host
        return f"sip:conf-{secrets.token_hex(6)}@{host}"

    async def add_focus(self, focus_uri: str) -> None:
        """Route requests to ``focus_uri`` here (and, in a pooled run, to this worker)."""
        if focus_uri not in self.focus_uris:
            self.focus_uris.append(focus_uri)
            await self.core.own_uris(focus_uri)

    async def new_msrp_peer(self) -> MsrpPeer:
        peer = await MsrpPeer.start(
            self.msrp_host, self.capture, role=self.role_name, peer_role=self.peer_role_name
        )
        self.msrp_peers.append(peer)
        return peer

    async def expect_invite(
        self, *, within: float, conversation_id: str | None = None
    ) -> CfIncomingInvite:
        """The next out-of-dialog INVITE to the factory or a focus.

        With ``conversation_id``, only an INVITE of that conversation is taken: one a SUT
        sends late for an earlier test case's conversation stays unjudged in the inbox.
        """

        def wanted(r: IncomingRequest) -> bool:
            if ";tag=" in (r.request.headers.get("To") or ""):
                return False
            return conversation_id is None or (
                r.request.headers.get("Conversation-ID") == conversation_id
            )

        incoming = await self.expect_request("INVITE", within=within, match=wanted)
        return CfIncomingInvite(self, incoming)

    async def expect_subscribe(self, *, within: float) -> IncomingSubscribe:
        """The next out-of-dialog SUBSCRIBE to the factory or a focus."""
        incoming = await self.expect_request(
            "SUBSCRIBE",
            within=within,
            match=lambda r: ";tag=" not in (r.request.headers.get("To") or ""),
        )
        return IncomingSubscribe(self, incoming)

    async def bye(
        self, session: CfSession | Dialog, *, reason: str | None = None, to: Address | None = None
    ) -> ClientTransactionHandle:
        """BYE in a session's dialog (``Reason`` header when given)."""
        if isinstance(session, CfSession):
            dialog, destination = session.dialog, session.destination
        else:
            if to is None:
                raise LocalProtocolError("bye(dialog) needs to= (the way the dialog came)")
            dialog, destination = session, to
        headers = [("Reason", reason)] if reason is not None else []
        return await self.send_in_dialog(dialog, "BYE", to=to or destination, headers=headers)


__all__ = ["CfEmulator", "CfIncomingInvite", "CfSession", "IncomingSubscribe"]
