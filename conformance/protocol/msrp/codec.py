"""MSRP message model, stream framing and builders (RFC 4975 sections 7 and 9; sans-IO).

Wire form (RFC 4975 section 9)::

    req-start  = "MSRP" SP transact-id SP method CRLF
    resp-start = "MSRP" SP transact-id SP status-code [SP comment] CRLF
    headers    = To-Path CRLF From-Path CRLF *( header CRLF )
    content-stuff = *(Other-Mime-header CRLF) Content-Type 2CRLF data CRLF
    end-line   = "-------" transact-id continuation-flag CRLF
    transact-id = ident = ALPHANUM 3*31ident-char

Parsing policy (the tool judges a SUT, so it parses leniently and reports precisely):

- **Framing errors are fatal**: a bad start line, a transaction id that breaks the
  ``ident`` grammar, a body-less end-line naming another transaction, a header section
  over ``max_header_size``, a body over ``max_chunk_size``, or a stream that ends inside
  a message. The parser returns an :class:`MsrpSyntaxError` with ``fatal=True`` and is
  ``broken`` from then on (it ignores further data): the stream cannot be re-synchronised.
- **Message errors are not fatal**: a missing or invalid To-Path / From-Path, a
  non-numeric Byte-Range, a bad Status, Success-Report or Failure-Report value, a header
  line without a colon. Framing is intact, so the parser returns an
  :class:`MsrpSyntaxError` with ``fatal=False`` that carries the transaction id and the
  leniently ``parsed`` message, and goes on with the next message.
- **Header order is not an error here**. RFC 4975 puts To-Path first, From-Path next and
  Content-Type last. A message keeps its headers in wire order; ``header_order`` and
  ``header_order_ok`` let a check judge the order against its requirement.
- A body's end is the first ``CRLF "-------" transact-id flag CRLF`` after the blank line;
  any other text, including end-lines of other transactions, is body (RFC 4975 7.1).

Every parsed message keeps its exact bytes in ``raw``. Serialization (``to_bytes``) writes
the headers exactly as held, so a test case can send odd or malformed messages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.msrp.uri import MsrpUri, format_path, parse_path

CRLF = b"\r\n"
END_DASHES = b"-------"
FLAGS = frozenset("$+#")
FLAG_COMPLETE = "$"
FLAG_CONTINUE = "+"
FLAG_ABORT = "#"

DEFAULT_MAX_HEADER_SIZE = 16 * 1024
DEFAULT_MAX_CHUNK_SIZE = 4 * 1024 * 1024

_TID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}\Z")
_TID_STR = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,31}\Z")
_METHOD = re.compile(rb"[A-Z]+\Z")
_HNAME = re.compile(r"[A-Za-z][\x21-\x39\x3b-\x7e]*\Z")
_BYTE_RANGE = re.compile(r"([0-9]+)-([0-9]+|\*)/([0-9]+|\*)\Z")
_STATUS = re.compile(r"([0-9]{3}) ([0-9]{3})(?: (.*))?\Z")

Headers: TypeAlias = tuple[tuple[str, str], ...]
PathArg: TypeAlias = MsrpUri | str | Sequence[MsrpUri | str]


class MsrpSyntaxError(RemoteProtocolError):
    """The peer sent an invalid MSRP message.

    ``fatal`` means the framing is lost and the connection is unusable. ``tid`` is the
    transaction id when the start line could be read; ``parsed`` is the lenient view of
    the message when the framing was intact (non-fatal errors).
    """

    def __init__(
        self,
        message: str,
        *,
        raw: bytes | None = None,
        fatal: bool,
        tid: str | None = None,
        parsed: MsrpRequest | MsrpResponse | None = None,
    ) -> None:
        super().__init__(message, raw=raw)
        self.fatal = fatal
        self.tid = tid
        self.parsed = parsed


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``Byte-Range: start-end/total`` (RFC 4975 7.1.1); ``None`` stands for ``*``."""

    start: int
    end: int | None
    total: int | None

    def __str__(self) -> str:
        end = "*" if self.end is None else str(self.end)
        total = "*" if self.total is None else str(self.total)
        return f"{self.start}-{end}/{total}"

    @classmethod
    def parse(cls, value: str) -> ByteRange:
        match = _BYTE_RANGE.match(value.strip())
        if match is None:
            raise RemoteProtocolError(
                f"invalid Byte-Range {value!r}", raw=value.encode("utf-8", "surrogateescape")
            )
        start = int(match.group(1))
        end = None if match.group(2) == "*" else int(match.group(2))
        total = None if match.group(3) == "*" else int(match.group(3))
        if start < 1:
            raise RemoteProtocolError(f"Byte-Range start {start} is below 1")
        return cls(start, end, total)


@dataclass(frozen=True, slots=True)
class Status:
    """``Status: namespace SP status-code [SP text-reason]`` (RFC 4975 7.1.2, 9)."""

    namespace: str
    code: int
    comment: str | None = None

    def __str__(self) -> str:
        text = f"{self.namespace} {self.code:03d}"
        return text if self.comment is None else f"{text} {self.comment}"

    @classmethod
    def parse(cls, value: str) -> Status:
        match = _STATUS.match(value.strip())
        if match is None:
            raise RemoteProtocolError(
                f"invalid Status {value!r}", raw=value.encode("utf-8", "surrogateescape")
            )
        return cls(match.group(1), int(match.group(2)), match.group(3))


class _HeaderAccess:
    """Header accessors shared by requests and responses (names compare case-insensitively)."""

    __slots__ = ()
    headers: Headers

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, or ``None``."""
        lname = name.lower()
        for hname, value in self.headers:
            if hname.lower() == lname:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for hname, value in self.headers if hname.lower() == lname]

    @property
    def header_order(self) -> tuple[str, ...]:
        """Header names in wire order, as sent."""
        return tuple(name for name, _ in self.headers)

    @property
    def header_order_ok(self) -> bool:
        """To-Path first, From-Path second (RFC 4975 section 9 ``headers`` rule), and
        Content-Type, when present, last."""
        names = [name.lower() for name in self.header_order]
        if names[:2] != ["to-path", "from-path"]:
            return False
        return "content-type" not in names or names[-1] == "content-type"

    def _required(self, name: str) -> str:
        value = self.header(name)
        if value is None:
            raise RemoteProtocolError(f"missing {name} header")
        return value

    @property
    def to_path(self) -> tuple[MsrpUri, ...]:
        return parse_path(self._required("To-Path"))

    @property
    def from_path(self) -> tuple[MsrpUri, ...]:
        return parse_path(self._required("From-Path"))

    @property
    def message_id(self) -> str | None:
        value = self.header("Message-ID")
        return None if value is None else value.strip()

    @property
    def byte_range(self) -> ByteRange | None:
        """The Byte-Range, or ``None`` when absent (then the chunk is the whole message)."""
        value = self.header("Byte-Range")
        return None if value is None else ByteRange.parse(value)

    @property
    def content_type(self) -> str | None:
        value = self.header("Content-Type")
        return None if value is None else value.strip()

    @property
    def success_report(self) -> str:
        """``yes`` or ``no``; absent means ``no`` (RFC 4975 7.1.1)."""
        value = self.header("Success-Report")
        if value is None:
            return "no"
        value = value.strip()
        if value not in ("yes", "no"):
            raise RemoteProtocolError(f"invalid Success-Report {value!r}")
        return value

    @property
    def failure_report(self) -> str:
        """``yes``, ``no`` or ``partial``; absent means ``yes`` (RFC 4975 7.1.1)."""
        value = self.header("Failure-Report")
        if value is None:
            return "yes"
        value = value.strip()
        if value not in ("yes", "no", "partial"):
            raise RemoteProtocolError(f"invalid Failure-Report {value!r}")
        return value

    @property
    def status(self) -> Status | None:
        value = self.header("Status")
        return None if value is None else Status.parse(value)


def _encode_headers(headers: Headers) -> bytes:
    return b"".join(
        f"{name}: {value}\r\n".encode("utf-8", "surrogateescape") for name, value in headers
    )


@dataclass(frozen=True, slots=True)
class MsrpRequest(_HeaderAccess):
    """An MSRP request (SEND, REPORT or another method)."""

    tid: str
    method: str
    headers: Headers
    body: bytes = b""
    flag: str = FLAG_COMPLETE
    #: the exact bytes received; empty for a message built locally
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def is_keepalive(self) -> bool:
        """An empty SEND (RFC 4975 7.1: no body, used to keep the connection alive)."""
        return self.method == "SEND" and not self.body and self.content_type is None

    def to_bytes(self, *, end_tid: str | None = None) -> bytes:
        """Serialize exactly; ``end_tid`` writes another id in the end-line (a stimulus)."""
        head = f"MSRP {self.tid} {self.method}\r\n".encode("utf-8", "surrogateescape")
        end = END_DASHES + (end_tid or self.tid).encode() + self.flag.encode() + CRLF
        hdrs = _encode_headers(self.headers)
        if self.body or self.content_type is not None:
            return b"".join((head, hdrs, CRLF, self.body, CRLF, end))
        return b"".join((head, hdrs, end))

    def with_header(self, name: str, value: str | None) -> MsrpRequest:
        """Replace the first header ``name`` in place, append it, or drop all (``None``)."""
        return replace(self, headers=_set_header(self.headers, name, value), raw=b"")


@dataclass(frozen=True, slots=True)
class MsrpResponse(_HeaderAccess):
    """An MSRP response (RFC 4975 7.2); it has no body."""

    tid: str
    status_code: int
    comment: str | None
    headers: Headers
    flag: str = FLAG_COMPLETE
    raw: bytes = field(default=b"", repr=False, compare=False)

    def to_bytes(self, *, end_tid: str | None = None) -> bytes:
        start = f"MSRP {self.tid} {self.status_code:03d}"
        if self.comment is not None:
            start += f" {self.comment}"
        head = (start + "\r\n").encode("utf-8", "surrogateescape")
        end = END_DASHES + (end_tid or self.tid).encode() + self.flag.encode() + CRLF
        return b"".join((head, _encode_headers(self.headers), end))

    def with_header(self, name: str, value: str | None) -> MsrpResponse:
        return replace(self, headers=_set_header(self.headers, name, value), raw=b"")


MsrpMessage: TypeAlias = MsrpRequest | MsrpResponse


def _set_header(headers: Headers, name: str, value: str | None) -> Headers:
    lname = name.lower()
    if value is None:
        return tuple(h for h in headers if h[0].lower() != lname)
    out = list(headers)
    for i, (hname, _) in enumerate(out):
        if hname.lower() == lname:
            out[i] = (hname, value)
            return tuple(out)
    out.append((name, value))
    return tuple(out)


def validate(message: MsrpMessage) -> None:
    """Check the headers every message needs (RFC 4975 section 9); raise
    :class:`RemoteProtocolError` on the first problem. Order is not checked here."""
    message.to_path  # noqa: B018 - parsing is the check
    message.from_path  # noqa: B018
    message.success_report  # noqa: B018
    message.failure_report  # noqa: B018
    status = message.status
    if isinstance(message, MsrpRequest):
        if message.method == "REPORT" and status is None:
            raise RemoteProtocolError("REPORT without a Status header")
        if message.body and message.content_type is None:
            raise RemoteProtocolError("a request with a body has no Content-Type")
        brange = message.byte_range
        if brange is not None and brange.end is not None and message.method == "SEND":
            if brange.end - brange.start + 1 != len(message.body):
                raise RemoteProtocolError(
                    f"Byte-Range {brange} does not match the body length {len(message.body)}"
                )
            if brange.total is not None and brange.end > brange.total:
                raise RemoteProtocolError(f"Byte-Range {brange} ends beyond its total")


# -- framing ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    """A message whose header section has been read and whose body is awaited."""

    start: int
    tid: str
    tid_bytes: bytes
    method: str | None
    status_code: int
    comment: str | None
    headers: Headers
    problems: list[str]
    body_start: int
    scan: int
    flag: str = FLAG_COMPLETE


class MsrpParser:
    """Incremental MSRP framing over a byte stream (see the module docstring for policy).

    ``feed`` returns the messages (and errors) completed by the new data; any split of the
    stream gives the same result.
    """

    def __init__(
        self,
        *,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    ) -> None:
        if max_header_size < 64 or max_chunk_size < 0:
            raise LocalProtocolError("MSRP parser limits are too small")
        self.max_header_size = max_header_size
        self.max_chunk_size = max_chunk_size
        self._buf = bytearray()
        self._pos = 0
        self._pending: _Pending | None = None
        self.broken = False
        #: the fatal error that broke the stream, if any
        self.error: MsrpSyntaxError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes) -> list[MsrpMessage | RemoteProtocolError]:
        out: list[MsrpMessage | RemoteProtocolError] = []
        if self.broken:
            return out
        self._buf += data
        while True:
            try:
                item = self._next()
            except MsrpSyntaxError as exc:
                if exc.fatal:
                    self.broken = True
                    self.error = exc
                    self._buf.clear()
                    self._pos = 0
                    self._pending = None
                out.append(exc)
                if exc.fatal:
                    return out
                continue
            if item is None:
                break
            out.append(item)
        if self._pos:
            del self._buf[: self._pos]
            if self._pending is not None:
                shift = self._pos
                self._pending.start -= shift
                self._pending.body_start -= shift
                self._pending.scan -= shift
            self._pos = 0
        return out

    def eof(self) -> list[MsrpMessage | RemoteProtocolError]:
        """The stream ended. Buffered bytes of an unfinished message are a fatal error."""
        if self.broken or self.buffered == 0:
            return []
        raw = bytes(self._buf[self._pos :])
        tid = self._pending.tid if self._pending is not None else None
        exc = MsrpSyntaxError(
            "the stream ended inside an MSRP message", raw=raw, fatal=True, tid=tid
        )
        self.broken = True
        self.error = exc
        self._buf.clear()
        self._pos = 0
        self._pending = None
        return [exc]

    # internals

    def _fatal(self, why: str, start: int, end: int | None = None, tid: str | None = None) -> None:
        raw = bytes(self._buf[start : end if end is not None else len(self._buf)])
        raise MsrpSyntaxError(why, raw=raw[: self.max_header_size], fatal=True, tid=tid)

    def _next(self) -> MsrpMessage | None:
        if self._pending is None and not self._read_head():
            return None
        pending = self._pending
        assert pending is not None
        if pending.body_start < 0:
            # no body: the end-line was already seen
            return self._finish(pending, b"", pending.scan)
        return self._read_body(pending)

    def _read_head(self) -> bool:
        buf = self._buf
        start = self._pos
        avail = len(buf) - start
        if avail == 0:
            return False
        if not b"MSRP ".startswith(bytes(buf[start : start + 5])):
            self._fatal("stream does not start with 'MSRP '", start, start + 80)
        eol = buf.find(CRLF, start)
        if eol < 0:
            if avail > self.max_header_size:
                self._fatal("start line exceeds the maximum header size", start)
            return False
        parts = bytes(buf[start + 5 : eol]).split(b" ", 1)
        if len(parts) != 2:
            self._fatal("start line has no method or status", start, eol)
        tid_b, rest = parts
        if not _TID.match(tid_b):
            self._fatal(f"invalid transaction id {tid_b!r}", start, eol)
        tid = tid_b.decode("ascii")
        method: str | None = None
        status_code = 0
        comment: str | None = None
        if rest[:3].isdigit() and (len(rest) == 3 or rest[3:4] == b" "):
            status_code = int(rest[:3])
            if len(rest) > 3:
                comment = rest[4:].decode("utf-8", "surrogateescape")
        elif _METHOD.match(rest):
            method = rest.decode("ascii")
        else:
            self._fatal(f"invalid method or status {rest[:40]!r}", start, eol, tid)
        # header section: it ends at the first blank line (a body follows) or at the first
        # line starting with seven dashes (the end-line of a body-less message)
        limit = min(len(buf), start + self.max_header_size)
        blank = buf.find(b"\r\n\r\n", eol, limit)
        dashes = buf.find(CRLF + END_DASHES, eol, limit)
        if blank < 0 and dashes < 0:
            if len(buf) >= start + self.max_header_size:
                self._fatal("header section exceeds the maximum header size", start, tid=tid)
            return False
        flag = FLAG_COMPLETE
        problems: list[str] = []
        missing_crlf = False
        if blank >= 0 and dashes == blank + 2:
            # "Content-Type: x CRLF CRLF -------tid$ CRLF": the CRLF that ends the data is
            # missing (RFC 4975 9 content-stuff). Read it as an empty body and flag it, but
            # only when the line is exactly this transaction's end-line; otherwise the
            # body merely starts with dashes.
            want = END_DASHES + tid_b
            cand = bytes(buf[dashes + 2 : dashes + len(want) + 5])
            missing_crlf = (
                cand[: len(want)] == want[: len(cand)]
                and (len(cand) <= len(want) or chr(cand[len(want)]) in FLAGS)
                and CRLF.startswith(cand[len(want) + 1 :])
            )
            if missing_crlf and len(cand) < len(want) + 3:
                return False
        if dashes >= 0 and (blank < 0 or dashes < blank or missing_crlf):
            line_end = buf.find(CRLF, dashes + 2)
            if line_end < 0:
                if len(buf) - dashes > len(tid_b) + 12:
                    self._fatal("end-line does not end", start, tid=tid)
                return False
            line = bytes(buf[dashes + 2 : line_end])
            if line[7:-1] != tid_b or chr(line[-1]) not in FLAGS:
                self._fatal(
                    f"end-line {line[:48]!r} does not close transaction {tid}",
                    start, line_end + 2, tid,
                )  # fmt: skip
            flag = chr(line[-1])
            block_end, body_start, scan = dashes, -1, line_end + 2
            if missing_crlf:
                block_end = blank
                problems.append("no CRLF between the blank line and the end-line")
        else:
            block_end, body_start = blank, blank + 4
            scan = body_start
        headers: list[tuple[str, str]] = []
        if block_end > eol:
            for line in bytes(buf[eol + 2 : block_end]).split(CRLF):
                name_b, colon, value_b = line.partition(b":")
                name = name_b.decode("utf-8", "surrogateescape")
                value = value_b.decode("utf-8", "surrogateescape")
                if not colon or not _HNAME.match(name):
                    problems.append(f"invalid header line {line[:60]!r}")
                if value[:1] == " ":
                    value = value[1:]
                else:
                    problems.append(f"header {name!r} lacks the space after the colon")
                headers.append((name, value))
        self._pending = _Pending(
            start, tid, tid_b, method, status_code, comment,
            tuple(headers), problems, body_start, scan, flag,
        )  # fmt: skip
        return True

    def _read_body(self, pending: _Pending) -> MsrpMessage | None:
        buf = self._buf
        marker = CRLF + END_DASHES + pending.tid_bytes
        mlen = len(marker)
        while True:
            j = buf.find(marker, pending.scan)
            if j < 0:
                if len(buf) - pending.body_start > self.max_chunk_size + mlen + 3:
                    self._fatal(
                        f"body exceeds the maximum chunk size {self.max_chunk_size}",
                        pending.start, pending.body_start, pending.tid,
                    )  # fmt: skip
                pending.scan = max(pending.body_start, len(buf) - mlen + 1)
                return None
            if j - pending.body_start > self.max_chunk_size:
                self._fatal(
                    f"body exceeds the maximum chunk size {self.max_chunk_size}",
                    pending.start, pending.body_start, pending.tid,
                )  # fmt: skip
            if len(buf) < j + mlen + 3:
                pending.scan = j
                return None
            flag = chr(buf[j + mlen])
            if flag in FLAGS and buf[j + mlen + 1 : j + mlen + 3] == CRLF:
                pending.flag = flag
                body = bytes(buf[pending.body_start : j])
                return self._finish(pending, body, j + mlen + 3)
            pending.scan = j + 1

    def _finish(self, pending: _Pending, body: bytes, end: int) -> MsrpMessage:
        raw = bytes(self._buf[pending.start : end])
        self._pos = end
        self._pending = None
        message: MsrpMessage
        if pending.method is not None:
            message = MsrpRequest(
                pending.tid, pending.method, pending.headers, body, pending.flag, raw
            )
        else:
            if pending.body_start >= 0:
                pending.problems.append("a response carries a body")
            message = MsrpResponse(
                pending.tid, pending.status_code, pending.comment, pending.headers,
                pending.flag, raw,
            )  # fmt: skip
        problem = pending.problems[0] if pending.problems else None
        if problem is None:
            try:
                validate(message)
            except RemoteProtocolError as exc:
                problem = exc.message
        if problem is not None:
            raise MsrpSyntaxError(problem, raw=raw, fatal=False, tid=pending.tid, parsed=message)
        return message


def parse_message(data: bytes) -> MsrpMessage:
    """Parse exactly one complete message; anything else raises RemoteProtocolError."""
    parser = MsrpParser(max_header_size=max(len(data), 64), max_chunk_size=len(data))
    items = parser.feed(data) + parser.eof()
    if len(items) != 1:
        raise RemoteProtocolError(f"expected one MSRP message, got {len(items)} items", raw=data)
    item = items[0]
    if isinstance(item, RemoteProtocolError):
        raise item
    return item


# -- builders --------------------------------------------------------------------------


def new_tid() -> str:
    """A fresh transaction id (16 hex digits, within the ``ident`` grammar)."""
    return secrets.token_hex(8)


def new_message_id() -> str:
    return secrets.token_hex(10)


def _check_tid(tid: str) -> str:
    if not _TID_STR.match(tid):
        raise LocalProtocolError(f"invalid transaction id {tid!r}")
    return tid


def build_send(
    to_path: PathArg,
    from_path: PathArg,
    message_id: str,
    body: bytes = b"",
    content_type: str | None = None,
    byte_range: ByteRange | None = None,
    flag: str = FLAG_COMPLETE,
    success_report: str | None = None,
    failure_report: str | None = None,
    tid: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> MsrpRequest:
    """A SEND in RFC 4975 order: To-Path, From-Path, Message-ID, Success-Report,
    Failure-Report, Byte-Range, extra headers, Content-Type (last, only with a body or
    when given). ``byte_range=None`` means the whole message in one chunk."""
    if flag not in FLAGS:
        raise LocalProtocolError(f"invalid continuation flag {flag!r}")
    if body and content_type is None:
        raise LocalProtocolError("a SEND with a body needs a Content-Type (RFC 4975 7.1.1)")
    if byte_range is None:
        byte_range = ByteRange(1, len(body), len(body))
    headers: list[tuple[str, str]] = [
        ("To-Path", format_path(to_path)),
        ("From-Path", format_path(from_path)),
        ("Message-ID", message_id),
    ]
    if success_report is not None:
        headers.append(("Success-Report", success_report))
    if failure_report is not None:
        headers.append(("Failure-Report", failure_report))
    headers.append(("Byte-Range", str(byte_range)))
    headers.extend(extra_headers)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return MsrpRequest(_check_tid(tid or new_tid()), "SEND", tuple(headers), body, flag)


def build_response(
    request: MsrpRequest,
    status: int,
    comment: str | None = None,
    *,
    from_path: PathArg | None = None,
    to_path: PathArg | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> MsrpResponse:
    """A response to ``request`` (RFC 4975 7.2): same transaction id; To-Path is the first
    URI of the request's From-Path (the previous hop; the whole From-Path when there is no
    relay), From-Path is our own URI, by default the first URI of the request's To-Path.
    URIs are copied as the peer spelled them."""
    if not 100 <= status <= 999:
        raise LocalProtocolError(f"invalid MSRP status {status}")
    try:
        to_value = format_path(to_path) if to_path is not None else str(request.from_path[0])
        from_value = format_path(from_path) if from_path is not None else str(request.to_path[0])
    except RemoteProtocolError as exc:
        raise LocalProtocolError(f"cannot answer a request with bad paths: {exc}") from None
    headers = (("To-Path", to_value), ("From-Path", from_value), *extra_headers)
    return MsrpResponse(request.tid, status, comment, headers)


def build_report(
    to_path: PathArg,
    from_path: PathArg,
    message_id: str,
    byte_range: ByteRange,
    status_code: int = 200,
    comment: str | None = "OK",
    namespace: str = "000",
    tid: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
) -> MsrpRequest:
    """A REPORT (RFC 4975 7.1.2) with ``Status: 000 200 OK`` by default. Its To-Path is
    the From-Path of the reported SEND, its From-Path our own URI."""
    headers = (
        ("To-Path", format_path(to_path)),
        ("From-Path", format_path(from_path)),
        ("Message-ID", message_id),
        ("Byte-Range", str(byte_range)),
        ("Status", str(Status(namespace, status_code, comment))),
        *extra_headers,
    )
    return MsrpRequest(_check_tid(tid or new_tid()), "REPORT", headers)


def report_for(
    send: MsrpRequest,
    own_uri: MsrpUri | str,
    total: int,
    status_code: int = 200,
    comment: str | None = "OK",
) -> MsrpRequest:
    """A REPORT about the whole message ``send`` belongs to (Byte-Range 1-total/total)."""
    message_id = send.message_id
    if message_id is None:
        raise LocalProtocolError("cannot report on a SEND without Message-ID")
    return build_report(
        send.from_path,
        own_uri,
        message_id,
        ByteRange(1, total, total),
        status_code,
        comment,
    )


def match_send(message: MsrpMessage) -> MsrpRequest:
    """The matcher paired with :func:`build_send`: ``message`` is a valid SEND."""
    if not isinstance(message, MsrpRequest) or message.method != "SEND":
        raise RemoteProtocolError("expected an MSRP SEND", raw=message.raw)
    validate(message)
    if message.message_id is None:
        raise RemoteProtocolError("SEND without Message-ID", raw=message.raw)
    return message


def match_report(message: MsrpMessage) -> tuple[MsrpRequest, Status]:
    """The matcher paired with :func:`build_report`: a valid REPORT and its Status."""
    if not isinstance(message, MsrpRequest) or message.method != "REPORT":
        raise RemoteProtocolError("expected an MSRP REPORT", raw=message.raw)
    validate(message)
    status = message.status
    assert status is not None  # validate() checked it
    return message, status


def match_response(message: MsrpMessage, request: MsrpRequest) -> MsrpResponse:
    """The matcher paired with :func:`build_response`: a response to ``request``."""
    if not isinstance(message, MsrpResponse) or message.tid != request.tid:
        raise RemoteProtocolError(
            f"expected a response to transaction {request.tid}", raw=message.raw
        )
    validate(message)
    return message
