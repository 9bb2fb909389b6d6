"""Group State Object (``application/group-state-object+xml``): model, parser, builder.

No public schema exists. The model follows seed 003 (8.2.3 "Receive Participant
Information Notification", items a-h, and the administrative trigger's
``<status><removed>`` marker) and the public samples in PROTOCOL_NOTES.md::

    <groupstate timestamp="2012-06-13T16:39:57-05:00"
                lastfocussessionid="sip:da9274453@company.com" group-type="Closed">
      <participant name="bob" comm-addr="tel:+16135551210" role="Administrator"/>
      <participant name="alice" comm-addr="tel:+16135551211" yourown="true"/>
      <subject>
        <text>Friday lunch</text>
        <participant>sip:alice@example.net</participant>
        <timestamp>2026-11-21T10:24:11Z</timestamp>
      </subject>
      <icon>
        <icon-uri>https://files.example.net/icon/42</icon-uri>   (or a <file-info> element)
        <participant>sip:bob@example.net</participant>
        <timestamp>2026-11-21T10:25:00Z</timestamp>
      </icon>
      <max-user-count>20</max-user-count>
      <policy>Closed</policy>
      <status><removed/></status>
    </groupstate>

That is also the canonical form :func:`build_group_state` writes (elements in that order).

Where the seed is explicit the parser is strict, so a check can tell a wrong form from a
missing one: ``lastfocussessionid``, ``timestamp``, ``group-type`` (a-c) and the
participant's ``comm-addr``, ``name``, ``yourown``, ``role`` (d) are attributes; the
``text``/``participant``/``timestamp`` of ``subject`` (e), the icon's ``participant`` and
``timestamp`` (f.ii-iii), ``max-user-count`` (g) and ``policy`` (h) are elements.

Where the seed is not explicit both forms are accepted:

- the icon source (f.i "the source information ... either an icon-uri or file-info"): an
  ``<icon-uri>`` child, a ``<file-info>`` child, either wrapped in a ``<source>`` element,
  a ``<source>`` element holding the URI as text, or an ``icon-uri``/``source`` attribute
  of ``<icon>``. Built as a direct ``<icon-uri>`` or ``<file-info>`` child.
- the ``removed`` marker: the administrative trigger (seed 003, "Termination of all CPM
  Sessions of a CPM User due to Administrative Trigger", 2.a) looks for "the element
  <removed> ... under the <status> element" of a Group State Object. Nothing places
  ``<status>``; it is a child of the ``groupstate`` root here, because the marker is about
  the whole object (the served user was removed from the group), not one participant.
  Presence alone counts (``<removed/>``, ``<removed>true</removed>`` alike).

Absent attributes and elements are ``None`` in the model (the checks report the missing
SHALL); a present value that cannot be read (``max-user-count="x"``, ``yourown="maybe"``)
raises :class:`~conformance.errors.DocumentError`. ``timestamp`` strings are kept as sent;
:meth:`GroupState.timestamp_datetime` parses them.

The root has no namespace in every sample. A namespaced root is accepted (its namespace is
kept in :attr:`GroupState.namespace` for a check to judge); children may then be in that
namespace or unqualified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from conformance.documents.conference_info import FileInfo, IconSource, IconUri
from conformance.documents.xml import (
    DEFAULT_LIMITS,
    XmlLimits,
    building,
    child,
    children,
    element_text,
    local_name,
    namespace_of,
    parse_bool,
    parse_datetime,
    parse_document,
    parse_uint,
    parse_xml,
    serialize,
)
from conformance.errors import DocumentError

__all__ = [
    "GROUP_STATE_CONTENT_TYPE",
    "GroupState",
    "GsIcon",
    "GsParticipant",
    "GsSubject",
    "build_group_state",
    "parse_group_state",
]

GROUP_STATE_CONTENT_TYPE = "application/group-state-object+xml"


@dataclass(frozen=True, slots=True)
class GsParticipant:
    """One ``<participant>`` (seed 003 8.2.3 d)."""

    comm_addr: str | None
    name: str | None = None
    role: str | None = None
    yourown: bool | None = None


@dataclass(frozen=True, slots=True)
class GsSubject:
    """The ``<subject>`` element (seed 003 8.2.3 e)."""

    text: str | None = None
    participant: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class GsIcon:
    """The ``<icon>`` element (seed 003 8.2.3 f); ``source`` is ``None`` when omitted."""

    source: IconSource | None = None
    participant: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class GroupState:
    """A Group State Object."""

    lastfocussessionid: str | None
    timestamp: str | None
    group_type: str | None = None
    participants: tuple[GsParticipant, ...] = ()
    subject: GsSubject | None = None
    icon: GsIcon | None = None
    max_user_count: int | None = None
    policy: str | None = None
    removed: bool = False
    namespace: str = ""
    raw: bytes | None = field(default=None, compare=False, repr=False)

    def timestamp_datetime(self) -> datetime | None:
        """The ``timestamp`` attribute parsed (RFC 3339); raises :class:`DocumentError`."""
        return parse_datetime(self.timestamp, "groupstate timestamp")

    def participant(self, comm_addr: str) -> GsParticipant | None:
        """The participant with this ``comm-addr``, if listed."""
        return next((p for p in self.participants if p.comm_addr == comm_addr), None)


# ---------------------------------------------------------------- parse


def _icon_source(el: etree._Element, ns: tuple[str, ...]) -> IconSource | None:
    uri = child(el, "icon-uri", ns)
    if uri is not None:
        text = (element_text(uri) or "").strip()
        return IconUri(text) if text else None
    for c in el:
        if isinstance(c.tag, str) and local_name(c) == "file-info":
            return FileInfo(etree.tostring(c, encoding="UTF-8"))
    return None


def _parse_icon(el: etree._Element, ns: tuple[str, ...]) -> GsIcon:
    source = _icon_source(el, ns)
    if source is None:
        wrapped = child(el, "source", ns)
        if wrapped is not None:
            source = _icon_source(wrapped, ns)
            text = (element_text(wrapped) or "").strip()
            if source is None and text:
                source = IconUri(text)
    if source is None:
        value = el.get("icon-uri") or el.get("source")
        if value:
            source = IconUri(value.strip())
    return GsIcon(
        source=source,
        participant=element_text(child(el, "participant", ns)),
        timestamp=element_text(child(el, "timestamp", ns)),
    )


def parse_group_state(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> GroupState:
    """Parse a Group State Object; raises only :class:`DocumentError`."""
    return parse_document(data, _parse_root, limits=limits)


def _parse_root(root: etree._Element, data: bytes) -> GroupState:
    if local_name(root) != "groupstate":
        raise DocumentError(f"root element is {root.tag!r}, not groupstate")
    root_ns = namespace_of(root)
    ns = ("", root_ns) if root_ns else ("",)
    participants = []
    for p in children(root, "participant", ns):
        participants.append(
            GsParticipant(
                comm_addr=p.get("comm-addr"),
                name=p.get("name"),
                role=p.get("role"),
                yourown=parse_bool(p.get("yourown"), "participant yourown"),
            )
        )
    subject_el = child(root, "subject", ns)
    subject = None
    if subject_el is not None:
        subject = GsSubject(
            text=element_text(child(subject_el, "text", ns)),
            participant=element_text(child(subject_el, "participant", ns)),
            timestamp=element_text(child(subject_el, "timestamp", ns)),
        )
    icon_el = child(root, "icon", ns)
    removed = any(
        child(status, "removed", ns) is not None for status in children(root, "status", ns)
    )
    return GroupState(
        lastfocussessionid=root.get("lastfocussessionid"),
        timestamp=root.get("timestamp"),
        group_type=root.get("group-type"),
        participants=tuple(participants),
        subject=subject,
        icon=None if icon_el is None else _parse_icon(icon_el, ns),
        max_user_count=parse_uint(
            element_text(child(root, "max-user-count", ns)), "max-user-count"
        ),
        policy=element_text(child(root, "policy", ns)),
        removed=removed,
        namespace=root_ns,
        raw=data,
    )


# ---------------------------------------------------------------- build


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, name).text = text


def _build_group_state(gs: GroupState) -> bytes:
    ns = gs.namespace

    def q(name: str) -> str:
        return f"{{{ns}}}{name}" if ns else name

    root = etree.Element(q("groupstate"), nsmap={None: ns} if ns else None)  # type: ignore[dict-item]
    if gs.timestamp is not None:
        root.set("timestamp", gs.timestamp)
    if gs.lastfocussessionid is not None:
        root.set("lastfocussessionid", gs.lastfocussessionid)
    if gs.group_type is not None:
        root.set("group-type", gs.group_type)
    for p in gs.participants:
        el = etree.SubElement(root, q("participant"))
        if p.name is not None:
            el.set("name", p.name)
        if p.comm_addr is not None:
            el.set("comm-addr", p.comm_addr)
        if p.role is not None:
            el.set("role", p.role)
        if p.yourown is not None:
            el.set("yourown", "true" if p.yourown else "false")
    if gs.subject is not None:
        s = etree.SubElement(root, q("subject"))
        _sub(s, q("text"), gs.subject.text)
        _sub(s, q("participant"), gs.subject.participant)
        _sub(s, q("timestamp"), gs.subject.timestamp)
    if gs.icon is not None:
        i = etree.SubElement(root, q("icon"))
        if isinstance(gs.icon.source, IconUri):
            _sub(i, q("icon-uri"), gs.icon.source.uri)
        elif isinstance(gs.icon.source, FileInfo):
            i.append(parse_xml(gs.icon.source.xml))
        _sub(i, q("participant"), gs.icon.participant)
        _sub(i, q("timestamp"), gs.icon.timestamp)
    if gs.max_user_count is not None:
        _sub(root, q("max-user-count"), str(gs.max_user_count))
    _sub(root, q("policy"), gs.policy)
    if gs.removed:
        status = etree.SubElement(root, q("status"))
        etree.SubElement(status, q("removed"))
    return serialize(root)


def build_group_state(gs: GroupState) -> bytes:
    """Serialize in the canonical form shown in the module docstring.

    ``namespace`` is honoured (a test can build a deliberately namespaced object); the
    default is none, as in every public sample.
    """
    with building("groupstate"):
        return _build_group_state(gs)
