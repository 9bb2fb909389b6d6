"""Common Presence and Instant Messaging message format (RFC 3862, ``message/cpim``).

A CPIM message is three blocks separated by empty lines::

    From: <sip:alice@example.com>            message headers (RFC 3862 section 3)
    To: <sip:bob@example.com>
    NS: imdn <urn:ietf:params:imdn>
    imdn.Message-ID: 34jk324j
    DateTime: 2026-11-21T10:24:11.270+00:00
    imdn.Disposition-Notification: positive-delivery, display

    Content-Type: text/plain;charset=UTF-8    MIME content headers (RFC 2045)

    Hello                                     body

Decisions:

- Message headers keep their order, their name as sent and their raw value. ``NS``
  headers declare prefixes for the headers *after* them (RFC 3862 section 3.3.7); every
  header records the namespace URN its prefix resolved to, and the accessors look headers
  up by namespace and local name, so ``foo.Message-ID`` under ``NS: foo <urn:ietf:params:imdn>``
  is found as the IMDN Message-ID. A prefix that no ``NS`` declared resolves to ``None``
  (a check can report it). Names are matched case-insensitively and reported as sent.
- Header parameters (``Subject:;lang=fr Bonjour``) are split off into ``params``.
- Message headers are not folded in RFC 3862: a continuation line is refused. MIME content
  headers may be folded (RFC 5322) and are unfolded.
- Lines end in CRLF. Bare LF is accepted when parsing (``bare_lf`` records it, for a check
  to judge); :func:`build_cpim` always writes CRLF.
- Parsing is bounded (:class:`CpimLimits`) and raises only
  :class:`~conformance.errors.DocumentError`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from conformance.documents.xml import parse_datetime
from conformance.errors import DocumentError

__all__ = [
    "CPIM_CONTENT_TYPE",
    "CPIM_CORE_NS",
    "DEFAULT_CPIM_LIMITS",
    "IMDN_NS_URN",
    "CpimHeader",
    "CpimLimits",
    "CpimMessage",
    "address_uri",
    "build_cpim",
    "new_cpim",
    "parse_cpim",
]

CPIM_CONTENT_TYPE = "message/cpim"
#: the namespace of the unprefixed core headers (RFC 3862 section 3.3.7)
CPIM_CORE_NS = "urn:ietf:params:cpim-headers:"
#: RFC 5438 section 10 (``NS: imdn <urn:ietf:params:imdn>``)
IMDN_NS_URN = "urn:ietf:params:imdn"

_NAME = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_NS_VALUE = re.compile(r"\A\s*(?:([^\s<]+)\s*)?<([^>]*)>\s*\Z")


@dataclass(frozen=True, slots=True)
class CpimLimits:
    max_bytes: int = 1024 * 1024
    max_headers: int = 128
    max_line: int = 8192


DEFAULT_CPIM_LIMITS = CpimLimits()


@dataclass(frozen=True, slots=True)
class CpimHeader:
    """One message header as sent, with its prefix resolved."""

    name: str
    value: str
    params: tuple[tuple[str, str], ...] = ()
    namespace: str | None = CPIM_CORE_NS

    @property
    def prefix(self) -> str | None:
        return self.name.rsplit(".", 1)[0] if "." in self.name else None

    @property
    def local_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class CpimMessage:
    """A parsed or to-be-built CPIM message."""

    headers: tuple[CpimHeader, ...]
    content_headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    bare_lf: bool = False
    raw: bytes | None = field(default=None, compare=False, repr=False)

    # -- generic access

    def headers_named(self, local: str, namespace: str | None = CPIM_CORE_NS) -> tuple[str, ...]:
        """Values of the headers with this local name in this namespace, in order."""
        key = local.lower()
        return tuple(
            h.value
            for h in self.headers
            if h.local_name.lower() == key and h.namespace == namespace
        )

    def header(self, local: str, namespace: str | None = CPIM_CORE_NS) -> str | None:
        values = self.headers_named(local, namespace)
        return values[0] if values else None

    def content_header(self, name: str) -> str | None:
        key = name.lower()
        return next((v for n, v in self.content_headers if n.lower() == key), None)

    # -- RFC 3862 core headers

    @property
    def from_(self) -> str | None:
        return self.header("From")

    @property
    def to(self) -> tuple[str, ...]:
        """Every ``To`` header value (the header may repeat), as sent."""
        return self.headers_named("To")

    @property
    def to_uris(self) -> tuple[str, ...]:
        """The URIs of every ``To`` header ("CPIM To lists the actual recipients")."""
        return tuple(address_uri(v) for v in self.to)

    @property
    def from_uri(self) -> str | None:
        return None if self.from_ is None else address_uri(self.from_)

    @property
    def cc(self) -> tuple[str, ...]:
        return self.headers_named("cc")

    @property
    def datetime(self) -> str | None:
        return self.header("DateTime")

    def datetime_parsed(self) -> dt.datetime | None:
        """``DateTime`` parsed (RFC 3339); raises :class:`DocumentError` when invalid."""
        return parse_datetime(self.datetime, "CPIM DateTime")

    @property
    def subject(self) -> str | None:
        return self.header("Subject")

    # -- RFC 5438 IMDN headers

    @property
    def imdn_message_id(self) -> str | None:
        return self.header("Message-ID", IMDN_NS_URN)

    @property
    def disposition_notification(self) -> tuple[str, ...]:
        """The requested notifications (``positive-delivery``, ``display``...), in order."""
        out: list[str] = []
        for value in self.headers_named("Disposition-Notification", IMDN_NS_URN):
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return tuple(out)

    @property
    def content_type(self) -> str | None:
        return self.content_header("Content-Type")


def address_uri(value: str) -> str:
    """The URI of a ``From``/``To`` value: inside ``<...>`` when present, else the value."""
    start = value.find("<")
    end = value.rfind(">")
    if start != -1 and end > start:
        return value[start + 1 : end].strip()
    return value.strip()


# ---------------------------------------------------------------- parse


def _split_block(data: bytes, pos: int, limits: CpimLimits) -> tuple[list[str], int, bool]:
    """Lines from ``pos`` up to the next empty line; returns lines, next pos, saw bare LF."""
    lines: list[str] = []
    bare = False
    while True:
        nl = data.find(b"\n", pos)
        if nl == -1:
            raise DocumentError("CPIM header block is not terminated by an empty line")
        line = data[pos:nl]
        if line.endswith(b"\r"):
            line = line[:-1]
        else:
            bare = True
        pos = nl + 1
        if len(line) > limits.max_line:
            raise DocumentError(f"CPIM header line longer than {limits.max_line} bytes")
        if not line:
            return lines, pos, bare
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise DocumentError("CPIM header line is not valid UTF-8") from None
        if len(lines) > limits.max_headers:
            raise DocumentError(f"more than {limits.max_headers} CPIM headers")


def _split_header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not _NAME.match(name):
        raise DocumentError(f"malformed CPIM header line {line!r}")
    return name, value


def _params(value: str) -> tuple[tuple[tuple[str, str], ...], str]:
    if not value.startswith(";"):
        return (), value.strip()
    head, _, rest = value.partition(" ")
    params = []
    for item in head.split(";")[1:]:
        key, _, val = item.partition("=")
        params.append((key.strip(), val.strip()))
    return tuple(params), rest.strip()


def _message_headers(lines: list[str]) -> tuple[CpimHeader, ...]:
    prefixes: dict[str, str] = {}
    default_ns = CPIM_CORE_NS
    out: list[CpimHeader] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            raise DocumentError(f"folded CPIM message header {line!r} (RFC 3862 has no folding)")
        name, raw_value = _split_header(line)
        params, value = _params(raw_value)
        if "." in name:
            prefix = name.rsplit(".", 1)[0]
            namespace: str | None = prefixes.get(prefix)
        else:
            namespace = default_ns
        header = CpimHeader(name=name, value=value, params=params, namespace=namespace)
        out.append(header)
        if name == "NS":
            m = _NS_VALUE.match(value)
            if m is None:
                raise DocumentError(f"malformed NS header {value!r}")
            if m.group(1):
                prefixes[m.group(1)] = m.group(2)
            else:
                default_ns = m.group(2)
    return tuple(out)


def _content_headers(lines: list[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not out:
                raise DocumentError("content header block starts with a continuation line")
            name, value = out[-1]
            out[-1] = (name, f"{value} {line.strip()}")
            continue
        name, value = _split_header(line)
        out.append((name, value.strip()))
    return tuple(out)


def parse_cpim(data: bytes, *, limits: CpimLimits = DEFAULT_CPIM_LIMITS) -> CpimMessage:
    """Parse a ``message/cpim`` body; raises only :class:`DocumentError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DocumentError(f"CPIM message must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise DocumentError(
            f"CPIM message is {len(data)} bytes, more than the {limits.max_bytes} allowed",
            raw=data,
        )
    try:
        msg_lines, pos, bare1 = _split_block(data, 0, limits)
        if not msg_lines:
            raise DocumentError("CPIM message has no message headers")
        headers = _message_headers(msg_lines)
        content_lines, pos, bare2 = _split_block(data, pos, limits)
        content = _content_headers(content_lines)
    except DocumentError as exc:
        raise DocumentError(exc.message, raw=data) from None
    return CpimMessage(
        headers=headers,
        content_headers=content,
        body=data[pos:],
        bare_lf=bare1 or bare2,
        raw=data,
    )


# ---------------------------------------------------------------- build


def build_cpim(msg: CpimMessage) -> bytes:
    """Serialize with CRLF line ends, headers in the order held."""
    parts: list[str] = []
    for h in msg.headers:
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in h.params)
        # RFC 3862 3.2: parameters follow the colon directly, then SP and the value
        line = f"{h.name}:{params} {h.value}" if params else f"{h.name}: {h.value}"
        parts.append(f"{line}\r\n")
    parts.append("\r\n")
    for name, value in msg.content_headers:
        parts.append(f"{name}: {value}\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8") + msg.body


def new_cpim(
    *,
    from_: str,
    to: tuple[str, ...] | str,
    body: bytes,
    content_type: str,
    datetime_: str | None = None,
    imdn_message_id: str | None = None,
    disposition_notification: tuple[str, ...] = (),
    extra_content_headers: tuple[tuple[str, str], ...] = (),
) -> CpimMessage:
    """A CPIM message in the usual CPM header order (From, To..., NS, imdn.*, DateTime).

    ``from_`` and ``to`` are header values, e.g. ``"<sip:alice@example.com>"``.
    """
    headers = [CpimHeader("From", from_)]
    for t in (to,) if isinstance(to, str) else to:
        headers.append(CpimHeader("To", t))
    if imdn_message_id is not None or disposition_notification:
        headers.append(CpimHeader("NS", f"imdn <{IMDN_NS_URN}>"))
    if imdn_message_id is not None:
        headers.append(CpimHeader("imdn.Message-ID", imdn_message_id, namespace=IMDN_NS_URN))
    if datetime_ is not None:
        headers.append(CpimHeader("DateTime", datetime_))
    if disposition_notification:
        headers.append(
            CpimHeader(
                "imdn.Disposition-Notification",
                ", ".join(disposition_notification),
                namespace=IMDN_NS_URN,
            )
        )
    content = (("Content-Type", content_type), *extra_content_headers)
    return CpimMessage(headers=tuple(headers), content_headers=content, body=body)
