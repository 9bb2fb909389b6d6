"""RFC 4826 / 5364 / 5366 recipient lists."""

from __future__ import annotations

import pytest

from conformance.documents.resource_lists import (
    CopyControl,
    Entry,
    ResourceList,
    build_resource_list,
    parse_resource_list,
)
from conformance.errors import DocumentError

GROUP_INVITE_LIST = b"""<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
                xmlns:cp="urn:ietf:params:xml:ns:copycontrol">
  <list>
    <entry uri="sip:bob@example.net" cp:copyControl="to"/>
    <entry uri="tel:+15550100" cp:copyControl="cc">
      <display-name>Carol</display-name>
    </entry>
    <entry uri="sip:dave@example.net" cp:copyControl="bcc" cp:anonymize="true"/>
  </list>
</resource-lists>
"""


def test_parse_recipient_list() -> None:
    rl = parse_resource_list(GROUP_INVITE_LIST)
    assert rl.uris() == ("sip:bob@example.net", "tel:+15550100", "sip:dave@example.net")
    assert rl.entries[1] == Entry("tel:+15550100", display_name="Carol", copy_control="cc")
    assert rl.entries[2].anonymize is True
    assert [e.uri for e in rl.with_copy_control(CopyControl.BCC)] == ["sip:dave@example.net"]
    assert rl.raw == GROUP_INVITE_LIST


def test_round_trip() -> None:
    rl = parse_resource_list(GROUP_INVITE_LIST)
    built = build_resource_list(rl)
    assert parse_resource_list(built) == rl
    assert b'cp:copyControl="to"' in built


def test_history_count_and_nested_lists() -> None:
    doc = b"""<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
        xmlns:cp="urn:ietf:params:xml:ns:copycontrol">
      <list name="outer"><entry uri="sip:a@x"/>
        <list><entry uri="sip:b@x" cp:count="3" cp:anonymize="0"/></list>
        <external anchor="http://xcap.example.net/list"/>
        <entry-ref ref="users/x"/>
      </list></resource-lists>"""
    rl = parse_resource_list(doc)
    assert rl.name == "outer"
    assert rl.uris() == ("sip:a@x", "sip:b@x")
    assert rl.entries[1].count == 3 and rl.entries[1].anonymize is False
    assert rl.unresolved == 2
    assert parse_resource_list(build_resource_list(rl)).entries == rl.entries


def test_unqualified_copy_control_is_accepted() -> None:
    doc = (
        b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>'
        b'<entry uri="sip:a@x" copyControl="to"/></list></resource-lists>'
    )
    assert parse_resource_list(doc).entries == (Entry("sip:a@x", copy_control="to"),)


def test_empty_list_builds() -> None:
    out = build_resource_list(ResourceList())
    assert parse_resource_list(out).entries == ()


@pytest.mark.parametrize(
    "doc",
    [
        b"<resource-lists><list/></resource-lists>",
        b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><entry/></list>'
        b"</resource-lists>",
        b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" '
        b'xmlns:cp="urn:ietf:params:xml:ns:copycontrol"><list>'
        b'<entry uri="sip:a@x" cp:count="x"/></list></resource-lists>',
        b"<resource-lists",
    ],
)
def test_invalid(doc: bytes) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_resource_list(doc)
    assert exc.value.raw == doc
