"""SDP (RFC 4566) with an MSRP view (RFC 4975 8, RFC 6135, RFC 6714).

:func:`parse_sdp` keeps every line in order (session level and per media description) and
the raw bytes; the MSRP properties of :class:`MediaDescription` read what a test case
checks. :func:`build_msrp_sdp` is the paired builder. Invalid SDP raises
:class:`~conformance.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.errors import RemoteProtocolError

Line = tuple[str, str]
"""``(type, value)``: ``("a", "path:msrp://...")``."""

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
"""RFC 4566 6 directional attributes; sendrecv is the default."""

MSRP_PROTOS = ("TCP/MSRP", "TCP/TLS/MSRP")

_LINE_RE = re.compile(r"[a-z]=")
_MEDIA_RE = re.compile(r"([A-Za-z0-9\-_.]+) ([0-9]+)(?:/([0-9]+))? ([A-Za-z0-9/\-_.]+)((?: \S+)*)")
_CONN_RE = re.compile(r"(IN) (IP4|IP6) (\S+)")
MAX_SDP_SIZE = 1 << 16


def _attributes(lines: Sequence[Line]) -> tuple[tuple[str, str | None], ...]:
    out: list[tuple[str, str | None]] = []
    for t, v in lines:
        if t == "a":
            name, sep, value = v.partition(":")
            out.append((name, value if sep else None))
    return tuple(out)


def _connection(lines: Sequence[Line]) -> str | None:
    for t, v in lines:
        if t == "c":
            return v.split(" ")[2].split("/")[0]
    return None


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """One ``m=`` section: its fields, and all its lines (m= included) in order."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    lines: tuple[Line, ...]
    port_count: int | None = None
    session_lines: tuple[Line, ...] = ()
    """the session-level lines, for fallbacks (c=, direction)"""

    @property
    def attributes(self) -> tuple[tuple[str, str | None], ...]:
        """``(name, value)`` of every a= line in order (value None for a property)."""
        return _attributes(self.lines)

    def attribute(self, name: str) -> str | None:
        """Value of the first ``a=name:value`` (``""`` for a property), else None."""
        for k, v in self.attributes:
            if k == name:
                return "" if v is None else v
        return None

    def attribute_values(self, name: str) -> list[str]:
        return [("" if v is None else v) for k, v in self.attributes if k == name]

    def has_attribute(self, name: str) -> bool:
        return any(k == name for k, _ in self.attributes)

    # -- MSRP view -----------------------------------------------------------------
    @property
    def is_msrp(self) -> bool:
        return self.media == "message" and self.proto.upper() in MSRP_PROTOS

    @property
    def connection_address(self) -> str | None:
        """c= address of the media, else of the session (RFC 4566 5.7)."""
        return _connection(self.lines) or _connection(self.session_lines)

    @property
    def path(self) -> list[str]:
        """``a=path`` MSRP URIs in order (RFC 4975 8.2); several a=path lines concatenate."""
        out: list[str] = []
        for v in self.attribute_values("path"):
            out.extend(v.split())
        return out

    @property
    def accept_types(self) -> list[str]:
        return [t for v in self.attribute_values("accept-types") for t in v.split()]

    @property
    def accept_wrapped_types(self) -> list[str]:
        return [t for v in self.attribute_values("accept-wrapped-types") for t in v.split()]

    @property
    def setup(self) -> str | None:
        """RFC 6135 / RFC 4145 ``a=setup`` value (active, passive, actpass, holdconn)."""
        v = self.attribute("setup")
        return v.strip() if v is not None else None

    @property
    def msrp_cema(self) -> bool:
        """RFC 6714 ``a=msrp-cema``."""
        return self.has_attribute("msrp-cema")

    @property
    def max_size(self) -> int | None:
        v = self.attribute("max-size")
        if v is None:
            return None
        if not v.strip().isdigit():
            raise RemoteProtocolError(f"invalid a=max-size {v!r}")
        return int(v)

    @property
    def direction(self) -> str:
        """Media-level directional attribute, else session-level, else sendrecv."""
        for k, _ in self.attributes:
            if k in DIRECTIONS:
                return k
        for k, _ in _attributes(self.session_lines):
            if k in DIRECTIONS:
                return k
        return "sendrecv"


@dataclass(frozen=True, slots=True)
class Sdp:
    session: tuple[Line, ...]
    media: tuple[MediaDescription, ...]
    raw: bytes = b""

    def session_value(self, line_type: str) -> str | None:
        for t, v in self.session:
            if t == line_type:
                return v
        return None

    @property
    def origin(self) -> str | None:
        return self.session_value("o")

    @property
    def connection_address(self) -> str | None:
        return _connection(self.session)

    @property
    def msrp(self) -> MediaDescription:
        """The first MSRP m-line; RemoteProtocolError when there is none."""
        for m in self.media:
            if m.is_msrp:
                return m
        raise RemoteProtocolError("no MSRP media description (m=message ... TCP/MSRP)")

    def media_of(self, kind: str) -> list[MediaDescription]:
        return [m for m in self.media if m.media == kind]

    def to_bytes(self) -> bytes:
        if self.raw:
            return self.raw
        lines = list(self.session)
        for m in self.media:
            lines.extend(m.lines)
        return "".join(f"{t}={v}\r\n" for t, v in lines).encode()


def parse_sdp(data: bytes) -> Sdp:
    """Parse an SDP body (CRLF or LF line ends)."""
    if len(data) > MAX_SDP_SIZE:
        raise RemoteProtocolError("SDP body too large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(f"SDP is not UTF-8: {exc}", raw=data) from exc
    raw_lines = text.replace("\r\n", "\n").split("\n")
    while raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    if not raw_lines:
        raise RemoteProtocolError("empty SDP", raw=data)
    session: list[Line] = []
    medias: list[tuple[list[Line], re.Match[str]]] = []
    for ln in raw_lines:
        if _LINE_RE.match(ln) is None:
            raise RemoteProtocolError(f"invalid SDP line {ln[:80]!r}", raw=data)
        t, v = ln[0], ln[2:]
        if t == "m":
            m = _MEDIA_RE.fullmatch(v)
            if m is None:
                raise RemoteProtocolError(f"invalid m= line {v!r}", raw=data)
            medias.append(([(t, v)], m))
        elif medias:
            medias[-1][0].append((t, v))
        else:
            session.append((t, v))
        if t == "c" and _CONN_RE.fullmatch(v) is None:
            raise RemoteProtocolError(f"invalid c= line {v!r}", raw=data)
    if session[0] != ("v", "0"):
        raise RemoteProtocolError("SDP must start with v=0", raw=data)
    present = {t for t, _ in session}
    for required in ("o", "s", "t"):
        if required not in present:
            raise RemoteProtocolError(f"SDP without the {required}= line", raw=data)
    stup = tuple(session)
    out: list[MediaDescription] = []
    for lines, m in medias:
        port = int(m.group(2))
        if port > 65535:
            raise RemoteProtocolError(f"m= port out of range: {port}", raw=data)
        out.append(
            MediaDescription(
                media=m.group(1),
                port=port,
                proto=m.group(4),
                formats=tuple(m.group(5).split()),
                lines=tuple(lines),
                port_count=int(m.group(3)) if m.group(3) else None,
                session_lines=stup,
            )
        )
    return Sdp(session=stup, media=tuple(out), raw=data)


def build_msrp_sdp(
    *,
    host: str,
    port: int,
    path: Sequence[str],
    accept_types: Sequence[str] = ("message/cpim",),
    accept_wrapped_types: Sequence[str] | None = None,
    setup: str | None = "actpass",
    msrp_cema: bool = False,
    direction: str | None = "sendrecv",
    max_size: int | None = None,
    proto: str = "TCP/MSRP",
    formats: Sequence[str] = ("*",),
    session_id: int = 0,
    session_version: int = 0,
    username: str = "-",
    session_name: str = "-",
    audio_port: int | None = None,
    audio_direction: str | None = None,
    extra_attributes: Sequence[str] = (),
) -> bytes:
    """An SDP offer/answer with one MSRP m-line (and an optional audio m-line first).

    ``audio_port`` adds ``m=audio <port> RTP/AVP 0`` (some SIP stacks refuse an offer
    without one). ``direction=None`` omits the directional attribute (default sendrecv).
    ``extra_attributes`` are appended as ``a=<text>`` to the MSRP m-line.
    """
    if direction is not None and direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    ip = "IP6" if ":" in host else "IP4"
    lines = [
        "v=0",
        f"o={username} {session_id} {session_version} IN {ip} {host}",
        f"s={session_name}",
        f"c=IN {ip} {host}",
        "t=0 0",
    ]
    if audio_port is not None:
        lines += [f"m=audio {audio_port} RTP/AVP 0", "a=rtpmap:0 PCMU/8000"]
        if audio_direction is not None:
            lines.append(f"a={audio_direction}")
    lines.append(f"m=message {port} {proto} {' '.join(formats)}")
    lines.append("a=accept-types:" + " ".join(accept_types))
    if accept_wrapped_types:
        lines.append("a=accept-wrapped-types:" + " ".join(accept_wrapped_types))
    if max_size is not None:
        lines.append(f"a=max-size:{max_size}")
    lines.append("a=path:" + " ".join(path))
    if setup is not None:
        lines.append(f"a=setup:{setup}")
    if msrp_cema:
        lines.append("a=msrp-cema")
    if direction is not None:
        lines.append(f"a={direction}")
    lines.extend(f"a={a}" for a in extra_attributes)
    return ("\r\n".join(lines) + "\r\n").encode()


__all__ = [
    "DIRECTIONS",
    "MSRP_PROTOS",
    "MediaDescription",
    "Sdp",
    "build_msrp_sdp",
    "parse_sdp",
]
