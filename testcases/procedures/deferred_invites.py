"""What the PF's deferred-delivery INVITE to client B carries (seed 002 B.2.3.x.y, seed 000
B.2.3.5.X): its Accept-Contact feature tags and its SDP direction; the newcomer a
participant change adds.
"""

from __future__ import annotations

from conformance.protocol.sip.message import SipRequest
from conformance.protocol.sip.sdp import parse_sdp
from conformance.roles.client import sdp_of

NEWCOMER = "sip:newcomer@reference.test"


def accept_contact(request: SipRequest) -> str:
    return " ".join(request.headers.get_all("Accept-Contact"))


def direction(request: SipRequest) -> str:
    return parse_sdp(sdp_of(request)).msrp.direction


__all__ = ["NEWCOMER", "accept_contact", "direction"]
