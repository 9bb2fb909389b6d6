"""Instant Message Disposition Notifications (RFC 5438, ``message/imdn+xml``).

Namespace ``urn:ietf:params:xml:ns:imdn``::

    <imdn xmlns="urn:ietf:params:xml:ns:imdn">
      <message-id>34jk324j</message-id>
      <datetime>2026-11-21T10:24:11.270+00:00</datetime>
      <recipient-uri>sip:bob@example.com</recipient-uri>
      <original-recipient-uri>sip:bob@example.com</original-recipient-uri>
      <delivery-notification><status><delivered/></status></delivery-notification>
    </imdn>

An IMDN is carried in CPIM with ``Content-Disposition: notification``
(:data:`IMDN_CONTENT_DISPOSITION`).

Decisions: exactly one of ``delivery-notification``, ``display-notification`` and
``processing-notification`` must be present, and its ``<status>`` must hold exactly one
element; otherwise :class:`~conformance.errors.DocumentError`. The status name is kept as
sent (a check compares it with :data:`ALLOWED_STATUS`). A missing ``message-id`` or
``datetime`` is ``None`` in the model, for a check to report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

from conformance.documents.xml import (
    DEFAULT_LIMITS,
    XmlLimits,
    building,
    child,
    children,
    element_text,
    local_name,
    parse_datetime,
    parse_xml,
    serialize,
)
from conformance.errors import DocumentError

__all__ = [
    "ALLOWED_STATUS",
    "IMDN_CONTENT_DISPOSITION",
    "IMDN_CONTENT_TYPE",
    "IMDN_NS",
    "Imdn",
    "ImdnKind",
    "ImdnStatus",
    "build_imdn",
    "parse_imdn",
]

IMDN_NS = "urn:ietf:params:xml:ns:imdn"
IMDN_CONTENT_TYPE = "message/imdn+xml"
IMDN_CONTENT_DISPOSITION = "notification"

_NS = (IMDN_NS,)


class ImdnKind(StrEnum):
    """RFC 5438 section 7.2: the three notification types."""

    DELIVERY = "delivery"
    DISPLAY = "display"
    PROCESSING = "processing"


class ImdnStatus(StrEnum):
    """RFC 5438 section 7.2.1 status values."""

    DELIVERED = "delivered"
    FAILED = "failed"
    DISPLAYED = "displayed"
    PROCESSED = "processed"
    STORED = "stored"
    FORBIDDEN = "forbidden"
    ERROR = "error"


#: RFC 5438 section 7.2.1.1-7.2.1.3: which status each kind may carry
ALLOWED_STATUS: dict[ImdnKind, frozenset[str]] = {
    ImdnKind.DELIVERY: frozenset({"delivered", "failed", "forbidden", "error"}),
    ImdnKind.DISPLAY: frozenset({"displayed", "forbidden", "error"}),
    ImdnKind.PROCESSING: frozenset({"processed", "stored", "forbidden", "error"}),
}


@dataclass(frozen=True, slots=True)
class Imdn:
    """One disposition notification."""

    message_id: str | None
    datetime: str | None
    kind: ImdnKind
    status: str
    recipient_uri: str | None = None
    original_recipient_uri: str | None = None
    subject: str | None = None
    raw: bytes | None = field(default=None, compare=False, repr=False)

    def datetime_parsed(self) -> dt.datetime | None:
        """``datetime`` parsed (RFC 3339); raises :class:`DocumentError` when invalid."""
        return parse_datetime(self.datetime, "IMDN datetime")

    @property
    def status_allowed(self) -> bool:
        """Whether ``status`` is one RFC 5438 allows for ``kind``."""
        return self.status in ALLOWED_STATUS[self.kind]


def parse_imdn(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> Imdn:
    """Parse a ``message/imdn+xml`` document; raises only :class:`DocumentError`."""
    root = parse_xml(data, limits=limits)
    if root.tag != f"{{{IMDN_NS}}}imdn":
        raise DocumentError(f"root element is {root.tag!r}, not imdn", raw=data)
    found = [
        (kind, el) for kind in ImdnKind for el in children(root, f"{kind.value}-notification", _NS)
    ]
    if len(found) != 1:
        raise DocumentError(
            f"an IMDN needs exactly one notification element, found {len(found)}", raw=data
        )
    kind, note = found[0]
    status_el = child(note, "status", _NS)
    if status_el is None:
        raise DocumentError(f"{kind.value}-notification without <status>", raw=data)
    values = [c for c in status_el if isinstance(c.tag, str)]
    if len(values) != 1:
        raise DocumentError(
            f"<status> needs exactly one status element, found {len(values)}", raw=data
        )
    return Imdn(
        message_id=element_text(child(root, "message-id", _NS)),
        datetime=element_text(child(root, "datetime", _NS)),
        kind=kind,
        status=local_name(values[0]),
        recipient_uri=element_text(child(root, "recipient-uri", _NS)),
        original_recipient_uri=element_text(child(root, "original-recipient-uri", _NS)),
        subject=element_text(child(root, "subject", _NS)),
        raw=data,
    )


def _build_imdn(imdn: Imdn) -> bytes:
    def q(name: str) -> str:
        return f"{{{IMDN_NS}}}{name}"

    root = etree.Element(q("imdn"), nsmap={None: IMDN_NS})  # type: ignore[dict-item]
    for name, value in (
        ("message-id", imdn.message_id),
        ("datetime", imdn.datetime),
        ("recipient-uri", imdn.recipient_uri),
        ("original-recipient-uri", imdn.original_recipient_uri),
        ("subject", imdn.subject),
    ):
        if value is not None:
            etree.SubElement(root, q(name)).text = value
    note = etree.SubElement(root, q(f"{imdn.kind.value}-notification"))
    status = etree.SubElement(note, q("status"))
    etree.SubElement(status, q(imdn.status))
    return serialize(root)


def build_imdn(imdn: Imdn) -> bytes:
    """Serialize in RFC 5438 element order."""
    with building("imdn"):
        return _build_imdn(imdn)
