"""Stored objects (RFC 5322 + CPM headers) and Session History Folder names."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.documents.store_object import (
    GROUP_STATE_CONTENT_TYPE,
    MAX_HEADER_FIELDS,
    build_group_state_object,
    build_session_info_object,
    build_store_object,
    contribution_id_of_folder,
    parse_store_object,
    same_media_type,
    session_history_folder,
)
from conformance.errors import LocalProtocolError, RemoteProtocolError

GSO = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<groupstate timestamp="2012-06-13T16:39:57-05:00" '
    b'lastfocussessionid="sip:da9274453@company.com" group-type="Closed">\n'
    b'  <participant name="bob" comm-addr="tel:+16135551210" role="Administrator"/>\n'
    b"</groupstate>\n"
)
WHEN = dt.datetime(2012, 6, 13, 21, 39, 57, tzinfo=dt.UTC)


def test_group_state_object_round_trip() -> None:
    raw = build_group_state_object(
        GSO,
        conversation_id="f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        contribution_id="abcd.1234@pf.example.com",
        imdn_message_id="Msg-0001",
        direction="In",
        date=WHEN,
    )
    msg = parse_store_object(raw)
    assert [n for n, _ in msg.headers] == [
        "Conversation-ID",
        "Contribution-ID",
        "IMDN-Message-ID",
        "Message-Direction",
        "Date",
        "Content-Type",
    ]
    assert msg.header("contribution-id") == "abcd.1234@pf.example.com"
    assert msg.header("MESSAGE-DIRECTION") == "In"
    assert msg.date == WHEN
    assert same_media_type(msg.content_type, GROUP_STATE_CONTENT_TYPE)
    assert msg.body == GSO.replace(b"\n", b"\r\n")
    assert msg.raw == raw


def test_session_info_object_keeps_invite_bytes() -> None:
    invite = b"INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: x\r\n\r\nv=0\r\n"
    raw = build_session_info_object(
        invite, conversation_id="c", contribution_id="k", imdn_message_id="m", date=WHEN
    )
    assert parse_store_object(raw).body == invite


def test_content_type_is_compared_case_insensitively() -> None:
    raw = (
        b"Content-Type: Application/Group-State-Object+XML; charset=utf-8\r\n"
        b"Contribution-ID: x\r\n\r\n<groupstate/>"
    )
    msg = parse_store_object(raw)
    assert msg.content_type == "Application/Group-State-Object+XML; charset=utf-8"
    assert same_media_type(msg.content_type, GROUP_STATE_CONTENT_TYPE)
    assert not same_media_type(msg.content_type, "application/xml")
    assert not same_media_type(None, GROUP_STATE_CONTENT_TYPE)


def test_folded_headers_bare_lf_and_order_are_kept() -> None:
    raw = b"X-B: 2\nConversation-ID:  abc\n  def\nX-B: 3\n\nbody\n"
    msg = parse_store_object(raw)
    assert msg.headers == (("X-B", "2"), ("Conversation-ID", "abc def"), ("X-B", "3"))
    assert msg.header_all("x-b") == ["2", "3"]
    assert msg.body == b"body\n"


def test_unparsable_date_is_none_not_an_error() -> None:
    msg = parse_store_object(b"Date: yesterday\r\n\r\n")
    assert msg.date is None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\nno headers",
        b" folded first\r\n\r\n",
        b"No colon here\r\n\r\n",
        b"Bad Name: x\r\n\r\n",
        b"X: " + b"a" * 70_000 + b"\r\n\r\n",
        b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADER_FIELDS + 1)) + b"\r\n",
    ],
    ids=["empty", "no-headers", "folded-first", "no-colon", "space-in-name", "long", "many"],
)
def test_malformed_objects_raise_remote_protocol_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_store_object(raw)


def test_oversized_object_is_refused() -> None:
    with pytest.raises(RemoteProtocolError, match="over the limit"):
        parse_store_object(b"X: y\r\n\r\n" + b"z" * 100, max_size=50)


def test_non_utf8_header_value_is_kept_visible() -> None:
    msg = parse_store_object(b"X-Name: caf\xe9\r\n\r\n")
    assert msg.header("x-name") == "caf\xe9"


def test_builder_refuses_header_injection_and_long_lines() -> None:
    with pytest.raises(LocalProtocolError):
        build_store_object([("X", "a\r\nBcc: evil")], b"", content_type="text/plain")
    with pytest.raises(LocalProtocolError):
        build_store_object([("Bad Name", "x")], b"", content_type="text/plain")
    with pytest.raises(LocalProtocolError):
        build_store_object([("X", "a" * 1000)], b"", content_type="text/plain")
    with pytest.raises(LocalProtocolError):
        build_store_object([("Content-Type", "text/plain")], b"", content_type="text/html")


def test_builder_keeps_given_content_type_spelling() -> None:
    raw = build_store_object(
        [("Content-Type", "Application/group-state-object+xml")],
        b"",
        content_type=GROUP_STATE_CONTENT_TYPE,
        date=WHEN,
    )
    assert b"Content-Type: Application/group-state-object+xml\r\n" in raw


@pytest.mark.parametrize(
    ("contribution_id", "folder"),
    [
        ("abcd.1234@pf.example.com", "abcd.1234@pf.example.com"),
        ("a/b", "a%2Fb"),
        ("50%*x", "50%25%2Ax"),
        ('q"\\', "q%22%5C"),
        (".hidden", "%2Ehidden"),
        ("~home", "%7Ehome"),
        ("inbox", "%69nbox"),
        ("new", "%6Eew"),
        ("tab\there", "tab%09here"),
        ("caf\u00e9@example.com", "caf\u00e9@example.com"),
    ],
)
def test_session_history_folder_mapping_round_trips(contribution_id: str, folder: str) -> None:
    assert session_history_folder(contribution_id) == folder
    assert contribution_id_of_folder(folder) == contribution_id


def test_session_history_folder_needs_a_contribution_id() -> None:
    with pytest.raises(LocalProtocolError):
        session_history_folder("")


def test_contribution_id_of_folder_keeps_bad_escapes() -> None:
    assert contribution_id_of_folder("50%zz%4") == "50%zz%4"
