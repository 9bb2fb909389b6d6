"""SDP parsing and the MSRP view (RFC 4566, 4975, 6135, 6714)."""

from __future__ import annotations

import pytest

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip import build_msrp_sdp, parse_sdp

OFFER = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844527 IN IP4 client.example.com\r\n"
    b"s= \r\n"
    b"c=IN IP4 10.1.1.1\r\n"
    b"t=0 0\r\n"
    b"a=recvonly\r\n"
    b"m=message 7654 TCP/TLS/MSRP *\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"a=accept-types:message/cpim application/im-iscomposing+xml\r\n"
    b"a=accept-wrapped-types:text/plain message/imdn+xml\r\n"
    b"a=path:msrps://relay.example.com:2855/abc;tcp\r\n"
    b"a=path:msrps://127.0.0.1:7654/s1n2x3;tcp\r\n"
    b"a=setup:active\r\n"
    b"a=msrp-cema\r\n"
    b"a=max-size:65536\r\n"
    b"a=sendonly\r\n"
)


def test_msrp_view() -> None:
    sdp = parse_sdp(OFFER)
    m = sdp.msrp
    assert (m.media, m.port, m.proto, m.formats) == ("message", 7654, "TCP/TLS/MSRP", ("*",))
    assert m.connection_address == "127.0.0.1"
    assert m.path == ["msrps://relay.example.com:2855/abc;tcp", "msrps://127.0.0.1:7654/s1n2x3;tcp"]
    assert m.accept_types == ["message/cpim", "application/im-iscomposing+xml"]
    assert m.accept_wrapped_types == ["text/plain", "message/imdn+xml"]
    assert (m.setup, m.msrp_cema, m.max_size, m.direction) == ("active", True, 65536, "sendonly")
    assert sdp.origin == "alice 2890844526 2890844527 IN IP4 client.example.com"
    assert sdp.connection_address == "10.1.1.1"
    assert sdp.raw == OFFER == sdp.to_bytes()
    # attributes keep their order
    assert [k for k, _ in m.attributes][:3] == ["accept-types", "accept-wrapped-types", "path"]


def test_direction_defaults_and_session_fallback() -> None:
    base = OFFER.replace(b"a=sendonly\r\n", b"")
    assert parse_sdp(base).msrp.direction == "recvonly"  # session level
    plain = base.replace(b"a=recvonly\r\n", b"")
    m = parse_sdp(plain).msrp
    assert m.direction == "sendrecv"
    assert parse_sdp(plain.replace(b"c=IN IP4 127.0.0.1\r\n", b"")).msrp.connection_address == (
        "10.1.1.1"
    )
    assert not m.has_attribute("inactive") and m.attribute("setup") == "active"


def test_build_parse_pair_with_audio_line() -> None:
    data = build_msrp_sdp(
        host="127.0.0.1",
        port=7654,
        path=["msrp://127.0.0.1:7654/s1n2x3;tcp"],
        accept_types=["message/cpim"],
        accept_wrapped_types=["text/plain", "application/conference-info+xml"],
        setup="passive",
        msrp_cema=True,
        direction="sendonly",
        max_size=1024,
        audio_port=4000,
    )
    sdp = parse_sdp(data)
    assert [m.media for m in sdp.media] == ["audio", "message"]
    assert sdp.media[0].proto == "RTP/AVP"
    m = sdp.msrp
    assert (m.port, m.proto, m.path, m.setup, m.msrp_cema, m.direction, m.max_size) == (
        7654,
        "TCP/MSRP",
        ["msrp://127.0.0.1:7654/s1n2x3;tcp"],
        "passive",
        True,
        "sendonly",
        1024,
    )
    assert m.accept_wrapped_types == ["text/plain", "application/conference-info+xml"]
    assert m.connection_address == "127.0.0.1"
    minimal = parse_sdp(
        build_msrp_sdp(
            host="::1", port=1, path=["msrp://[::1]:1/a;tcp"], setup=None, direction=None
        )
    )
    assert minimal.msrp.setup is None and minimal.msrp.direction == "sendrecv"
    assert minimal.connection_address == "::1"
    assert b"IN IP6 ::1" in minimal.raw


def test_lf_line_ends_are_accepted() -> None:
    assert parse_sdp(OFFER.replace(b"\r\n", b"\n")).msrp.port == 7654


def test_no_msrp_media() -> None:
    sdp = parse_sdp(b"v=0\r\no=- 0 0 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
    with pytest.raises(RemoteProtocolError, match="no MSRP"):
        _ = sdp.msrp
    assert len(sdp.media_of("audio")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"o=- 0 0 IN IP4 h\r\nv=0\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\no=- 0 0 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=message x TCP/MSRP *\r\n",
        b"v=0\r\no=- 0 0 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=message 70000 TCP/MSRP *\r\n",
        b"v=0\r\no=- 0 0 IN IP4 h\r\ns=-\r\nt=0 0\r\nnot a line\r\n",
        b"v=0\r\no=- 0 0 IN IP4 h\r\ns=-\r\nc=IN IP9 h\r\nt=0 0\r\n",
        b"v=0\r\no=- 0 0 IN IP4 h\xff\r\ns=-\r\nt=0 0\r\n",
    ],
)
def test_invalid_sdp(bad: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_sdp(bad)


def test_invalid_max_size() -> None:
    sdp = parse_sdp(OFFER.replace(b"a=max-size:65536", b"a=max-size:big"))
    with pytest.raises(RemoteProtocolError):
        _ = sdp.msrp.max_size
