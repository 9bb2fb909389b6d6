"""Group State Object: public sample, seed 003 8.2.3 a-h fields, removed marker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from conformance.documents.conference_info import FileInfo, IconUri
from conformance.documents.groupstate import (
    GroupState,
    GsIcon,
    GsParticipant,
    GsSubject,
    build_group_state,
    parse_group_state,
)
from conformance.errors import DocumentError, LocalProtocolError

PUBLIC_SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<groupstate timestamp="2012-06-13T16:39:57-05:00"
            lastfocussessionid="sip:da9274453@company.com" group-type="Closed">
  <participant name="bob" comm-addr="tel:+16135551210" role="Administrator"/>
  <participant name="alice" comm-addr="tel:+16135551211"/>
</groupstate>
"""

RICH = b"""<?xml version="1.0" encoding="UTF-8"?>
<groupstate timestamp="2026-11-21T10:30:00Z"
    lastfocussessionid="sip:conf-7d2f@cf.example.net;gr=urn:uuid:1234" group-type="Closed">
  <participant name="Alice" comm-addr="sip:alice@example.net" role="Administrator"/>
  <participant name="Bob" comm-addr="sip:bob@example.net" yourown="true"/>
  <subject>
    <text>Friday lunch</text>
    <participant>sip:alice@example.net</participant>
    <timestamp>2026-11-21T10:24:11Z</timestamp>
  </subject>
  <icon>
    <icon-uri>https://files.example.net/icon/42</icon-uri>
    <participant>sip:bob@example.net</participant>
    <timestamp>2026-11-21T10:25:00Z</timestamp>
  </icon>
  <max-user-count>20</max-user-count>
  <policy>Closed</policy>
</groupstate>
"""


def test_public_sample() -> None:
    gs = parse_group_state(PUBLIC_SAMPLE)
    assert gs.lastfocussessionid == "sip:da9274453@company.com"
    assert gs.timestamp == "2012-06-13T16:39:57-05:00"
    assert gs.timestamp_datetime() == datetime(
        2012, 6, 13, 16, 39, 57, tzinfo=timezone(timedelta(hours=-5))
    )
    assert gs.group_type == "Closed"
    assert gs.participants == (
        GsParticipant(comm_addr="tel:+16135551210", name="bob", role="Administrator"),
        GsParticipant(comm_addr="tel:+16135551211", name="alice"),
    )
    assert gs.subject is None and gs.icon is None
    assert gs.max_user_count is None and gs.policy is None
    assert gs.removed is False
    assert gs.namespace == ""


def test_rich_object_items_a_to_h() -> None:
    gs = parse_group_state(RICH)
    assert gs.lastfocussessionid == "sip:conf-7d2f@cf.example.net;gr=urn:uuid:1234"
    assert gs.timestamp_datetime() == datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    bob = gs.participant("sip:bob@example.net")
    assert bob is not None and bob.yourown is True and bob.role is None
    assert gs.subject == GsSubject("Friday lunch", "sip:alice@example.net", "2026-11-21T10:24:11Z")
    assert gs.icon == GsIcon(
        IconUri("https://files.example.net/icon/42"),
        "sip:bob@example.net",
        "2026-11-21T10:25:00Z",
    )
    assert gs.max_user_count == 20
    assert gs.policy == "Closed"


def test_round_trip() -> None:
    for doc in (PUBLIC_SAMPLE, RICH):
        gs = parse_group_state(doc)
        built = build_group_state(gs)
        assert parse_group_state(built) == gs
        assert build_group_state(parse_group_state(built)) == built


def test_canonical_form() -> None:
    gs = GroupState(
        lastfocussessionid="sip:f@x",
        timestamp="2026-11-21T10:30:00Z",
        group_type="Closed",
        participants=(GsParticipant("sip:a@x", name="A", yourown=False),),
        subject=GsSubject(text="t"),
        icon=GsIcon(source=None, participant="sip:a@x"),
        max_user_count=5,
        policy="p",
        removed=True,
    )
    out = build_group_state(gs)
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<groupstate ")
    assert b'<participant name="A" comm-addr="sip:a@x" yourown="false"/>' in out
    assert b"<subject><text>t</text></subject>" in out
    assert b"<icon><participant>sip:a@x</participant></icon>" in out
    assert b"<max-user-count>5</max-user-count><policy>p</policy>" in out
    assert out.rstrip().endswith(b"<status><removed/></status></groupstate>")
    assert b"xmlns" not in out


@pytest.mark.parametrize(
    "marker",
    ["<status><removed/></status>", "<status><removed>true</removed></status>"],
)
def test_removed_marker(marker: str) -> None:
    doc = f'<groupstate lastfocussessionid="sip:f@x" timestamp="T">{marker}</groupstate>'
    assert parse_group_state(doc.encode()).removed is True


def test_status_without_removed() -> None:
    doc = b'<groupstate lastfocussessionid="sip:f@x"><status/></groupstate>'
    assert parse_group_state(doc).removed is False


@pytest.mark.parametrize(
    "icon",
    [
        "<icon><icon-uri>http://i/1</icon-uri></icon>",
        "<icon><source><icon-uri>http://i/1</icon-uri></source></icon>",
        "<icon><source>http://i/1</source></icon>",
        '<icon icon-uri="http://i/1"/>',
        '<icon source="http://i/1"/>',
    ],
)
def test_icon_source_forms(icon: str) -> None:
    gs = parse_group_state(f"<groupstate>{icon}</groupstate>".encode())
    assert gs.icon is not None and gs.icon.source == IconUri("http://i/1")


def test_icon_file_info_and_omitted_source() -> None:
    fi = (
        '<file-info xmlns="urn:gsma:params:xml:ns:rcs:rcs:fthttp" type="file">'
        '<data url="https://ft.example.net/f/9"/></file-info>'
    )
    gs = parse_group_state(f"<groupstate><icon>{fi}</icon></groupstate>".encode())
    assert gs.icon is not None and isinstance(gs.icon.source, FileInfo)
    assert parse_group_state(build_group_state(gs)) == gs

    empty = parse_group_state(b"<groupstate><icon><source/></icon></groupstate>")
    assert empty.icon == GsIcon(source=None)


def test_missing_required_fields_are_none_for_the_checks() -> None:
    gs = parse_group_state(b"<groupstate><participant name='x'/></groupstate>")
    assert gs.lastfocussessionid is None and gs.timestamp is None and gs.group_type is None
    assert gs.participants == (GsParticipant(comm_addr=None, name="x"),)
    assert gs.timestamp_datetime() is None


def test_explicit_forms_are_strict() -> None:
    """Seed 003 says "text" is an element: an attribute is not read as the text."""
    gs = parse_group_state(b'<groupstate><subject text="t"/></groupstate>')
    assert gs.subject == GsSubject(text=None)


def test_namespaced_root_is_kept() -> None:
    doc = (
        b'<groupstate xmlns="urn:example:gso" lastfocussessionid="sip:f@x">'
        b"<policy>p</policy></groupstate>"
    )
    gs = parse_group_state(doc)
    assert gs.namespace == "urn:example:gso" and gs.policy == "p"
    assert parse_group_state(build_group_state(gs)) == gs


@pytest.mark.parametrize(
    "doc",
    [
        b"<group-state/>",
        b"<groupstate><max-user-count>many</max-user-count></groupstate>",
        b"<groupstate><participant yourown='maybe'/></groupstate>",
        b"<groupstate",
        b"<!DOCTYPE groupstate [<!ENTITY x 'y'>]><groupstate/>",
    ],
)
def test_invalid_objects(doc: bytes) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_group_state(doc)
    assert exc.value.raw == doc


def test_bad_timestamp_raises_document_error() -> None:
    gs = parse_group_state(b'<groupstate timestamp="yesterday"/>')
    with pytest.raises(DocumentError):
        gs.timestamp_datetime()


def test_builder_refusal_is_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        build_group_state(GroupState(lastfocussessionid="sip:f@x\x00", timestamp=None))
