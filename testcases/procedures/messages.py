"""Reading what the SUT sent: a SIP message as evidence, a bounded wait whose timeout fails
the requirement it tests, the MSRP media of an SDP, the first Warning.

A procedure reads; the only judgement it records is the one the test case names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import TypeVar

from conformance.checks import EvidenceRef, VerdictRecorder, check, evidence
from conformance.errors import ProtocolError, RemoteProtocolError
from conformance.net.capture import CaptureRecord
from conformance.net.clock import WaitTimeout
from conformance.net.msrp_pump import MsrpTransactionTimeoutError
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.msrp.session import MessageReceived
from conformance.protocol.sip.headers import get_warnings
from conformance.protocol.sip.message import SipMessage
from conformance.protocol.sip.sdp import MediaDescription, parse_sdp
from conformance.roles.client import sdp_of

T = TypeVar("T")

#: a bounded wait for the SUT ran out (a SIP or MSRP transaction, or an awaited event)
SUT_SILENCE: tuple[type[Exception], ...] = (
    WaitTimeout,
    TransactionTimeoutError,
    MsrpTransactionTimeoutError,
)
#: what driving a dialog or MSRP session with the SUT can raise: the SUT silent, a
#: dialog or transaction already ended (LocalProtocolError), bytes of the SUT that do not
#: parse (RemoteProtocolError), a connection the SUT closed (OSError). A tool bug (any
#: other exception) still surfaces as ``error``.
PEER_ERRORS: tuple[type[Exception], ...] = (*SUT_SILENCE, ProtocolError, OSError)


def sip_evidence(message: SipMessage, description: str) -> EvidenceRef:
    """Evidence pointing at a SIP message: its first line and its raw bytes."""
    return evidence("sip", description, message.first_line(), message.raw)


async def expect_arrival(
    recorder: VerdictRecorder,
    requirement: str,
    awaited: Awaitable[T],
    *,
    expected: str,
    evidence: list[EvidenceRef] | None = None,
) -> T | None:
    """Wait for something the requirement says the SUT sends, and judge the wait: it is a
    check of ``requirement`` that passes when the thing arrives within the bounded wait and
    fails (not an inconclusive case) when the wait runs out; None then."""
    result: T | None = None
    missing: Exception | None = None
    try:
        result = await awaited
    except (WaitTimeout, TransactionTimeoutError) as exc:
        missing = exc
    check(
        recorder,
        requirement,
        ok=missing is None,
        expected=expected,
        actual=(
            f"nothing within the guard time ({missing})"
            if missing is not None
            else f"arrived: {describe(result)}"
        ),
        evidence=evidence,
    )
    return result


def first_record(records: Sequence[CaptureRecord], marker: bytes) -> CaptureRecord | None:
    """The first captured datagram or segment that holds ``marker`` (a message's start line
    or Via branch): where the message crossed the wire, for order checks."""
    return next((r for r in records if marker in r.data), None)


def crossed_before(first: CaptureRecord, second: CaptureRecord) -> bool:
    """``first`` was read before ``second``: by the records' times, then their order. In a
    parallel run a SIP request is read by the dispatcher and captured by the worker a relay
    hop later, with the dispatcher's time: the times, not the order of the records, say
    which of a SIP and an MSRP message came first."""
    return (first.timestamp, first.index) < (second.timestamp, second.index)


def where(record: CaptureRecord | None) -> str:
    """A record's place for the evidence: its number and the time it was read."""
    if record is None:
        return "none"
    return f"capture record {record.index} at {record.timestamp:.6f}"


def msrp_marker(message: MessageReceived) -> bytes:
    """The start line of the last chunk of an MSRP message (``MSRP <tid> SEND``)."""
    return f"MSRP {message.chunks[-1].tid} SEND".encode()


def sip_marker(message: SipMessage) -> bytes:
    """The top Via branch of a SIP request (unique per transaction)."""
    via = message.headers.get("Via") or ""
    branch = via.partition("branch=")[2].split(";")[0].split(",")[0].strip()
    return f"branch={branch}".encode() if branch else message.first_line().encode()


def describe(observed: object) -> str:
    """A short, human description of an observed message, event or stored object."""
    request = getattr(observed, "request", None)
    for candidate in (observed, request):
        first_line = getattr(candidate, "first_line", None)
        if callable(first_line):
            return str(first_line())
    uid = getattr(observed, "uid", None)
    if uid is not None:
        return f"stored object UID {uid}"
    return type(observed).__name__


def msrp_media(message: SipMessage) -> MediaDescription | None:
    """The MSRP media description of a message's SDP (plain or the SDP part of a
    multipart body); None when there is no SDP, no MSRP m-line, or the SDP is invalid —
    the check that needs it then fails with None as the actual value."""
    try:
        return parse_sdp(sdp_of(message)).msrp
    except RemoteProtocolError:
        return None


def first_warning(message: SipMessage) -> tuple[int, str] | None:
    """(code, text) of the first Warning value (RFC 3261 20.43), None without one."""
    warnings = get_warnings(message)
    return (warnings[0].code, warnings[0].text) if warnings else None


__all__ = [
    "PEER_ERRORS",
    "SUT_SILENCE",
    "crossed_before",
    "describe",
    "expect_arrival",
    "first_record",
    "first_warning",
    "msrp_marker",
    "msrp_media",
    "sip_evidence",
    "sip_marker",
    "where",
]
