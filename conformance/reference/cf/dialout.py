"""The reference CF invites the recipients of a new group session (RFC 5366 3; seed 003
8.3.2: the group INVITE reaches each invited user's PF).

When a group session is created from a recipient-list, the CF sends each recipient that
is not yet a participant an INVITE through its outbound proxy (the tool's core):
Request-URI and To the recipient, From the focus, ``Contact: <focus>;isfocus``, the
session's Conversation-ID / Contribution-ID, the cpm.session icsi-ref, a multipart body
with the MSRP offer (``a=setup:actpass``) and the participant list. On a 2xx it ACKs,
connects to the answer's MSRP path (the PF answers passive) and the recipient is a
connected participant; any other outcome leaves it a recipient only (it may join with
an INVITE to the focus). A request that never reaches anybody is logged, nothing else.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.net.msrp_pump import MsrpChannel
from conformance.protocol.msrp.uri import parse_uri as parse_msrp_uri
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    CPM_SERVER_RELEASE,
    DISPOSITION_RECIPIENT_LIST,
    ICSI_SESSION,
    ICSI_SESSION_GROUP,
    RESOURCE_LISTS_TYPE,
    SDP_TYPE,
)
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.headers import format_contact_preference, format_icsi_ref
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.message import SipRequest, SipResponse, build_request
from conformance.protocol.sip.multipart import (
    build_multipart,
    build_part,
    find_sdp,
    parse_multipart,
)
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.reference.cf.model import ACCEPT_TYPES, GroupSession, Participant
from conformance.reference.element import SipElement

log = logging.getLogger(__name__)

#: the CF's bookkeeping of a recipient who answered: admit(session, participant, the
#: session-id of its MSRP session); and of the connection that carries that MSRP session:
#: bind(channel, session-id)
Admit = Callable[[GroupSession, Participant, str], None]
Bind = Callable[[MsrpChannel, str], None]


class DialOut:
    """The CF's INVITEs to the recipients of a new group session.

    ``element`` is the CF (its pumps, addresses and tasks); ``admit`` and ``bind`` record
    an answering recipient as a participant and its MSRP connection.
    """

    def __init__(self, element: SipElement, admit: Admit, bind: Bind) -> None:
        self.element = element
        self.admit = admit
        self.bind = bind

    def invite_recipients(self, session: GroupSession, creator: str) -> None:
        """Invite every recipient of ``session`` other than ``creator`` (in the background)."""
        for recipient in session.recipients:
            if recipient != creator and recipient not in session.participants:
                self.element.spawn(self._invite(session, creator, recipient))

    def _request(
        self, session: GroupSession, creator: str, recipient: str, offer: bytes
    ) -> SipRequest:
        cf = self.element
        others = tuple(u for u in (creator, *session.recipients) if u != recipient)
        content_type, body = build_multipart(
            [
                build_part(SDP_TYPE, offer),
                build_part(
                    RESOURCE_LISTS_TYPE,
                    build_resource_list(ResourceList(entries=tuple(Entry(uri=u) for u in others))),
                    disposition=DISPOSITION_RECIPIENT_LIST,
                ),
            ]
        )
        destination = cf.destination(recipient)
        hs: list[tuple[str, str]] = [
            ("Via", cf.via(destination.transport)),
            ("Max-Forwards", "70"),
            ("From", f"<{session.focus_uri}>;tag={new_tag()}"),
            ("To", f"<{recipient}>"),
            ("Call-ID", new_call_id(cf.sip.address().host)),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<{session.focus_uri}>;isfocus"),
            ("P-Asserted-Identity", f"<{creator}>"),
            ("Accept-Contact", format_contact_preference([format_icsi_ref([ICSI_SESSION])])),
            ("P-Asserted-Service", ICSI_SESSION_GROUP),
            ("User-Agent", f"{CPM_SERVER_RELEASE} reference-cf/1"),
        ]
        for name, value in (
            (CONVERSATION_ID, session.conversation_id),
            (CONTRIBUTION_ID, session.contribution_id),
            ("Subject", session.subject),
        ):
            if value:
                hs.append((name, value))
        hs.append(("Content-Type", content_type))
        return build_request("INVITE", recipient, hs, body)

    async def _invite(self, session: GroupSession, creator: str, recipient: str) -> None:
        cf = self.element
        sid = secrets.token_hex(8)
        local = cf.msrp.uri(sid)
        offer = build_msrp_sdp(
            host=cf.msrp.address().host,
            port=cf.msrp.address().port,
            path=[local],
            accept_types=ACCEPT_TYPES,
            accept_wrapped_types=("*",),
            setup="actpass",
        )
        request = self._request(session, creator, recipient, offer)
        handle = await cf.sip.request(request, cf.destination(recipient))
        outcome = await handle.outcome(cf.config.timers.b * 4)
        if not isinstance(outcome, SipResponse) or not 200 <= outcome.status < 300:
            log.info(
                "dial-out to %s: %s",
                recipient,
                outcome if isinstance(outcome, str) else outcome.status,
            )
            return
        try:
            dialog = Dialog.uac(request, outcome)
            ack = dialog.create_ack(
                request.cseq[0], via=cf.via(cf.destination(recipient).transport)
            )
            cf.sip.send_stateless(ack, cf.destination(dialog.next_hop()))
            ct = outcome.headers.get("Content-Type") or ""
            sdp = outcome.body
            if ct.lower().startswith("multipart/"):
                part = find_sdp(parse_multipart(outcome.body, ct))
                sdp = part.body if part is not None else b""
            path = tuple(parse_sdp(sdp).msrp.path)
        except (LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("dial-out to %s: bad answer: %s", recipient, exc)
            return
        participant = Participant(
            uri=recipient,
            dialog=dialog,
            local_msrp=local,
            remote_path=path,
        )
        self.admit(session, participant, sid)
        if not path:
            return
        try:
            uri = parse_msrp_uri(path[-1])
            channel = await cf.msrp.connect(uri.host, uri.port or 0, reuse=False)
            # the CF's connection hook saw the new connection too: it offered it every
            # pending MSRP session (this one among them) and reads it
            msrp_session = next(
                (s for s in channel.machine.sessions if s.session_id == sid), None
            ) or channel.add_session(local, list(path))
            channel.send_message(msrp_session, b"", None)
        except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
            log.warning("dial-out to %s: MSRP connection failed: %s", recipient, exc)
            return
        self.bind(channel, sid)


__all__ = ["DialOut"]
