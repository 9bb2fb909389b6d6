"""multipart/* bodies (RFC 2046 5.1) as used by SIP: RFC 5366 group INVITEs carry an SDP
part and an ``application/resource-lists+xml`` part with ``Content-Disposition:
recipient-list`` (or ``recipient-list-history``, RFC 5364).

:func:`parse_multipart` and :func:`build_multipart` are a pair; parse errors are
:class:`~conformance.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.headers import (
    ContentDisposition,
    ContentType,
    parse_content_disposition,
    parse_content_type,
)
from conformance.protocol.sip.message import CRLF, Header, Headers, parse_header_line

MAX_PARTS = 64


@dataclass(frozen=True, slots=True)
class BodyPart:
    headers: Headers
    body: bytes

    @property
    def content_type(self) -> ContentType:
        """The part's type; RFC 2046 5.1 default ``text/plain`` when absent."""
        v = self.headers.get("Content-Type")
        return parse_content_type(v if v is not None else "text/plain")

    @property
    def mime_type(self) -> str:
        return self.content_type.mime_type

    @property
    def disposition(self) -> ContentDisposition | None:
        v = self.headers.get("Content-Disposition")
        return None if v is None else parse_content_disposition(v)

    def to_bytes(self) -> bytes:
        head = b"".join(h.to_bytes() + CRLF for h in self.headers)
        return head + CRLF + self.body


def parse_multipart(body: bytes, content_type: str | ContentType) -> list[BodyPart]:
    """Split a multipart body by the boundary of ``content_type`` (a header value)."""
    ct = parse_content_type(content_type) if isinstance(content_type, str) else content_type
    if ct.type.lower() != "multipart":
        raise RemoteProtocolError(f"not a multipart type: {ct.mime_type}")
    boundary = ct.boundary
    if not boundary or len(boundary) > 70:
        raise RemoteProtocolError("multipart Content-Type without a valid boundary")
    delim = b"--" + boundary.encode()
    # The first delimiter may open the body; every other one follows a CRLF.
    if body.startswith(delim):
        pos = 0
    else:
        pos = body.find(CRLF + delim)
        if pos < 0:
            raise RemoteProtocolError("multipart body without its first boundary", raw=body)
        pos += 2
    parts: list[BodyPart] = []
    while True:
        after = pos + len(delim)
        if body[after : after + 2] == b"--":
            return parts  # close-delimiter; the epilogue is ignored
        eol = body.find(CRLF, after)
        if eol < 0:
            raise RemoteProtocolError("unterminated multipart boundary line", raw=body)
        if body[after:eol].strip(b" \t"):
            raise RemoteProtocolError("text after a multipart boundary", raw=body)
        start = eol + 2
        nxt = body.find(CRLF + delim, start - 2)
        if nxt < 0:
            raise RemoteProtocolError("multipart body without its close delimiter", raw=body)
        parts.append(_parse_part(body[start:nxt] if nxt >= start else b""))
        if len(parts) > MAX_PARTS:
            raise RemoteProtocolError("too many multipart parts", raw=body)
        pos = nxt + 2


def _parse_part(data: bytes) -> BodyPart:
    if not data:
        return BodyPart(Headers(), b"")
    if data.startswith(CRLF):
        return BodyPart(Headers(), data[2:])
    idx = data.find(b"\r\n\r\n")
    if idx < 0:
        raise RemoteProtocolError("body part without an empty line after its headers", raw=data)
    lines: list[bytes] = []
    for line in data[:idx].split(CRLF):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] = lines[-1] + CRLF + line
        else:
            lines.append(line)
    return BodyPart(Headers(parse_header_line(ln) for ln in lines), data[idx + 4 :])


def build_part(
    content_type: str,
    body: bytes,
    *,
    disposition: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> BodyPart:
    hs: list[Header | tuple[str, str]] = [("Content-Type", content_type)]
    if disposition is not None:
        hs.append(("Content-Disposition", disposition))
    hs.extend(headers)
    return BodyPart(Headers(hs), body)


def build_multipart(
    parts: Sequence[BodyPart], boundary: str | None = None, *, subtype: str = "mixed"
) -> tuple[str, bytes]:
    """``(Content-Type value, body)`` for these parts."""
    b = boundary or "b" + secrets.token_hex(12)
    delim = b"--" + b.encode()
    for p in parts:
        if delim in p.body:
            raise ValueError("boundary occurs inside a part")
    out = b"".join(delim + CRLF + p.to_bytes() + CRLF for p in parts) + delim + b"--" + CRLF
    return f"multipart/{subtype};boundary={b}", out


def find_part(parts: Sequence[BodyPart], mime_type: str) -> BodyPart | None:
    """The first part of this type (case-insensitive)."""
    want = mime_type.lower()
    for p in parts:
        if p.mime_type == want:
            return p
    return None


def find_sdp(parts: Sequence[BodyPart]) -> BodyPart | None:
    return find_part(parts, "application/sdp")


def find_recipient_list(parts: Sequence[BodyPart], *, history: bool = False) -> BodyPart | None:
    """The resource-lists part with Content-Disposition recipient-list (RFC 5366), or
    recipient-list-history (RFC 5364) when ``history``."""
    want = "recipient-list-history" if history else "recipient-list"
    for p in parts:
        d = p.disposition
        if (
            d is not None
            and d.disposition == want
            and p.mime_type == ("application/resource-lists+xml")
        ):
            return p
    return None


__all__ = [
    "BodyPart",
    "build_multipart",
    "build_part",
    "find_part",
    "find_recipient_list",
    "find_sdp",
    "parse_multipart",
]
