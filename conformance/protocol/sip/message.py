"""SIP message model, parser and serializer (RFC 3261 section 7, 20; sans-IO).

The model keeps what was on the wire:

- every :class:`Header` keeps its name as sent, its unfolded value and its raw line(s);
- every message keeps the raw bytes it was parsed from (``raw``);
- serialization writes exactly the header order, casing and values it holds, so a test
  case can send a deliberately odd or malformed message.

Parsing is strict where RFC 4475 says a message is invalid: it raises
:class:`~conformance.errors.RemoteProtocolError` and never any other exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeAlias

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.sip.headers import VALIDATION_PLAN, HeaderValidation
from conformance.protocol.sip.uri import TOKEN_CHARS, check_request_uri, is_token, split_list

CRLF = b"\r\n"
SIP_VERSION = "SIP/2.0"

#: RFC 3261 7.3.3 compact forms, plus those registered by later RFCs used in CPM.
COMPACT_FORMS: dict[str, str] = {
    "a": "accept-contact",  # RFC 3841
    "b": "referred-by",  # RFC 3892
    "c": "content-type",
    "d": "request-disposition",  # RFC 3841
    "e": "content-encoding",
    "f": "from",
    "i": "call-id",
    "j": "reject-contact",  # RFC 3841
    "k": "supported",
    "l": "content-length",
    "m": "contact",
    "o": "event",  # RFC 6665
    "r": "refer-to",  # RFC 3515
    "s": "subject",
    "t": "to",
    "u": "allow-events",  # RFC 6665
    "v": "via",
    "x": "session-expires",  # RFC 4028
    "y": "identity",
}

#: Headers whose values are comma-separated lists (RFC 3261 7.3.1) and may therefore be
#: split. Headers not in this set are never split on commas (e.g. Date, Subject, User-Agent,
#: Warning is a list but its quoted text may hold commas: splitting respects quotes).
LIST_HEADERS: frozenset[str] = frozenset(
    {
        "accept",
        "accept-contact",
        "accept-encoding",
        "accept-language",
        "alert-info",
        "allow",
        "allow-events",
        "call-info",
        "contact",
        "content-encoding",
        "content-language",
        "error-info",
        "in-reply-to",
        "p-asserted-identity",
        "p-asserted-service",
        "p-preferred-identity",
        "p-preferred-service",
        "privacy",
        "proxy-require",
        "reason",
        "record-route",
        "reject-contact",
        "request-disposition",
        "require",
        "route",
        "supported",
        "unsupported",
        "via",
        "warning",
    }
)

#: Headers that may appear at most once (RFC 3261 table 2 and 3).
SINGLE_HEADERS: frozenset[str] = frozenset(
    {
        "call-id",
        "content-length",
        "content-type",
        "cseq",
        "from",
        "max-forwards",
        "to",
        "expires",
        "min-expires",
        "session-expires",
        "min-se",
        "subscription-state",
        "event",
        "date",
    }
)

MAX_MESSAGE_SIZE = 1 << 20
"""Upper bound on a single SIP message (bytes); larger input is a RemoteProtocolError."""


def header_key(name: str) -> str:
    """Canonical lookup key of a header name: lower case, compact form expanded."""
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low)


@dataclass(frozen=True, slots=True)
class Header:
    """One header field line as received or as it will be sent.

    ``name`` keeps the casing and (compact) form used on the wire; ``value`` is the
    unfolded value with leading/trailing whitespace removed; ``raw`` is the exact
    line(s), folding included, without the final CRLF (empty for built headers).
    """

    name: str
    value: str
    raw: bytes = b""

    @property
    def key(self) -> str:
        return header_key(self.name)

    def to_bytes(self) -> bytes:
        if self.raw:
            return self.raw
        return f"{self.name}: {self.value}".encode()


_set_name = Header.name.__set__  # type: ignore[attr-defined,misc]
_set_value = Header.value.__set__  # type: ignore[attr-defined,misc]
_set_raw = Header.raw.__set__  # type: ignore[attr-defined,misc]

HeaderInput: TypeAlias = "Header | tuple[str, str]"


class Headers(Sequence[Header]):
    """Immutable, ordered header list with case-insensitive, compact-aware lookup.

    Parsed headers are held as parallel tuples (names, values, raw lines, keys); the
    :class:`Header` objects are only built when the list is iterated or indexed.
    """

    __slots__ = ("_built", "_head", "_keys", "_names", "_raw_lines", "_values")

    def __init__(self, items: Iterable[Header | tuple[str, str]] = ()) -> None:
        built = tuple(h if isinstance(h, Header) else Header(h[0], h[1]) for h in items)
        self._built: tuple[Header, ...] | None = built
        self._names: tuple[str, ...] = tuple(h.name for h in built)
        self._values: tuple[str, ...] = tuple(h.value for h in built)
        self._raw_lines: tuple[bytes, ...] | None = tuple(h.raw for h in built)
        self._head = b""
        self._keys: tuple[str, ...] = tuple(header_key(h.name) for h in built)

    @classmethod
    def from_parsed(
        cls,
        names: list[str],
        values: list[str],
        raws: list[bytes] | None,
        keys: list[str],
        head: bytes = b"",
    ) -> Headers:
        """Build from parsed lines whose keys are already known (the parser's fast path).

        ``raws=None``: the raw lines are those of ``head`` (the header section, start line
        first, without folding), split when first needed.
        """
        obj = cls.__new__(cls)
        cls._load(obj, names, values, raws, keys, head)
        return obj

    def _load(
        self,
        names: list[str],
        values: list[str],
        raws: list[bytes] | None,
        keys: list[str],
        head: bytes,
    ) -> None:
        self._built = None
        self._names = tuple(names)
        self._values = tuple(values)
        self._raw_lines = None if raws is None else tuple(raws)
        self._head = head
        self._keys = tuple(keys)

    @property
    def _raws(self) -> tuple[bytes, ...]:
        """The raw line of each header, as received (empty for built headers)."""
        raws = self._raw_lines
        if raws is None:
            raws = tuple(self._head.split(CRLF)[1:])
            self._raw_lines = raws
        return raws

    @property
    def _items(self) -> tuple[Header, ...]:
        built = self._built
        if built is None:
            built = tuple(map(_new_header, self._names, self._values, self._raws))
            self._built = built
        return built

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index: int) -> Header:  # type: ignore[override]
        return self._items[index]

    def __iter__(self) -> Iterator[Header]:
        return iter(self._items)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Header):
            return name in self._items
        if not isinstance(name, str):
            return False
        return header_key(name) in self._keys

    def has(self, name: str) -> bool:
        """Whether a line with this name (any casing or compact form) is present."""
        return header_key(name) in self._keys

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"

    def names(self) -> list[str]:
        """Header names as sent, in order (one per line)."""
        return list(self._names)

    def wire_lines(self) -> Iterator[bytes]:
        """Every header line as it goes on the wire: the raw line(s) as received, else
        ``name: value``."""
        for name, value, raw in zip(self._names, self._values, self._raws, strict=True):
            yield raw if raw else f"{name}: {value}".encode()

    def lines(self, name: str) -> list[Header]:
        """Every header line with this name (any casing or compact form)."""
        key = header_key(name)
        items = self._items
        return [items[i] for i, k in enumerate(self._keys) if k == key]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first line with this name."""
        key = header_key(name)
        try:
            return self._values[self._keys.index(key)]
        except ValueError:
            return default

    def get_all(self, name: str) -> list[str]:
        """Values of every line with this name, each line one value (not split)."""
        key = header_key(name)
        return [v for v, k in zip(self._values, self._keys, strict=True) if k == key]

    def values(self, name: str) -> list[str]:
        """Every element of a list header across all its lines (RFC 3261 7.3.1).

        Non-list headers are returned one value per line.
        """
        key = header_key(name)
        out: list[str] = []
        for v, k in zip(self._values, self._keys, strict=True):
            if k != key:
                continue
            if key in LIST_HEADERS:
                out.extend(x for x in split_list(v) if x)
            else:
                out.append(v)
        return out

    # -- builders: each returns a new Headers ---------------------------------------
    def add(self, name: str, value: str) -> Headers:
        return Headers((*self._items, Header(name, value)))

    def prepend(self, name: str, value: str) -> Headers:
        return Headers((Header(name, value), *self._items))

    def remove(self, name: str) -> Headers:
        key = header_key(name)
        return Headers(h for h, k in zip(self._items, self._keys, strict=True) if k != key)

    def set(self, name: str, value: str) -> Headers:
        """Replace every line of ``name`` by one line, at the place of the first."""
        key = header_key(name)
        out: list[Header] = []
        done = False
        for h, k in zip(self._items, self._keys, strict=True):
            if k == key:
                if not done:
                    out.append(Header(name, value))
                    done = True
                continue
            out.append(h)
        if not done:
            out.append(Header(name, value))
        return Headers(out)


@dataclass(frozen=True, slots=True)
class _MessageBase:
    headers: Headers
    body: bytes
    version: str
    raw: bytes

    # -- convenience accessors used everywhere ----------------------------------------
    @property
    def call_id(self) -> str | None:
        return self.headers.get("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        """(sequence number, method). Raises RemoteProtocolError if absent or invalid."""
        value = self.headers.get("CSeq")
        if value is None:
            raise RemoteProtocolError("missing CSeq", raw=self.raw)
        return parse_cseq(value)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def first_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        return self.raw


@dataclass(frozen=True, slots=True)
class SipRequest(_MessageBase):
    method: str = ""
    uri: str = ""

    def first_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri} call-id={self.call_id}>"


@dataclass(frozen=True, slots=True)
class SipResponse(_MessageBase):
    status: int = 0
    reason: str = ""

    def first_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason} call-id={self.call_id}>"


SipMessage: TypeAlias = SipRequest | SipResponse


# ---------------------------------------------------------------------------------------
# Serialization and builders
# ---------------------------------------------------------------------------------------


def serialize(
    first_line: str,
    headers: Iterable[Header],
    body: bytes = b"",
) -> bytes:
    """Exactly the given start line, headers (order, casing, raw lines) and body."""
    parts = [first_line.encode()]
    if isinstance(headers, Headers):
        parts.extend(headers.wire_lines())
    else:
        parts.extend(h.to_bytes() for h in headers)
    parts.append(b"")
    parts.append(body)
    return CRLF.join(parts)


def _with_length(headers: Headers, body: bytes, content_length: bool | str) -> Headers:
    if content_length is False:
        return headers
    if isinstance(content_length, str):
        return headers.set("Content-Length", content_length)
    if headers.has("Content-Length"):
        return headers.set(headers.lines("Content-Length")[0].name, str(len(body)))
    return headers.add("Content-Length", str(len(body)))


def build_request(
    method: str,
    uri: str,
    headers: Iterable[Header | tuple[str, str]],
    body: bytes = b"",
    *,
    version: str = SIP_VERSION,
    content_length: bool | str = True,
) -> SipRequest:
    """Build a request with exactly these headers, in this order.

    ``content_length=True`` sets Content-Length to the body length (replacing any value
    given); ``False`` leaves the headers alone; a string forces that value (for
    robustness stimuli).
    """
    hs = _with_length(Headers(headers), body, content_length)
    raw = serialize(f"{method} {uri} {version}", hs, body)
    return SipRequest(headers=hs, body=body, version=version, raw=raw, method=method, uri=uri)


def build_response(
    status: int,
    reason: str,
    headers: Iterable[Header | tuple[str, str]],
    body: bytes = b"",
    *,
    version: str = SIP_VERSION,
    content_length: bool | str = True,
) -> SipResponse:
    hs = _with_length(Headers(headers), body, content_length)
    raw = serialize(f"{version} {status} {reason}", hs, body)
    return SipResponse(
        headers=hs, body=body, version=version, raw=raw, status=status, reason=reason
    )


def with_headers(msg: SipMessage, headers: Headers, body: bytes | None = None) -> SipMessage:
    """A copy of ``msg`` with new headers (and body); raw is recomputed."""
    new_body = msg.body if body is None else body
    hs = _with_length(headers, new_body, True) if body is not None else headers
    raw = serialize(msg.first_line(), hs, new_body)
    return replace(msg, headers=hs, body=new_body, raw=raw)


#: RFC 3261 21 reason phrases for the responses the suite builds.
REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    420: "Bad Extension",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    603: "Decline",
}


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------


def _is_digits(text: str) -> bool:
    return text.isdigit() and text.isascii()


#: The common CSeq shape: at most 10 ASCII digits, SP, a token. A value it does not match
#: goes through the general checks below.
_CSEQ_FAST_RE = re.compile(f"([0-9]{{1,10}}) ([{TOKEN_CHARS}]++)")


def parse_cseq(value: str) -> tuple[int, str]:
    m = _CSEQ_FAST_RE.fullmatch(value)
    if m is not None:
        number = int(m[1])
        if number < 2**31:  # RFC 3261 8.1.1.5
            return number, m[2]
    parts = value.split()
    if len(parts) != 2 or not _is_digits(parts[0]) or not is_token(parts[1]):
        raise RemoteProtocolError(f"invalid CSeq {value!r}")
    number = int(parts[0]) if len(parts[0]) <= 10 else 2**31
    if len(parts[0]) > 10 or number >= 2**31:  # RFC 3261 8.1.1.5
        raise RemoteProtocolError(f"CSeq number out of range: {value!r}")
    return number, parts[1]


def _unfold_value(value: str) -> str:
    """Each fold (optional blanks, CRLF, blanks: RFC 3261 7.3.1) becomes one space, in linear
    time: the regex ``[ \\t]*\\r\\n[ \\t]+`` it replaces backtracks quadratically over a long
    run of blanks that ends without a fold (found by the robustness campaign)."""
    pieces = value.split("\r\n")
    out: list[str] = []
    current = pieces[0]  # text not yet written out; its trailing blanks may start a fold
    for piece in pieces[1:]:
        stripped = piece.lstrip(" \t")
        if len(stripped) == len(piece):  # no blank after the CRLF: not a fold, kept as is
            out += [current, "\r\n"]
            current = piece
        else:
            out += [current.rstrip(" \t"), " "]
            current = stripped
    out.append(current)
    return "".join(out)


_NAME_CACHE: dict[str, tuple[str, str, HeaderValidation | None]] = {}
"""raw name text (before the colon) -> (name as sent, canonical key, how its value is
validated: an entry of VALIDATION_PLAN or None); bounded."""
_NAME_CACHE_MAX = 2048
_VALID_CACHE: set[tuple[str, str]] = set()
"""(header key, value) pairs that passed validation: dialogs repeat From, To, Contact,
Route... so each distinct value is checked once. Bounded; cleared when full."""
_VALID_CACHE_MAX = 4096


def clear_caches(*, names: bool = True) -> None:
    """Forget validated values (and header names): benchmarks measure a cold parser so."""
    _VALID_CACHE.clear()
    if names:
        _NAME_CACHE.clear()


def _new_header(name: str, value: str, raw: bytes) -> Header:
    """Header construction without the frozen-dataclass ``__init__`` (parser hot path)."""
    h = object.__new__(Header)
    _set_name(h, name)
    _set_value(h, value)
    _set_raw(h, raw)
    return h


_set_headers = _MessageBase.headers.__set__  # type: ignore[attr-defined,misc]
_set_body = _MessageBase.body.__set__  # type: ignore[attr-defined,misc]
_set_version = _MessageBase.version.__set__  # type: ignore[attr-defined,misc]
_set_msg_raw = _MessageBase.raw.__set__  # type: ignore[attr-defined,misc]
_set_method = SipRequest.method.__set__  # type: ignore[attr-defined,misc]
_set_uri = SipRequest.uri.__set__  # type: ignore[attr-defined,misc]
_set_status = SipResponse.status.__set__  # type: ignore[attr-defined,misc]
_set_reason = SipResponse.reason.__set__  # type: ignore[attr-defined,misc]


def _new_request(
    headers: Headers, body: bytes, version: str, raw: bytes, method: str, uri: str
) -> SipRequest:
    """``SipRequest(...)`` without the frozen-dataclass ``__init__`` (parser hot path)."""
    msg = object.__new__(SipRequest)
    _set_headers(msg, headers)
    _set_body(msg, body)
    _set_version(msg, version)
    _set_msg_raw(msg, raw)
    _set_method(msg, method)
    _set_uri(msg, uri)
    return msg


def _new_response(
    headers: Headers, body: bytes, version: str, raw: bytes, status: int, reason: str
) -> SipResponse:
    """``SipResponse(...)`` without the frozen-dataclass ``__init__`` (parser hot path)."""
    msg = object.__new__(SipResponse)
    _set_headers(msg, headers)
    _set_body(msg, body)
    _set_version(msg, version)
    _set_msg_raw(msg, raw)
    _set_status(msg, status)
    _set_reason(msg, reason)
    return msg


#: RFC 3261 methods and those of the extensions CPM uses: tokens by definition.
_KNOWN_METHODS: frozenset[str] = frozenset(
    {
        "ACK",
        "BYE",
        "CANCEL",
        "INFO",
        "INVITE",
        "MESSAGE",
        "NOTIFY",
        "OPTIONS",
        "PRACK",
        "PUBLISH",
        "REFER",
        "REGISTER",
        "SUBSCRIBE",
        "UPDATE",
    }
)


def _lines(head: bytes, text: str) -> tuple[list[bytes] | None, list[str], bool]:
    """Header section lines (raw bytes and text, in parallel), continuation lines joined,
    and whether there were any. Without continuation lines the raw lines are ``None``:
    they are ``head.split(CRLF)``, which :class:`Headers` does when first needed."""
    tlines = text.split("\r\n")
    if "\r\n " not in text and "\r\n\t" not in text:
        return None, tlines, False
    blines = head.split(CRLF)
    bout: list[bytes] = []
    tout: list[str] = []
    for b, t in zip(blines, tlines, strict=True):
        if t[:1] in (" ", "\t"):
            if len(tout) < 2:
                raise RemoteProtocolError("continuation line after the start line", raw=head)
            bout[-1] = bout[-1] + CRLF + b
            tout[-1] = tout[-1] + "\r\n" + t
        else:
            bout.append(b)
            tout.append(t)
    return bout, tout, True


def _unfold(head: bytes) -> list[bytes]:
    """Header lines with continuation lines (starting with SP/HTAB) joined, raw kept."""
    lines = head.split(CRLF)
    out: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = out[-1] + CRLF + line
        else:
            out.append(line)
    return out


def _name_and_key(raw_name: str, raw: bytes) -> tuple[str, str, HeaderValidation | None]:
    cached = _NAME_CACHE.get(raw_name)
    if cached is not None:
        return cached
    name = raw_name.rstrip(" \t")
    if not is_token(name):
        raise RemoteProtocolError(f"invalid header name {name!r}", raw=raw)
    low = name.lower()
    key = COMPACT_FORMS.get(low, low)
    result = (name, key, VALIDATION_PLAN.get(key))
    if len(_NAME_CACHE) < _NAME_CACHE_MAX:
        _NAME_CACHE[raw_name] = result
    return result


def parse_header_line(raw: bytes) -> Header:
    """One header line (folding allowed) as a :class:`Header`; no value validation."""
    text = _decode(raw, "header line")
    colon = text.find(":")
    if colon <= 0:
        raise RemoteProtocolError(f"header line without a name: {raw[:80]!r}", raw=raw)
    name = _name_and_key(text[:colon], raw)[0]
    value = text[colon + 1 :]
    if "\r\n" in value:
        value = _unfold_value(value)
    return Header(name=name, value=value.strip(" \t"), raw=raw)


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(f"{what} is not UTF-8: {exc}", raw=data) from exc


def parse_message(data: bytes, *, stream: bool = False) -> SipMessage:
    """Parse one SIP message; RemoteProtocolError (never another exception) if invalid.

    For a datagram (``stream=False``), octets after Content-Length are ignored (RFC 3261
    18.3, RFC 4475 dblreq); a missing Content-Length means the body runs to the end.
    For a stream, Content-Length is mandatory and ``data`` must be exactly one message
    (use :class:`StreamParser` for framing).

    The well-known headers are validated here (RFC 4475 3.1.2): Via, From, To, Contact,
    Route, Record-Route, CSeq (and its method against the request's), Max-Forwards,
    Expires, Date, Warning, Retry-After, Content-Length, Content-Type, the Request-URI,
    the version and the status code. Semantic checks that a valid-syntax message may
    fail (required headers, repeated single headers) are in :func:`check_semantics`.
    """
    try:
        return _parse_message(data, stream)
    except RemoteProtocolError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise RemoteProtocolError(f"unparseable message: {exc}", raw=data) from exc


def _parse_message(data: bytes, stream: bool) -> SipMessage:
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError(f"message larger than {MAX_MESSAGE_SIZE} bytes")
    # Tolerate leading CRLFs (keep-alives / RFC 3261 7.5).
    if data[:2] == CRLF:
        start = 0
        while data.startswith(CRLF, start):
            start += 2
        data = data[start:]
    idx = data.find(b"\r\n\r\n")
    if idx < 0:
        raise RemoteProtocolError("no empty line ending the header section", raw=data)
    head = data[:idx]
    text = _decode(head, "header section")
    blines, tlines, folded = _lines(head, text)
    names: list[str] = []
    values: list[str] = []
    keys: list[str] = []
    cl_value: str | None = None
    cache = _NAME_CACHE
    valid = _VALID_CACHE
    for i, line in enumerate(tlines):
        if not i:
            continue
        colon = line.find(":")
        nk = cache.get(line[:colon]) if colon > 0 else None
        if nk is None:
            if colon <= 0:
                raise RemoteProtocolError(f"header line without a name: {line[:80]!r}", raw=data)
            nk = _name_and_key(line[:colon], line.encode() if blines is None else blines[i])
        name, key, plan = nk
        value = line[colon + 1 :]
        if folded and "\r\n" in value:
            value = _unfold_value(value)
        value = value.strip(" \t")
        if plan is not None:
            if "\n" in value or "\r" in value:
                # no grammar of a validated header admits a bare CR or LF; say so at once,
                # before a list grammar backtracks over the blanks in front of it
                raise RemoteProtocolError(f"bare CR or LF in the {name} header field", raw=data)
            fast, check, remember = plan
            if not remember:
                if fast is None or fast(value) is None:
                    check(value)
                if key == "content-length":
                    if cl_value is not None:
                        raise RemoteProtocolError("several Content-Length headers", raw=data)
                    cl_value = value
            elif (key, value) not in valid:
                if fast is None or fast(value) is None:
                    check(value)
                if len(valid) >= _VALID_CACHE_MAX:
                    valid.clear()
                valid.add((key, value))
        names.append(name)
        values.append(value)
        keys.append(key)
    headers = Headers.from_parsed(names, values, None if blines is None else blines[1:], keys, head)
    rest_start = idx + 4
    if cl_value is not None:
        length = int(cl_value)
        if rest_start + length > len(data):
            raise RemoteProtocolError(
                f"Content-Length {length} larger than the {len(data) - rest_start} body bytes"
                " present",
                raw=data,
            )
        end = rest_start + length
    else:
        if stream:
            raise RemoteProtocolError("missing Content-Length on a stream transport", raw=data)
        end = len(data)
    body = data[rest_start:end]
    raw_msg = data[:end] if end != len(data) else data
    msg = _build_from_start_line(tlines[0], headers, body, raw_msg)
    if "cseq" not in keys:
        return msg
    for c, key in zip(values, keys, strict=True):
        if key != "cseq":
            continue
        _, method = parse_cseq(c)
        if isinstance(msg, SipRequest) and method != msg.method:
            raise RemoteProtocolError(
                f"CSeq method {method!r} differs from the request method {msg.method!r}",
                raw=data,
            )
    return msg


def _build_from_start_line(first: str, headers: Headers, body: bytes, raw: bytes) -> SipMessage:
    if first[:4].upper() == "SIP/":
        parts = first.split(" ", 2)
        if len(parts) < 2:
            raise RemoteProtocolError(f"invalid status line {first!r}", raw=raw)
        version, code = parts[0], parts[1]
        reason = parts[2] if len(parts) == 3 else ""
        if version.upper() != SIP_VERSION:
            raise RemoteProtocolError(f"unsupported version {version!r}", raw=raw)
        if len(code) != 3 or not _is_digits(code) or not 100 <= int(code) <= 699:
            raise RemoteProtocolError(f"invalid status code {code[:20]!r}", raw=raw)
        if "\r" in reason or "\n" in reason:
            raise RemoteProtocolError("CR or LF in the reason phrase", raw=raw)
        return _new_response(headers, body, version, raw, int(code), reason)
    parts = first.split(" ")
    if len(parts) != 3 or not all(parts):
        raise RemoteProtocolError(
            f"invalid request line {first[:200]!r} (exactly one SP between three elements)",
            raw=raw,
        )
    method, uri, version = parts
    if method not in _KNOWN_METHODS and not is_token(method):
        raise RemoteProtocolError(f"invalid method {method!r}", raw=raw)
    if version.upper() != SIP_VERSION:
        raise RemoteProtocolError(f"unsupported version {version!r}", raw=raw)
    if ("request-uri", uri) not in _VALID_CACHE:
        check_request_uri(uri)
        _VALID_CACHE.add(("request-uri", uri))
    return _new_request(headers, body, version, raw, method, uri)


@dataclass
class StreamParser:
    """Frames SIP messages out of a TCP byte stream by Content-Length (RFC 3261 18.3).

    Any split of the stream gives the same messages. A framing error is returned as a
    :class:`RemoteProtocolError` in the output list; after one, the stream is unusable
    (``broken`` is set) because message boundaries are lost.
    """

    max_size: int = MAX_MESSAGE_SIZE
    _buf: bytearray = field(default_factory=bytearray)
    broken: bool = False

    def feed(self, data: bytes) -> list[SipMessage | RemoteProtocolError]:
        if self.broken:
            return []
        self._buf.extend(data)
        out: list[SipMessage | RemoteProtocolError] = []
        while True:
            # Skip keep-alive CRLFs between messages (RFC 5626 3.5.1).
            while self._buf[:2] == CRLF:
                del self._buf[:2]
            idx = self._buf.find(b"\r\n\r\n")
            if idx < 0:
                if len(self._buf) > self.max_size:
                    self.broken = True
                    out.append(RemoteProtocolError("header section exceeds the size bound"))
                return out
            head = bytes(self._buf[:idx])
            length = _content_length_of(head)
            if isinstance(length, RemoteProtocolError):
                self.broken = True
                out.append(length)
                return out
            total = idx + 4 + length
            if total > self.max_size:
                self.broken = True
                out.append(RemoteProtocolError(f"message of {total} bytes exceeds the size bound"))
                return out
            if len(self._buf) < total:
                return out
            chunk = bytes(self._buf[:total])
            del self._buf[:total]
            try:
                out.append(parse_message(chunk, stream=True))
            except RemoteProtocolError as exc:
                out.append(exc)


def _content_length_of(head: bytes) -> int | RemoteProtocolError:
    found: list[int] = []
    for line in _unfold(head)[1:]:
        colon = line.find(b":")
        if colon <= 0:
            continue
        if header_key(line[:colon].decode("latin-1")) == "content-length":
            text = line[colon + 1 :].strip()
            if not text.isdigit():
                return RemoteProtocolError(f"invalid Content-Length {text!r}", raw=head)
            found.append(int(text))
    if not found:
        return RemoteProtocolError("missing Content-Length on a stream transport", raw=head)
    if len(set(found)) > 1 or len(found) > 1:
        return RemoteProtocolError("several Content-Length headers", raw=head)
    return found[0]


def require_single(msg: SipMessage, name: str) -> str:
    """The one value of a single-valued header; RemoteProtocolError if absent or repeated."""
    lines = msg.headers.lines(name)
    if not lines:
        raise RemoteProtocolError(f"missing {name}", raw=msg.raw)
    if len(lines) > 1 or (header_key(name) in LIST_HEADERS and len(split_list(lines[0].value)) > 1):
        raise RemoteProtocolError(f"{name} appears more than once", raw=msg.raw)
    return lines[0].value


#: RFC 3261 8.1.1: headers every request (and response) carries.
REQUIRED_HEADERS: tuple[str, ...] = ("To", "From", "Call-ID", "CSeq", "Via")


def check_semantics(msg: SipMessage) -> None:
    """RemoteProtocolError if a syntactically valid message is semantically unusable.

    - a required header (To, From, Call-ID, CSeq, Via) is missing (RFC 4475 3.3.1 insuf);
    - a single-valued header appears more than once (RFC 4475 3.3.8 multi01);
    - the CSeq method differs from the request method (RFC 4475 3.1.2.17).
    """
    for name in REQUIRED_HEADERS:
        if not msg.headers.has(name):
            raise RemoteProtocolError(f"missing required header {name}", raw=msg.raw)
    for name in (
        "To",
        "From",
        "Call-ID",
        "CSeq",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Expires",
    ):
        if len(msg.headers.lines(name)) > 1:
            raise RemoteProtocolError(f"{name} appears more than once", raw=msg.raw)
    _, method = msg.cseq
    if isinstance(msg, SipRequest) and method != msg.method:
        raise RemoteProtocolError(f"CSeq method {method} differs from {msg.method}", raw=msg.raw)


__all__ = [
    "COMPACT_FORMS",
    "CRLF",
    "LIST_HEADERS",
    "MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "REQUIRED_HEADERS",
    "SINGLE_HEADERS",
    "SIP_VERSION",
    "Header",
    "Headers",
    "LocalProtocolError",
    "SipMessage",
    "SipRequest",
    "SipResponse",
    "StreamParser",
    "build_request",
    "build_response",
    "check_semantics",
    "header_key",
    "is_token",
    "parse_cseq",
    "parse_header_line",
    "parse_message",
    "require_single",
    "serialize",
    "split_list",
    "with_headers",
]
