"""RFC 3862 CPIM: ordered headers, namespaces, IMDN headers, CRLF handling, bounds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.documents.cpim import (
    IMDN_NS_URN,
    CpimHeader,
    CpimLimits,
    address_uri,
    build_cpim,
    new_cpim,
    parse_cpim,
)
from conformance.errors import DocumentError

GROUP_MESSAGE = (
    b"From: Alice <sip:alice@example.com>\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"To: Carol <tel:+15550100>\r\n"
    b"NS: imdn <urn:ietf:params:imdn>\r\n"
    b"imdn.Message-ID: 34jk324j\r\n"
    b"DateTime: 2026-11-21T10:24:11.270+00:00\r\n"
    b"imdn.Disposition-Notification: positive-delivery, display\r\n"
    b"\r\n"
    b"Content-Type: text/plain;charset=UTF-8\r\n"
    b"Content-Length: 5\r\n"
    b"\r\n"
    b"Hello"
)


def test_parse_group_message() -> None:
    m = parse_cpim(GROUP_MESSAGE)
    assert [h.name for h in m.headers] == [
        "From",
        "To",
        "To",
        "NS",
        "imdn.Message-ID",
        "DateTime",
        "imdn.Disposition-Notification",
    ]
    assert m.from_ == "Alice <sip:alice@example.com>"
    assert m.from_uri == "sip:alice@example.com"
    assert m.to == ("<sip:bob@example.com>", "Carol <tel:+15550100>")
    assert m.to_uris == ("sip:bob@example.com", "tel:+15550100")
    assert m.imdn_message_id == "34jk324j"
    assert m.disposition_notification == ("positive-delivery", "display")
    assert m.datetime == "2026-11-21T10:24:11.270+00:00"
    assert m.datetime_parsed() == datetime(2026, 11, 21, 10, 24, 11, 270000, tzinfo=UTC)
    assert m.content_type == "text/plain;charset=UTF-8"
    assert m.content_header("content-length") == "5"
    assert m.body == b"Hello"
    assert not m.bare_lf
    assert m.raw == GROUP_MESSAGE


def test_round_trip_is_byte_exact() -> None:
    assert build_cpim(parse_cpim(GROUP_MESSAGE)) == GROUP_MESSAGE


def test_namespace_resolution_uses_the_urn_not_the_prefix() -> None:
    data = (
        b"From: <sip:a@x>\r\nTo: <sip:b@x>\r\n"
        b"NS: foo <urn:ietf:params:imdn>\r\nfoo.Message-ID: abc\r\n"
        b"imdn.Message-ID: undeclared\r\n\r\nContent-Type: text/plain\r\n\r\nx"
    )
    m = parse_cpim(data)
    assert m.imdn_message_id == "abc"
    undeclared = m.headers[-1]
    assert undeclared.prefix == "imdn" and undeclared.namespace is None


def test_imdn_headers_without_ns_are_not_imdn() -> None:
    data = (
        b"From: <sip:a@x>\r\nTo: <sip:b@x>\r\nimdn.Message-ID: abc\r\n\r\n"
        b"Content-Type: text/plain\r\n\r\nx"
    )
    assert parse_cpim(data).imdn_message_id is None


def test_header_params_and_case_insensitive_lookup() -> None:
    data = (
        b"from: <sip:a@x>\r\nSubject:;lang=fr Bonjour tout le monde\r\n\r\n"
        b"content-type: text/plain\r\n\r\n"
    )
    m = parse_cpim(data)
    assert m.from_ == "<sip:a@x>"
    assert m.subject == "Bonjour tout le monde"
    assert m.headers[1].params == (("lang", "fr"),)
    assert m.content_type == "text/plain"
    assert m.body == b""
    assert build_cpim(m) == data
    assert parse_cpim(build_cpim(m)) == m


def test_bare_lf_is_accepted_and_recorded() -> None:
    data = b"From: <sip:a@x>\nTo: <sip:b@x>\n\nContent-Type: text/plain\n\nhi\n"
    m = parse_cpim(data)
    assert m.bare_lf and m.to_uris == ("sip:b@x",) and m.body == b"hi\n"
    assert b"\r\n" in build_cpim(m)


def test_body_is_binary_safe_and_content_headers_unfold() -> None:
    body = b"\x00\xff\r\n\r\nmore"
    data = (
        b"From: <sip:a@x>\r\n\r\nContent-Type: application/octet-stream;\r\n name=x\r\n\r\n" + body
    )
    m = parse_cpim(data)
    assert m.body == body
    assert m.content_type == "application/octet-stream; name=x"


def test_new_cpim_builds_the_usual_form() -> None:
    msg = new_cpim(
        from_="<sip:alice@example.com>",
        to=("<sip:bob@example.com>", "<sip:carol@example.com>"),
        body=b"Hello",
        content_type="text/plain;charset=UTF-8",
        datetime_="2026-11-21T10:24:11.270+00:00",
        imdn_message_id="34jk324j",
        disposition_notification=("positive-delivery", "display"),
    )
    data = build_cpim(msg)
    again = parse_cpim(data)
    assert again == msg
    assert again.imdn_message_id == "34jk324j"
    assert again.to_uris == ("sip:bob@example.com", "sip:carol@example.com")
    assert data.startswith(b"From: <sip:alice@example.com>\r\nTo: ")


def test_address_uri() -> None:
    assert address_uri('"A, B" <sip:a@x>') == "sip:a@x"
    assert address_uri(" sip:a@x ") == "sip:a@x"
    assert CpimHeader("imdn.Message-ID", "x", namespace=IMDN_NS_URN).local_name == "Message-ID"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"From: <sip:a@x>\r\n",
        b"From: <sip:a@x>\r\n\r\nContent-Type: text/plain\r\n",
        b"\r\n\r\nbody",
        b"From <sip:a@x>\r\n\r\n\r\n",
        b"Fr om: <sip:a@x>\r\n\r\n\r\n",
        b"From: <sip:a@x>\r\n  folded\r\n\r\n\r\n",
        b"From: <sip:a@x>\r\nNS: no-brackets\r\n\r\n\r\n",
        b"From: \xff\xfe\r\n\r\n\r\n",
    ],
)
def test_invalid_messages(data: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_cpim(data)


def test_bounds() -> None:
    with pytest.raises(DocumentError, match="allowed"):
        parse_cpim(GROUP_MESSAGE, limits=CpimLimits(max_bytes=20))
    many = b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n\r\n"
    with pytest.raises(DocumentError, match="headers"):
        parse_cpim(many)
    long_line = b"Subject: " + b"a" * 10000 + b"\r\n\r\n\r\n"
    with pytest.raises(DocumentError, match="longer"):
        parse_cpim(long_line)
    with pytest.raises(DocumentError):
        parse_cpim("From: x\r\n\r\n\r\n")  # type: ignore[arg-type]
