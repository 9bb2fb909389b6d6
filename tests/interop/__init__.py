"""Interop tests: our SIP engine against pjsua2 and through Kamailio.

This package also holds the small helpers those tests share:

- :class:`EngineUA`: our engine's transport (:class:`conformance.net.sip_transport.SipTransport`)
  with a bounded inbox and builders for requests and responses. It stands in for the
  transaction layer and dialog code until those land; tests drive each message by hand,
  which also makes every byte they send explicit.
- :func:`digest_challenge` / :func:`verify_digest`: the registrar side of HTTP digest
  (RFC 2617 section 3.2, RFC 7616 with MD5), to challenge pjsua2 and check its answer.
- :func:`audio_sdp` / :func:`msrp_sdp`: offers pjsua2 accepts (it needs an audio m-line).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from conformance.net.capture import Capture
from conformance.net.sip_transport import InvalidMessage, SipTransport
from conformance.protocol.sip.ids import new_branch, new_call_id, new_tag
from conformance.protocol.sip.message import (
    REASON_PHRASES,
    SipMessage,
    SipRequest,
    SipResponse,
    build_request,
    build_response,
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


@dataclass(frozen=True, slots=True)
class Received:
    message: SipMessage
    source: Address


class EngineUA:
    """Our SIP transport with a bounded inbox; messages are built by hand."""

    def __init__(self, transport: SipTransport, user: str) -> None:
        self.transport = transport
        self.user = user
        self.received: list[Received] = []
        self.invalid: list[InvalidMessage] = []
        self._next = 0
        self._changed = asyncio.Event()
        self._cseq = 0
        transport.set_handler(self._on_message)

    @classmethod
    async def start(
        cls, user: str = "engine", host: str = "127.0.0.1", capture: Capture | None = None
    ) -> EngineUA:
        return cls(await SipTransport.start(host, capture), user)

    async def close(self) -> None:
        await self.transport.close()

    def _on_message(self, item: SipMessage | InvalidMessage, source: Address) -> None:
        if isinstance(item, InvalidMessage):
            self.invalid.append(item)
        else:
            self.received.append(Received(item, source))
        self._changed.set()

    # -- addresses ------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.transport.host

    @property
    def port(self) -> int:
        return self.transport.port

    def address(self, transport: Transport = Transport.UDP) -> Address:
        return self.transport.address(transport)

    def uri(self, transport: Transport = Transport.UDP) -> str:
        suffix = ";transport=tcp" if transport is Transport.TCP else ""
        return f"sip:{self.user}@{self.host}:{self.port}{suffix}"

    # -- waiting --------------------------------------------------------------------------
    async def expect(
        self, predicate: Callable[[SipMessage], bool], within: float, what: str
    ) -> Received:
        """The next received message matching ``predicate`` (others are passed over)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            while self._next < len(self.received):
                item = self.received[self._next]
                self._next += 1
                if predicate(item.message):
                    return item
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [m.message.first_line() for m in self.received]
                raise TimeoutError(f"engine: no {what} within {within} s; received {seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def expect_request(self, method: str, within: float = 5.0) -> Received:
        return await self.expect(
            lambda m: isinstance(m, SipRequest) and m.method == method, within, method
        )

    async def expect_response(
        self, request: SipRequest, within: float = 5.0, *, final: bool = True
    ) -> SipResponse:
        branch = _branch(request)

        def match(m: SipMessage) -> bool:
            return (
                isinstance(m, SipResponse)
                and m.call_id == request.call_id
                and m.cseq == request.cseq
                and _branch(m) == branch
                and (m.status >= 200 or not final)
            )

        got = await self.expect(match, within, f"response to {request.method}")
        assert isinstance(got.message, SipResponse)
        return got.message

    # -- building -------------------------------------------------------------------------
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
        to_tag: str | None = None,
        cseq: int | None = None,
        transport: Transport = Transport.UDP,
        headers: Sequence[tuple[str, str]] = (),
        route: Sequence[str] = (),
        body: bytes = b"",
        content_type: str | None = None,
        branch: str | None = None,
    ) -> SipRequest:
        """A request from this UA with a fresh Via branch; ``to`` is a URI or name-addr."""
        to_value = to if to.startswith("<") or '"' in to else f"<{to}>"
        if to_tag:
            to_value += f";tag={to_tag}"
        hs: list[tuple[str, str]] = [
            (
                "Via",
                f"SIP/2.0/{transport.value} {self.host}:{self.port};"
                f"branch={branch or new_branch()};rport",
            ),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{self.user}@{self.host}:{self.port}>;tag={from_tag or new_tag()}"),
            ("To", to_value),
            ("Call-ID", call_id or new_call_id(self.host)),
            ("CSeq", f"{cseq if cseq is not None else self.next_cseq()} {method}"),
        ]
        hs += [("Route", r) for r in route]
        if method not in ("ACK", "CANCEL", "BYE", "MESSAGE"):
            hs.append(("Contact", f"<{self.uri(transport)}>"))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return build_request(method, uri, hs, body)

    def response(
        self,
        request: SipRequest,
        status: int,
        *,
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
        transport: Transport = Transport.UDP,
    ) -> SipResponse:
        """A response copying Via, Record-Route, From, To (+tag), Call-ID and CSeq."""
        hs: list[tuple[str, str]] = []
        for h in request.headers:
            if h.key in ("via", "record-route", "from", "call-id", "cseq"):
                hs.append((h.name, h.value))
            elif h.key == "to":
                value = h.value
                if to_tag and ";tag=" not in value:
                    value += f";tag={to_tag}"
                hs.append((h.name, value))
        if contact:
            hs.append(("Contact", f"<{self.uri(transport)}>"))
        hs += list(headers)
        if body:
            hs.append(("Content-Type", content_type or "application/sdp"))
        return build_response(status, REASON_PHRASES.get(status, "Unknown"), hs, body)

    async def send(self, message: SipMessage, destination: Address) -> None:
        await self.transport.send(message.to_bytes(), destination)

    async def reply(self, received: Received, status: int, **kwargs: object) -> SipResponse:
        """Answer ``received`` (a request) back to where it came from."""
        assert isinstance(received.message, SipRequest)
        response = self.response(received.message, status, **kwargs)  # type: ignore[arg-type]
        await self.send(response, received.source)
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
    "Received",
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
