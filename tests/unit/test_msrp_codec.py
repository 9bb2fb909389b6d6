"""MSRP framing, message model, URIs and builders (RFC 4975 sections 6, 7 and 9)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance.errors import LocalProtocolError, RemoteProtocolError
from conformance.protocol.msrp import (
    ByteRange,
    MsrpParser,
    MsrpRequest,
    MsrpResponse,
    MsrpSyntaxError,
    MsrpUri,
    Status,
    build_report,
    build_response,
    build_send,
    match_report,
    match_response,
    match_send,
    parse_message,
    parse_path,
    parse_uri,
)

RFC_SEND = (
    b"MSRP a786hjs2 SEND\r\n"
    b"To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    b"From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
    b"Message-ID: 87652491\r\n"
    b"Byte-Range: 1-25/25\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"Hey Bob, are you there?\r\n"
    b"\r\n"
    b"-------a786hjs2$\r\n"
)
RFC_OK = (
    b"MSRP a786hjs2 200 OK\r\n"
    b"To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
    b"From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    b"-------a786hjs2$\r\n"
)

ALICE = parse_uri("msrp://alicepc.example.com:7777/iau39soe2843z;tcp")
BOB = parse_uri("msrp://bob.example.com:8888/9di4eae923wzd;tcp")


def feed_all(data: bytes, **limits: int) -> list[MsrpRequest | MsrpResponse | RemoteProtocolError]:
    parser = MsrpParser(**limits)
    return parser.feed(data) + parser.eof()


# -- parsing ---------------------------------------------------------------------------


def test_rfc_send_parses_with_raw_and_accessors() -> None:
    message = parse_message(RFC_SEND)
    assert isinstance(message, MsrpRequest)
    assert message.raw == RFC_SEND
    assert message.tid == "a786hjs2"
    assert message.method == "SEND"
    assert message.flag == "$"
    assert message.body == b"Hey Bob, are you there?\r\n"
    assert message.to_path == (BOB,)
    assert message.from_path == (ALICE,)
    assert message.message_id == "87652491"
    assert message.byte_range == ByteRange(1, 25, 25)
    assert message.content_type == "text/plain"
    assert message.success_report == "no"
    assert message.failure_report == "yes"
    assert message.header("content-type") == "text/plain"
    assert message.header_order == (
        "To-Path",
        "From-Path",
        "Message-ID",
        "Byte-Range",
        "Content-Type",
    )
    assert message.header_order_ok
    assert message.to_bytes() == RFC_SEND


def test_rfc_response_parses() -> None:
    message = parse_message(RFC_OK)
    assert isinstance(message, MsrpResponse)
    assert (message.tid, message.status_code, message.comment) == ("a786hjs2", 200, "OK")
    assert message.to_bytes() == RFC_OK


def test_response_without_comment() -> None:
    data = RFC_OK.replace(b" 200 OK", b" 200")
    message = parse_message(data)
    assert isinstance(message, MsrpResponse)
    assert message.comment is None
    assert message.to_bytes() == data


def test_two_messages_in_one_segment_and_byte_by_byte() -> None:
    stream = RFC_SEND + RFC_OK
    assert feed_all(stream) == [parse_message(RFC_SEND), parse_message(RFC_OK)]
    parser = MsrpParser()
    items = []
    for i in range(len(stream)):
        items += parser.feed(stream[i : i + 1])
    assert items == [parse_message(RFC_SEND), parse_message(RFC_OK)]
    assert parser.buffered == 0


def test_body_may_contain_other_end_lines_and_tid_prefixes() -> None:
    body = b"x\r\n-------other123$\r\n-------a786hjs2\r\n\r\n-------a786hjs2x$\r\ny"
    send = build_send(BOB, ALICE, "m1", body, "text/plain", tid="a786hjs2")
    (message,) = feed_all(send.to_bytes())
    assert isinstance(message, MsrpRequest)
    assert message.body == body


def test_header_order_is_exposed_not_rejected() -> None:
    data = RFC_SEND.replace(
        b"To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
        b"From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n",
        b"From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
        b"To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n",
    )
    message = parse_message(data)
    assert not message.header_order_ok
    assert message.header_order[:2] == ("From-Path", "To-Path")


def test_content_type_not_last_is_flagged() -> None:
    send = build_send(BOB, ALICE, "m1", b"hi", "text/plain", extra_headers=[("X-A", "1")])
    assert send.header_order_ok
    moved = MsrpRequest(send.tid, "SEND", (*send.headers, ("X-B", "2")), send.body)
    assert not parse_message(moved.to_bytes()).header_order_ok


def test_continuation_and_abort_flags() -> None:
    for flag in "+#$":
        send = build_send(BOB, ALICE, "m1", b"abc", "text/plain", ByteRange(1, 3, 10), flag=flag)
        assert parse_message(send.to_bytes()).flag == flag


# -- property: any split gives the same messages ----------------------------------------

_tids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-+%=]{3,12}", fullmatch=True)
_bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from([b"\r\n", b"-------", b"$", b"+", b"#", b"abcd", b"x", b"\r\n\r\n"]),
        max_size=30,
    ).map(b"".join),
)


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[MsrpRequest | MsrpResponse]]:
    messages: list[MsrpRequest | MsrpResponse] = []
    for _ in range(draw(st.integers(1, 4))):
        tid = draw(_tids)
        if draw(st.booleans()):
            body = draw(_bodies)
            assume(b"\r\n-------" + tid.encode() not in b"\r\n" + body + b"\r\n")
            brange = ByteRange(1, len(body), len(body))
            flag = draw(st.sampled_from("$+#"))
            messages.append(build_send(BOB, ALICE, "m1", body, "text/plain", brange, flag, tid=tid))
        else:
            request = build_send(BOB, ALICE, "m1", b"", None, tid=tid)
            messages.append(build_response(request, draw(st.sampled_from([200, 481])), "x"))
    return b"".join(m.to_bytes() for m in messages), messages


@settings(max_examples=200, deadline=None)
@given(_streams(), st.lists(st.integers(0, 2000), max_size=8))
def test_any_split_gives_the_same_messages(
    stream: tuple[bytes, list[MsrpRequest | MsrpResponse]], cuts: list[int]
) -> None:
    data, expected = stream
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    parser = MsrpParser()
    items: list[MsrpRequest | MsrpResponse | RemoteProtocolError] = []
    for piece in pieces:
        items += parser.feed(piece)
    items += parser.eof()
    assert items == expected
    assert b"".join(m.raw for m in items if not isinstance(m, RemoteProtocolError)) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_raises_only_remote_protocol_errors(data: bytes) -> None:
    parser = MsrpParser(max_header_size=128, max_chunk_size=128)
    for item in parser.feed(data) + parser.eof():
        assert isinstance(item, MsrpRequest | MsrpResponse | RemoteProtocolError)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 300))
def test_mutated_messages_raise_only_remote_protocol_errors(junk: bytes, at: int) -> None:
    data = RFC_SEND[:at] + junk + RFC_SEND[at:]
    parser = MsrpParser(max_header_size=256, max_chunk_size=256)
    for item in parser.feed(data) + parser.eof():
        if isinstance(item, MsrpRequest | MsrpResponse):
            for accessor in ("to_path", "from_path", "byte_range", "status", "success_report"):
                with contextlib.suppress(RemoteProtocolError):
                    getattr(item, accessor)
        else:
            assert isinstance(item, RemoteProtocolError)


# -- malformed input ---------------------------------------------------------------------


def test_bad_tid_in_end_line_without_body_is_fatal() -> None:
    parser = MsrpParser()
    (error,) = parser.feed(RFC_OK.replace(b"-------a786hjs2$", b"-------zzzzzzzz$"))
    assert isinstance(error, MsrpSyntaxError)
    assert error.fatal and error.tid == "a786hjs2"
    assert parser.broken
    assert parser.feed(RFC_OK) == []


def test_bad_tid_in_end_line_with_body_is_fatal_at_eof() -> None:
    parser = MsrpParser()
    assert parser.feed(RFC_SEND.replace(b"-------a786hjs2$", b"-------zzzzzzzz$")) == []
    (error,) = parser.eof()
    assert isinstance(error, MsrpSyntaxError) and error.fatal
    assert parser.broken


def test_bad_tid_in_end_line_with_body_is_fatal_at_max_chunk_size() -> None:
    parser = MsrpParser(max_chunk_size=100)
    data = RFC_SEND.replace(b"-------a786hjs2$", b"-------zzzzzzzz$")
    (error,) = parser.feed(data + b"y" * 200)
    assert isinstance(error, MsrpSyntaxError) and error.fatal


def test_missing_to_path_is_a_non_fatal_error_with_the_parsed_message() -> None:
    data = RFC_SEND.replace(b"To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n", b"")
    parser = MsrpParser()
    (error,) = parser.feed(data)
    assert isinstance(error, MsrpSyntaxError)
    assert not error.fatal
    assert error.tid == "a786hjs2"
    assert isinstance(error.parsed, MsrpRequest)
    assert error.raw == data
    assert "To-Path" in error.message
    assert not parser.broken
    assert parser.feed(RFC_OK) == [parse_message(RFC_OK)]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Byte-Range: 1-25/25", b"Byte-Range: one-25/25"),
        (b"Byte-Range: 1-25/25", b"Byte-Range: 1-24/25"),
        (b"Byte-Range: 1-25/25", b"Byte-Range: 0-24/25"),
        (b"Message-ID: 87652491", b"Message-ID: 87652491\r\nFailure-Report: maybe"),
        (b"Message-ID: 87652491", b"Message-ID: 87652491\r\nSuccess-Report: partial"),
        (b"To-Path: msrp://bob", b"To-Path: http://bob"),
        (b"Message-ID: 87652491", b"Message-ID 87652491"),
        (b"Content-Type: text/plain\r\n", b""),
    ],
)
def test_bad_headers_are_non_fatal_remote_errors(old: bytes, new: bytes) -> None:
    (error,) = feed_all(RFC_SEND.replace(old, new))
    assert isinstance(error, MsrpSyntaxError)
    assert not error.fatal


def test_byte_range_accessor_raises_remote_error() -> None:
    request = build_send(BOB, ALICE, "m1").with_header("Byte-Range", "1-x/5")
    with pytest.raises(RemoteProtocolError):
        request.byte_range  # noqa: B018


def test_report_without_status_is_an_error() -> None:
    report = build_report(ALICE, BOB, "m1", ByteRange(1, 5, 5)).with_header("Status", None)
    (error,) = feed_all(report.to_bytes())
    assert isinstance(error, MsrpSyntaxError) and not error.fatal


def test_huge_header_is_fatal() -> None:
    data = RFC_SEND.replace(b"Message-ID: 87652491", b"X-Big: " + b"a" * 5000)
    parser = MsrpParser(max_header_size=1024)
    (error,) = parser.feed(data)
    assert isinstance(error, MsrpSyntaxError) and error.fatal
    # also when the CRLF never comes
    parser = MsrpParser(max_header_size=1024)
    assert parser.feed(b"MSRP a786hjs2 SEND\r\nX-Big: ") == []
    (error,) = parser.feed(b"a" * 2000)
    assert isinstance(error, MsrpSyntaxError) and error.fatal


def test_body_over_max_chunk_size_is_fatal() -> None:
    send = build_send(BOB, ALICE, "m1", b"z" * 500, "text/plain")
    (error,) = MsrpParser(max_chunk_size=100).feed(send.to_bytes())
    assert isinstance(error, MsrpSyntaxError) and error.fatal


@pytest.mark.parametrize(
    "start",
    [
        b"HTTP/1.1 200 OK\r\n",
        b"MSRP a7 SEND\r\n",  # tid too short for ident
        b"MSRP a786hjs2\r\n",
        b"MSRP a786hjs2 send\r\n",
        b"MSRP a786hjs2 20 OK\r\n",
        b"\r\nMSRP a786hjs2 SEND\r\n",
    ],
)
def test_bad_start_lines_are_fatal(start: bytes) -> None:
    (error,) = feed_all(start + RFC_OK.split(b"\r\n", 1)[1])
    assert isinstance(error, MsrpSyntaxError) and error.fatal


def test_garbage_is_detected_before_the_crlf() -> None:
    (error,) = MsrpParser().feed(b"GET / HT")
    assert isinstance(error, MsrpSyntaxError) and error.fatal


def test_parse_message_rejects_trailing_data() -> None:
    with pytest.raises(RemoteProtocolError):
        parse_message(RFC_OK + b"MSRP")


# -- URIs ---------------------------------------------------------------------------------


def test_uri_parse_and_format() -> None:
    uri = parse_uri("msrps://user@[2001:db8::1]:9000/s1n2x3=+/a;tcp;foo=bar;baz")
    assert uri.scheme == "msrps"
    assert uri.host == "[2001:db8::1]"
    assert uri.port == 9000
    assert uri.session_id == "s1n2x3=+/a"
    assert uri.transport == "tcp"
    assert uri.params == (("foo", "bar"), ("baz", None))
    assert uri.userinfo == "user"
    assert (
        str(uri) == uri.formatted() == "msrps://user@[2001:db8::1]:9000/s1n2x3=+/a;tcp;foo=bar;baz"
    )
    assert str(MsrpUri.build("127.0.0.1", 7654, "s1")) == "msrp://127.0.0.1:7654/s1;tcp"


def test_uri_comparison_rfc4975_6_1() -> None:
    base = parse_uri("msrp://Host.Example.com:7654/abc;tcp")
    assert base == parse_uri("MSRP://host.example.COM:7654/abc;TCP;x=1")
    assert base == parse_uri("msrp://user@host.example.com:7654/abc;tcp")
    assert base == parse_uri("msrp://host.ex%61mple.com:7654/abc;tcp")
    assert base != parse_uri("msrp://host.example.com/abc;tcp")
    assert base != parse_uri("msrp://host.example.com:7654/ABC;tcp")
    assert base != parse_uri("msrp://host.example.com:7654;tcp")
    assert base != parse_uri("msrps://host.example.com:7654/abc;tcp")
    assert hash(base) == hash(parse_uri("MSRP://host.example.com:7654/abc;tcp"))


@pytest.mark.parametrize(
    "text",
    [
        "sip:bob@example.com",
        "msrp://host:7654/abc",
        "msrp://host:76x/abc;tcp",
        "msrp://host:99999/abc;tcp",
        "msrp://:7654/abc;tcp",
        "msrp://host/a b;tcp",
        "msrp://[::1/abc;tcp",
        "msrp://host/abc;t-c-p",
    ],
)
def test_bad_uris(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_uri(text)


def test_paths() -> None:
    assert parse_path(f"{BOB} {ALICE}") == (BOB, ALICE)
    with pytest.raises(RemoteProtocolError):
        parse_path("  ")


def test_build_uri_misuse_is_local() -> None:
    with pytest.raises(LocalProtocolError):
        MsrpUri.build("bad host", 1, "s")


# -- builders and matchers ------------------------------------------------------------------


def test_build_send_is_exact() -> None:
    send = build_send(
        [BOB], ALICE, "87652491", b"Hey Bob, are you there?\r\n", "text/plain", tid="a786hjs2"
    )
    assert send.to_bytes() == RFC_SEND
    assert match_send(parse_message(send.to_bytes())) == send


def test_build_send_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        build_send(BOB, ALICE, "m", b"body")  # no Content-Type
    with pytest.raises(LocalProtocolError):
        build_send(BOB, ALICE, "m", tid="no spaces allowed")
    with pytest.raises(LocalProtocolError):
        build_send(BOB, ALICE, "m", flag="!")


def test_build_send_with_reports_and_extra_headers() -> None:
    send = build_send(
        BOB, ALICE, "m1", b"x", "text/plain", success_report="yes", failure_report="partial",
        extra_headers=[("X-Foo", "bar")],
    )  # fmt: skip
    assert send.header_order == (
        "To-Path", "From-Path", "Message-ID", "Success-Report", "Failure-Report",
        "Byte-Range", "X-Foo", "Content-Type",
    )  # fmt: skip
    assert send.success_report == "yes" and send.failure_report == "partial"


def test_empty_send_is_a_keepalive() -> None:
    send = build_send(BOB, ALICE, "m1", tid="keep1234")
    assert send.is_keepalive
    assert send.to_bytes().endswith(b"Byte-Range: 1-0/0\r\n-------keep1234$\r\n")
    assert parse_message(send.to_bytes()) == send


def test_build_response_swaps_paths() -> None:
    request = parse_message(RFC_SEND)
    assert isinstance(request, MsrpRequest)
    response = build_response(request, 200, "OK")
    assert response.to_bytes() == RFC_OK
    assert match_response(parse_message(RFC_OK), request) == response


def test_build_response_to_relayed_request_goes_to_previous_hop() -> None:
    relay = parse_uri("msrps://relay.example.com:2855/r1;tcp")
    request = build_send(BOB, [relay, ALICE], "m1")
    response = build_response(request, 481, "Session does not exist")
    assert response.to_path == (relay,)
    assert response.from_path == (BOB,)


def test_build_report_is_exact_and_matches() -> None:
    report = build_report([ALICE], BOB, "87652491", ByteRange(1, 25, 25), tid="d93kswow")
    assert report.to_bytes() == (
        b"MSRP d93kswow REPORT\r\n"
        b"To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
        b"From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
        b"Message-ID: 87652491\r\n"
        b"Byte-Range: 1-25/25\r\n"
        b"Status: 000 200 OK\r\n"
        b"-------d93kswow$\r\n"
    )
    matched, status = match_report(parse_message(report.to_bytes()))
    assert status == Status("000", 200, "OK")
    assert matched.byte_range == ByteRange(1, 25, 25)


def test_matchers_reject_the_wrong_message() -> None:
    request = parse_message(RFC_SEND)
    assert isinstance(request, MsrpRequest)
    with pytest.raises(RemoteProtocolError):
        match_send(parse_message(RFC_OK))
    with pytest.raises(RemoteProtocolError):
        match_report(request)
    other = build_send(BOB, ALICE, "m", tid="zzzz1234")
    with pytest.raises(RemoteProtocolError):
        match_response(parse_message(RFC_OK), other)


def test_malformed_stimuli_can_be_written() -> None:
    send = build_send(BOB, ALICE, "m1", b"hi", "text/plain", tid="abcd1234")
    assert send.to_bytes(end_tid="wxyz9876").endswith(b"-------wxyz9876$\r\n")
    odd = send.with_header("Byte-Range", "one-two/three").with_header("To-Path", None)
    assert b"Byte-Range: one-two/three\r\n" in odd.to_bytes()
    assert b"To-Path" not in odd.to_bytes()
    star = ByteRange(1, None, None)
    assert str(star) == "1-*/*"
    assert ByteRange.parse("1-*/*") == star


def test_empty_body_with_and_without_the_data_crlf() -> None:
    head = b"MSRP abcd1234 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\nFrom-Path: msrp://a:2/t;tcp\r\n"
    head += b"Message-ID: m\r\nByte-Range: 1-0/0\r\nContent-Type: text/plain\r\n\r\n"
    proper = head + b"\r\n-------abcd1234$\r\n"
    message = parse_message(proper)
    assert message.body == b"" and message.to_bytes() == proper
    (error,) = feed_all(head + b"-------abcd1234$\r\n" + RFC_OK)[:1]
    assert isinstance(error, MsrpSyntaxError) and not error.fatal
    assert isinstance(error.parsed, MsrpRequest) and error.parsed.body == b""
    assert feed_all(head + b"-------abcd1234$\r\n" + RFC_OK)[1] == parse_message(RFC_OK)


def test_body_starting_with_dashes_is_body() -> None:
    for body in (b"-------", b"-------abcd12", b"-------abcd1234", b"-------abcd1234$x"):
        send = build_send(BOB, ALICE, "m1", body, "text/plain", tid="abcd1234")
        data = send.to_bytes()
        assert feed_all(data) == [send]
        parser = MsrpParser()
        items = [item for i in range(len(data)) for item in parser.feed(data[i : i + 1])]
        assert items == [send]
