"""Interop tests: our SIP engine against pjsua2 and through Kamailio.

This package also holds the small helpers those tests share:

- :class:`EngineUA`: one engine peer, a :class:`conformance.net.sip_pump.SipPump`
  (transport + RFC 3261 transaction layer) with builders for out-of-dialog requests and
  responses; in-dialog requests come from :class:`conformance.protocol.sip.dialog.Dialog`.
- :func:`digest_challenge` / :func:`verify_digest`: the registrar side of HTTP digest
  (RFC 2617 section 3.2, RFC 7616 with MD5), to challenge pjsua2 and check its answer.
- :func:`audio_sdp` / :func:`msrp_sdp`: offers pjsua2 accepts (it needs an audio m-line).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.net.capture import Capture
from conformance.net.sip_pump import ClientTransactionHandle, IncomingRequest, SipPump
from conformance.protocol.sip.dialog import Dialog
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.layer import response_to
from conformance.protocol.sip.message import (
    SipMessage,
    SipRequest,
    SipResponse,
    build_request,
    split_list,
)
from conformance.protocol.sip.timers import Address, Transport

#: CPM headers that must cross every stack unchanged (OMA CPM 2.0 conversation function)
CPM_HEADERS: tuple[tuple[str, str], ...] = (
    ("Conversation-ID", "f81d4fae7dec11d0a76500a0c91e6bf6"),
    ("Contribution-ID", "abcdef0123456789abcdef0123456789"),
    ("P-Asserted-Service", "urn:urn-7:3gpp-service.ims.icsi.oma.cpm.session.group"),
)


def header_lines(raw: bytes) -> list[bytes]:
    """The header lines of a raw SIP message (start line and body excluded)."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.split(b"\r\n")[1:]


def assert_headers_intact(raw: bytes, headers: Iterable[tuple[str, str]]) -> None:
    """Each ``Name: value`` line appears byte for byte in ``raw``."""
    lines = header_lines(raw)
    for name, value in headers:
        line = f"{name}: {value}".encode()
        assert line in lines, f"{line!r} not found in:\n{raw.decode(errors='replace')}"


def audio_sdp(host: str, port: int = 40000, session: int = 1) -> bytes:
    """A minimal audio offer (PCMU) that pjsua2 accepts."""
    return (
        "v=0\r\n"
        f"o=engine {session} 1 IN IP4 {host}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=sendrecv\r\n"
    ).encode()


def msrp_sdp(host: str, port: int, session_id: str, *, with_audio: bool = False) -> bytes:
    """An MSRP offer (RFC 4975 8.1), optionally with an audio m-line in front."""
    lines = [
        "v=0",
        f"o=engine 1 1 IN IP4 {host}",
        "s=-",
        f"c=IN IP4 {host}",
        "t=0 0",
    ]
    if with_audio:
        lines += ["m=audio 40000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000"]
    lines += [
        f"m=message {port} TCP/MSRP *",
        "a=accept-types:message/cpim text/plain",
        f"a=path:msrp://{host}:{port}/{session_id};tcp",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


# ---------------------------------------------------------------------------------------
# Digest (RFC 2617 3.2.2, RFC 7616 3.4.1 with MD5)
# ---------------------------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def parse_auth_params(value: str) -> dict[str, str]:
    """``Digest a=b, c="d"`` as ``{"a": "b", "c": "d"}`` (names lower-cased)."""
    scheme, _, rest = value.strip().partition(" ")
    assert scheme.lower() == "digest", f"not a Digest credential: {value!r}"
    params: dict[str, str] = {}
    for item in split_list(rest):
        name, _, val = item.strip().partition("=")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = val
    return params


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    realm: str
    nonce: str
    opaque: str
    qop: str | None = "auth"

    def header(self) -> str:
        parts = [
            f'realm="{self.realm}"',
            f'nonce="{self.nonce}"',
            f'opaque="{self.opaque}"',
            "algorithm=MD5",
        ]
        if self.qop:
            parts.append(f'qop="{self.qop}"')
        return "Digest " + ", ".join(parts)


def digest_challenge(realm: str, *, qop: str | None = "auth") -> DigestChallenge:
    return DigestChallenge(realm, secrets.token_hex(16), secrets.token_hex(8), qop)


def expected_digest(
    params: dict[str, str], method: str, password: str, username: str | None = None
) -> str:
    """The response value a client that knows ``password`` must send."""
    ha1 = _md5(f"{username or params['username']}:{params['realm']}:{password}")
    ha2 = _md5(f"{method}:{params['uri']}")
    if "qop" in params:
        return _md5(
            f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:{params['qop']}:{ha2}"
        )
    return _md5(f"{ha1}:{params['nonce']}:{ha2}")


def verify_digest(
    authorization: str,
    challenge: DigestChallenge,
    method: str,
    username: str,
    password: str,
) -> list[str]:
    """Problems with an Authorization header answering ``challenge`` (empty: valid)."""
    params = parse_auth_params(authorization)
    problems: list[str] = []
    for name, want in (
        ("username", username),
        ("realm", challenge.realm),
        ("nonce", challenge.nonce),
        ("opaque", challenge.opaque),
    ):
        if params.get(name) != want:
            problems.append(f"{name}={params.get(name)!r}, expected {want!r}")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        problems.append(f"algorithm={algorithm!r}, expected MD5")
    if challenge.qop:
        if params.get("qop") != challenge.qop:
            problems.append(f"qop={params.get('qop')!r}, expected {challenge.qop!r}")
        if not params.get("cnonce") or len(params.get("nc", "")) != 8:
            problems.append("cnonce/nc missing or nc not 8 hex digits")
    if "uri" not in params:
        problems.append("uri missing")
    if not problems and params.get("response") != expected_digest(params, method, password):
        problems.append("response does not match the password")
    return problems


# ---------------------------------------------------------------------------------------
# The engine side
# ---------------------------------------------------------------------------------------


class EngineUA:
    """One engine peer: a :class:`SipPump` (transport + transaction layer) and builders.

    Out-of-dialog requests are built here by hand (every byte explicit); in-dialog
    requests come from :class:`~conformance.protocol.sip.dialog.Dialog`.
    """

    def __init__(self, pump: SipPump, user: str) -> None:
        self.pump = pump
        self.user = user
        self._cseq = 0
        self._handles: dict[str, ClientTransactionHandle] = {}

    @classmethod
    async def start(
        cls, user: str = "engine", host: str = "127.0.0.1", capture: Capture | None = None
    ) -> EngineUA:
        return cls(await SipPump.start(host, capture, retransmit_2xx=True), user)

    async def close(self) -> None:
        await self.pump.close()

    # -- addresses ------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.pump.transport.host

    @property
    def port(self) -> int:
        return self.pump.transport.port

    def address(self, transport: Transport = Transport.UDP) -> Address:
        return self.pump.address(transport)

    def uri(self, transport: Transport = Transport.UDP) -> str:
        suffix = ";transport=tcp" if transport is Transport.TCP else ""
        return f"sip:{self.user}@{self.host}:{self.port}{suffix}"

    def via(self, transport: Transport = Transport.UDP) -> str:
        """A top Via value with a fresh branch."""
        return f"SIP/2.0/{transport.value} {self.host}:{self.port};branch={new_branch()};rport"

    # -- client side ----------------------------------------------------------------------
    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    def request(
        self,
        method: str,
        uri: str,
        *,
        to: str,
        call_id: str | None = None,
        from_tag: str | None = None,
        cseq: int | None = None,
        transport: Transport = Transport.UDP,
        headers: Sequence[tuple[str, str]] = (),
        route: Sequence[str] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        """An out-of-dialog request from this UA; ``to`` is a URI or a name-addr."""
        to_value = to if to.startswith("<") or '"' in to else f"<{to}>"
        hs: list[tuple[str, str]] = [
            ("Via", self.via(transport)),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{self.user}@{self.host}:{self.port}>;tag={from_tag or new_tag()}"),
            ("To", to_value),
            ("Call-ID", call_id or new_call_id(self.host)),
            ("CSeq", f"{cseq if cseq is not None else self.next_cseq()} {method}"),
        ]
        hs += [("Route", r) for r in route]
        if method in ("INVITE", "SUBSCRIBE", "REGISTER", "OPTIONS", "REFER"):
            hs.append(("Contact", f"<{self.uri(transport)}>"))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return build_request(method, uri, hs, body)

    async def send(self, request: SipRequest, destination: Address) -> ClientTransactionHandle:
        """Start the client transaction (an ACK goes out statelessly)."""
        handle = await self.pump.request(request, destination)
        branch = _branch(request)
        if branch:
            self._handles[branch] = handle
        return handle

    async def expect_response(self, request: SipRequest, within: float = 5.0) -> SipResponse:
        """The final response in the client transaction of ``request``."""
        handle = self._handles[_branch(request) or ""]
        return await handle.final(within)

    # -- in a dialog ----------------------------------------------------------------------
    async def send_ack(
        self, dialog: Dialog, invite: SipRequest, transport: Transport = Transport.UDP
    ) -> SipRequest:
        """The ACK for the 2xx to ``invite`` (RFC 3261 13.2.2.4), to the dialog's next hop."""
        ack = dialog.create_ack(invite.cseq[0], via=self.via(transport))
        await self.send(ack, address_of(dialog.next_hop(), transport))
        return ack

    async def send_in_dialog(
        self,
        dialog: Dialog,
        method: str,
        transport: Transport = Transport.UDP,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        within: float = 5.0,
    ) -> tuple[SipRequest, SipResponse]:
        """Send ``method`` in ``dialog`` (loose routing per its route set); its final."""
        hs = list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        request = dialog.create_request(method, via=self.via(transport), headers=hs, body=body)
        handle = await self.send(request, address_of(dialog.next_hop(), transport))
        return request, await handle.final(within)

    # -- server side ----------------------------------------------------------------------
    async def expect_request(self, method: str, within: float = 5.0) -> IncomingRequest:
        return await self.pump.expect_request(method, within=within)

    def response(
        self,
        incoming: IncomingRequest,
        status: int,
        *,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
        transport: Transport = Transport.UDP,
    ) -> SipResponse:
        """RFC 3261 8.2.6.2, plus Record-Route copied into dialog-creating responses
        (12.1.1), a Contact and a body when asked."""
        request = incoming.request
        hs: list[tuple[str, str]] = []
        if request.method in ("INVITE", "SUBSCRIBE") and 100 < status < 300:
            hs += [("Record-Route", v) for v in request.headers.get_all("Record-Route")]
        if contact:
            hs.append(("Contact", f"<{self.uri(transport)}>"))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return response_to(request, status, to_tag=to_tag, headers=hs, body=body)

    async def reply(
        self,
        incoming: IncomingRequest,
        status: int,
        *,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
        transport: Transport = Transport.UDP,
    ) -> SipResponse:
        """Answer ``incoming`` in its server transaction (a 2xx to INVITE is
        retransmitted until the ACK)."""
        response = self.response(
            incoming,
            status,
            to_tag=to_tag,
            headers=headers,
            body=body,
            content_type=content_type,
            contact=contact,
            transport=transport,
        )
        incoming.send(response)
        return response


def _branch(message: SipMessage) -> str | None:
    via = message.headers.get("Via")
    if via is None:
        return None
    for part in via.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch":
            return value
    return None


def uri_of(name_addr: str) -> str:
    """The URI inside ``<...>``, or the value itself."""
    if "<" in name_addr:
        return name_addr.split("<", 1)[1].split(">", 1)[0]
    return name_addr.split(";", 1)[0].strip()


def address_of(uri: str, default: Transport = Transport.UDP) -> Address:
    """Where to send a request for ``uri`` (RFC 3263 reduced to literal host:port)."""
    body = uri.split(":", 1)[1]
    params = body.split(";")[1:]
    hostport = body.split(";", 1)[0].split("@")[-1]
    host, _, port = hostport.partition(":")
    transport = default
    for p in params:
        if p.lower() == "transport=tcp":
            transport = Transport.TCP
        elif p.lower() == "transport=udp":
            transport = Transport.UDP
    return Address(host, int(port or 5060), transport)


def route_set(response: SipResponse) -> list[str]:
    """The UAC's route set from a 2xx: Record-Route values in reverse (RFC 3261 12.1.2)."""
    return list(reversed(response.headers.values("Record-Route")))


def tag_of(value: str) -> str | None:
    for part in value.split(";")[1:]:
        name, _, tag = part.strip().partition("=")
        if name.lower() == "tag":
            return tag
    return None


__all__ = [
    "CPM_HEADERS",
    "DigestChallenge",
    "EngineUA",
    "address_of",
    "assert_headers_intact",
    "audio_sdp",
    "digest_challenge",
    "expected_digest",
    "header_lines",
    "msrp_sdp",
    "parse_auth_params",
    "route_set",
    "tag_of",
    "uri_of",
    "verify_digest",
]
