"""RFC 5438 IMDN documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conformance.documents.imdn import (
    Imdn,
    ImdnKind,
    ImdnStatus,
    build_imdn,
    parse_imdn,
)
from conformance.errors import DocumentError, LocalProtocolError

DELIVERED = b"""<?xml version="1.0" encoding="UTF-8"?>
<imdn xmlns="urn:ietf:params:xml:ns:imdn">
  <message-id>34jk324j</message-id>
  <datetime>2026-11-21T10:24:11.270+00:00</datetime>
  <recipient-uri>sip:bob@example.com</recipient-uri>
  <original-recipient-uri>sip:bob@example.com</original-recipient-uri>
  <delivery-notification>
    <status><delivered/></status>
  </delivery-notification>
</imdn>
"""


def test_parse_delivery_notification() -> None:
    n = parse_imdn(DELIVERED)
    assert n.message_id == "34jk324j"
    assert n.kind is ImdnKind.DELIVERY
    assert n.status == ImdnStatus.DELIVERED
    assert n.status_allowed
    assert n.recipient_uri == "sip:bob@example.com"
    assert n.datetime_parsed() == datetime(2026, 11, 21, 10, 24, 11, 270000, tzinfo=UTC)
    assert n.raw == DELIVERED


@pytest.mark.parametrize(
    ("kind", "status", "allowed"),
    [
        (ImdnKind.DISPLAY, "displayed", True),
        (ImdnKind.PROCESSING, "stored", True),
        (ImdnKind.DELIVERY, "failed", True),
        (ImdnKind.DISPLAY, "delivered", False),
    ],
)
def test_round_trip(kind: ImdnKind, status: str, allowed: bool) -> None:
    n = Imdn(message_id="m1", datetime="2026-11-21T10:00:00Z", kind=kind, status=status)
    built = build_imdn(n)
    again = parse_imdn(built)
    assert again == n
    assert again.status_allowed is allowed
    assert build_imdn(again) == built


def test_missing_ids_are_none() -> None:
    n = parse_imdn(
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><display-notification>'
        b"<status><displayed/></status></display-notification></imdn>"
    )
    assert n.message_id is None and n.datetime is None and n.datetime_parsed() is None


@pytest.mark.parametrize(
    "doc",
    [
        b"<imdn><delivery-notification><status><delivered/></status>"
        b"</delivery-notification></imdn>",
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>x</message-id></imdn>',
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><delivery-notification/></imdn>',
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><delivery-notification><status/>'
        b"</delivery-notification></imdn>",
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn"><delivery-notification><status>'
        b"<delivered/><failed/></status></delivery-notification></imdn>",
        b'<imdn xmlns="urn:ietf:params:xml:ns:imdn">'
        b"<delivery-notification><status><delivered/></status></delivery-notification>"
        b"<display-notification><status><displayed/></status></display-notification></imdn>",
        b"<imdn",
    ],
)
def test_invalid(doc: bytes) -> None:
    with pytest.raises(DocumentError) as exc:
        parse_imdn(doc)
    assert exc.value.raw == doc


def test_bad_datetime() -> None:
    n = Imdn(message_id="m", datetime="noon", kind=ImdnKind.DELIVERY, status="delivered")
    with pytest.raises(DocumentError):
        n.datetime_parsed()


def test_builder_refusal_is_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        build_imdn(Imdn(message_id="m", datetime=None, kind=ImdnKind.DELIVERY, status="no good"))
