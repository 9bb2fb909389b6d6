"""MSRP sessions and connections, two sans-IO peers joined in memory (RFC 4975 7, 8)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conformance.errors import LocalProtocolError
from conformance.protocol.msrp import (
    ByteRange,
    ChunkReceived,
    ConnectionClosed,
    ConnectionState,
    KeepAliveReceived,
    MessageAborted,
    MessageReceived,
    MsrpConfig,
    MsrpConnection,
    MsrpEvent,
    MsrpParser,
    MsrpRequest,
    MsrpResponse,
    MsrpSession,
    MsrpSyntaxError,
    ProtocolViolation,
    ReportReceived,
    RequestReceived,
    ResponseReceived,
    Status,
    TransactionState,
    TransactionTimedOut,
    build_send,
    parse_uri,
)

A_URI = parse_uri("msrp://127.0.0.1:7001/alice1;tcp")
B_URI = parse_uri("msrp://127.0.0.1:7002/bob22;tcp")
MAX_ROUNDS = 50


@dataclass
class PeerPair:
    """Two connections joined in memory, with a fake clock."""

    a: MsrpConnection
    b: MsrpConnection
    sa: MsrpSession
    sb: MsrpSession
    now: float = 1000.0
    a_events: list[MsrpEvent] = field(default_factory=list)
    b_events: list[MsrpEvent] = field(default_factory=list)
    wire_a_to_b: bytearray = field(default_factory=bytearray)
    wire_b_to_a: bytearray = field(default_factory=bytearray)

    def pump(self, segment: int = 1 << 20) -> None:
        """Move bytes both ways until quiet; bounded, never waits on a real clock."""
        for _ in range(MAX_ROUNDS):
            out_a, out_b = self.a.data_to_send(), self.b.data_to_send()
            if not out_a and not out_b:
                return
            self.wire_a_to_b += out_a
            self.wire_b_to_a += out_b
            for i in range(0, len(out_a), segment):
                self.b_events += self.b.receive_data(out_a[i : i + segment], self.now)
            for i in range(0, len(out_b), segment):
                self.a_events += self.a.receive_data(out_b[i : i + segment], self.now)
        raise AssertionError("peers did not go quiet")

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for conn, events in ((self.a, self.a_events), (self.b, self.b_events)):
            deadline = conn.next_deadline()
            if deadline is not None and deadline <= self.now:
                events += conn.handle_timeout(self.now)


def make_pair(config: MsrpConfig | None = None) -> PeerPair:
    a, b = MsrpConnection(config), MsrpConnection(config)
    sa = a.add_session(MsrpSession(A_URI, B_URI))
    sb = b.add_session(MsrpSession(B_URI, [A_URI]))
    return PeerPair(a, b, sa, sb)


def of(events: list[MsrpEvent], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def wire_messages(data: bytes) -> list:  # type: ignore[type-arg]
    parser = MsrpParser()
    return parser.feed(bytes(data)) + parser.eof()


def test_chunked_100k_message_with_success_report() -> None:
    pair = make_pair()
    body = bytes(i % 251 for i in range(100 * 1024))
    chunks = pair.a.send_message(
        pair.sa, body, "message/cpim", pair.now, success_report="yes", chunk_size=2048
    )
    assert len(chunks) == 50
    assert pair.a.next_deadline() == pair.now + 30.0
    pair.pump(segment=1500)  # TCP-like segments that split messages

    (received,) = of(pair.b_events, MessageReceived)
    assert received.session is pair.sb
    assert received.body == body
    assert received.content_type == "message/cpim"
    assert received.message_id == chunks[0].message_id
    assert received.chunk_sizes == (2048,) * 50
    assert len(of(pair.b_events, ChunkReceived)) == 50
    assert of(pair.b_events, ProtocolViolation) == []

    responses = of(pair.a_events, ResponseReceived)
    assert [r.response.status_code for r in responses] == [200] * 50
    assert [r.request for r in responses] == chunks
    assert all(t.state is TransactionState.COMPLETED for t in pair.a.transactions)
    assert pair.a.next_deadline() is None

    (report,) = of(pair.a_events, ReportReceived)
    assert report.session is pair.sa
    assert report.status == Status("000", 200, "OK")
    assert report.message_id == chunks[0].message_id
    assert report.byte_range == ByteRange(1, len(body), len(body))
    assert report.report.to_path == (A_URI,)
    assert report.report.from_path == (B_URI,)
    # the REPORT is not answered, and comes after the last 200
    kinds = [
        (m.method if isinstance(m, MsrpRequest) else m.status_code)
        for m in wire_messages(pair.wire_b_to_a)
    ]
    assert kinds == [200] * 50 + ["REPORT"]
    assert of(pair.b_events, ProtocolViolation) == []


def test_no_report_without_success_report() -> None:
    pair = make_pair()
    pair.a.send_message(pair.sa, b"hello", "text/plain", pair.now)
    pair.pump()
    assert len(of(pair.b_events, MessageReceived)) == 1
    assert of(pair.a_events, ReportReceived) == []


def test_response_paths_are_swapped() -> None:
    pair = make_pair()
    pair.a.send_message(pair.sa, b"hello", "text/plain", pair.now)
    pair.pump()
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.to_path == (A_URI,)
    assert response.response.from_path == (B_URI,)


def test_unknown_session_gets_481() -> None:
    pair = make_pair()
    stranger = parse_uri("msrp://127.0.0.1:7002/nobody;tcp")
    request = build_send(stranger, A_URI, "m1", b"hi", "text/plain")
    pair.a.send_request(request, pair.now)
    pair.pump()
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.status_code == 481
    assert response.response.from_path == (stranger,)
    (violation,) = of(pair.b_events, ProtocolViolation)
    assert violation.error.raw == request.to_bytes()
    assert of(pair.b_events, MessageReceived) == []


def test_report_for_unknown_session_gets_no_response() -> None:
    pair = make_pair()
    stranger = parse_uri("msrp://127.0.0.1:7002/nobody;tcp")
    report = MsrpRequest(
        "rep12345",
        "REPORT",
        (
            ("To-Path", str(stranger)),
            ("From-Path", str(A_URI)),
            ("Message-ID", "m"),
            ("Byte-Range", "1-1/1"),
            ("Status", "000 200 OK"),
        ),
    )
    pair.a.send_request(report, pair.now)
    pair.pump()
    assert pair.wire_b_to_a == b""
    assert len(of(pair.b_events, ProtocolViolation)) == 1


def test_failure_report_no_gives_no_response_and_no_timer() -> None:
    pair = make_pair()
    pair.a.send_message(pair.sa, b"quiet", "text/plain", pair.now, failure_report="no")
    assert pair.a.next_deadline() is None
    pair.pump()
    assert len(of(pair.b_events, MessageReceived)) == 1
    assert pair.wire_b_to_a == b""


def test_failure_report_partial_gives_only_errors() -> None:
    pair = make_pair()
    pair.a.send_message(pair.sa, b"fine", "text/plain", pair.now, failure_report="partial")
    pair.pump()
    assert pair.wire_b_to_a == b""
    stranger = parse_uri("msrp://127.0.0.1:7002/nobody;tcp")
    bad = build_send(stranger, A_URI, "m2", b"x", "text/plain", failure_report="partial")
    pair.a.send_request(bad, pair.now)
    pair.pump()
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.status_code == 481


def test_transaction_timeout() -> None:
    pair = make_pair(MsrpConfig(transaction_timeout=2.0))
    (chunk,) = pair.a.send_message(pair.sa, b"lost", "text/plain", pair.now)
    pair.a.data_to_send()  # the bytes are lost on the way
    assert pair.a.next_deadline() == pair.now + 2.0
    pair.advance(1.999)
    assert of(pair.a_events, TransactionTimedOut) == []
    pair.advance(0.001)
    (timeout,) = of(pair.a_events, TransactionTimedOut)
    assert timeout.request == chunk
    assert timeout.session is pair.sa
    assert pair.a.transaction(chunk.tid) is not None
    assert pair.a.transaction(chunk.tid).state is TransactionState.TIMED_OUT  # type: ignore[union-attr]
    assert pair.a.next_deadline() is None
    # a late response is evidence, not a crash
    pair.b.receive_data(chunk.to_bytes(), pair.now)
    pair.pump()
    (late,) = of(pair.a_events, ProtocolViolation)
    assert "timed-out" in late.error.message


def test_default_transaction_timeout_is_30_seconds() -> None:
    assert MsrpConfig().transaction_timeout == 30.0


def test_abort() -> None:
    pair = make_pair()
    first = build_send(B_URI, A_URI, "m1", b"abc", "text/plain", ByteRange(1, 3, 9), "+")
    abort = build_send(B_URI, A_URI, "m1", b"de", "text/plain", ByteRange(4, None, 9), "#")
    pair.a.send_request(first, pair.now)
    pair.a.send_request(abort, pair.now)
    pair.pump()
    (aborted,) = of(pair.b_events, MessageAborted)
    assert aborted.message_id == "m1" and aborted.received == 5
    assert aborted.chunks == (first, abort)
    assert of(pair.b_events, MessageReceived) == []
    assert len(of(pair.a_events, ResponseReceived)) == 2


def test_keepalive() -> None:
    pair = make_pair()
    sent = pair.a.send_keepalive(pair.sa, pair.now)
    pair.pump()
    (keepalive,) = of(pair.b_events, KeepAliveReceived)
    assert keepalive.request == sent
    assert of(pair.b_events, MessageReceived) == []
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.status_code == 200


def test_unknown_method_gets_501() -> None:
    pair = make_pair()
    request = MsrpRequest("auth1234", "AUTH", (("To-Path", str(B_URI)), ("From-Path", str(A_URI))))
    pair.a.send_request(request, pair.now)
    pair.pump()
    assert len(of(pair.b_events, RequestReceived)) == 1
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.status_code == 501


def test_malformed_request_gets_400_and_connection_survives() -> None:
    pair = make_pair()
    bad = build_send(B_URI, A_URI, "m1", b"abc", "text/plain").with_header("Byte-Range", "1-x/3")
    pair.a.send_request(bad, pair.now)
    pair.pump()
    (violation,) = of(pair.b_events, ProtocolViolation)
    assert isinstance(violation.error, MsrpSyntaxError) and not violation.error.fatal
    assert violation.session is pair.sb
    (response,) = of(pair.a_events, ResponseReceived)
    assert response.response.status_code == 400
    pair.a.send_message(pair.sa, b"ok", "text/plain", pair.now)
    pair.pump()
    assert pair.b.state is ConnectionState.OPEN
    assert len(of(pair.b_events, MessageReceived)) == 1


def test_missing_to_path_cannot_be_answered() -> None:
    pair = make_pair()
    bad = build_send(B_URI, A_URI, "m1", b"abc", "text/plain").with_header("To-Path", None)
    pair.a.send_raw(bad.to_bytes())
    pair.pump()
    (violation,) = of(pair.b_events, ProtocolViolation)
    assert "To-Path" in violation.error.message
    assert pair.wire_b_to_a == b""


def test_framing_error_breaks_the_connection() -> None:
    pair = make_pair()
    good = build_send(B_URI, A_URI, "m1", b"", None, tid="good1234")
    pair.a.send_raw(good.to_bytes(end_tid="bad99999"))
    pair.a.send_message(pair.sa, b"never seen", "text/plain", pair.now)
    pair.pump()
    (violation,) = of(pair.b_events, ProtocolViolation)
    assert isinstance(violation.error, MsrpSyntaxError) and violation.error.fatal
    assert pair.b.state is ConnectionState.BROKEN
    assert of(pair.b_events, MessageReceived) == []
    assert pair.b.connection_lost() == [ConnectionClosed()]
    assert pair.b.state is ConnectionState.CLOSED


def test_connection_lost_mid_message() -> None:
    pair = make_pair()
    data = build_send(B_URI, A_URI, "m1", b"abc", "text/plain").to_bytes()
    assert pair.b.receive_data(data[:-5], pair.now) == []
    events = pair.b.connection_lost()
    assert isinstance(events[0], ProtocolViolation) and isinstance(events[1], ConnectionClosed)
    with pytest.raises(LocalProtocolError):
        pair.b.send_raw(b"x")


def test_unsolicited_response_is_a_violation() -> None:
    pair = make_pair()
    response = MsrpResponse(
        "nope1234", 200, "OK", (("To-Path", str(B_URI)), ("From-Path", str(A_URI)))
    )
    events = pair.b.receive_data(response.to_bytes(), pair.now)
    assert isinstance(events[0], ProtocolViolation)


def test_demux_by_session_id_accepts_cema_next_hop_authority() -> None:
    # RFC 6714: the To-Path may name another authority than the connection's; the
    # session-id decides.
    pair = make_pair()
    elsewhere = parse_uri("msrp://sbc.example.net:9999/bob22;tcp")
    pair.a.send_request(build_send(elsewhere, A_URI, "m1", b"hi", "text/plain"), pair.now)
    pair.pump()
    (received,) = of(pair.b_events, MessageReceived)
    assert received.session is pair.sb


def test_two_sessions_on_one_connection() -> None:
    pair = make_pair()
    other_a = parse_uri("msrp://127.0.0.1:7001/alice2;tcp")
    other_b = parse_uri("msrp://127.0.0.1:7002/bob33;tcp")
    sa2 = pair.a.add_session(MsrpSession(other_a, other_b))
    sb2 = pair.b.add_session(MsrpSession(other_b, other_a))
    pair.a.send_message(sa2, b"two", "text/plain", pair.now)
    pair.a.send_message(pair.sa, b"one", "text/plain", pair.now)
    pair.pump()
    got = {e.session.session_id: e.body for e in of(pair.b_events, MessageReceived)}
    assert got == {"bob33": b"two", "bob22": b"one"}
    assert sb2.session_id == "bob33"


def test_misuse_is_local() -> None:
    pair = make_pair()
    with pytest.raises(LocalProtocolError):
        pair.a.add_session(MsrpSession(A_URI, B_URI))
    with pytest.raises(LocalProtocolError):
        MsrpSession(parse_uri("msrp://h:1;tcp"), B_URI)
    stray = MsrpSession(parse_uri("msrp://h:1/zz;tcp"), B_URI)
    with pytest.raises(LocalProtocolError):
        pair.a.send_message(stray, b"x", "text/plain", pair.now)
    request = build_send(B_URI, A_URI, "m", tid="same1234")
    pair.a.send_request(request, pair.now)
    with pytest.raises(LocalProtocolError):
        pair.a.send_request(request, pair.now)
