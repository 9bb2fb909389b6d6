"""URI lists of a group INVITE (``application/resource-lists+xml``).

- RFC 4826 resource lists (namespace ``urn:ietf:params:xml:ns:resource-lists``).
- RFC 5366: the body part with ``Content-Disposition: recipient-list`` of an INVITE that
  carries ``Require: recipient-list-invite``.
- RFC 5364 copy control attributes (namespace ``urn:ietf:params:xml:ns:copycontrol``):
  ``cp:copyControl="to|cc|bcc"``, ``cp:anonymize`` and ``cp:count``. The same document is
  carried with ``Content-Disposition: recipient-list-history`` when a server tells the
  recipients who else received the request (RFC 5365/5366); that form has no separate
  schema, so one model serves both: :data:`RECIPIENT_LIST_DISPOSITION` and
  :data:`RECIPIENT_LIST_HISTORY_DISPOSITION` name the two dispositions.

Parsing flattens nested ``<list>`` elements into one tuple of entries in document order.
``<external>`` and ``<entry-ref>`` references are never followed (nothing is fetched);
they are counted in :attr:`ResourceList.unresolved` so a check can see them. Copy control
attributes in no namespace are accepted as well as qualified ones; values are kept as sent
(a check compares them with :class:`CopyControl`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from lxml import etree

from conformance.documents.xml import (
    DEFAULT_LIMITS,
    XmlLimits,
    attr,
    building,
    child,
    element_text,
    local_name,
    namespace_of,
    parse_bool,
    parse_uint,
    parse_xml,
    serialize,
)
from conformance.errors import DocumentError

__all__ = [
    "COPYCONTROL_NS",
    "RECIPIENT_LIST_DISPOSITION",
    "RECIPIENT_LIST_HISTORY_DISPOSITION",
    "RESOURCE_LISTS_CONTENT_TYPE",
    "RESOURCE_LISTS_NS",
    "CopyControl",
    "Entry",
    "ResourceList",
    "build_resource_list",
    "parse_resource_list",
]

RESOURCE_LISTS_NS = "urn:ietf:params:xml:ns:resource-lists"
COPYCONTROL_NS = "urn:ietf:params:xml:ns:copycontrol"
RESOURCE_LISTS_CONTENT_TYPE = "application/resource-lists+xml"
RECIPIENT_LIST_DISPOSITION = "recipient-list"
RECIPIENT_LIST_HISTORY_DISPOSITION = "recipient-list-history"

_RL = (RESOURCE_LISTS_NS,)
_CP = (COPYCONTROL_NS, "")


class CopyControl(StrEnum):
    """RFC 5364 section 4 ``copyControl`` values."""

    TO = "to"
    CC = "cc"
    BCC = "bcc"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``<entry>`` (RFC 4826 section 3.2) with its RFC 5364 attributes."""

    uri: str
    display_name: str | None = None
    copy_control: str | None = None
    anonymize: bool | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class ResourceList:
    """A resource-lists document, flattened to its entries."""

    entries: tuple[Entry, ...] = ()
    name: str | None = None
    unresolved: int = 0
    raw: bytes | None = field(default=None, compare=False, repr=False)

    def uris(self) -> tuple[str, ...]:
        return tuple(e.uri for e in self.entries)

    def with_copy_control(self, value: str) -> tuple[Entry, ...]:
        """Entries whose copyControl equals ``value`` (case-insensitively)."""
        return tuple(e for e in self.entries if (e.copy_control or "").lower() == value.lower())


def _walk(lst: etree._Element) -> Iterator[etree._Element]:
    for c in lst:
        if not isinstance(c.tag, str) or namespace_of(c) != RESOURCE_LISTS_NS:
            continue
        if local_name(c) == "list":
            yield from _walk(c)
        else:
            yield c


def parse_resource_list(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> ResourceList:
    """Parse a resource-lists document; raises only :class:`DocumentError`."""
    root = parse_xml(data, limits=limits)
    if root.tag != f"{{{RESOURCE_LISTS_NS}}}resource-lists":
        raise DocumentError(f"root element is {root.tag!r}, not resource-lists", raw=data)
    first = child(root, "list", _RL)
    entries: list[Entry] = []
    unresolved = 0
    try:
        for el in _walk(root):
            kind = local_name(el)
            if kind in ("external", "entry-ref"):
                unresolved += 1
                continue
            if kind != "entry":
                continue
            uri = el.get("uri")
            if not uri:
                raise DocumentError("<entry> without a uri attribute")
            entries.append(
                Entry(
                    uri=uri,
                    display_name=element_text(child(el, "display-name", _RL)),
                    copy_control=attr(el, "copyControl", _CP),
                    anonymize=parse_bool(attr(el, "anonymize", _CP), "anonymize"),
                    count=parse_uint(attr(el, "count", _CP), "count"),
                )
            )
    except DocumentError as exc:
        raise DocumentError(exc.message, raw=data) from None
    return ResourceList(
        entries=tuple(entries),
        name=None if first is None else first.get("name"),
        unresolved=unresolved,
        raw=data,
    )


def _build_resource_list(rl: ResourceList) -> bytes:
    root = etree.Element(
        f"{{{RESOURCE_LISTS_NS}}}resource-lists",
        nsmap={None: RESOURCE_LISTS_NS, "cp": COPYCONTROL_NS},  # type: ignore[dict-item]
    )
    lst = etree.SubElement(root, f"{{{RESOURCE_LISTS_NS}}}list")
    if rl.name is not None:
        lst.set("name", rl.name)
    for e in rl.entries:
        el = etree.SubElement(lst, f"{{{RESOURCE_LISTS_NS}}}entry", uri=e.uri)
        if e.copy_control is not None:
            el.set(f"{{{COPYCONTROL_NS}}}copyControl", e.copy_control)
        if e.anonymize is not None:
            el.set(f"{{{COPYCONTROL_NS}}}anonymize", "true" if e.anonymize else "false")
        if e.count is not None:
            el.set(f"{{{COPYCONTROL_NS}}}count", str(e.count))
        if e.display_name is not None:
            etree.SubElement(el, f"{{{RESOURCE_LISTS_NS}}}display-name").text = e.display_name
    return serialize(root)


def build_resource_list(rl: ResourceList) -> bytes:
    """One ``<list>`` of entries; copy control attributes use the ``cp`` prefix."""
    with building("resource-lists"):
        return _build_resource_list(rl)
