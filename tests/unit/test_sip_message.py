"""SIP message codec: parsing, raw bytes, exact serialization, stream framing."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip import (
    Header,
    Headers,
    SipRequest,
    SipResponse,
    StreamParser,
    build_request,
    build_response,
    check_semantics,
    header_key,
    parse_message,
    require_single,
    split_list,
    with_headers,
)
from conformance.protocol.sip.message import MAX_MESSAGE_SIZE, clear_caches

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@example.com>\r\n"
    b'From: "Alice" <sip:alice@example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc.example.com>\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 5\r\n"
    b"\r\n"
    b"hello"
)

OK = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/TCP pc.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n"
    b"To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def test_parse_request_values_and_raw() -> None:
    m = parse_message(INVITE)
    assert isinstance(m, SipRequest)
    assert (m.method, m.uri, m.version) == ("INVITE", "sip:bob@example.com", "SIP/2.0")
    assert m.call_id == "a84b4c76e66710@pc.example.com"
    assert m.cseq == (314159, "INVITE")
    assert m.body == b"hello"
    assert m.raw == INVITE
    assert m.to_bytes() == INVITE
    assert m.headers[0] == Header(
        "Via",
        "SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bK776asdhds",
        b"Via: SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bK776asdhds",
    )
    assert m.headers.names()[:3] == ["Via", "Max-Forwards", "To"]
    assert len(m.headers) == 9


def test_parse_response() -> None:
    m = parse_message(OK)
    assert isinstance(m, SipResponse)
    assert (m.status, m.reason) == (200, "OK")
    assert m.body == b""
    check_semantics(m)


def test_case_insensitive_compact_and_multi_line_lookup() -> None:
    data = (
        b"MESSAGE sip:b@example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, "
        b"SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n"
        b"VIA: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n"
        b"t: <sip:b@example.com>\r\nf: <sip:a@example.com>;tag=1\r\ni: x@y\r\n"
        b"cseq: 1 MESSAGE\r\nk: timer, 100rel\r\nSupported: path\r\nl: 0\r\n\r\n"
    )
    m = parse_message(data)
    assert m.headers.get("Call-ID") == "x@y" == m.headers.get("i") == m.headers.get("CALL-id")
    assert m.headers.values("Via") == [
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
        "SIP/2.0/UDP b.example.com;branch=z9hG4bK2",
        "SIP/2.0/UDP c.example.com;branch=z9hG4bK3",
    ]
    assert m.headers.get_all("via") == [
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2",
        "SIP/2.0/UDP c.example.com;branch=z9hG4bK3",
    ]
    assert m.headers.values("Supported") == ["timer", "100rel", "path"]
    # names are reported as sent
    assert [h.name for h in m.headers.lines("Via")] == ["v", "VIA"]
    assert m.headers.has("content-length") and "Content-Length" in m.headers
    assert header_key(" Q ") == "q" and header_key("o") == "event"
    assert header_key("x") == "session-expires" and header_key("Zz") == "zz"


def test_folded_lines_unfold_and_keep_raw() -> None:
    data = INVITE.replace(
        b"Contact: <sip:alice@pc.example.com>\r\n",
        b"Contact: <sip:alice@pc.example.com>\r\n   ;expires=60\r\n",
    )
    m = parse_message(data)
    [line] = m.headers.lines("Contact")
    assert line.value == "<sip:alice@pc.example.com> ;expires=60"
    assert line.raw == b"Contact: <sip:alice@pc.example.com>\r\n   ;expires=60"
    assert m.raw == data


def test_datagram_ignores_trailing_octets_and_leading_crlf() -> None:
    m = parse_message(b"\r\n\r\n" + OK + b"garbage")
    assert m.raw == OK


def test_missing_content_length_datagram_vs_stream() -> None:
    data = OK.replace(b"Content-Length: 0\r\n", b"") + b"xyz"
    assert parse_message(data).body == b"xyz"
    with pytest.raises(RemoteProtocolError, match="missing Content-Length"):
        parse_message(data, stream=True)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no empty line"),
        (b"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP x\r\n\r\n", "without a name"),
        (b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", "invalid header name"),
        (b"INVITE sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n", "not UTF-8"),
        (b"SIP/2.0 99 Too Small\r\n\r\n", "status code"),
        (b"SIP/2.0 700 Too Big\r\n\r\n", "status code"),
        (b"SIP/3.0 200 OK\r\n\r\n", "version"),
        (b"INVITE sip:a@b SIP/2.1\r\n\r\n", "version"),
        (b"INV(TE sip:a@b SIP/2.0\r\n\r\n", "method"),
        (b"INVITE sip:a@b SIP/2.0\r\n Folded: start\r\n\r\n", "continuation"),
        (b"INVITE sip:a@b SIP/2.0\r\nMax-Forwards: 256\r\n\r\n", "Max-Forwards"),
        (b"INVITE sip:a@b SIP/2.0\r\nExpires: 4294967296\r\n\r\n", "Expires"),
        (b"INVITE sip:a@b SIP/2.0\r\nCSeq: 2147483648 INVITE\r\n\r\n", "out of range"),
        (b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1;\r\n\r\n", "parameters"),
        (b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:99999\r\n\r\n", "port"),
        (b"INVITE sip:a@b SIP/2.0\r\nRoute: <sip:a@b>, <sip:c d>\r\n\r\n", "URI"),
        (b'INVITE sip:a@b SIP/2.0\r\nWarning: 12 x "t"\r\n\r\n', "Warning"),
        (b"INVITE sip:a@b SIP/2.0\r\nContent-Type: text\r\n\r\n", "media type"),
        (b"INVITE sip:%zz@b SIP/2.0\r\n\r\n", "invalid"),
        (b"X" * (MAX_MESSAGE_SIZE + 1), "larger"),
    ],
)
def test_invalid_messages(data: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason):
        parse_message(data)


def test_validation_cache_does_not_change_verdicts() -> None:
    clear_caches()
    first = parse_message(INVITE)
    second = parse_message(INVITE)
    assert first == second
    bad = INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards: 700")
    for _ in range(2):
        with pytest.raises(RemoteProtocolError):
            parse_message(bad)


# ---------------------------------------------------------------------------------------
# building and exact serialization
# ---------------------------------------------------------------------------------------


def test_build_request_exact_order_casing_and_length() -> None:
    r = build_request(
        "MESSAGE",
        "sip:b@example.com",
        [
            ("via", "SIP/2.0/UDP h;branch=z9hG4bK1"),
            ("TO", "<sip:b@example.com>"),
            ("f", "<sip:a@example.com>;tag=1"),
            ("i", "c@h"),
            ("CSeq", "1 MESSAGE"),
        ],
        b"hi",
    )
    assert r.raw == (
        b"MESSAGE sip:b@example.com SIP/2.0\r\nvia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        b"TO: <sip:b@example.com>\r\nf: <sip:a@example.com>;tag=1\r\ni: c@h\r\n"
        b"CSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhi"
    )
    again = parse_message(r.raw)
    assert again.raw == r.raw
    assert [(h.name, h.value) for h in again.headers] == [(h.name, h.value) for h in r.headers]


def test_build_deliberately_malformed() -> None:
    r = build_request(
        "OPTIONS",
        "<sip:x@y>",
        [("Content-Length", "5"), ("Content-Length", "7")],
        b"body",
        content_length=False,
    )
    assert r.raw == (
        b"OPTIONS <sip:x@y> SIP/2.0\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nbody"
    )
    forced = build_request("OPTIONS", "sip:x@y", [], b"abc", content_length="-1")
    assert b"Content-Length: -1\r\n" in forced.raw
    folded = build_request(
        "OPTIONS",
        "sip:x@y",
        [Header("Subject", "a b", b"Subject: a\r\n b")],
        content_length=False,
    )
    assert folded.raw == b"OPTIONS sip:x@y SIP/2.0\r\nSubject: a\r\n b\r\n\r\n"
    resp = build_response(999, "Odd", [], version="SIP/2.0")
    assert resp.raw.startswith(b"SIP/2.0 999 Odd\r\n")


def test_with_headers_and_headers_builders() -> None:
    m = parse_message(INVITE)
    hs = m.headers.set("max-forwards", "69").remove("Contact").prepend("Route", "<sip:p;lr>")
    out = with_headers(m, hs)
    assert out.headers.get("Max-Forwards") == "69"
    assert out.headers[0].name == "Route"
    assert not out.headers.has("Contact")
    assert parse_message(out.raw).headers.get("max-forwards") == "69"
    new_body = with_headers(m, m.headers, b"longer body")
    assert new_body.headers.get("Content-Length") == "11"
    assert Headers([("A", "1")]).add("a", "2").get_all("A") == ["1", "2"]


def test_require_single_and_semantics() -> None:
    m = parse_message(INVITE)
    assert require_single(m, "call-id") == "a84b4c76e66710@pc.example.com"
    with pytest.raises(RemoteProtocolError, match="missing"):
        require_single(m, "Event")
    two = with_headers(m, m.headers.add("Call-ID", "other"))
    with pytest.raises(RemoteProtocolError, match="more than once"):
        check_semantics(two)


def test_split_list_quotes_and_brackets() -> None:
    assert split_list('"a, b" <sip:x;p=1,2>, c') == ['"a, b" <sip:x;p=1,2>', "c"]
    assert split_list(";;,;,,") == [";;", ";", "", ""]
    with pytest.raises(RemoteProtocolError):
        split_list('"open, x')


# ---------------------------------------------------------------------------------------
# stream framing
# ---------------------------------------------------------------------------------------

STREAM_MESSAGES = [INVITE, OK, INVITE.replace(b"314159", b"314160"), OK]


def _feed_all(chunks: list[bytes]) -> list[bytes]:
    parser = StreamParser()
    out: list[bytes] = []
    for c in chunks:
        for item in parser.feed(c):
            assert not isinstance(item, RemoteProtocolError)
            out.append(item.raw)
    return out


@settings(max_examples=200, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=0, max_value=sum(map(len, STREAM_MESSAGES))), max_size=30),
    keepalive=st.booleans(),
)
def test_stream_any_split_gives_same_messages(cuts: list[int], keepalive: bool) -> None:
    stream = (b"\r\n\r\n" if keepalive else b"").join(STREAM_MESSAGES)
    points = sorted({0, len(stream), *[min(c, len(stream)) for c in cuts]})
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
    assert _feed_all(chunks) == STREAM_MESSAGES


def test_stream_byte_by_byte() -> None:
    stream = b"".join(STREAM_MESSAGES)
    assert _feed_all([stream[i : i + 1] for i in range(len(stream))]) == STREAM_MESSAGES


def test_stream_errors_break_the_stream() -> None:
    parser = StreamParser()
    out = parser.feed(OK.replace(b"Content-Length: 0\r\n", b"") + OK)
    assert len(out) == 1 and isinstance(out[0], RemoteProtocolError)
    assert parser.broken
    assert parser.feed(OK) == []


def test_stream_invalid_message_keeps_framing() -> None:
    bad = OK.replace(b"SIP/2.0 200 OK", b"SIP/2.0 999 Bad")
    out = StreamParser().feed(bad + OK)
    assert isinstance(out[0], RemoteProtocolError)
    assert isinstance(out[1], SipResponse)


def test_stream_size_bound() -> None:
    parser = StreamParser(max_size=100)
    out = parser.feed(b"A" * 200)
    assert len(out) == 1 and isinstance(out[0], RemoteProtocolError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_parser_never_raises_anything_else(data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_message(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(INVITE) - 1), st.binary(min_size=1, max_size=3))
def test_mutated_message_never_raises_anything_else(pos: int, junk: bytes) -> None:
    data = INVITE[:pos] + junk + INVITE[pos + 1 :]
    with contextlib.suppress(RemoteProtocolError):
        parse_message(data)
