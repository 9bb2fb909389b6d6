"""Seed 003 8.2.1 steps 4.n and 5.c: an INVITE whose destination address is neither a SIP
URI nor a TEL URI goes "directly to the ISF".

Section 6.5 ("Communicating with the ISF and IWF"), which says how, is not in the seeds.
The reference PF keeps the Request-URI (the destination, step 4.d) and pre-loads a loose
Route with the configured ISF URI (``config.isf_uri``, PIXIT ``uris.isf``) on top, then
sends the request through its SIP/IP core: the next hop of the request is the ISF, not
the SIP/IP core's routing of the Request-URI.

200 OK step 1: when the ISF's 200 OK rejects the offered MSRP stream (port 0, RFC 3264
6), the PF (``policy.retry_rejected_media``, the MAY) ends that dialog (ACK, BYE) and
sends a new INVITE for the stream: the INVITE of step 4 without 4.f/4.g (a new request
of its own, no User-Agent), the stream offered again with ``a=setup:actpass`` (1.b.ii),
directly to the ISF (1.b.iii). Its answer then stands for the terminating leg's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.dialog import Dialog, without_tag
from conformance.protocol.sip.ids import new_call_id, new_tag
from conformance.protocol.sip.message import Header, SipRequest, SipResponse, build_request
from conformance.protocol.sip.sdp import MediaDescription, parse_sdp
from conformance.protocol.sip.timers import Address
from conformance.reference.faults import ActiveFaults
from conformance.reference.pf.model import MsrpLeg, SipLeg
from conformance.reference.pf.originating import derived_sdp, split_body

if TYPE_CHECKING:
    from conformance.reference.pf.core import PfCore

log = logging.getLogger(__name__)

#: the URI schemes the SIP/IP core routes (8.2.1 4.n / 5.c: "SIP URI ... TEL URI")
CORE_SCHEMES = frozenset({"sip", "sips", "tel"})


def needs_isf(destination: str) -> bool:
    """Whether ``destination`` (a Request-URI) is neither a SIP nor a TEL URI."""
    scheme = destination.strip().lstrip("<").split(":", 1)[0].lower()
    return scheme not in CORE_SCHEMES


def isf_route(isf_uri: str) -> str:
    """The loose Route value naming the ISF (RFC 3261 16.12.1.1)."""
    uri = isf_uri.strip().strip("<>")
    return f"<{uri}>" if ";lr" in uri else f"<{uri};lr>"


def towards_isf(request: SipRequest, isf_uri: str) -> SipRequest:
    """``request`` with ``Route: <isf;lr>`` before any other Route (after the Vias)."""
    headers: list[Header | tuple[str, str]] = []
    placed = False
    for header in request.headers:
        name = header.name.lower()
        if not placed and name not in ("via", "v"):
            headers.append(("Route", isf_route(isf_uri)))
            placed = True
        if name != "content-length":
            headers.append(header)
    if not placed:
        headers.append(("Route", isf_route(isf_uri)))
    return build_request(request.method, request.uri, headers, request.body)


def hop(pf: PfCore) -> Address:
    """Where a request for the ISF goes: ``config.isf_hop`` (directly), else like any other
    request of the PF."""
    return pf.config.isf_hop or pf.destination(pf.config.isf_uri)


def rejected_msrp(answer: SipResponse) -> bool:
    """Whether the SDP answer of ``answer`` rejects the MSRP stream (port 0)."""
    try:
        return parse_sdp(split_body(answer).sdp).msrp.port == 0
    except RemoteProtocolError:
        return False


def retry_invite(
    first: SipRequest, *, offer: bytes, via: str, isf_uri: str, faults: ActiveFaults
) -> SipRequest:
    """200 OK step 1.b: the new INVITE for the rejected stream, from the INVITE of step 4
    (``first``): a new Call-ID, From tag and Via, no User-Agent (4.g excepted), the SDP
    ``offer`` instead of the first one (1.b.ii), to the ISF (1.b.iii)."""
    dropped = {
        "via",
        "v",
        "call-id",
        "i",
        "user-agent",
        "content-type",
        "c",
        "content-length",
        "route",
    }
    if faults.on("pf.isf-retry-ids-dropped"):
        dropped |= {"conversation-id", "contribution-id"}
    headers: list[Header | tuple[str, str]] = [("Via", via)]
    for header in first.headers:
        name = header.name.lower()
        if name in dropped:
            continue
        if name in ("from", "f"):
            headers.append((header.name, f"{without_tag(header.value)};tag={new_tag()}"))
        else:
            headers.append(header)
    headers.append(("Call-ID", new_call_id()))
    content_type, body = split_body(first).with_sdp(offer)
    headers.append(("Content-Type", content_type))
    retry = build_request("INVITE", first.uri, headers, body)
    if faults.on("pf.isf-retry-not-to-isf"):
        return retry
    return towards_isf(retry, isf_uri)


async def retry_rejected(
    pf: PfCore,
    first: SipRequest,
    answer: SipResponse,
    media: MediaDescription,
    local_path: str,
) -> tuple[SipRequest, SipResponse | str]:
    """200 OK step 1: end the ISF's dialog whose answer rejected the stream, and offer
    the stream again in a new INVITE to the ISF; (that INVITE, its outcome)."""
    try:
        dialog = Dialog.uac(first, answer)
        dialog.confirm(answer)
        leg = SipLeg("isf", MsrpLeg(local_path), dialog=dialog)
        pf.send_ack(leg, first)
        pf.send_in_dialog(dialog, "BYE")
    except (RemoteProtocolError, LocalProtocolError) as exc:
        log.warning("unusable 2xx from the ISF: %s", exc)
    faults = pf.faults
    offer = derived_sdp(
        media,
        host=pf.msrp.address().host,
        port=0 if faults.on("pf.isf-retry-stream-missing") else pf.msrp.address().port,
        path=[local_path],
        setup="active" if faults.on("pf.isf-retry-setup-active") else "actpass",
    )
    retry = retry_invite(first, offer=offer, via=pf.via(), isf_uri=pf.config.isf_uri, faults=faults)
    destination = pf.destination(retry.uri) if faults.on("pf.isf-retry-not-to-isf") else hop(pf)
    handle = await pf.sip.request(retry, destination)
    return retry, await handle.outcome(pf.config.timers.b * 2)


def wants_retry(pf: PfCore, answer: SipResponse | str) -> bool:
    """PF-8.2.1-200OK-1: a 200 OK of the ISF whose answer rejects the offered stream, and
    a PF that attempts a new session for it."""
    return (
        isinstance(answer, SipResponse)
        and answer.status < 300
        and pf.policy.retry_rejected_media
        and rejected_msrp(answer)
        and not pf.faults.on("pf.isf-no-retry")
    )


__all__ = [
    "CORE_SCHEMES",
    "hop",
    "isf_route",
    "needs_isf",
    "rejected_msrp",
    "retry_invite",
    "retry_rejected",
    "towards_isf",
    "wants_retry",
]
