"""The CPM Client role: one client instance of a user, reached through the tool's core.

A :class:`ClientEmulator` owns a route on the core: requests whose Request-URI is its
contact URI (``sip:<contact_user>@<core host>:<core port>``), its GRUU (``gr`` =
its instance), or its user with an Accept-Contact ``+sip.instance`` naming its instance.

Builders return a :class:`SipRequest` the test may alter before sending
(:meth:`ClientEmulator.build_group_invite`); senders return handles to await responses on
(:meth:`ClientEmulator.send_invite`); expectations wait for what the SUT sends
(:meth:`ClientEmulator.expect_invite`, :meth:`ClientEmulator.expect_request`). Nothing
here judges: handles keep every request and response.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.documents.resource_lists import (
    RECIPIENT_LIST_DISPOSITION,
    RESOURCE_LISTS_CONTENT_TYPE,
    Entry,
    ResourceList,
    build_resource_list,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.capture import Capture
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest
from conformance.protocol.msrp.session import ChunkReceived, KeepAliveReceived, MessageReceived
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    IN_REPLY_TO_CONTRIBUTION_ID,
    OPTION_RECIPIENT_LIST_INVITE,
    SDP_TYPE,
)
from conformance.protocol.sip.dialog import Dialog, uri_of
from conformance.protocol.sip.headers import (
    format_contact_preference,
    format_icsi_ref,
    get_content_type,
)
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import (
    build_multipart,
    build_part,
    find_sdp,
    parse_multipart,
)
from conformance.protocol.sip.sdp import parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.core import CoreUA, ToolCore, core_routes, headers_without
from conformance.roles.ims_core import DEFAULT_USER_AGENT
from conformance.roles.msrp_peer import DEFAULT_ACCEPT_TYPES, DEFAULT_WRAPPED_TYPES, MsrpPeer
from conformance.roles.sip_helpers import (
    accept_contact_instances,
    from_tag,
    gruu_instance,
    parse_sip_uri,
    same_aor,
    unbracket,
)
from conformance.roles.uac import DialogRequest

ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, OPTIONS, MESSAGE, UPDATE"


class InviteHandle(DialogRequest):
    """An INVITE the client sent: its responses, the dialog of its 2xx, ACK and BYE."""

    def __init__(
        self,
        client: ClientEmulator,
        request: SipRequest,
        handle: ClientTransactionHandle,
        to: Address,
        msrp: MsrpPeer,
    ) -> None:
        self.client = client
        self.request = request
        self.transaction = handle
        self.destination = to
        self.msrp = msrp
        self.dialog: Dialog | None = None
        self.ack_request: SipRequest | None = None

    @property
    def responses(self) -> list[SipResponse]:
        return self.transaction.responses

    def _sender(self) -> ClientEmulator:
        return self.client

    async def ack(self, *, headers: Sequence[tuple[str, str]] = ()) -> SipRequest:
        """The ACK for the 2xx (RFC 3261 13.2.2.4), sent to the dialog's next hop
        (:meth:`ClientEmulator.in_dialog_destination`)."""
        ack = await self.client.send_ack(
            self._dialog(), self.request.cseq[0], to=self.destination, headers=headers
        )
        self.ack_request = ack
        return ack

    async def establish_msrp(self, *, within: float) -> None:
        """Connect (we are active) or accept (passive) the MSRP session of the answer."""
        final = self.transaction.final_response
        if final is None or not final.body:
            raise LocalProtocolError("no answer SDP yet")
        answer = parse_sdp(sdp_of(final)).msrp
        local = "passive" if answer.setup == "active" else "active"
        await self.msrp.establish(
            sdp_of(final),
            local_setup=local,
            within=within,
            peer_role=signalled_peer_role(self.client, final),
        )

    async def bye(
        self, reason: str | None = None, *, headers: Sequence[tuple[str, str]] = ()
    ) -> ClientTransactionHandle:
        """Send BYE in the dialog (with a Reason header when given)."""
        hs = list(headers)
        if reason is not None:
            hs.append(("Reason", reason))
        return await self.client.send_in_dialog(
            self._dialog(), "BYE", to=self.destination, headers=hs
        )


class IncomingInvite:
    """An INVITE the SUT sent to the client; answer it with :meth:`answer`."""

    def __init__(self, client: ClientEmulator, incoming: IncomingRequest) -> None:
        self.client = client
        self.incoming = incoming
        self.tag = new_tag()
        self.dialog: Dialog | None = None
        self.msrp: MsrpPeer | None = None
        self.local_setup: str | None = None

    @property
    def request(self) -> SipRequest:
        return self.incoming.request

    def ringing(self) -> SipResponse:
        return self.provisional(180)

    def provisional(self, status: int = 180) -> SipResponse:
        response = self.client.response(
            self.incoming, status, to_tag=self.tag, contact=self.client.contact_header()
        )
        self.incoming.send(response)
        return response

    def decline(self, status: int = 603, headers: Sequence[tuple[str, str]] = ()) -> SipResponse:
        response = self.client.response(self.incoming, status, to_tag=self.tag, headers=headers)
        self.incoming.send(response)
        return response

    async def answer(
        self,
        status: int = 200,
        *,
        sdp_setup: str = "active",
        direction: str | None = "sendrecv",
        accept_types: Sequence[str] = DEFAULT_ACCEPT_TYPES,
        accept_wrapped_types: Sequence[str] | None = DEFAULT_WRAPPED_TYPES,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
        user_agent: str | None = DEFAULT_USER_AGENT,
    ) -> SipResponse:
        """Answer with ``status``; a 2xx carries an MSRP answer from a new MSRP endpoint
        (``body`` replaces it) and confirms the dialog. With ``sdp_setup="passive"`` the
        session is declared before the 2xx leaves, so the SUT may connect at once."""
        hs = list(headers)
        if user_agent is not None and not any(n.lower() == "server" for n, _ in hs):
            hs.append(("Server", user_agent))
        if not 200 <= status < 300:
            response = self.client.response(self.incoming, status, to_tag=self.tag, headers=hs)
            self.incoming.send(response)
            return response
        self.msrp = await self.client.new_msrp_peer()
        offer = sdp_of(self.request)
        if body is None:
            body = self.msrp.sdp(
                setup=sdp_setup,
                direction=direction,
                accept_types=accept_types,
                accept_wrapped_types=accept_wrapped_types,
            )
            self.local_setup = sdp_setup
            if sdp_setup == "passive" and offer:
                self.msrp.declare(parse_sdp(offer).msrp.path)
        response = self.client.response(
            self.incoming,
            status,
            to_tag=self.tag,
            contact=self.client.contact_header(),
            headers=hs,
            body=body,
            content_type=SDP_TYPE,
        )
        self.dialog = Dialog.uas(self.request, self.tag, self.client.contact_uri)
        self.dialog.confirm(response)
        self.client.track_dialog(self.dialog)
        self.incoming.send(response)
        return response

    async def establish_msrp(self, *, within: float) -> None:
        """Connect (``sdp_setup="active"``) or await the SUT's connection (passive)."""
        if self.msrp is None or self.local_setup is None:
            raise LocalProtocolError("answer() with a 2xx first")
        await self.msrp.establish(
            sdp_of(self.request),
            local_setup=self.local_setup,
            within=within,
            peer_role=signalled_peer_role(self.client, self.request),
        )

    async def bound(self, *, within: float) -> bool:
        """Whether the SUT, the connection's active end (we answered passive), has sent its
        first SEND (RFC 4975 5.4: it binds the session at once), waiting up to ``within``;
        True at once when we are the active end."""
        if self.msrp is None or self.local_setup is None:
            raise LocalProtocolError("answer() with a 2xx first")
        if self.local_setup == "active":
            return True
        channel = self.msrp.channels[0] if self.msrp.channels else None
        if channel is None:
            return False
        kinds = (KeepAliveReceived, ChunkReceived, MessageReceived)
        try:
            await channel.expect(object, within=within, match=lambda ev: isinstance(ev, kinds))
        except WaitTimeout:
            return False
        return True

    async def bye(
        self, reason: str | None = None, *, headers: Sequence[tuple[str, str]] = ()
    ) -> ClientTransactionHandle:
        if self.dialog is None:
            raise LocalProtocolError("no dialog: answer() with a 2xx first")
        hs = list(headers)
        if reason is not None:
            hs.append(("Reason", reason))
        return await self.client.send_in_dialog(
            self.dialog, "BYE", to=self.incoming.source, headers=hs
        )


class SubscribeHandle(DialogRequest):
    """A SUBSCRIBE the client sent: its final response, its dialog, NOTIFYs come to the
    client's inbox (:meth:`ClientEmulator.expect_request`)."""

    def __init__(
        self,
        client: ClientEmulator,
        request: SipRequest,
        handle: ClientTransactionHandle,
        to: Address,
    ) -> None:
        self.client = client
        self.request = request
        self.transaction = handle
        self.destination = to
        self.dialog: Dialog | None = None

    def _sender(self) -> ClientEmulator:
        return self.client

    async def unsubscribe(self) -> ClientTransactionHandle:
        """Refresh with ``Expires: 0`` in the dialog (RFC 6665 4.1.2.3)."""
        if self.dialog is None:
            raise LocalProtocolError("no dialog: await final() for a 2xx first")
        event = self.request.headers.get("Event") or "conference"
        return await self.client.send_in_dialog(
            self.dialog,
            "SUBSCRIBE",
            to=self.destination,
            headers=[("Event", event), ("Expires", "0")],
        )


class ClientEmulator(CoreUA):
    """One CPM Client instance (module docstring). Build it with :meth:`create`."""

    def __init__(
        self,
        core: ToolCore,
        user: str,
        instance: str,
        *,
        contact_user: str,
        msrp_host: str,
        capture: Capture | None = None,
        icsis: Sequence[str] = (ICSI_SESSION,),
    ) -> None:
        super().__init__(core, f"client {user} {instance}")
        self.user = user
        self.instance = unbracket(instance)
        self.contact_user = contact_user
        self.contact_uri = core.uri(contact_user)
        self.msrp_host = msrp_host
        self.capture = capture or core.capture
        self.icsis = tuple(icsis)
        self.msrp_peers: list[MsrpPeer] = []
        self.route_name = f"client:{user}:{self.instance}"
        #: the names of its MSRP addresses and of their far ends in the capture
        parsed = parse_sip_uri(user)
        self.role_name = f"tool: client {parsed.user if parsed and parsed.user else user}"
        self.peer_role_name: str | None = None

    @classmethod
    async def create(
        cls,
        core: ToolCore,
        user: str,
        instance: str,
        *,
        msrp_host: str = "127.0.0.1",
        contact_user: str | None = None,
        icsis: Sequence[str] = (ICSI_SESSION,),
    ) -> ClientEmulator:
        """A client instance with its route on ``core``."""
        if contact_user is None:
            parsed = parse_sip_uri(user)
            name = parsed.user if parsed is not None and parsed.user else "client"
            contact_user = f"{name}-{unbracket(instance).rsplit(':', 1)[-1][-12:]}"
        client = cls(
            core, user, instance, contact_user=contact_user, msrp_host=msrp_host, icsis=icsis
        )
        core.add_route(client.route_name, client.owns, client.on_request)
        return client

    async def close(self) -> None:
        self.core.remove_route(self.route_name)
        self.forget_dialogs()
        for peer in self.msrp_peers:
            await peer.close()
        await self.close_own()

    # -- identity -------------------------------------------------------------------
    @property
    def gruu(self) -> str:
        """The public GRUU of this instance (RFC 5627 3.1)."""
        return f"{self.user};gr={self.instance}"

    def contact_header(self, icsis: Sequence[str] | None = None) -> str:
        """``<contact>;+sip.instance="<urn>";+g.3gpp.icsi-ref="..."``."""
        refs = self.icsis if icsis is None else tuple(icsis)
        value = f'<{self.contact_uri}>;+sip.instance="<{self.instance}>"'
        if refs:
            value += ";" + format_icsi_ref(refs)
        return value

    def on_request(self, incoming: IncomingRequest) -> None:
        """A NOTIFY of no subscription this client made is answered 481 (RFC 6665 4.1.3)
        and kept from the inbox: one the SUT still sends for a subscription an earlier
        test case's client of the same user and instance (same contact) left behind. It
        stays in :attr:`received` and in the capture. Everything else reaches the inbox."""
        request = incoming.request
        if request.method == "NOTIFY" and not self.tracks(request):
            self.received.append(incoming)
            incoming.send(self.response(incoming, 481))
            return
        super().on_request(incoming)

    def owns(self, request: SipRequest) -> bool:
        """The route predicate: contact URI, GRUU, or user + Accept-Contact instance."""
        parsed = parse_sip_uri(request.uri)
        if parsed is None:
            return False
        if (
            parsed.user == self.contact_user
            and parsed.host == self.core.host
            and (parsed.port in (None, self.core.port))
        ):
            return True
        if not same_aor(request.uri, self.user):
            return False
        if gruu_instance(request.uri) == self.instance:
            return True
        return self.instance in accept_contact_instances(request)

    async def new_msrp_peer(self) -> MsrpPeer:
        peer = await MsrpPeer.start(
            self.msrp_host, self.capture, role=self.role_name, peer_role=self.peer_role_name
        )
        self.msrp_peers.append(peer)
        return peer

    # -- originating ----------------------------------------------------------------
    def build_group_invite(
        self,
        to_uri: str,
        *,
        msrp: MsrpPeer,
        conversation_id: str,
        contribution_id: str,
        participants: Sequence[str],
        in_reply_to: str | None = None,
        subject: str | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
        omit: Sequence[str] = (),
        user_agent: str = DEFAULT_USER_AGENT,
        p_preferred_service: str | None = ICSI_SESSION_GROUP,
        privacy: str | None = None,
        sdp_setup: str = "actpass",
        accept_types: Sequence[str] = DEFAULT_ACCEPT_TYPES,
        accept_wrapped_types: Sequence[str] | None = DEFAULT_WRAPPED_TYPES,
        session_expires: int | None = 1800,
        sdp: bytes | None = None,
    ) -> SipRequest:
        """An RFC 5366 group INVITE (CPM 2.0 group session): multipart/mixed with the MSRP
        offer of ``msrp`` and a recipient-list of ``participants``. ``omit`` drops headers
        by name; ``extra_headers`` are appended; ``sdp`` replaces the offer."""
        offer = (
            sdp
            if sdp is not None
            else msrp.sdp(
                setup=sdp_setup,
                accept_types=accept_types,
                accept_wrapped_types=accept_wrapped_types,
            )
        )
        recipients = build_resource_list(
            ResourceList(entries=tuple(Entry(uri=p) for p in participants))
        )
        content_type, body = build_multipart(
            [
                build_part(SDP_TYPE, offer),
                build_part(
                    RESOURCE_LISTS_CONTENT_TYPE,
                    recipients,
                    disposition=f"{RECIPIENT_LIST_DISPOSITION};handling=required",
                ),
            ]
        )
        hs: list[tuple[str, str]] = [
            ("Via", self.core.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={new_tag()}"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", self.core.new_call_id()),
            ("CSeq", "1 INVITE"),
            ("Contact", self.contact_header()),
            ("Accept-Contact", format_contact_preference([format_icsi_ref([ICSI_SESSION])])),
        ]
        if p_preferred_service is not None:
            hs.append(("P-Preferred-Service", p_preferred_service))
        hs += [
            ("User-Agent", user_agent),
            (CONVERSATION_ID, conversation_id),
            (CONTRIBUTION_ID, contribution_id),
        ]
        if in_reply_to is not None:
            hs.append((IN_REPLY_TO_CONTRIBUTION_ID, in_reply_to))
        if subject is not None:
            hs.append(("Subject", subject))
        if privacy is not None:
            hs.append(("Privacy", privacy))
        hs += [
            ("Require", OPTION_RECIPIENT_LIST_INVITE),
            ("Supported", "timer"),
            ("Allow", ALLOW),
        ]
        if session_expires is not None:
            hs.append(("Session-Expires", str(session_expires)))
        hs.append(("Content-Type", content_type))
        hs += list(extra_headers)
        return build_request("INVITE", to_uri, headers_without(hs, omit), body)

    async def send_invite(
        self, request: SipRequest, to: Address, *, msrp: MsrpPeer | None = None
    ) -> InviteHandle:
        """Send an INVITE (built here or by hand) to ``to``; its handle. ``msrp`` is the
        endpoint whose path the offer carries (a new one when not given)."""
        tag = from_tag(request)
        if request.call_id and tag:
            self.track_call(request.call_id, tag)
        handle = await self.core.send(request, to)
        return InviteHandle(self, request, handle, to, msrp or await self.new_msrp_peer())

    def build_subscribe(
        self,
        conference_uri: str,
        *,
        event: str = "conference",
        expires: int = 600,
        accept: str | None = "application/conference-info+xml",
        extra_headers: Sequence[tuple[str, str]] = (),
        omit: Sequence[str] = (),
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> SipRequest:
        hs: list[tuple[str, str]] = [
            ("Event", event),
            ("Expires", str(expires)),
            ("User-Agent", user_agent),
        ]
        if accept is not None:
            hs.append(("Accept", accept))
        hs += list(extra_headers)
        tag = new_tag()
        base: list[tuple[str, str]] = [
            ("Via", self.core.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{self.user}>;tag={tag}"),
            ("To", f"<{conference_uri}>"),
            ("Call-ID", self.core.new_call_id()),
            ("CSeq", "1 SUBSCRIBE"),
            ("Contact", self.contact_header()),
        ]
        return build_request("SUBSCRIBE", conference_uri, headers_without(base + hs, omit), b"")

    async def subscribe(
        self,
        conference_uri: str,
        *,
        to: Address,
        request: SipRequest | None = None,
        expires: int = 600,
    ) -> SubscribeHandle:
        """Send a SUBSCRIBE (``request``, else :meth:`build_subscribe`) to ``to``; the
        NOTIFYs of the subscription reach :meth:`expect_request`."""
        if request is None:
            request = self.build_subscribe(conference_uri, expires=expires)
        tag = from_tag(request)
        if request.call_id and tag:
            self.track_call(request.call_id, tag)
        handle = await self.core.send(request, to)
        return SubscribeHandle(self, request, handle, to)

    # -- terminating ----------------------------------------------------------------
    async def expect_invite(
        self, *, within: float, conversation_id: str | None = None, others: bool = True
    ) -> IncomingInvite:
        """The next out-of-dialog INVITE for this client.

        With ``conversation_id``, the next one of that conversation: an INVITE of another
        (one the SUT still sends this user for an earlier test case's session) is passed
        over, and taken only when none of this conversation came within ``within`` (never,
        with ``others`` False: a check that this session brings no INVITE). An INVITE
        without a Conversation-ID may be this session's, and is taken."""

        def fresh(r: IncomingRequest) -> bool:
            to = r.request.headers.get("To")
            return to is not None and ";tag=" not in to

        if conversation_id is None:
            incoming = await self.expect_request("INVITE", within=within, match=fresh)
            return IncomingInvite(self, incoming)
        try:
            incoming = await self.expect_request(
                "INVITE",
                within=within,
                match=lambda r: (
                    fresh(r) and r.request.headers.get("Conversation-ID") in (None, conversation_id)
                ),
            )
        except WaitTimeout:
            if not others:
                raise
            incoming = await self.expect_request("INVITE", within=0.0, match=fresh)
        return IncomingInvite(self, incoming)


def sdp_of(message: SipRequest | SipResponse) -> bytes:
    """The SDP of a message body (the SDP part of a multipart body)."""
    ct = get_content_type(message)
    if ct is None or not message.body:
        return b""
    if ct.type.lower() == "multipart":
        part = find_sdp(parse_multipart(message.body, ct))
        return part.body if part is not None else b""
    return message.body if ct.mime_type == SDP_TYPE else b""


def signalled_peer_role(client: ClientEmulator, message: SipRequest | SipResponse) -> str | None:
    """The capture's name of the SIP peer a dialog is with: the address of ``message``'s
    Contact (the remote target the SUT gave, e.g. ``SUT: CF`` when the CF answered the
    client itself), when it is a literal address other than the tool's core. The far end
    of the dialog's MSRP connection is named with it (:meth:`MsrpPeer.name_peer`);
    None (unknown) keeps the guess from the role under test."""
    try:
        contact = message.headers.get("Contact")
        uri = parse_sip_uri(uri_of(contact)) if contact else None
    except (RemoteProtocolError, ValueError):
        return None
    if uri is None or not uri.host or uri.port is None:
        return None
    address = (uri.host.strip("[]"), uri.port)
    if address == (client.core.host, client.core.port):
        return None
    return client.capture.role_of(address)


__all__ = [
    "ClientEmulator",
    "IncomingInvite",
    "InviteHandle",
    "SubscribeHandle",
    "core_routes",
    "sdp_of",
    "signalled_peer_role",
]
