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
from typing import TYPE_CHECKING

from conformance.documents.resource_lists import Entry, ResourceList, build_resource_list
from conformance.errors import LocalProtocolError, RemoteProtocolError
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

if TYPE_CHECKING:
    from conformance.reference.cf import ControllingFunction, GroupSession

log = logging.getLogger(__name__)


def dial_out(cf: ControllingFunction, session: GroupSession, creator: str) -> None:
    """Invite every recipient of ``session`` other than ``creator`` (in the background)."""
    for recipient in session.recipients:
        if recipient != creator and recipient not in session.participants:
            cf._spawn(_invite(cf, session, creator, recipient))


def _request(
    cf: ControllingFunction, session: GroupSession, creator: str, recipient: str, offer: bytes
) -> SipRequest:
    others = tuple(u for u in (creator, *session.recipients) if u != recipient)
    content_type, body = build_multipart([
        build_part(SDP_TYPE, offer),
        build_part(
            RESOURCE_LISTS_TYPE,
            build_resource_list(ResourceList(entries=tuple(Entry(uri=u) for u in others))),
            disposition=DISPOSITION_RECIPIENT_LIST,
        ),
    ])
    destination = cf._destination(recipient)
    hs: list[tuple[str, str]] = [
        ("Via", cf._via(destination.transport)),
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
    for name, value in ((CONVERSATION_ID, session.conversation_id),
                        (CONTRIBUTION_ID, session.contribution_id),
                        ("Subject", session.subject)):
        if value:
            hs.append((name, value))
    hs.append(("Content-Type", content_type))
    return build_request("INVITE", recipient, hs, body)


async def _invite(
    cf: ControllingFunction, session: GroupSession, creator: str, recipient: str
) -> None:
    from conformance.reference.cf import Participant  # the CF module imports this one

    sid = secrets.token_hex(8)
    local = cf.msrp.uri(sid)
    offer = build_msrp_sdp(
        host=cf.msrp.address().host,
        port=cf.msrp.address().port,
        path=[local],
        accept_types=("message/cpim", "text/plain"),
        accept_wrapped_types=("*",),
        setup="actpass",
    )
    request = _request(cf, session, creator, recipient, offer)
    handle = await cf.sip.request(request, cf._destination(recipient))
    outcome = await handle.outcome(cf.config.timers.b * 4)
    if not isinstance(outcome, SipResponse) or not 200 <= outcome.status < 300:
        log.info("dial-out to %s: %s", recipient, outcome if isinstance(outcome, str)
                 else outcome.status)
        return
    try:
        dialog = Dialog.uac(request, outcome)
        ack = dialog.create_ack(request.cseq[0], via=cf._via(cf._destination(recipient).transport))
        cf.sip.send_stateless(ack, cf._destination(dialog.next_hop()))
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
        uri=recipient, dialog=dialog, local_msrp=local,
        remote_path=path,
    )
    session.participants[recipient] = participant
    cf._by_dialog[dialog.id] = (session, participant)
    cf._pending_msrp[sid] = (session, participant)
    cf._touch(session)
    cf._changed(session, participant)
    if not path:
        return
    try:
        uri = parse_msrp_uri(path[-1])
        channel = await cf.msrp.connect(uri.host, uri.port or 0, reuse=False)
        # the CF's on_open hook saw the new connection too: it offered it every pending
        # MSRP session (this one among them) and reads it
        msrp_session = next(
            (s for s in channel.machine.sessions if s.session_id == sid), None
        ) or channel.add_session(local, list(path))
        channel.send_message(msrp_session, b"", None)
    except (OSError, LocalProtocolError, RemoteProtocolError) as exc:
        log.warning("dial-out to %s: MSRP connection failed: %s", recipient, exc)
        return
    cf._bind(channel, sid)


__all__ = ["dial_out"]
