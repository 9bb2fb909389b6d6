"""The Participating Function role, as a CPM Client under test sees it (with its S-CSCF).

A :class:`PfEmulator` invites the client under test (PIXIT ``sut.client``) and receives
what the client originates through the tool's core: it owns a route for the PF URI, the
focus URIs it hands out (the client's SUBSCRIBEs and re-join INVITEs) and the remote users
it names as senders of stored messages (the client's IMDNs in SIP MESSAGE).

- :meth:`PfEmulator.invite` sends one of the three INVITEs of seed 001 7.3.11 (a normal
  group invitation, the inactive deferred delivery with the ``cpm.deferred`` feature tag
  and ``a=sendonly``, the active re-connection with ``cpm.session`` and ``a=sendrecv``)
  and returns a :class:`PfInvite`;
- :meth:`PfInvite.final`, :meth:`PfInvite.ack` (the MSRP session is declared before the
  ACK leaves: the client connects actively after it), :meth:`PfInvite.send_stored`,
  :meth:`PfInvite.send_group_state`, :meth:`PfInvite.bye`;
- :meth:`CoreUA.expect_request` waits for the client's MESSAGE, SUBSCRIBE or INVITE;
  :meth:`PfEmulator.accept_invite` answers a re-join INVITE with 200 and MSRP.

Nothing here judges: the test case checks what the handles and the inbox hold.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from conformance.documents.cpim import CPIM_CONTENT_TYPE, build_cpim, new_cpim
from conformance.documents.groupstate import (
    GROUP_STATE_CONTENT_TYPE,
    GroupState,
    GsParticipant,
    build_group_state,
)
from conformance.documents.resource_lists import (
    RECIPIENT_LIST_DISPOSITION,
    RESOURCE_LISTS_CONTENT_TYPE,
    Entry,
    ResourceList,
    build_resource_list,
)
from conformance.errors import LocalProtocolError
from conformance.net.capture import Capture
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest
from conformance.protocol.msrp.codec import MsrpRequest
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    CPM_SERVER_RELEASE,
    ICSI_DEFERRED,
    ICSI_SESSION,
    SDP_TYPE,
)
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.client import sdp_of
from conformance.roles.core import CoreUA, ToolCore
from conformance.roles.msrp_peer import MsrpPeer
from conformance.roles.sip_helpers import parse_sip_uri, request_targets
from conformance.roles.uac import DialogRequest

DEFAULT_SERVER = f"{CPM_SERVER_RELEASE} tool-pf/1"
ACCEPT_TYPES = ("message/cpim", GROUP_STATE_CONTENT_TYPE)
WRAPPED_TYPES = ("text/plain", "message/imdn+xml", GROUP_STATE_CONTENT_TYPE)


def icsi_feature(icsi: str) -> str:
    """``*;+g.3gpp.icsi-ref="<percent-encoded ICSI>"`` (an Accept-Contact value)."""
    return '*;+g.3gpp.icsi-ref="' + icsi.replace(":", "%3A") + '"'


class InviteKind(Enum):
    """The INVITEs the PF sends to a client (seed 001 7.3.11)."""

    GROUP = "group"  #: a group invitation (cpm.session, sendrecv, recipient-list)
    DEFERRED = "deferred"  #: 1): cpm.deferred feature tag and a=sendonly
    ACTIVE = "active"  #: 2): re-connection to the active session, cpm.session, sendrecv


@dataclass
class GroupSession:
    """The identities of one group session as the PF presents it to the client."""

    conversation_id: str
    contribution_id: str
    focus: str
    participants: tuple[str, ...]


class PfInvite(DialogRequest):
    """An INVITE the PF sent to the client: responses, dialog, MSRP towards the client."""

    def __init__(
        self,
        pf: PfEmulator,
        request: SipRequest,
        handle: ClientTransactionHandle,
        msrp: MsrpPeer,
        session: GroupSession,
        kind: InviteKind,
    ) -> None:
        self.pf = pf
        self.request = request
        self.transaction = handle
        self.msrp = msrp
        self.session = session
        self.kind = kind
        self.dialog: Dialog | None = None
        self.response: SipResponse | None = None

    def _sender(self) -> PfEmulator:
        return self.pf

    async def final(self, within: float) -> SipResponse:
        """The client's final response (kept in :attr:`response`); a 2xx creates :attr:`dialog`."""
        response = await super().final(within)
        self.response = response
        return response

    async def ack(self) -> SipRequest:
        """Declare the MSRP session of the answer (the client connects after the ACK when
        it answered ``a=setup:active``), then ACK the 2xx."""
        dialog = self._dialog()
        if self.response is not None and self.response.body:
            answer = parse_sdp(sdp_of(self.response)).msrp
            if answer.setup != "passive":
                self.msrp.declare(answer.path)
        return await self.pf.send_ack(dialog, self.request.cseq[0], to=self.pf.client_address)

    async def establish_msrp(self, *, within: float) -> None:
        """The client's MSRP connection (it is active), or ours when it answered passive."""
        if self.response is None:
            raise LocalProtocolError("no answer yet")
        answer = parse_sdp(sdp_of(self.response)).msrp
        if answer.setup == "passive":
            await self.msrp.connect(answer.path, within=within)
        else:
            await self.msrp.accepted(within=within)

    def send_stored(
        self,
        text: str,
        *,
        sender: str,
        message_id: str | None = None,
        disposition: tuple[str, ...] = ("positive-delivery",),
    ) -> str:
        """One stored group chat message in CPIM with ``imdn.Disposition-Notification``;
        returns its ``imdn.Message-ID``."""
        mid = message_id or secrets.token_hex(10)
        self.msrp.send_cpim(
            from_=f"<{sender}>",
            to=f"<{self.pf.client_user}>",
            body=text.encode(),
            content_type="text/plain;charset=UTF-8",
            imdn_message_id=mid,
            disposition_notification=disposition,
        )
        return mid

    def send_group_state(self, participants: Sequence[str]) -> list[MsrpRequest]:
        """A Group State Object listing ``participants`` (and the client), in CPIM."""
        listed = (*participants, self.pf.client_user)
        body = build_group_state(
            GroupState(
                lastfocussessionid=self.session.focus,
                timestamp="2026-01-01T00:00:00Z",
                group_type="Closed",
                participants=tuple(GsParticipant(p, role="user") for p in listed),
            )
        )
        cpim = new_cpim(
            from_=f"<{self.session.focus}>",
            to=f"<{self.pf.client_user}>",
            body=body,
            content_type=GROUP_STATE_CONTENT_TYPE,
        )
        return self.msrp.send(build_cpim(cpim), CPIM_CONTENT_TYPE)

    async def bye(self) -> ClientTransactionHandle:
        """End the session (BYE in the dialog)."""
        return await self.pf.send_in_dialog(self._dialog(), "BYE", to=self.pf.client_address)


class PfEmulator(CoreUA):
    """The PF (and S-CSCF) towards a CPM Client under test (module docstring)."""

    def __init__(
        self,
        core: ToolCore,
        pf_uri: str,
        client_address: Address,
        client_user: str,
        *,
        msrp_host: str = "127.0.0.1",
        capture: Capture | None = None,
    ) -> None:
        super().__init__(core, f"PF {pf_uri}")
        self.pf_uri = pf_uri
        self.client_address = client_address
        self.client_user = client_user
        self.msrp_host = msrp_host
        self.capture = capture or core.capture
        #: URIs routed here: the PF, the focuses handed out, the remote senders named
        self.owned: list[str] = [pf_uri]
        self.invites: list[PfInvite] = []
        self.msrp_peers: list[MsrpPeer] = []
        self.route_name = f"pf-towards-client:{pf_uri}:{secrets.token_hex(4)}"
        #: the names of its MSRP addresses and of their far ends in the capture
        self.role_name = "tool: PF"
        self.peer_role_name: str | None = "SUT: client"

    @classmethod
    async def create(
        cls,
        core: ToolCore,
        pf_uri: str,
        client_address: Address,
        client_user: str,
        *,
        msrp_host: str = "127.0.0.1",
    ) -> PfEmulator:
        pf = cls(core, pf_uri, client_address, client_user, msrp_host=msrp_host)
        core.add_route(pf.route_name, pf.owns, pf.on_request, first=True)
        return pf

    async def close(self) -> None:
        self.core.remove_route(self.route_name)
        self.forget_dialogs()
        for peer in self.msrp_peers:
            await peer.close()

    def owns(self, request: SipRequest) -> bool:
        return request_targets(request, self.owned)

    def own(self, uri: str) -> None:
        """Route requests for ``uri`` (a remote sender, a focus) to this PF."""
        if uri not in self.owned:
            self.owned.append(uri)

    def new_session(self, participants: Sequence[str]) -> GroupSession:
        """Fresh ids and a fresh focus URI (routed here) for a group session."""
        parsed = parse_sip_uri(self.pf_uri)
        host = parsed.host if parsed is not None and parsed.host else self.core.host
        focus = f"sip:focus-{secrets.token_hex(6)}@{host}"
        self.own(focus)
        return GroupSession(
            secrets.token_hex(16), secrets.token_hex(16), focus, tuple(participants)
        )

    async def accept_invite(
        self, incoming: IncomingRequest, *, focus: str, sdp_setup: str = "passive"
    ) -> tuple[SipResponse, MsrpPeer]:
        """Answer an INVITE of the client (a re-join) with 200, ``Contact: <focus>;isfocus``
        and an MSRP answer; a passive answer declares the session before the 200 leaves."""
        msrp = await MsrpPeer.start(
            self.msrp_host, self.capture, role=self.role_name, peer_role=self.peer_role_name
        )
        self.msrp_peers.append(msrp)
        offer = sdp_of(incoming.request)
        body = msrp.sdp(
            setup=sdp_setup, accept_types=ACCEPT_TYPES, accept_wrapped_types=WRAPPED_TYPES
        )
        if sdp_setup == "passive" and offer:
            msrp.declare(parse_sdp(offer).msrp.path)
        tag = new_tag()
        response = self.response(
            incoming,
            200,
            to_tag=tag,
            contact=f"<{focus}>;isfocus",
            headers=[("Server", DEFAULT_SERVER)],
            body=body,
            content_type=SDP_TYPE,
        )
        dialog = Dialog.uas(incoming.request, tag, focus)
        dialog.confirm(response)
        self.track_dialog(dialog)
        incoming.send(response)
        return response, msrp

    async def invite(
        self,
        kind: InviteKind,
        session: GroupSession,
        *,
        inviter: str | None = None,
        sdp_setup: str = "actpass",
        conversation_id: str | None = None,
        contribution_id: str | None = None,
    ) -> PfInvite:
        """Send the ``kind`` INVITE for ``session`` to the client (ids overridable)."""
        msrp = await MsrpPeer.start(
            self.msrp_host, self.capture, role=self.role_name, peer_role=self.peer_role_name
        )
        self.msrp_peers.append(msrp)
        direction = "sendonly" if kind is InviteKind.DEFERRED else "sendrecv"
        icsi = ICSI_DEFERRED if kind is InviteKind.DEFERRED else ICSI_SESSION
        offer = msrp.sdp(
            setup=sdp_setup,
            direction=direction,
            accept_types=ACCEPT_TYPES,
            accept_wrapped_types=WRAPPED_TYPES,
        )
        origin = inviter or (session.participants[0] if session.participants else self.pf_uri)
        headers: list[tuple[str, str]] = [
            ("Accept-Contact", icsi_feature(icsi)),
            ("P-Asserted-Identity", f"<{origin}>"),
            (CONVERSATION_ID, conversation_id or session.conversation_id),
            (CONTRIBUTION_ID, contribution_id or session.contribution_id),
            ("User-Agent", DEFAULT_SERVER),
        ]
        if kind is InviteKind.GROUP:
            recipients = build_resource_list(
                ResourceList(entries=tuple(Entry(uri=p) for p in session.participants))
            )
            content_type, body = build_multipart(
                [
                    build_part(SDP_TYPE, offer),
                    build_part(
                        RESOURCE_LISTS_CONTENT_TYPE,
                        recipients,
                        disposition=RECIPIENT_LIST_DISPOSITION,
                    ),
                ]
            )
        else:
            content_type, body = SDP_TYPE, offer
        tag = new_tag()
        request = self.core.build_request(
            "INVITE",
            self.client_user,
            from_=origin,
            from_tag=tag,
            to=self.client_user,
            contact=f"<{session.focus}>;isfocus",
            headers=headers,
            body=body,
            content_type=content_type,
        )
        if request.call_id:
            self.track_call(request.call_id, tag)
        handle = await self.core.send(request, self.client_address)
        invite = PfInvite(self, request, handle, msrp, session, kind)
        self.invites.append(invite)
        return invite


__all__ = ["GroupSession", "InviteKind", "PfEmulator", "PfInvite", "icsi_feature"]
