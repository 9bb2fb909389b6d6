"""The one hardened XML parser every document model uses, plus small element helpers.

Every byte the SUT sends is untrusted. :func:`parse_xml` is the only entry point from
bytes to an lxml tree in this project and it raises only
:class:`~conformance.errors.DocumentError`.

Decisions (defence in depth, each layer on its own would already be enough for XXE):

1. **Size first.** Input longer than :attr:`XmlLimits.max_bytes` (256 KiB by default) is
   refused before the parser sees it.
2. **UTF-8 only.** Every CPM document (conference-info, groupstate, resource-lists, IMDN)
   is UTF-8 in practice and RFC 3023 media types carry it. An XML declaration naming any
   other encoding, or bytes that are not valid UTF-8, are refused. This also makes step 3
   reliable (no UTF-16 disguise).
3. **No DOCTYPE at all.** None of the CPM documents has a DTD, so any ``<!DOCTYPE`` in
   the prolog is refused *before* libxml2 parses it: internal entities (billion laughs),
   external entities (``file://``, ``http://``) and parameter entities never reach the
   parser. After parsing the tree's ``docinfo`` is checked again.
4. **Parser flags.** ``resolve_entities=False, no_network=True, load_dtd=False,
   dtd_validation=False, huge_tree=False``; comments and processing instructions are
   dropped (they carry no meaning in these documents and would split text nodes); CDATA
   becomes plain text; ids are not collected. A resolver that answers every request
   with an empty document is installed, so even a bug above cannot read a file.
5. **Shape bounds.** Element depth (:attr:`XmlLimits.max_depth`) and element count
   (:attr:`XmlLimits.max_elements`) are checked after parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from lxml import etree

from conformance.errors import DocumentError, LocalProtocolError

__all__ = [
    "DEFAULT_LIMITS",
    "XmlLimits",
    "attr",
    "building",
    "child",
    "children",
    "element_text",
    "hardened_parser",
    "load_schema",
    "local_name",
    "namespace_of",
    "parse_bool",
    "parse_datetime",
    "parse_document",
    "parse_uint",
    "parse_xml",
    "serialize",
]


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Bounds applied to every untrusted document."""

    max_bytes: int = 256 * 1024
    max_depth: int = 32
    max_elements: int = 10_000


DEFAULT_LIMITS = XmlLimits()

_XML_DECL = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml\s[^?]*?\?>""")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_ALLOWED_ENCODINGS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class _DenyResolver(etree.Resolver):
    """Answers every external lookup (DTD, entity, XInclude) with an empty string."""

    # lxml passes a context argument its stubs do not declare
    def resolve(  # type: ignore[override]
        self, system_url: str, public_id: str, context: Any
    ) -> Any:
        return self.resolve_string("", context)  # type: ignore[call-arg]


def hardened_parser() -> etree.XMLParser:
    """The one parser configuration every document goes through: no entities resolved,
    no DTD loaded, no network, bounded input (DESIGN.md, documents/)."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
        collect_ids=False,
        recover=False,
    )
    parser.resolvers.add(_DenyResolver())
    return parser


def _check_encoding(data: bytes) -> None:
    decl = _XML_DECL.match(data)
    if decl is not None:
        enc = _ENCODING.search(decl.group(0))
        if enc is not None and enc.group(1).decode("ascii").lower() not in _ALLOWED_ENCODINGS:
            raise DocumentError(
                f"unsupported XML encoding {enc.group(1).decode('ascii')!r} (only UTF-8)",
                raw=data,
            )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"document is not valid UTF-8: {exc}", raw=data) from None


_PROLOG_SKIP = re.compile(
    r"""\A(?:\ufeff|\s+|<\?.*?\?>|<!--.*?-->)""",
    re.DOTALL,
)


def _reject_doctype(text: str, raw: bytes) -> None:
    """Walk the prolog (declaration, whitespace, comments, PIs) and refuse a DOCTYPE."""
    pos = 0
    while True:
        m = _PROLOG_SKIP.match(text[pos:])
        if m is None or m.end() == 0:
            break
        pos += m.end()
    if text[pos : pos + 9].upper() == "<!DOCTYPE":
        raise DocumentError("DOCTYPE declarations are not allowed in CPM documents", raw=raw)


def _walk_shape(root: etree._Element, limits: XmlLimits, raw: bytes) -> None:
    count = 0
    depth = 0
    for event, _el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            count += 1
            if depth > limits.max_depth:
                raise DocumentError(
                    f"document nests deeper than {limits.max_depth} elements", raw=raw
                )
            if count > limits.max_elements:
                raise DocumentError(
                    f"document has more than {limits.max_elements} elements", raw=raw
                )
        else:
            depth -= 1


def parse_xml(data: bytes, *, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise :class:`DocumentError`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DocumentError(f"document must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise DocumentError(
            f"document is {len(data)} bytes, more than the {limits.max_bytes} allowed", raw=data
        )
    if not data.strip():
        raise DocumentError("document is empty", raw=data)
    _check_encoding(data)
    _reject_doctype(data.decode("utf-8"), data)
    try:
        root = etree.fromstring(data, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"not well-formed XML: {exc}", raw=data) from None
    except (etree.LxmlError, ValueError, TypeError) as exc:
        raise DocumentError(f"XML parser refused the document: {exc}", raw=data) from None
    if root is None:  # pragma: no cover - lxml raises instead, kept for the type checker
        raise DocumentError("document has no root element", raw=data)
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise DocumentError("DOCTYPE declarations are not allowed in CPM documents", raw=data)
    _walk_shape(root, limits, data)
    return root


_T = TypeVar("_T")


def parse_document(
    data: bytes,
    parse_root: Callable[[etree._Element, bytes], _T],
    *,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> _T:
    """``parse_root(root, data)`` over the safely parsed ``data`` (:func:`parse_xml`); a
    :class:`DocumentError` it raises without the document's bytes is raised with them."""
    root = parse_xml(data, limits=limits)
    try:
        return parse_root(root, data)
    except DocumentError as exc:
        if exc.raw is None:
            raise DocumentError(exc.message, raw=data) from None
        raise


@contextmanager
def building(what: str) -> Iterator[None]:
    """Turn lxml's refusal of a value we asked it to write (a control character, a bad
    name) into :class:`LocalProtocolError`: building is the tool's own doing."""
    try:
        yield
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise LocalProtocolError(f"cannot build {what}: {exc}") from None


def serialize(root: etree._Element) -> bytes:
    """Serialize a tree we built, UTF-8 with an XML declaration."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def load_schema(name: str) -> etree.XMLSchema:
    """A schema shipped in ``conformance/documents/schemas`` (trusted, local, no network).

    Raises :class:`~conformance.errors.LocalProtocolError` when the file is missing or
    broken: that is a defect of the tool, not of the SUT.
    """
    try:
        text = resources.files("conformance.documents").joinpath("schemas", name).read_bytes()
        doc = etree.fromstring(text, parser=hardened_parser())
        return etree.XMLSchema(doc)
    except (OSError, etree.LxmlError) as exc:
        raise LocalProtocolError(f"cannot load schema {name!r}: {exc}") from None


# ---------------------------------------------------------------- element helpers


def local_name(el: etree._Element) -> str:
    """The local part of an element's tag (``""`` for non-element nodes)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def namespace_of(el: etree._Element) -> str:
    """The namespace of an element's tag, ``""`` when unqualified."""
    tag = el.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def children(
    el: etree._Element, name: str, namespaces: tuple[str, ...]
) -> Iterator[etree._Element]:
    """Child elements called ``name`` whose namespace is one of ``namespaces``."""
    for c in el:
        if isinstance(c.tag, str) and local_name(c) == name and namespace_of(c) in namespaces:
            yield c


def child(el: etree._Element, name: str, namespaces: tuple[str, ...]) -> etree._Element | None:
    """The first child element called ``name`` in one of ``namespaces``, if any."""
    return next(children(el, name, namespaces), None)


def element_text(el: etree._Element | None) -> str | None:
    """The character content of a simple element (``None`` when the element is absent)."""
    if el is None:
        return None
    return "".join(t for t in el.itertext() if isinstance(t, str))


def attr(el: etree._Element, name: str, namespaces: tuple[str, ...]) -> str | None:
    """An attribute, unqualified (``""`` in ``namespaces``) or in one of the namespaces."""
    for ns in namespaces:
        key = name if ns == "" else f"{{{ns}}}{name}"
        value = el.get(key)
        if value is not None:
            return value
    return None


def parse_bool(value: str | None, what: str) -> bool | None:
    """An ``xs:boolean`` (``true``/``false``/``1``/``0``), ``None`` when absent."""
    if value is None:
        return None
    v = value.strip()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise DocumentError(f"{what}: {value!r} is not a boolean")


def parse_uint(value: str | None, what: str) -> int | None:
    """An ``xs:unsignedInt``, ``None`` when absent."""
    if value is None:
        return None
    v = value.strip()
    if not v.isascii() or not v.isdigit() or len(v) > 10 or int(v) > 0xFFFFFFFF:
        raise DocumentError(f"{what}: {value!r} is not an unsigned 32-bit integer")
    return int(v)


def parse_datetime(value: str | None, what: str) -> datetime | None:
    """An RFC 3339 / ``xs:dateTime`` timestamp (``Z`` or an offset), ``None`` when absent.

    A timestamp without a time zone is refused: every CPM timestamp carries one.
    """
    if value is None:
        return None
    v = value.strip()
    try:
        parsed = datetime.fromisoformat(v[:-1] + "+00:00" if v[-1:] in "zZ" and v else v)
    except ValueError:
        raise DocumentError(f"{what}: {value!r} is not an RFC 3339 date-time") from None
    if "T" not in v.upper() or parsed.tzinfo is None:
        raise DocumentError(f"{what}: {value!r} is not an RFC 3339 date-time with a zone")
    return parsed
