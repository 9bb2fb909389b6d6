"""Conference event package documents (RFC 4575, ``application/conference-info+xml``).

Namespace ``urn:ietf:params:xml:ns:conference-info``. :func:`parse_conference_info` and
:func:`build_conference_info` are a pair; :class:`ConferenceState` keeps the full view of one
subscription and merges partial notifications (RFC 4575 section 4.6).

CPM/RCS extensions (see PROTOCOL_NOTES.md) are accepted in several forms because deployed
Controlling Functions differ:

=================  ===============================================  =======================
extension          accepted when parsing                            built (canonical form)
=================  ===============================================  =======================
``subject-ext``    child of ``conference-description`` (or of the   element in the
                   root), in the conference-info namespace or       conference-info ns, in
                   unqualified                                      ``conference-description``
``icon``           same places; its source either wrapped in a      ``<icon><source>`` with
                   ``<source>`` element (seed 003 8.2.3 f.i) or     ``<icon-uri>`` or
                   given directly as ``<icon-uri>``/``<file-info>``  ``<file-info>`` inside
``yourown``,       attribute (unqualified or in the ns) or child    unqualified attribute
``joined``         element (ns or unqualified) of ``<user>``        ``yourown="true"``
roles              RFC ``<roles><entry>``, or ``<role>`` children   ``<roles><entry>``
=================  ===============================================  =======================

Values the checks judge (endpoint status, joining and disconnection methods, media status)
are kept as sent (``str``); the ``StrEnum`` classes name the RFC values for comparison.
Structural values the merge depends on (``state``, ``version``, ``entity``) are validated:
an invalid one raises :class:`~conformance.errors.DocumentError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar, cast

from lxml import etree

from conformance.documents.xml import (
    DEFAULT_LIMITS,
    XmlLimits,
    attr,
    building,
    child,
    children,
    element_text,
    load_schema,
    local_name,
    parse_bool,
    parse_document,
    parse_uint,
    parse_xml,
    serialize,
)
from conformance.errors import DocumentError

__all__ = [
    "CONFERENCE_INFO_CONTENT_TYPE",
    "CONFERENCE_INFO_NS",
    "Applied",
    "ApplyResult",
    "AvailableMedium",
    "ConferenceDescription",
    "ConferenceInfo",
    "ConferenceState",
    "ConferenceStatus",
    "DisconnectionMethod",
    "DocState",
    "Endpoint",
    "EndpointStatus",
    "Execution",
    "FileInfo",
    "Icon",
    "IconSource",
    "IconUri",
    "JoiningMethod",
    "Media",
    "Stale",
    "SubjectExt",
    "UriEntry",
    "User",
    "VersionGap",
    "build_conference_info",
    "parse_conference_info",
    "validate_conference_info",
]

CONFERENCE_INFO_NS = "urn:ietf:params:xml:ns:conference-info"
CONFERENCE_INFO_CONTENT_TYPE = "application/conference-info+xml"

_NS = (CONFERENCE_INFO_NS,)
#: where CPM extensions may live: the conference-info namespace or no namespace
_EXT = (CONFERENCE_INFO_NS, "")
_T = TypeVar("_T")


class DocState(StrEnum):
    """RFC 4575 section 5.1 / 4.6 ``state`` attribute."""

    FULL = "full"
    PARTIAL = "partial"
    DELETED = "deleted"


class EndpointStatus(StrEnum):
    """RFC 4575 section 5.6.5.2 endpoint ``<status>`` values."""

    PENDING = "pending"
    DIALING_OUT = "dialing-out"
    DIALING_IN = "dialing-in"
    ALERTING = "alerting"
    ON_HOLD = "on-hold"
    CONNECTED = "connected"
    MUTED_VIA_FOCUS = "muted-via-focus"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


class JoiningMethod(StrEnum):
    """RFC 4575 section 5.6.5.3 ``<joining-method>`` values."""

    DIALED_IN = "dialed-in"
    DIALED_OUT = "dialed-out"
    FOCUS_OWNER = "focus-owner"


class DisconnectionMethod(StrEnum):
    """RFC 4575 section 5.6.5.5 ``<disconnection-method>`` values."""

    DEPARTED = "departed"
    BOOTED = "booted"
    FAILED = "failed"
    BUSY = "busy"


# ---------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Execution:
    """RFC 4575 execution-type (``referred``, ``joining-info``, ``disconnection-info``)."""

    when: str | None = None
    reason: str | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class SubjectExt:
    """CPM ``<subject-ext>``: who set the subject and when (seed 003 8.2.3 e)."""

    participant: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class IconUri:
    """An icon given by reference (``<icon-uri>``)."""

    uri: str


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An icon given as an RCS ``<file-info>`` element, kept as serialized XML."""

    xml: bytes


IconSource = IconUri | FileInfo


@dataclass(frozen=True, slots=True)
class Icon:
    """CPM ``<icon>`` (seed 003 8.2.3 f).

    ``source`` is ``None`` when no source was given; ``empty_source`` is true when a
    ``<source>`` element was present but empty (8.2.3 f.i: then the Group State Object
    omits the source).
    """

    source: IconSource | None = None
    participant: str | None = None
    timestamp: str | None = None
    empty_source: bool = False


@dataclass(frozen=True, slots=True)
class UriEntry:
    """RFC 4575 uri-type entry (``conf-uris``, ``service-uris``)."""

    uri: str
    display_text: str | None = None
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class AvailableMedium:
    """RFC 4575 section 5.3.8 ``available-media/entry``."""

    label: str
    type: str
    display_text: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class ConferenceDescription:
    """RFC 4575 section 5.3 ``<conference-description>`` plus the CPM extensions."""

    display_text: str | None = None
    subject: str | None = None
    free_text: str | None = None
    keywords: tuple[str, ...] | None = None
    conf_uris: tuple[UriEntry, ...] = ()
    service_uris: tuple[UriEntry, ...] = ()
    maximum_user_count: int | None = None
    available_media: tuple[AvailableMedium, ...] = ()
    subject_ext: SubjectExt | None = None
    icon: Icon | None = None


@dataclass(frozen=True, slots=True)
class ConferenceStatus:
    """RFC 4575 section 5.5 ``<conference-state>``."""

    user_count: int | None = None
    active: bool | None = None
    locked: bool | None = None


@dataclass(frozen=True, slots=True)
class Media:
    """RFC 4575 section 5.6.5.7 endpoint ``<media>``."""

    id: str
    type: str | None = None
    label: str | None = None
    src_id: str | None = None
    status: str | None = None
    display_text: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """RFC 4575 section 5.6.5 ``<endpoint>``."""

    entity: str
    state: DocState = DocState.FULL
    display_text: str | None = None
    referred: Execution | None = None
    status: str | None = None
    joining_method: str | None = None
    joining_info: Execution | None = None
    disconnection_method: str | None = None
    disconnection_info: Execution | None = None
    media: tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True)
class User:
    """RFC 4575 section 5.6 ``<user>`` plus the CPM ``yourown`` and ``joined`` markers."""

    entity: str
    state: DocState = DocState.FULL
    display_text: str | None = None
    roles: tuple[str, ...] = ()
    yourown: bool | None = None
    joined: bool | None = None
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True, slots=True)
class ConferenceInfo:
    """RFC 4575 ``<conference-info>``.

    ``users_state`` is the ``state`` attribute of ``<users>`` as sent (``None`` when absent;
    in a partial document an absent one means "merge by entity").
    """

    entity: str
    state: DocState = DocState.FULL
    version: int | None = None
    description: ConferenceDescription | None = None
    conference_state: ConferenceStatus | None = None
    users: tuple[User, ...] = ()
    users_state: DocState | None = None
    raw: bytes | None = field(default=None, compare=False, repr=False)

    def user(self, entity: str) -> User | None:
        """The user with this entity, if listed."""
        return next((u for u in self.users if u.entity == entity), None)


# ---------------------------------------------------------------- parse


def _state(el: etree._Element, what: str) -> DocState:
    value = el.get("state")
    if value is None:
        return DocState.FULL
    try:
        return DocState(value)
    except ValueError:
        raise DocumentError(f"{what}: invalid state {value!r}") from None


def _opt_state(el: etree._Element, what: str) -> DocState | None:
    return None if el.get("state") is None else _state(el, what)


def _text(el: etree._Element, name: str, ns: tuple[str, ...] = _NS) -> str | None:
    return element_text(child(el, name, ns))


def _execution(el: etree._Element | None) -> Execution | None:
    if el is None:
        return None
    return Execution(when=_text(el, "when"), reason=_text(el, "reason"), by=_text(el, "by"))


def _uris(el: etree._Element | None) -> tuple[UriEntry, ...]:
    if el is None:
        return ()
    out = []
    for e in children(el, "entry", _NS):
        uri = _text(e, "uri")
        if uri is None:
            raise DocumentError("uris entry without <uri>")
        out.append(
            UriEntry(uri=uri, display_text=_text(e, "display-text"), purpose=_text(e, "purpose"))
        )
    return tuple(out)


def _parse_icon_source(el: etree._Element) -> IconSource | None:
    uri = child(el, "icon-uri", _EXT)
    if uri is not None:
        return IconUri((element_text(uri) or "").strip())
    for c in el:
        if isinstance(c.tag, str) and local_name(c) == "file-info":
            return FileInfo(etree.tostring(c, encoding="UTF-8"))
    return None


def _parse_icon(el: etree._Element) -> Icon:
    source_el = child(el, "source", _EXT)
    if source_el is not None:
        source = _parse_icon_source(source_el)
        if source is None:
            text = (element_text(source_el) or "").strip()
            source = IconUri(text) if text else None
        empty = source is None
    else:
        source = _parse_icon_source(el)
        empty = False
    return Icon(
        source=source,
        participant=_text(el, "participant", _EXT),
        timestamp=_text(el, "timestamp", _EXT),
        empty_source=empty,
    )


def _parse_description(el: etree._Element, root: etree._Element) -> ConferenceDescription:
    keywords_text = _text(el, "keywords")
    max_count = parse_uint(_text(el, "maximum-user-count"), "maximum-user-count")
    media = []
    am = child(el, "available-media", _NS)
    if am is not None:
        for e in children(am, "entry", _NS):
            label = e.get("label")
            mtype = _text(e, "type")
            if label is None or mtype is None:
                raise DocumentError("available-media entry needs a label and a <type>")
            media.append(
                AvailableMedium(
                    label=label,
                    type=mtype,
                    display_text=_text(e, "display-text"),
                    status=_text(e, "status"),
                )
            )
    sx = child(el, "subject-ext", _EXT)
    if sx is None:
        sx = child(root, "subject-ext", _EXT)
    icon_el = child(el, "icon", _EXT)
    if icon_el is None:
        icon_el = child(root, "icon", _EXT)
    return ConferenceDescription(
        display_text=_text(el, "display-text"),
        subject=_text(el, "subject"),
        free_text=_text(el, "free-text"),
        keywords=None if keywords_text is None else tuple(keywords_text.split()),
        conf_uris=_uris(child(el, "conf-uris", _NS)),
        service_uris=_uris(child(el, "service-uris", _NS)),
        maximum_user_count=max_count,
        available_media=tuple(media),
        subject_ext=None
        if sx is None
        else SubjectExt(
            participant=_text(sx, "participant", _EXT), timestamp=_text(sx, "timestamp", _EXT)
        ),
        icon=None if icon_el is None else _parse_icon(icon_el),
    )


def _parse_endpoint(el: etree._Element) -> Endpoint:
    entity = el.get("entity")
    if not entity:
        raise DocumentError("<endpoint> without an entity attribute")
    media = []
    for m in children(el, "media", _NS):
        mid = m.get("id")
        if mid is None:
            raise DocumentError("<media> without an id attribute")
        media.append(
            Media(
                id=mid,
                type=_text(m, "type"),
                label=_text(m, "label"),
                src_id=_text(m, "src-id"),
                status=_text(m, "status"),
                display_text=_text(m, "display-text"),
            )
        )
    return Endpoint(
        entity=entity,
        state=_state(el, f"endpoint {entity}"),
        display_text=_text(el, "display-text"),
        referred=_execution(child(el, "referred", _NS)),
        status=_strip(_text(el, "status")),
        joining_method=_strip(_text(el, "joining-method")),
        joining_info=_execution(child(el, "joining-info", _NS)),
        disconnection_method=_strip(_text(el, "disconnection-method")),
        disconnection_info=_execution(child(el, "disconnection-info", _NS)),
        media=tuple(media),
    )


def _strip(value: str | None) -> str | None:
    return None if value is None else value.strip()


def _ext_flag(el: etree._Element, name: str) -> bool | None:
    value = attr(el, name, ("", CONFERENCE_INFO_NS))
    if value is None:
        value = _text(el, name, _EXT)
    return parse_bool(value, f"user {el.get('entity')} {name}")


def _parse_user(el: etree._Element) -> User:
    entity = el.get("entity")
    if not entity:
        raise DocumentError("<user> without an entity attribute")
    roles: list[str] = []
    roles_el = child(el, "roles", _NS)
    if roles_el is not None:
        roles.extend((element_text(e) or "").strip() for e in children(roles_el, "entry", _NS))
    roles.extend((element_text(e) or "").strip() for e in children(el, "role", _EXT))
    return User(
        entity=entity,
        state=_state(el, f"user {entity}"),
        display_text=_text(el, "display-text"),
        roles=tuple(roles),
        yourown=_ext_flag(el, "yourown"),
        joined=_ext_flag(el, "joined"),
        endpoints=tuple(_parse_endpoint(e) for e in children(el, "endpoint", _NS)),
    )


def parse_conference_info(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> ConferenceInfo:
    """Parse a conference-info document; raises only :class:`DocumentError`."""
    return parse_document(data, _parse_root, limits=limits)


def _parse_root(root: etree._Element, data: bytes) -> ConferenceInfo:
    if root.tag != f"{{{CONFERENCE_INFO_NS}}}conference-info":
        raise DocumentError(f"root element is {root.tag!r}, not conference-info")
    entity = root.get("entity")
    if not entity:
        raise DocumentError("<conference-info> without the required entity attribute")
    desc_el = child(root, "conference-description", _NS)
    has_root_ext = (
        child(root, "subject-ext", _EXT) is not None or child(root, "icon", _EXT) is not None
    )
    if desc_el is None and has_root_ext:
        desc_el = etree.Element(f"{{{CONFERENCE_INFO_NS}}}conference-description")
    cs_el = child(root, "conference-state", _NS)
    users_el = child(root, "users", _NS)
    users: tuple[User, ...] = ()
    if users_el is not None:
        users = tuple(_parse_user(u) for u in children(users_el, "user", _NS))
        seen: set[str] = set()
        for u in users:
            if u.entity in seen:
                raise DocumentError(f"user {u.entity} listed twice")
            seen.add(u.entity)
    return ConferenceInfo(
        entity=entity,
        state=_state(root, "conference-info"),
        version=parse_uint(root.get("version"), "conference-info version"),
        description=None if desc_el is None else _parse_description(desc_el, root),
        conference_state=None
        if cs_el is None
        else ConferenceStatus(
            user_count=parse_uint(_text(cs_el, "user-count"), "user-count"),
            active=parse_bool(_text(cs_el, "active"), "active"),
            locked=parse_bool(_text(cs_el, "locked"), "locked"),
        ),
        users=users,
        users_state=None if users_el is None else _opt_state(users_el, "users"),
        raw=data,
    )


def validate_conference_info(data: bytes) -> tuple[str, ...]:
    """Validate against the local RFC 4575 schema; returns the errors (empty when valid).

    The CPM extensions listed in the module docstring are removed from a copy first:
    real Controlling Functions put them in the conference-info namespace or unqualified,
    which the schema's ``##other`` wildcards do not admit, and the CPM specification makes
    them legitimate. Raises :class:`DocumentError` when the bytes are not safe XML.
    """
    root = parse_xml(data)
    doc = copy.deepcopy(root)  # a private copy: extensions are removed from it
    for el in list(doc.iter()):
        if not isinstance(el.tag, str):
            continue
        name = local_name(el)
        if local_name(el) == "user":
            for key in (
                "yourown",
                "joined",
                f"{{{CONFERENCE_INFO_NS}}}yourown",
                f"{{{CONFERENCE_INFO_NS}}}joined",
            ):
                if key in el.attrib:
                    del el.attrib[key]
        parent = el.getparent()
        if parent is None:
            continue
        pname = local_name(parent)
        is_ext = (
            name in ("subject-ext", "icon")
            and pname in ("conference-description", "conference-info")
        ) or (name in ("yourown", "joined", "role") and pname == "user")
        if is_ext and el.tag in (name, f"{{{CONFERENCE_INFO_NS}}}{name}"):
            parent.remove(el)
    schema = load_schema("conference-info.xsd")
    if schema.validate(doc):
        return ()
    errors = cast("Iterable[Any]", schema.error_log)
    return tuple(f"line {e.line}: {e.message}" for e in errors)


# ---------------------------------------------------------------- build


def _q(name: str) -> str:
    return f"{{{CONFERENCE_INFO_NS}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None) -> etree._Element | None:
    if text is None:
        return None
    el = etree.SubElement(parent, _q(name))
    el.text = text
    return el


def _build_execution(parent: etree._Element, name: str, ex: Execution | None) -> None:
    if ex is None:
        return
    el = etree.SubElement(parent, _q(name))
    _sub(el, "when", ex.when)
    _sub(el, "reason", ex.reason)
    _sub(el, "by", ex.by)


def _build_uris(parent: etree._Element, name: str, entries: tuple[UriEntry, ...]) -> None:
    if not entries:
        return
    el = etree.SubElement(parent, _q(name))
    for u in entries:
        e = etree.SubElement(el, _q("entry"))
        _sub(e, "uri", u.uri)
        _sub(e, "display-text", u.display_text)
        _sub(e, "purpose", u.purpose)


def _build_icon(parent: etree._Element, icon: Icon) -> None:
    el = etree.SubElement(parent, _q("icon"))
    if icon.source is not None or icon.empty_source:
        src = etree.SubElement(el, _q("source"))
        if isinstance(icon.source, IconUri):
            _sub(src, "icon-uri", icon.source.uri)
        elif isinstance(icon.source, FileInfo):
            src.append(parse_xml(icon.source.xml))
    _sub(el, "participant", icon.participant)
    _sub(el, "timestamp", icon.timestamp)


def _build_description(parent: etree._Element, d: ConferenceDescription) -> None:
    el = etree.SubElement(parent, _q("conference-description"))
    _sub(el, "display-text", d.display_text)
    _sub(el, "subject", d.subject)
    _sub(el, "free-text", d.free_text)
    if d.keywords is not None:
        _sub(el, "keywords", " ".join(d.keywords))
    _build_uris(el, "conf-uris", d.conf_uris)
    _build_uris(el, "service-uris", d.service_uris)
    if d.maximum_user_count is not None:
        _sub(el, "maximum-user-count", str(d.maximum_user_count))
    if d.available_media:
        am = etree.SubElement(el, _q("available-media"))
        for m in d.available_media:
            e = etree.SubElement(am, _q("entry"), label=m.label)
            _sub(e, "display-text", m.display_text)
            _sub(e, "type", m.type)
            _sub(e, "status", m.status)
    if d.subject_ext is not None:
        sx = etree.SubElement(el, _q("subject-ext"))
        _sub(sx, "participant", d.subject_ext.participant)
        _sub(sx, "timestamp", d.subject_ext.timestamp)
    if d.icon is not None:
        _build_icon(el, d.icon)


def _xs_bool(value: bool) -> str:
    return "true" if value else "false"


def _build_endpoint(parent: etree._Element, ep: Endpoint) -> None:
    el = etree.SubElement(parent, _q("endpoint"), entity=ep.entity, state=ep.state.value)
    _sub(el, "display-text", ep.display_text)
    _build_execution(el, "referred", ep.referred)
    _sub(el, "status", ep.status)
    _sub(el, "joining-method", ep.joining_method)
    _build_execution(el, "joining-info", ep.joining_info)
    _sub(el, "disconnection-method", ep.disconnection_method)
    _build_execution(el, "disconnection-info", ep.disconnection_info)
    for m in ep.media:
        me = etree.SubElement(el, _q("media"), id=m.id)
        _sub(me, "display-text", m.display_text)
        _sub(me, "type", m.type)
        _sub(me, "label", m.label)
        _sub(me, "src-id", m.src_id)
        _sub(me, "status", m.status)


def _build_user(parent: etree._Element, u: User) -> None:
    el = etree.SubElement(parent, _q("user"), entity=u.entity, state=u.state.value)
    if u.yourown is not None:
        el.set("yourown", _xs_bool(u.yourown))
    if u.joined is not None:
        el.set("joined", _xs_bool(u.joined))
    _sub(el, "display-text", u.display_text)
    if u.roles:
        roles = etree.SubElement(el, _q("roles"))
        for r in u.roles:
            _sub(roles, "entry", r)
    for ep in u.endpoints:
        _build_endpoint(el, ep)


def _build_conference_info(info: ConferenceInfo) -> bytes:
    root = etree.Element(_q("conference-info"), nsmap={None: CONFERENCE_INFO_NS})  # type: ignore[dict-item]
    root.set("entity", info.entity)
    root.set("state", info.state.value)
    if info.version is not None:
        root.set("version", str(info.version))
    if info.description is not None:
        _build_description(root, info.description)
    cs = info.conference_state
    if cs is not None:
        el = etree.SubElement(root, _q("conference-state"))
        if cs.user_count is not None:
            _sub(el, "user-count", str(cs.user_count))
        if cs.active is not None:
            _sub(el, "active", _xs_bool(cs.active))
        if cs.locked is not None:
            _sub(el, "locked", _xs_bool(cs.locked))
    if info.users or info.users_state is not None:
        users = etree.SubElement(root, _q("users"))
        if info.users_state is not None:
            users.set("state", info.users_state.value)
        for u in info.users:
            _build_user(users, u)
    return serialize(root)


# ---------------------------------------------------------------- subscription state


@dataclass(frozen=True, slots=True)
class Applied:
    """The notification was applied; ``skipped`` versions were jumped by a full document."""

    view: ConferenceInfo
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Stale:
    """RFC 4575 4.6: a version equal to or lower than the current one; ignored."""

    current: int | None
    received: int | None


@dataclass(frozen=True, slots=True)
class VersionGap:
    """RFC 4575 4.6: a partial notification that cannot be applied (versions were lost,
    the version is missing, or no full state was received yet). The subscriber should
    refresh the subscription to obtain full state."""

    expected: int | None
    received: int | None


ApplyResult = Applied | Stale | VersionGap


def _merge_opt(old: _T | None, new: _T | None) -> _T | None:
    return old if new is None else new


def _merge_description(
    old: ConferenceDescription | None, new: ConferenceDescription | None
) -> ConferenceDescription | None:
    if old is None or new is None:
        return new if old is None else old
    return ConferenceDescription(
        display_text=_merge_opt(old.display_text, new.display_text),
        subject=_merge_opt(old.subject, new.subject),
        free_text=_merge_opt(old.free_text, new.free_text),
        keywords=_merge_opt(old.keywords, new.keywords),
        conf_uris=new.conf_uris or old.conf_uris,
        service_uris=new.service_uris or old.service_uris,
        maximum_user_count=_merge_opt(old.maximum_user_count, new.maximum_user_count),
        available_media=new.available_media or old.available_media,
        subject_ext=_merge_opt(old.subject_ext, new.subject_ext),
        icon=_merge_opt(old.icon, new.icon),
    )


def _merge_status(
    old: ConferenceStatus | None, new: ConferenceStatus | None
) -> ConferenceStatus | None:
    if old is None or new is None:
        return new if old is None else old
    return ConferenceStatus(
        user_count=_merge_opt(old.user_count, new.user_count),
        active=_merge_opt(old.active, new.active),
        locked=_merge_opt(old.locked, new.locked),
    )


def _merge_media(old: tuple[Media, ...], new: tuple[Media, ...]) -> tuple[Media, ...]:
    merged = {m.id: m for m in old}
    for m in new:
        merged[m.id] = m
    return tuple(merged.values())


def _merge_endpoint(old: Endpoint, new: Endpoint) -> Endpoint:
    return Endpoint(
        entity=old.entity,
        state=DocState.FULL,
        display_text=_merge_opt(old.display_text, new.display_text),
        referred=_merge_opt(old.referred, new.referred),
        status=_merge_opt(old.status, new.status),
        joining_method=_merge_opt(old.joining_method, new.joining_method),
        joining_info=_merge_opt(old.joining_info, new.joining_info),
        disconnection_method=_merge_opt(old.disconnection_method, new.disconnection_method),
        disconnection_info=_merge_opt(old.disconnection_info, new.disconnection_info),
        media=_merge_media(old.media, new.media),
    )


def _merge_endpoints(old: tuple[Endpoint, ...], new: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
    merged: dict[str, Endpoint] = {x.entity: x for x in old}
    for x in new:
        if x.state is DocState.DELETED:
            merged.pop(x.entity, None)
        elif x.state is DocState.PARTIAL and x.entity in merged:
            merged[x.entity] = _merge_endpoint(merged[x.entity], x)
        else:
            merged[x.entity] = replace(x, state=DocState.FULL)
    return tuple(merged.values())


def _merge_user(old: User, new: User) -> User:
    return User(
        entity=old.entity,
        state=DocState.FULL,
        display_text=_merge_opt(old.display_text, new.display_text),
        roles=new.roles or old.roles,
        yourown=_merge_opt(old.yourown, new.yourown),
        joined=_merge_opt(old.joined, new.joined),
        endpoints=_merge_endpoints(old.endpoints, new.endpoints),
    )


def _merge_users(old: tuple[User, ...], new: tuple[User, ...]) -> tuple[User, ...]:
    merged: dict[str, User] = {x.entity: x for x in old}
    for x in new:
        if x.state is DocState.DELETED:
            merged.pop(x.entity, None)
        elif x.state is DocState.PARTIAL and x.entity in merged:
            merged[x.entity] = _merge_user(merged[x.entity], x)
        else:
            merged[x.entity] = replace(
                x, state=DocState.FULL, endpoints=_merge_endpoints((), x.endpoints)
            )
    return tuple(merged.values())


class ConferenceState:
    """The full view of one conference subscription (RFC 4575 section 4.6).

    Feed every received document to :meth:`apply`, in arrival order:

    - a ``full`` document replaces the view;
    - a ``partial`` one is merged into it by ``entity`` (users, then endpoints; media by
      ``id``); an element with ``state="deleted"`` is removed, one with ``state="full"``
      is replaced, one with ``state="partial"`` is merged field by field;
    - a ``deleted`` document ends the conference: :attr:`deleted` becomes true.

    Versions: a version equal to or lower than the current one is :class:`Stale`; a
    partial document more than one above the current one, without a version or before
    any full state is a :class:`VersionGap`. Neither changes the view.
    """

    __slots__ = ("_deleted", "_view")

    def __init__(self) -> None:
        self._view: ConferenceInfo | None = None
        self._deleted = False

    @property
    def view(self) -> ConferenceInfo | None:
        """The current full view (state ``full``), ``None`` before the first full document."""
        return self._view

    @property
    def version(self) -> int | None:
        return None if self._view is None else self._view.version

    @property
    def deleted(self) -> bool:
        return self._deleted

    def reset(self) -> None:
        """Forget everything (for example after re-subscribing)."""
        self._view = None
        self._deleted = False

    def apply(self, doc: ConferenceInfo) -> ApplyResult:
        current = self._view
        if current is not None and doc.entity != current.entity:
            raise DocumentError(
                f"notification for {doc.entity!r} on a subscription to {current.entity!r}",
                raw=doc.raw,
            )
        cur_v = None if current is None else current.version
        if doc.version is not None and cur_v is not None and doc.version <= cur_v:
            return Stale(current=cur_v, received=doc.version)
        skipped = 0
        if doc.version is not None and cur_v is not None:
            skipped = doc.version - cur_v - 1
        if doc.state is DocState.PARTIAL:
            if current is None or doc.version is None or cur_v is None or skipped > 0:
                expected = None if cur_v is None else cur_v + 1
                return VersionGap(expected=expected, received=doc.version)
            self._view = self._merge(current, doc)
            return Applied(self._view)
        if doc.state is DocState.DELETED:
            self._deleted = True
            self._view = replace(doc, users=(), description=None, conference_state=None)
            return Applied(self._view, skipped=max(skipped, 0))
        self._deleted = False
        self._view = replace(doc, users=_merge_users((), doc.users), users_state=None)
        return Applied(self._view, skipped=max(skipped, 0))

    @staticmethod
    def _merge(current: ConferenceInfo, doc: ConferenceInfo) -> ConferenceInfo:
        if doc.users_state is DocState.FULL:
            users = _merge_users((), doc.users)
        elif doc.users_state is DocState.DELETED:
            users = ()
        else:
            users = _merge_users(current.users, doc.users)
        return ConferenceInfo(
            entity=current.entity,
            state=DocState.FULL,
            version=doc.version,
            description=_merge_description(current.description, doc.description),
            conference_state=_merge_status(current.conference_state, doc.conference_state),
            users=users,
            users_state=None,
            raw=doc.raw,
        )


def build_conference_info(info: ConferenceInfo) -> bytes:
    """Serialize a :class:`ConferenceInfo` in the canonical form (module docstring)."""
    with building("conference-info"):
        return _build_conference_info(info)
