"""The hardened XML parser: hostile input raises DocumentError and reads nothing."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance import documents
from conformance.documents import xml as docxml
from conformance.documents.xml import XmlLimits, load_schema, parse_xml
from conformance.errors import DocumentError, RemoteProtocolError

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

SECRET = "cpm-conformance-secret-7f3a"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.txt"
    p.write_text(SECRET)
    return p


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener that would see any connection the parser attempts."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    s.setblocking(False)
    yield s
    s.close()


def _assert_no_connection(s: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        s.accept()


def test_document_error_is_remote_protocol_error() -> None:
    assert issubclass(DocumentError, RemoteProtocolError)


def test_plain_document_parses() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><a x="1"><b>t</b></a>')
    assert root.tag == "a"
    assert root[0].text == "t"


def test_comments_pis_and_cdata_are_flattened() -> None:
    root = parse_xml(b"<!-- c --><a><?pi x?>te<!-- c -->xt<![CDATA[<more>]]></a>")
    assert root.text == "text<more>"
    assert len(root) == 0


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(DocumentError, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS)


def test_external_file_entity_is_refused(secret_file: Path) -> None:
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret_file}">]><a>&x;</a>'
    ).encode()
    with pytest.raises(DocumentError) as exc:
        parse_xml(doc)
    assert SECRET not in str(exc.value)


def test_external_http_entity_is_refused(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    doc = (f'<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/x">]><a>&x;</a>').encode()
    with pytest.raises(DocumentError):
        parse_xml(doc)
    _assert_no_connection(listener)


def test_parameter_entities_are_refused(secret_file: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    doc = (
        f'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/evil.dtd">'
        f'<!ENTITY % f SYSTEM "file://{secret_file}">%p;]><a/>'
    ).encode()
    with pytest.raises(DocumentError):
        parse_xml(doc)
    _assert_no_connection(listener)


def test_doctype_after_comment_is_still_refused() -> None:
    with pytest.raises(DocumentError, match="DOCTYPE"):
        parse_xml(b'<?xml version="1.0"?>\n<!-- hi -->\n<!doctype a SYSTEM "a.dtd"><a/>')


def test_underlying_parser_alone_reads_nothing(secret_file: Path, listener: socket.socket) -> None:
    """Defence in depth: even without the DOCTYPE pre-check the parser loads nothing."""
    port = listener.getsockname()[1]
    doc = (
        f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret_file}">'
        f'<!ENTITY y SYSTEM "http://127.0.0.1:{port}/y">]><a>&x;&y;</a>'
    ).encode()
    root = etree.fromstring(doc, parser=docxml.hardened_parser())
    assert SECRET not in etree.tostring(root).decode()
    _assert_no_connection(listener)


def test_oversize_input_is_refused_before_parsing() -> None:
    big = b"<a>" + b"x" * (256 * 1024) + b"</a>"
    with pytest.raises(DocumentError, match="allowed"):
        parse_xml(big)


def test_size_limit_is_configurable() -> None:
    with pytest.raises(DocumentError):
        parse_xml(b"<a>0123456789</a>", limits=XmlLimits(max_bytes=10))
    assert parse_xml(b"<a/>", limits=XmlLimits(max_bytes=10)).tag == "a"


def test_depth_limit() -> None:
    deep = b"<a>" * 40 + b"</a>" * 40
    with pytest.raises(DocumentError, match="deeper"):
        parse_xml(deep)
    assert parse_xml(deep, limits=XmlLimits(max_depth=50)).tag == "a"


def test_element_count_limit() -> None:
    wide = b"<a>" + b"<b/>" * 50 + b"</a>"
    with pytest.raises(DocumentError, match="more than"):
        parse_xml(wide, limits=XmlLimits(max_elements=20))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<a>",
        b"<a></b>",
        b"<a>&undefined;</a>",
        b"\x00\x01\x02",
        b"<a/><b/>",
    ],
)
def test_non_xml_is_refused(data: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_xml(data)


def test_wrong_encoding_declaration_is_refused() -> None:
    with pytest.raises(DocumentError, match="encoding"):
        parse_xml('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode("latin-1"))


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(DocumentError, match="UTF-8"):
        parse_xml(b"<a>\xe9</a>")


def test_utf16_is_refused() -> None:
    with pytest.raises(DocumentError):
        parse_xml('<?xml version="1.0" encoding="UTF-16"?><a/>'.encode("utf-16"))


def test_utf8_bom_is_accepted() -> None:
    assert parse_xml(b"\xef\xbb\xbf<a/>").tag == "a"


def test_str_input_is_refused() -> None:
    with pytest.raises(DocumentError):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_bad_values_raise_document_error() -> None:
    with pytest.raises(DocumentError):
        docxml.parse_uint("-1", "x")
    with pytest.raises(DocumentError):
        docxml.parse_uint("99999999999", "x")
    with pytest.raises(DocumentError):
        docxml.parse_bool("yes", "x")
    assert docxml.parse_bool(" true ", "x") is True
    assert docxml.parse_uint(None, "x") is None


def test_local_schema_loads_without_network() -> None:
    schema = load_schema("conference-info.xsd")
    assert schema is load_schema("conference-info.xsd")


# ---------------------------------------------------------------- fuzz: only DocumentError

_PARSERS: list[Callable[[bytes], object]] = [
    documents.parse_conference_info,
    documents.parse_group_state,
    documents.parse_resource_list,
    documents.parse_cpim,
    documents.parse_imdn,
    documents.validate_conference_info,
]

_SEEDS = [
    b'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="sip:f@x" '
    b'version="1"><conference-description><maximum-user-count>3</maximum-user-count>'
    b'</conference-description><users><user entity="sip:a@x" yourown="true"><endpoint '
    b'entity="sip:a@x"><status>connected</status></endpoint></user></users></conference-info>',
    b'<groupstate lastfocussessionid="sip:f@x" timestamp="2026-11-21T10:00:00Z">'
    b'<participant comm-addr="sip:a@x" yourown="true"/><max-user-count>4</max-user-count>'
    b"</groupstate>",
    b'<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" '
    b'xmlns:cp="urn:ietf:params:xml:ns:copycontrol"><list><entry uri="sip:a@x" '
    b'cp:count="2"/></list></resource-lists>',
    b"From: <sip:a@x>\r\nNS: imdn <urn:ietf:params:imdn>\r\nimdn.Message-ID: 1\r\n\r\n"
    b"Content-Type: text/plain\r\n\r\nhi",
    b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>1</message-id>'
    b"<delivery-notification><status><delivered/></status></delivery-notification></imdn>",
]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 2))
        pos = draw(st.integers(0, len(seed)))
        if op == 0 and seed:
            del seed[min(pos, len(seed) - 1)]
        elif op == 1:
            seed[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            seed[pos:pos] = draw(
                st.sampled_from(
                    [
                        b"<",
                        b">",
                        b"&",
                        b'"',
                        b"\r\n",
                        b"\x00",
                        b"<!DOCTYPE x>",
                        b"&lol;",
                        b"\xff",
                        b":",
                    ]
                )
            )
    return bytes(seed)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(_mutated(), st.binary(max_size=200)))
def test_parsers_raise_only_document_error(data: bytes) -> None:
    for parse in _PARSERS:
        with contextlib.suppress(DocumentError):
            parse(data)
