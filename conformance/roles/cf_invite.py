"""The CF's group INVITE towards a participant's PF (the terminating side, seed 003 8.3.2).

:func:`cf_invite` builds and sends it from the :class:`~conformance.roles.cf.CfEmulator`:
Request-URI and To the invited user, From the focus, ``Contact: <focus>;isfocus``,
Conversation-ID / Contribution-ID, ``P-Asserted-Service`` cpm.session.group, an MSRP
offer (``a=setup:actpass``) and a recipient-list body; the returned
:class:`CfInviteHandle` awaits the final response, ACKs a 2xx, sets up MSRP and sends BYE.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.errors import LocalProtocolError
from conformance.net.sip_pump import ClientTransactionHandle
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    DISPOSITION_RECIPIENT_LIST,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    RESOURCE_LISTS_TYPE,
    SDP_TYPE,
)
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.headers import format_contact_preference, format_icsi_ref
from conformance.protocol.sip.ids import new_tag
from conformance.protocol.sip.message import SipRequest, build_request
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.roles.cf import DEFAULT_SERVER, CfEmulator
from conformance.roles.client import sdp_of
from conformance.roles.core import headers_without
from conformance.roles.msrp_peer import MsrpPeer
from conformance.roles.uac import DialogRequest


class CfInviteHandle(DialogRequest):
    """An INVITE the CF sent to a PF: final response, ACK, MSRP and BYE."""

    def __init__(
        self,
        cf: CfEmulator,
        request: SipRequest,
        handle: ClientTransactionHandle,
        to: Address,
        msrp: MsrpPeer,
        focus_uri: str,
    ) -> None:
        self.cf = cf
        self.request = request
        self.transaction = handle
        self.destination = to
        self.msrp = msrp
        self.focus_uri = focus_uri
        self.dialog: Dialog | None = None

    @property
    def conversation_id(self) -> str | None:
        return self.request.headers.get(CONVERSATION_ID)

    @property
    def contribution_id(self) -> str | None:
        return self.request.headers.get(CONTRIBUTION_ID)

    def _sender(self) -> CfEmulator:
        return self.cf

    async def ack(self) -> SipRequest:
        """The ACK for the 2xx, sent to the dialog's next hop
        (:meth:`CoreUA.in_dialog_destination`)."""
        return await self.cf.send_ack(self._dialog(), self.request.cseq[0], to=self.destination)

    async def establish_msrp(self, *, within: float) -> None:
        """Connect to the answer's path (it is passive) or await the PF (active)."""
        final = self.transaction.final_response
        if final is None or not final.body:
            raise LocalProtocolError("no answer SDP yet")
        answer = parse_sdp(sdp_of(final)).msrp
        local = "passive" if answer.setup == "active" else "active"
        await self.msrp.establish(sdp_of(final), local_setup=local, within=within)

    async def bye(self, reason: str | None = None) -> ClientTransactionHandle:
        headers = [("Reason", reason)] if reason is not None else []
        return await self.cf.send_in_dialog(
            self._dialog(), "BYE", to=self.destination, headers=headers
        )


def build_cf_invite(
    cf: CfEmulator,
    user_uri: str,
    *,
    msrp: MsrpPeer,
    focus_uri: str,
    originator: str,
    participants: Sequence[str],
    conversation_id: str,
    contribution_id: str,
    user_agent: str | None = DEFAULT_SERVER,
    asserted_service: str | None = ICSI_SESSION_GROUP,
    extra_headers: Sequence[tuple[str, str]] = (),
    omit: Sequence[str] = (),
    contact: str | None = None,
    session_expires: int | None = None,
    sdp: bytes | None = None,
) -> SipRequest:
    """The group INVITE of the CF (module docstring). ``originator`` is the
    P-Asserted-Identity (the inviting user); ``sdp`` replaces the MSRP offer."""
    offer = sdp if sdp is not None else msrp.sdp(setup="actpass")
    recipients = build_resource_list(
        ResourceList(entries=tuple(Entry(uri=p) for p in participants))
    )
    content_type, body = build_multipart(
        [
            build_part(SDP_TYPE, offer),
            build_part(RESOURCE_LISTS_TYPE, recipients, disposition=DISPOSITION_RECIPIENT_LIST),
        ]
    )
    hs: list[tuple[str, str]] = [
        ("Via", cf.core.via()),
        ("Max-Forwards", "70"),
        ("From", f"<{focus_uri}>;tag={new_tag()}"),
        ("To", f"<{user_uri}>"),
        ("Call-ID", cf.core.new_call_id()),
        ("CSeq", "1 INVITE"),
        ("Contact", contact or f"<{focus_uri}>;isfocus"),
        ("P-Asserted-Identity", f"<{originator}>"),
        ("Accept-Contact", format_contact_preference([format_icsi_ref([ICSI_SESSION])])),
        (CONVERSATION_ID, conversation_id),
        (CONTRIBUTION_ID, contribution_id),
        ("Supported", "timer"),
        ("Allow", "INVITE, ACK, CANCEL, BYE, NOTIFY, OPTIONS, MESSAGE"),
    ]
    if asserted_service is not None:
        hs.append(("P-Asserted-Service", asserted_service))
    if user_agent is not None:
        hs.append(("User-Agent", user_agent))
    if session_expires is not None:
        hs.append(("Session-Expires", str(session_expires)))
    hs.append(("Content-Type", content_type))
    hs += list(extra_headers)
    return build_request("INVITE", user_uri, headers_without(hs, omit), body)


async def cf_invite(
    cf: CfEmulator,
    user_uri: str,
    to: Address,
    *,
    originator: str,
    participants: Sequence[str] = (),
    conversation_id: str | None = None,
    contribution_id: str | None = None,
    **options: object,
) -> CfInviteHandle:
    """Build (:func:`build_cf_invite`) and send the CF's INVITE for ``user_uri`` to the
    PF at ``to``; fresh ids and a fresh focus (routed to ``cf``) unless given."""
    focus = cf.new_focus_uri()
    await cf.add_focus(focus)
    msrp = await cf.new_msrp_peer()
    request = build_cf_invite(
        cf,
        user_uri,
        msrp=msrp,
        focus_uri=focus,
        originator=originator,
        participants=participants or (originator, user_uri),
        conversation_id=conversation_id or uuid.uuid4().hex,
        contribution_id=contribution_id or uuid.uuid4().hex,
        **options,  # type: ignore[arg-type]
    )
    tag = request.headers.get("From") or ""
    if request.call_id and ";tag=" in tag:
        cf.track_call(request.call_id, tag.split(";tag=", 1)[1].split(";")[0])
    handle = await cf.core.send(request, to)
    return CfInviteHandle(cf, request, handle, to, msrp, focus)


__all__ = ["CfInviteHandle", "build_cf_invite", "cf_invite"]
