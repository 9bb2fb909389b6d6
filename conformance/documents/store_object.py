"""Objects in the CPM Message Store: RFC 5322 messages with CPM headers.

A CPM Participating Function keeps, per CPM Group Session, a Session History Folder
named after the Contribution-ID. It holds a Session Info Object (the SIP INVITE request
data) and Group State Objects (``application/group-state-object+xml``). Each stored
object is an RFC 5322 message whose header fields include ``Conversation-ID``,
``Contribution-ID``, ``IMDN-Message-ID``, ``Message-Direction``, ``Date`` and
``Content-Type``.

This module builds such a message (:func:`build_store_object`) and parses one read back
from a store (:func:`parse_store_object`). The parser works on bytes: it keeps every
header field in order (names as written, values unfolded), never decodes the body, and
is bounded in size and header count. Whatever the store holds is untrusted; the only
exception the parser raises is :class:`~conformance.errors.RemoteProtocolError`.

Media types are compared case-insensitively (RFC 2045 5.1): real stores write
``Application/group-state-object+xml``.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from conformance.errors import LocalProtocolError, RemoteProtocolError

#: Content type of a Group State Object (PROTOCOL_NOTES "Group State Object").
GROUP_STATE_CONTENT_TYPE = "application/group-state-object+xml"
#: Content type used for the Session Info Object written by the reference SUT. The
#: seeds name the object but not its type; readers must not judge by this value alone.
SESSION_INFO_CONTENT_TYPE = "application/x-cpm-session"

#: Largest stored object the parser accepts (bytes).
MAX_OBJECT_SIZE = 8 * 1024 * 1024
#: Most header fields the parser accepts in one object.
MAX_HEADER_FIELDS = 256
#: Longest unfolded header field the parser accepts (bytes).
MAX_FIELD_LENGTH = 64 * 1024
#: RFC 5322 2.1.1: a line SHALL NOT exceed 998 characters (the builder's limit).
MAX_LINE_LENGTH = 998

CONVERSATION_ID = "Conversation-ID"
CONTRIBUTION_ID = "Contribution-ID"
IMDN_MESSAGE_ID = "IMDN-Message-ID"
MESSAGE_DIRECTION = "Message-Direction"

# RFC 5322 3.6.8: field-name = 1*ftext; ftext = %d33-57 / %d59-126
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_FIELD_NAME_STR = re.compile(r"[\x21-\x39\x3b-\x7e]+")


# -- Session History Folder names ---------------------------------------------------------
#
# The PF names a Session History Folder after the Contribution-ID (seed 003, 8.3.2.1 step
# 2.a). Contribution-IDs may hold characters a mailbox name cannot carry as is. The mapping
# below is what this project writes (reference SUT, Maildir and IMAP alike) and what the
# reader tries first:
#
# - the hierarchy separator is "/" (Dovecot LAYOUT=fs), so "/" is percent-encoded, and so
#   are "%" itself, the IMAP wildcards "*" (and "%"), the quoting characters "\\" and '"',
#   control characters and DEL, as %XX of their UTF-8 bytes;
# - a leading "." or "~" is encoded (hidden or home-relative names on file systems), and
#   so is the first letter of a name equal to INBOX, cur, new or tmp (case-insensitive);
# - every other character stays, "." and "@" included; non-ASCII stays Unicode and goes
#   on the wire and on disk in modified UTF-7 (RFC 3501 5.1.3).
#
# A name needing none of this (the usual case) is the Contribution-ID itself.

_FOLDER_UNSAFE = frozenset('%/\\*"') | frozenset(chr(c) for c in (*range(0x20), 0x7F))
_FOLDER_RESERVED = frozenset({"inbox", "cur", "new", "tmp"})


def _pct(char: str) -> str:
    return "".join(f"%{b:02X}" for b in char.encode("utf-8"))


def session_history_folder(contribution_id: str) -> str:
    """The mailbox name of the Session History Folder for ``contribution_id``."""
    if not contribution_id:
        raise LocalProtocolError("empty Contribution-ID has no Session History Folder")
    out = [_pct(c) if c in _FOLDER_UNSAFE else c for c in contribution_id]
    if contribution_id[0] in ".~" or contribution_id.lower() in _FOLDER_RESERVED:
        out[0] = _pct(contribution_id[0])
    return "".join(out)


def contribution_id_of_folder(folder: str) -> str:
    """The inverse of :func:`session_history_folder` (invalid escapes are kept as is)."""
    if "%" not in folder:
        return folder
    out = bytearray()
    i = 0
    raw = folder.encode("utf-8")
    while i < len(raw):
        if raw[i : i + 1] == b"%" and len(raw) >= i + 3:
            try:
                out.append(int(raw[i + 1 : i + 3], 16))
                i += 3
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode("utf-8", "replace")


def media_type(content_type: str | None) -> str:
    """The ``type/subtype`` of a Content-Type value, lower-cased, without parameters."""
    if content_type is None:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def same_media_type(a: str | None, b: str | None) -> bool:
    """True when two Content-Type values name the same media type (case-insensitive)."""
    return media_type(a) == media_type(b) != ""


@dataclass(frozen=True, slots=True)
class StoreMessage:
    """A parsed stored object: its header fields in order, its body and its raw bytes."""

    #: (name, value) in the order written; names as written, values unfolded and stripped
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw: bytes

    def header(self, name: str) -> str | None:
        """The first value of header field ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        """Every value of header field ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def content_type(self) -> str | None:
        """The Content-Type value as written (compare with :func:`same_media_type`)."""
        return self.header("Content-Type")

    @property
    def date(self) -> _dt.datetime | None:
        """The Date header as an aware datetime, or ``None`` if absent or unparsable."""
        return parse_date(self.header("Date"))


def parse_date(value: str | None) -> _dt.datetime | None:
    """An RFC 5322 date-time as an aware datetime; ``None`` when absent or invalid.

    A date without a zone (``-0000``) is taken as UTC.
    """
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.UTC)
    return parsed


def format_date(when: _dt.datetime) -> str:
    """``when`` as an RFC 5322 date-time (naive datetimes are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return email.utils.format_datetime(when)


def _check_field(name: str, value: str) -> None:
    if not _FIELD_NAME_STR.fullmatch(name):
        raise LocalProtocolError(f"invalid header field name {name!r}")
    if any(c in value for c in "\r\n\x00"):
        raise LocalProtocolError(f"header field {name} value contains CR, LF or NUL")
    if len(name.encode()) + 2 + len(value.encode()) > MAX_LINE_LENGTH:
        raise LocalProtocolError(f"header field {name} is longer than {MAX_LINE_LENGTH} octets")


def build_store_object(
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    content_type: str,
    date: _dt.datetime | None = None,
) -> bytes:
    """An RFC 5322 message: ``headers`` in order, then Date and Content-Type if absent.

    Lines end in CRLF, in the body too (:func:`canonical_lines`). Header values are
    written as given (UTF-8 for non-ASCII, as RFC 6532 allows); a value with CR/LF or a
    line over 998 octets raises :class:`LocalProtocolError`.
    """
    fields = [(str(n), str(v)) for n, v in headers]
    names = {n.lower() for n, _ in fields}
    if "date" not in names:
        fields.append(("Date", format_date(date or _dt.datetime.now(_dt.UTC))))
    if "content-type" not in names:
        fields.append(("Content-Type", content_type))
    elif not any(
        n.lower() == "content-type" and same_media_type(v, content_type) for n, v in fields
    ):
        raise LocalProtocolError("Content-Type header disagrees with content_type")
    out = bytearray()
    for name, value in fields:
        _check_field(name, value)
        out += f"{name}: {value}\r\n".encode()
    out += b"\r\n"
    out += canonical_lines(body)
    return bytes(out)


def canonical_lines(data: bytes) -> bytes:
    """``data`` with every line ending as CRLF (RFC 5322 2.3).

    IMAP servers hand messages out in this form whatever was appended, so the builder
    writes it too: the same bytes come back from a Maildir and from IMAP.
    """
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def build_group_state_object(
    document: bytes,
    *,
    conversation_id: str,
    contribution_id: str,
    imdn_message_id: str,
    direction: str = "In",
    date: _dt.datetime | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A stored Group State Object around the XML ``document`` (bytes, not parsed here)."""
    return build_store_object(
        [
            (CONVERSATION_ID, conversation_id),
            (CONTRIBUTION_ID, contribution_id),
            (IMDN_MESSAGE_ID, imdn_message_id),
            (MESSAGE_DIRECTION, direction),
            *extra,
        ],
        document,
        content_type=GROUP_STATE_CONTENT_TYPE,
        date=date,
    )


def build_session_info_object(
    invite: bytes,
    *,
    conversation_id: str,
    contribution_id: str,
    imdn_message_id: str,
    direction: str = "In",
    date: _dt.datetime | None = None,
    content_type: str = SESSION_INFO_CONTENT_TYPE,
    extra: Sequence[tuple[str, str]] = (),
) -> bytes:
    """A stored Session Info Object whose body is the SIP INVITE request data."""
    return build_store_object(
        [
            (CONVERSATION_ID, conversation_id),
            (CONTRIBUTION_ID, contribution_id),
            (IMDN_MESSAGE_ID, imdn_message_id),
            (MESSAGE_DIRECTION, direction),
            *extra,
        ],
        invite,
        content_type=content_type,
        date=date,
    )


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body; accepts CRLF and bare-LF line ends (stores differ)."""
    if raw.startswith((b"\r\n", b"\n")):
        return b"", raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if crlf < 0 and lf < 0:
        return raw, b""
    if lf < 0 or (0 <= crlf < lf):
        return raw[:crlf], raw[crlf + 4 :]
    return raw[:lf], raw[lf + 2 :]


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        # RFC 5322 is ASCII; RFC 6532 allows UTF-8. Anything else is kept visible.
        return value.decode("latin-1")


def parse_store_object(raw: bytes, *, max_size: int = MAX_OBJECT_SIZE) -> StoreMessage:
    """Parse a stored object read from a Message Store.

    Raises :class:`RemoteProtocolError` (with ``raw``) when the object is too large,
    has too many or too long header fields, a malformed field, or no header at all.
    """
    if not isinstance(raw, bytes | bytearray):
        raise RemoteProtocolError(f"stored object is {type(raw).__name__}, not bytes")
    raw = bytes(raw)
    if len(raw) > max_size:
        raise RemoteProtocolError(
            f"stored object is {len(raw)} bytes, over the limit of {max_size}", raw=raw[:1024]
        )
    head, body = _split_head(raw)
    lines = head.replace(b"\r\n", b"\n").split(b"\n") if head else []
    fields: list[tuple[bytes, bytearray]] = []
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise RemoteProtocolError("stored object starts with a folded line", raw=raw)
            fields[-1][1].extend(b" " + line.strip(b" \t"))
            if len(fields[-1][1]) > MAX_FIELD_LENGTH:
                raise RemoteProtocolError("stored object header field too long", raw=raw)
            continue
        name, sep, value = line.partition(b":")
        name = name.rstrip(b" \t")  # RFC 5322 4.5: obsolete WSP before the colon
        if not sep or not _FIELD_NAME.fullmatch(name):
            raise RemoteProtocolError(f"malformed header line {line[:80]!r}", raw=raw)
        if len(line) > MAX_FIELD_LENGTH:
            raise RemoteProtocolError("stored object header field too long", raw=raw)
        fields.append((name, bytearray(value.strip(b" \t"))))
        if len(fields) > MAX_HEADER_FIELDS:
            raise RemoteProtocolError(
                f"stored object has more than {MAX_HEADER_FIELDS} header fields", raw=raw
            )
    if not fields:
        raise RemoteProtocolError("stored object has no header fields", raw=raw)
    headers = tuple((n.decode("ascii"), _decode(bytes(v).strip())) for n, v in fields)
    return StoreMessage(headers=headers, body=body, raw=raw)


__all__ = [
    "CONTRIBUTION_ID",
    "CONVERSATION_ID",
    "GROUP_STATE_CONTENT_TYPE",
    "IMDN_MESSAGE_ID",
    "MAX_OBJECT_SIZE",
    "MESSAGE_DIRECTION",
    "SESSION_INFO_CONTENT_TYPE",
    "StoreMessage",
    "build_group_state_object",
    "build_session_info_object",
    "build_store_object",
    "canonical_lines",
    "contribution_id_of_folder",
    "format_date",
    "media_type",
    "parse_date",
    "parse_store_object",
    "same_media_type",
    "session_history_folder",
]
