"""Small SIP helpers the role emulators share (no I/O, no judgement).

They read what a request carries (Request-URI parts, tags, the GRUU ``gr`` parameter,
Accept-Contact ``+sip.instance``) and decide where a request goes (a literal ``host:port``
of a URI, else the role's outbound address: the tool is the SIP/IP core, so a URI with a
domain name is reached through whoever sent us the dialog).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.dialog import uri_of
from conformance.protocol.sip.headers import get_accept_contact
from conformance.protocol.sip.message import SipMessage, SipRequest
from conformance.protocol.sip.timers import Address, Transport
from conformance.protocol.sip.transaction import tag_of
from conformance.protocol.sip.uri import SipUri, parse_uri


def parse_sip_uri(uri: str) -> SipUri | None:
    """``uri`` (a URI or a name-addr) parsed, or ``None`` when it does not parse."""
    text = uri_of(uri) if "<" in uri else uri.strip()
    try:
        return parse_uri(text)
    except RemoteProtocolError:
        return None


def aor(uri: str) -> str:
    """``sip:user@host`` of a URI or name-addr (the URI itself when it does not parse)."""
    parsed = parse_sip_uri(uri)
    return parsed.aor if parsed is not None else uri_of(uri)


def same_aor(a: str, b: str) -> bool:
    """Same ``scheme:user@host`` (host compared case-insensitively)."""
    pa, pb = parse_sip_uri(a), parse_sip_uri(b)
    if pa is None or pb is None:
        return uri_of(a) == uri_of(b)
    return pa.scheme == pb.scheme and pa.user == pb.user and pa.host.lower() == pb.host.lower()


def gruu_instance(uri: str) -> str | None:
    """The ``gr`` parameter of a GRUU (RFC 5627 3.1), e.g. ``urn:uuid:...``; else ``None``."""
    parsed = parse_sip_uri(uri)
    if parsed is None:
        return None
    return parsed.param("gr") or None


def unbracket(instance: str) -> str:
    """``urn:uuid:x`` from ``"<urn:uuid:x>"``, ``<urn:uuid:x>`` or ``urn:uuid:x``."""
    value = instance.strip().strip('"').strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value


def accept_contact_instances(request: SipMessage) -> list[str]:
    """Every ``+sip.instance`` in the Accept-Contact headers, unbracketed."""
    try:
        prefs = get_accept_contact(request)
    except RemoteProtocolError:
        return []
    return [unbracket(p.instance) for p in prefs if p.instance]


def to_tag(message: SipMessage) -> str | None:
    return tag_of(message, "To")


def from_tag(message: SipMessage) -> str | None:
    return tag_of(message, "From")


def branch_of(message: SipMessage) -> str | None:
    via = message.headers.get("Via")
    if via is None:
        return None
    for part in via.split(",", 1)[0].split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch":
            return value
    return None


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def literal_address(uri: str, default: Transport = Transport.UDP) -> Address | None:
    """The ``Address`` of a URI whose host is an IP literal (port 5060 when absent)."""
    parsed = parse_sip_uri(uri)
    if parsed is None or not parsed.is_sip or not is_ip_literal(parsed.host):
        return None
    transport = default
    value = (parsed.param("transport") or "").lower()
    if value == "tcp":
        transport = Transport.TCP
    elif value == "udp":
        transport = Transport.UDP
    return Address(parsed.host.strip("[]"), parsed.port or 5060, transport)


def request_targets(request: SipRequest, uris: Iterable[str]) -> bool:
    """The Request-URI names one of ``uris`` (by AOR)."""
    return any(same_aor(request.uri, u) for u in uris)


__all__ = [
    "accept_contact_instances",
    "aor",
    "branch_of",
    "from_tag",
    "gruu_instance",
    "is_ip_literal",
    "literal_address",
    "parse_sip_uri",
    "request_targets",
    "same_aor",
    "to_tag",
    "unbracket",
]
