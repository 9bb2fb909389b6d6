"""multipart bodies (RFC 2046) for RFC 5366 group INVITEs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip import (
    build_msrp_sdp,
    build_multipart,
    build_part,
    cpm,
    find_recipient_list,
    find_sdp,
    parse_message,
    parse_multipart,
    parse_sdp,
)

RLS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n'
    b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">'
    b'<list><entry uri="sip:bob@example.com"/></list></resource-lists>'
)


def test_build_parse_pair_group_invite_body() -> None:
    sdp = build_msrp_sdp(host="127.0.0.1", port=7654, path=["msrp://127.0.0.1:7654/a;tcp"])
    ctype, body = build_multipart(
        [
            build_part(cpm.SDP_TYPE, sdp),
            build_part(cpm.RESOURCE_LISTS_TYPE, RLS, disposition="recipient-list"),
        ],
        boundary="boundary1",
    )
    assert ctype == "multipart/mixed;boundary=boundary1"
    assert body.startswith(b"--boundary1\r\nContent-Type: application/sdp\r\n\r\nv=0")
    assert body.endswith(b"</resource-lists>\r\n--boundary1--\r\n")
    parts = parse_multipart(body, ctype)
    assert [p.mime_type for p in parts] == ["application/sdp", "application/resource-lists+xml"]
    found_sdp = find_sdp(parts)
    assert found_sdp is not None and parse_sdp(found_sdp.body).msrp.port == 7654
    rl = find_recipient_list(parts)
    assert rl is not None and rl.body == RLS
    assert find_recipient_list(parts, history=True) is None
    disposition = rl.disposition
    assert disposition is not None and disposition.disposition == "recipient-list"


def test_history_disposition_and_random_boundary() -> None:
    ctype, body = build_multipart(
        [
            build_part(
                cpm.RESOURCE_LISTS_TYPE,
                RLS,
                disposition="recipient-list-history; handling=optional",
            )
        ]
    )
    parts = parse_multipart(body, ctype)
    rl = find_recipient_list(parts, history=True)
    assert rl is not None
    assert rl.disposition is not None and rl.disposition.handling == "optional"
    assert find_sdp(parts) is None


def test_rfc4475_mpart01_body() -> None:
    data = (Path(__file__).resolve().parents[1] / "data" / "rfc4475" / "mpart01.dat").read_bytes()
    m = parse_message(data)
    parts = parse_multipart(m.body, m.headers.get("Content-Type") or "")
    assert [p.mime_type for p in parts] == ["text/plain", "application/octet-stream"]
    assert parts[0].body == b"Hello"
    assert parts[1].headers.get("Content-Transfer-Encoding") == "binary"
    assert parts[1].body.startswith(b"\x30\x82\x01\x52")
    assert parts[1].body.endswith(b"\xd0\x05")
    # re-building with the same boundary gives the same bytes
    assert build_multipart(parts, "7a9cbec02ceef655")[1] == m.body


def test_preamble_epilogue_and_headerless_part() -> None:
    body = b"preamble\r\n--b\r\n\r\nplain\r\n--b--\r\nepilogue"
    [p] = parse_multipart(body, 'multipart/mixed; boundary="b"')
    assert p.body == b"plain" and p.mime_type == "text/plain" and len(p.headers) == 0


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--b\r\n\r\nx\r\n--b--", "text/plain"),
        (b"--b\r\n\r\nx\r\n--b--", "multipart/mixed"),
        (b"no boundary here", "multipart/mixed;boundary=b"),
        (b"--b\r\n\r\nunterminated", "multipart/mixed;boundary=b"),
        (b"--b\r\nContent-Type text/plain\r\n\r\nx\r\n--b--", "multipart/mixed;boundary=b"),
        (b"--bjunk\r\n\r\nx\r\n--b--", "multipart/mixed;boundary=b"),
    ],
)
def test_invalid_multipart(body: bytes, ctype: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_multipart(body, ctype)


def test_boundary_inside_part_is_refused_when_building() -> None:
    with pytest.raises(ValueError, match="boundary"):
        build_multipart([build_part("text/plain", b"x\r\n--b\r\n")], boundary="b")
