"""Typed SIP header accessors: parse/format pairs (RFC 3261 20, and the CPM extensions).

Each ``parse_*`` function takes one unfolded header value and returns frozen dataclasses,
raising :class:`~conformance.errors.RemoteProtocolError` on invalid input. Each
``format_*`` function builds the value a test case sends. ``get_*`` helpers read a message.

The ``check_*`` validators are what :func:`~conformance.protocol.sip.message.parse_message`
runs on the well-known headers at parse time (RFC 4475 3.1.2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple, Protocol
from urllib.parse import quote, unquote

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.grammar import (
    LWS,
    MEDIA_TYPE,
    NAME_ADDR,
    NAME_ADDR_LIST,
    RFC1123_DATE,
    TOKEN,
    VIA,
)
from conformance.protocol.sip.uri import (
    NameAddr,
    Params,
    check_name_addr_fast,
    format_params,
    has_param,
    is_token,
    param_value,
    parse_name_addr,
    parse_params,
    quote_string,
    split_list,
    unquote_string,
)


class HeaderLookup(Protocol):
    """What the accessors read from a message's header list (:class:`.message.Headers`)."""

    def get(self, name: str, default: str | None = None) -> str | None:
        """Value of the first line with this name (any casing or compact form)."""
        ...

    def get_all(self, name: str) -> list[str]:
        """Values of every line with this name, one per line."""
        ...


class HasHeaders(Protocol):
    """A message the ``get_*`` accessors read: its headers, and its raw bytes for errors.

    :class:`.message.SipRequest` and :class:`.message.SipResponse` are such messages; the
    accessors are typed against this protocol so that this module does not depend on the
    message model (``message`` imports ``headers``, never the reverse).
    """

    @property
    def headers(self) -> HeaderLookup: ...

    @property
    def raw(self) -> bytes: ...


MAX_DELTA = 2**32 - 1
"""RFC 3261 20.19 / 25.1: delta-seconds above this are invalid (RFC 4475 scalar02)."""

# ---------------------------------------------------------------------------------------
# Via (RFC 3261 20.42)
# ---------------------------------------------------------------------------------------

_VIA_RE = re.compile(
    f"({TOKEN}){LWS}/{LWS}({TOKEN}){LWS}/{LWS}({TOKEN})[ \\t]+"
    r"([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?:[ \t]*:[ \t]*([0-9]{1,5}))?"
)


@dataclass(frozen=True, slots=True)
class Via:
    """One via-parm: ``SIP/2.0/transport host[:port] *(;param)``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP"
    version: str = "2.0"

    @property
    def branch(self) -> str | None:
        return param_value(self.params, "branch")

    @property
    def received(self) -> str | None:
        return param_value(self.params, "received")

    @property
    def rport(self) -> str | None:
        """``""`` when rport is present without a value, ``None`` when absent."""
        return param_value(self.params, "rport")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def param(self, name: str) -> str | None:
        return param_value(self.params, name)

    def __str__(self) -> str:
        return format_via(self.transport, self.host, self.port, params=self.params)


def _parse_via_parm(text: str) -> Via:
    m = _VIA_RE.match(text)
    if m is None:
        raise RemoteProtocolError(f"invalid Via {text!r}")
    protocol, version, transport, host, port = m.groups()
    if protocol.upper() != "SIP" or version != "2.0":
        raise RemoteProtocolError(f"unsupported Via protocol {protocol}/{version}")
    p = int(port) if port else None
    if p is not None and p > 65535:
        raise RemoteProtocolError(f"Via port out of range: {text!r}")
    return Via(
        transport=transport.upper(),
        host=host,
        port=p,
        params=parse_params(text[m.end() :]),
        protocol=protocol,
        version=version,
    )


def parse_via(value: str) -> list[Via]:
    """Every via-parm of one Via header value."""
    return [_parse_via_parm(v) for v in split_list(value)]


def format_via(
    transport: str,
    host: str,
    port: int | None = None,
    *,
    branch: str | None = None,
    params: Iterable[tuple[str, str | None]] = (),
) -> str:
    out = f"SIP/2.0/{transport.upper()} {host}" + ("" if port is None else f":{port}")
    if branch is not None:
        out += f";branch={branch}"
    return out + format_params(params)


MAGIC_COOKIE = "z9hG4bK"


def is_rfc3261_branch(branch: str | None) -> bool:
    """RFC 3261 8.1.1.7: the branch starts with the magic cookie *and* adds something unique
    (RFC 4475 3.2.1 badbranch is the bare cookie: match transactions per RFC 2543)."""
    return branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > 7


def get_vias(msg: HasHeaders) -> list[Via]:
    out: list[Via] = []
    for v in msg.headers.get_all("Via"):
        out.extend(parse_via(v))
    return out


# ---------------------------------------------------------------------------------------
# Feature parameters: Contact, Accept-Contact, Reject-Contact (RFC 3840, 3841, 5627)
# ---------------------------------------------------------------------------------------

ICSI_REF = "+g.3gpp.icsi-ref"
IARI_REF = "+g.3gpp.iari-ref"


def decode_feature_list(value: str) -> list[str]:
    """A quoted, comma-separated, percent-encoded feature value as a decoded list."""
    inner = unquote_string(value) if value.startswith('"') else value
    return [unquote(v.strip()) for v in inner.split(",") if v.strip()]


def format_icsi_ref(icsis: Sequence[str], *, tag: str = ICSI_REF) -> str:
    """``+g.3gpp.icsi-ref="urn%3Aurn-7%3A..."`` (3GPP TS 24.229 7.2A.8.2)."""
    return f'{tag}="' + ",".join(quote(i, safe="-_.!~*'()") for i in icsis) + '"'


def _feature_list(params: Params, tag: str) -> tuple[str, ...]:
    out: list[str] = []
    low = tag.lower()
    for k, v in params:
        if k.lower() == low and v is not None:
            out.extend(decode_feature_list(v))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Contact:
    """One Contact element (RFC 3261 20.10, RFC 3840 feature parameters)."""

    address: NameAddr

    @property
    def is_star(self) -> bool:
        return self.address.uri == "*"

    @property
    def uri(self) -> str:
        return self.address.uri

    @property
    def params(self) -> Params:
        return self.address.params

    @property
    def expires(self) -> int | None:
        v = self.address.param("expires")
        return None if v is None else _delta(v, "Contact expires")

    @property
    def q(self) -> str | None:
        return self.address.param("q")

    @property
    def icsi_refs(self) -> tuple[str, ...]:
        return _feature_list(self.address.params, ICSI_REF)

    @property
    def iari_refs(self) -> tuple[str, ...]:
        return _feature_list(self.address.params, IARI_REF)

    @property
    def instance(self) -> str | None:
        """``+sip.instance`` without quotes, e.g. ``<urn:uuid:...>``."""
        return self.address.param("+sip.instance")

    @property
    def isfocus(self) -> bool:
        return self.address.has_param("isfocus")

    def param(self, name: str) -> str | None:
        return self.address.param(name)

    def has_param(self, name: str) -> bool:
        return self.address.has_param(name)


def parse_contact(value: str) -> list[Contact]:
    """Every element of one Contact header value (``*`` allowed)."""
    check_contact(value)
    return [Contact(parse_name_addr(v, allow_star=True)) for v in split_list(value)]


def get_contacts(msg: HasHeaders) -> list[Contact]:
    out: list[Contact] = []
    for v in msg.headers.get_all("Contact"):
        out.extend(parse_contact(v))
    return out


@dataclass(frozen=True, slots=True)
class ContactPreference:
    """One Accept-Contact / Reject-Contact element: ``* *(;feature-param)`` (RFC 3841 10)."""

    params: Params

    @property
    def require(self) -> bool:
        return has_param(self.params, "require")

    @property
    def explicit(self) -> bool:
        return has_param(self.params, "explicit")

    @property
    def icsi_refs(self) -> tuple[str, ...]:
        return _feature_list(self.params, ICSI_REF)

    @property
    def iari_refs(self) -> tuple[str, ...]:
        return _feature_list(self.params, IARI_REF)

    @property
    def instance(self) -> str | None:
        return param_value(self.params, "+sip.instance")

    def param(self, name: str) -> str | None:
        return param_value(self.params, name)

    def feature_params(self) -> Params:
        """The params other than require / explicit."""
        return tuple((k, v) for k, v in self.params if k.lower() not in ("require", "explicit"))


def parse_contact_preferences(value: str) -> list[ContactPreference]:
    out: list[ContactPreference] = []
    for el in split_list(value):
        if not el.startswith("*"):
            raise RemoteProtocolError(f"Accept/Reject-Contact element must start with *: {el!r}")
        out.append(ContactPreference(parse_params(el[1:])))
    return out


parse_accept_contact = parse_contact_preferences
parse_reject_contact = parse_contact_preferences


def format_contact_preference(
    feature_params: Iterable[str | tuple[str, str | None]],
    *,
    require: bool = False,
    explicit: bool = False,
) -> str:
    """``*;feature...;require;explicit``; a str item is written as is (e.g. format_icsi_ref())."""
    out = "*"
    for p in feature_params:
        if isinstance(p, str):
            out += ";" + p
        else:
            out += format_params([p])
    if require:
        out += ";require"
    if explicit:
        out += ";explicit"
    return out


def get_accept_contact(msg: HasHeaders) -> list[ContactPreference]:
    return [p for v in msg.headers.get_all("Accept-Contact") for p in parse_contact_preferences(v)]


def get_reject_contact(msg: HasHeaders) -> list[ContactPreference]:
    return [p for v in msg.headers.get_all("Reject-Contact") for p in parse_contact_preferences(v)]


def parse_request_disposition(value: str) -> tuple[str, ...]:
    """RFC 3841 9.1 directives, lower case (e.g. ``("fork", "parallel")``)."""
    out = tuple(d.lower() for d in split_list(value))
    for d in out:
        if not is_token(d):
            raise RemoteProtocolError(f"invalid Request-Disposition directive {d!r}")
    return out


# ---------------------------------------------------------------------------------------
# Identity, services and privacy (RFC 3323, 3325, 6050)
# ---------------------------------------------------------------------------------------


def parse_service_list(value: str) -> tuple[str, ...]:
    """P-Asserted-Service / P-Preferred-Service: comma-separated URNs."""
    out = tuple(split_list(value))
    for s in out:
        if not s.lower().startswith("urn:") or any(c in s for c in ' \t<>"'):
            raise RemoteProtocolError(f"invalid service URN {s!r}")
    return out


def get_asserted_services(msg: HasHeaders) -> tuple[str, ...]:
    return tuple(
        s for v in msg.headers.get_all("P-Asserted-Service") for s in parse_service_list(v)
    )


def get_preferred_services(msg: HasHeaders) -> tuple[str, ...]:
    return tuple(
        s for v in msg.headers.get_all("P-Preferred-Service") for s in parse_service_list(v)
    )


def parse_name_addr_list(value: str) -> list[NameAddr]:
    return [parse_name_addr(v) for v in split_list(value)]


def get_asserted_identities(msg: HasHeaders) -> list[NameAddr]:
    return [n for v in msg.headers.get_all("P-Asserted-Identity") for n in parse_name_addr_list(v)]


def parse_privacy(value: str) -> tuple[str, ...]:
    """RFC 3323 priv-values (``;``-separated; commas accepted too), lower case."""
    out: list[str] = []
    for part in value.replace(",", ";").split(";"):
        p = part.strip(" \t").lower()
        if not p:
            continue
        if not is_token(p):
            raise RemoteProtocolError(f"invalid Privacy value {p!r}")
        out.append(p)
    return tuple(out)


def get_privacy(msg: HasHeaders) -> tuple[str, ...]:
    return tuple(p for v in msg.headers.get_all("Privacy") for p in parse_privacy(v))


def is_anonymous(address: NameAddr) -> bool:
    """RFC 3323 4.1.1.3: ``"Anonymous" <sip:anonymous@anonymous.invalid>`` and the like."""
    if (address.display_name or "").strip().lower() == "anonymous":
        return True
    uri = address.uri.lower()
    return "anonymous@" in uri or uri.endswith("anonymous.invalid") or "@anonymous.invalid" in uri


def anonymity_requested(msg: HasHeaders) -> bool:
    """Privacy ``id``/``user``/``header`` (RFC 3323/3325), or an anonymous From or PAI."""
    if {"id", "user", "header"} & set(get_privacy(msg)):
        return True
    frm = msg.headers.get("From")
    if frm is not None and is_anonymous(parse_name_addr(frm)):
        return True
    return any(is_anonymous(n) for n in get_asserted_identities(msg))


# ---------------------------------------------------------------------------------------
# User-Agent / Server (RFC 3261 20.35, 20.41) and the CPM release token (CPM Appendix D)
# ---------------------------------------------------------------------------------------

_PRODUCT_RE = re.compile(f"({TOKEN})(?:/({TOKEN}))?")


@dataclass(frozen=True, slots=True)
class Product:
    """A product token (``name[/version]``) or a comment (``name`` holds ``(...)``)."""

    name: str
    version: str | None = None
    is_comment: bool = False

    def __str__(self) -> str:
        if self.is_comment or self.version is None:
            return self.name
        return f"{self.name}/{self.version}"


def parse_products(value: str) -> list[Product]:
    """``server-val *(LWS server-val)``: product tokens and (nested) comments, in order."""
    out: list[Product] = []
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch in " \t":
            i += 1
            continue
        if ch == "(":
            depth, j = 0, i
            while j < n:
                c = value[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise RemoteProtocolError(f"unterminated comment in {value!r}")
            out.append(Product(value[i : j + 1], None, True))
            i = j + 1
            continue
        m = _PRODUCT_RE.match(value, i)
        if m is None:
            raise RemoteProtocolError(f"invalid product token in {value!r}")
        out.append(Product(m.group(1), m.group(2)))
        i = m.end()
    return out


def cpm_release(value: str) -> tuple[str, str] | None:
    """``("client", "OMA2.0")`` for ``CPM-client/OMA2.0 ...``, ``("serv", ...)`` for CPM-serv.

    ``None`` when the first product is not a CPM release token.
    """
    try:
        products = parse_products(value)
    except RemoteProtocolError:
        return None
    if not products or products[0].is_comment or products[0].version is None:
        return None
    name = products[0].name
    if name.lower() == "cpm-client":
        return ("client", products[0].version)
    if name.lower() == "cpm-serv":
        return ("serv", products[0].version)
    return None


def format_products(*items: str | tuple[str, str | None]) -> str:
    """Join product tokens: ``format_products(("CPM-client", "OMA2.0"), "(x)")``."""
    parts: list[str] = []
    for it in items:
        if isinstance(it, str):
            parts.append(it)
        else:
            parts.append(it[0] if it[1] is None else f"{it[0]}/{it[1]}")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------
# Warning (RFC 3261 20.43) and Reason (RFC 3326)
# ---------------------------------------------------------------------------------------

_WARNING_RE = re.compile(
    r"([0-9]{3})[ \t]+([^ \t\"]+)[ \t]+(" + r'"(?:[^"\\]|\\.)*"' + r")", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class SipWarning:
    """One warning-value (RFC 3261 20.43)."""

    code: int
    agent: str
    text: str

    def __str__(self) -> str:
        return format_warning(self.code, self.agent, self.text)


def parse_warning(value: str) -> list[SipWarning]:
    out: list[SipWarning] = []
    for el in split_list(value):
        m = _WARNING_RE.fullmatch(el)
        if m is None:
            raise RemoteProtocolError(f"invalid Warning {el!r} (3-digit code, agent, quoted text)")
        out.append(SipWarning(int(m.group(1)), m.group(2), unquote_string(m.group(3))))
    return out


def format_warning(code: int, agent: str, text: str) -> str:
    """``127 pf.example.com "Service not authorised"``."""
    if not 100 <= code <= 999:
        raise ValueError(f"warning code must have 3 digits: {code}")
    return f"{code} {agent} {quote_string(text)}"


def get_warnings(msg: HasHeaders) -> list[SipWarning]:
    return [w for v in msg.headers.get_all("Warning") for w in parse_warning(v)]


@dataclass(frozen=True, slots=True)
class Reason:
    protocol: str
    cause: int | None = None
    text: str | None = None
    params: Params = ()

    def __str__(self) -> str:
        return format_reason(self.protocol, self.cause, self.text)


def parse_reason(value: str) -> list[Reason]:
    out: list[Reason] = []
    for el in split_list(value):
        semi = el.find(";")
        proto = (el if semi < 0 else el[:semi]).strip(" \t")
        if not is_token(proto):
            raise RemoteProtocolError(f"invalid Reason protocol in {el!r}")
        params = parse_params(el[semi:]) if semi >= 0 else ()
        cause_text = param_value(params, "cause")
        cause: int | None = None
        if cause_text is not None:
            if not cause_text.isdigit():
                raise RemoteProtocolError(f"invalid Reason cause in {el!r}")
            cause = int(cause_text)
        out.append(Reason(proto, cause, param_value(params, "text"), params))
    return out


def format_reason(protocol: str, cause: int | None = None, text: str | None = None) -> str:
    """``SIP;cause=200;text="Call completed"``."""
    out = protocol
    if cause is not None:
        out += f";cause={cause}"
    if text is not None:
        out += f";text={quote_string(text)}"
    return out


def get_reasons(msg: HasHeaders) -> list[Reason]:
    return [r for v in msg.headers.get_all("Reason") for r in parse_reason(v)]


# ---------------------------------------------------------------------------------------
# Session timers (RFC 4028), option tags, Expires
# ---------------------------------------------------------------------------------------


def _delta(text: str, what: str) -> int:
    text = text.strip(" \t")
    if not text.isdigit() or not text.isascii():
        raise RemoteProtocolError(f"invalid {what} {text!r}")
    if len(text) > 10 or int(text) > MAX_DELTA:
        raise RemoteProtocolError(f"{what} out of range: {text!r}")
    return int(text)


def parse_expires(value: str) -> int:
    """RFC 3261 20.19 delta-seconds (at most 2**32-1)."""
    return _delta(value, "Expires")


@dataclass(frozen=True, slots=True)
class SessionExpires:
    delta: int
    refresher: str | None = None
    params: Params = ()

    def __str__(self) -> str:
        return format_session_expires(self.delta, self.refresher)


def parse_session_expires(value: str) -> SessionExpires:
    semi = value.find(";")
    delta = _delta(value if semi < 0 else value[:semi], "Session-Expires")
    params = parse_params(value[semi:]) if semi >= 0 else ()
    refresher = param_value(params, "refresher")
    if refresher is not None and refresher.lower() not in ("uac", "uas"):
        raise RemoteProtocolError(f"invalid refresher {refresher!r}")
    return SessionExpires(delta, refresher.lower() if refresher else None, params)


def format_session_expires(delta: int, refresher: str | None = None) -> str:
    """``1800;refresher=uac``."""
    return f"{delta}" + ("" if refresher is None else f";refresher={refresher}")


def parse_min_se(value: str) -> int:
    semi = value.find(";")
    return _delta(value if semi < 0 else value[:semi], "Min-SE")


def parse_option_tags(value: str) -> tuple[str, ...]:
    """Supported / Require / Proxy-Require / Unsupported option tags (empty value allowed)."""
    out = tuple(t for t in split_list(value) if t)
    for t in out:
        if not is_token(t):
            raise RemoteProtocolError(f"invalid option tag {t!r}")
    return out


def get_option_tags(msg: HasHeaders, name: str) -> tuple[str, ...]:
    return tuple(t for v in msg.headers.get_all(name) for t in parse_option_tags(v))


# ---------------------------------------------------------------------------------------
# Event and Subscription-State (RFC 6665 8.2)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    package: str
    id: str | None = None
    params: Params = ()

    def __str__(self) -> str:
        return format_event(self.package, self.id)


def parse_event(value: str) -> Event:
    semi = value.find(";")
    package = (value if semi < 0 else value[:semi]).strip(" \t")
    if not is_token(package):
        raise RemoteProtocolError(f"invalid event package {package!r}")
    params = parse_params(value[semi:]) if semi >= 0 else ()
    return Event(package, param_value(params, "id"), params)


def format_event(package: str, event_id: str | None = None) -> str:
    return package + ("" if event_id is None else f";id={event_id}")


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    state: str
    reason: str | None = None
    expires: int | None = None
    retry_after: int | None = None
    params: Params = ()

    def __str__(self) -> str:
        return format_subscription_state(self.state, self.reason, self.expires, self.retry_after)


def parse_subscription_state(value: str) -> SubscriptionState:
    semi = value.find(";")
    state = (value if semi < 0 else value[:semi]).strip(" \t").lower()
    if not is_token(state):
        raise RemoteProtocolError(f"invalid Subscription-State {value!r}")
    params = parse_params(value[semi:]) if semi >= 0 else ()
    exp = param_value(params, "expires")
    retry = param_value(params, "retry-after")
    reason = param_value(params, "reason")
    return SubscriptionState(
        state,
        reason.lower() if reason else None,
        None if exp is None else _delta(exp, "Subscription-State expires"),
        None if retry is None else _delta(retry, "Subscription-State retry-after"),
        params,
    )


def format_subscription_state(
    state: str,
    reason: str | None = None,
    expires: int | None = None,
    retry_after: int | None = None,
) -> str:
    out = state
    if reason is not None:
        out += f";reason={reason}"
    if expires is not None:
        out += f";expires={expires}"
    if retry_after is not None:
        out += f";retry-after={retry_after}"
    return out


# ---------------------------------------------------------------------------------------
# Content-Type (RFC 3261 20.15) and Content-Disposition (20.11, RFC 5366, 5364)
# ---------------------------------------------------------------------------------------

_MEDIA_RE = re.compile(f"{LWS}({TOKEN}){LWS}/{LWS}({TOKEN})")


@dataclass(frozen=True, slots=True)
class ContentType:
    type: str
    subtype: str
    params: Params = ()

    @property
    def mime_type(self) -> str:
        """``type/subtype`` in lower case, for comparison."""
        return f"{self.type}/{self.subtype}".lower()

    def param(self, name: str) -> str | None:
        return param_value(self.params, name)

    @property
    def boundary(self) -> str | None:
        return self.param("boundary")

    def __str__(self) -> str:
        return format_content_type(f"{self.type}/{self.subtype}", self.params)


def parse_content_type(value: str) -> ContentType:
    m = _MEDIA_RE.match(value)
    if m is None:
        raise RemoteProtocolError(f"invalid media type {value!r}")
    return ContentType(m.group(1), m.group(2), parse_params(value[m.end() :]))


def format_content_type(mime_type: str, params: Iterable[tuple[str, str | None]] = ()) -> str:
    return mime_type + format_params(params)


def get_content_type(msg: HasHeaders) -> ContentType | None:
    v = msg.headers.get("Content-Type")
    return None if v is None else parse_content_type(v)


@dataclass(frozen=True, slots=True)
class ContentDisposition:
    disposition: str
    params: Params = ()

    @property
    def handling(self) -> str | None:
        """``required`` (the default, RFC 3261 20.11) or ``optional``."""
        v = param_value(self.params, "handling")
        return v.lower() if v else None

    def param(self, name: str) -> str | None:
        return param_value(self.params, name)

    def __str__(self) -> str:
        return format_content_disposition(self.disposition, self.params)


def parse_content_disposition(value: str) -> ContentDisposition:
    semi = value.find(";")
    disp = (value if semi < 0 else value[:semi]).strip(" \t")
    if not is_token(disp):
        raise RemoteProtocolError(f"invalid Content-Disposition {value!r}")
    return ContentDisposition(disp.lower(), parse_params(value[semi:]) if semi >= 0 else ())


def format_content_disposition(
    disposition: str, params: Iterable[tuple[str, str | None]] = ()
) -> str:
    """E.g. ``format_content_disposition("recipient-list")``."""
    return disposition + format_params(params)


# ---------------------------------------------------------------------------------------
# Simple getters: Call-ID and the CPM headers
# ---------------------------------------------------------------------------------------


def _single(msg: HasHeaders, name: str) -> str | None:
    lines = msg.headers.get_all(name)
    if len(lines) > 1:
        raise RemoteProtocolError(f"{name} appears more than once", raw=msg.raw)
    return lines[0] if lines else None


def get_call_id(msg: HasHeaders) -> str | None:
    return _single(msg, "Call-ID")


def get_conversation_id(msg: HasHeaders) -> str | None:
    return _single(msg, "Conversation-ID")


def get_contribution_id(msg: HasHeaders) -> str | None:
    return _single(msg, "Contribution-ID")


def get_in_reply_to_contribution_id(msg: HasHeaders) -> str | None:
    return _single(msg, "InReplyTo-Contribution-ID")


def get_session_replaces(msg: HasHeaders) -> str | None:
    return _single(msg, "Session-Replaces")


def get_from(msg: HasHeaders) -> NameAddr:
    v = _single(msg, "From")
    if v is None:
        raise RemoteProtocolError("missing From", raw=msg.raw)
    return parse_name_addr(v)


def get_to(msg: HasHeaders) -> NameAddr:
    v = _single(msg, "To")
    if v is None:
        raise RemoteProtocolError("missing To", raw=msg.raw)
    return parse_name_addr(v)


# ---------------------------------------------------------------------------------------
# Parse-time validators used by parse_message (RFC 4475 3.1.2)
# ---------------------------------------------------------------------------------------

_DATE_RE = re.compile(RFC1123_DATE)
_RETRY_AFTER_RE = re.compile(r"([0-9]+)[ \t]*(\((?:[^()\\]|\\.)*\))?[ \t]*(.*)", re.DOTALL)
_VIA_FAST_RE = re.compile(VIA, re.DOTALL)
_NAME_ADDR_FAST_RE = re.compile(NAME_ADDR, re.DOTALL)
_NAME_ADDR_LIST_FAST_RE = re.compile(NAME_ADDR_LIST, re.DOTALL)
_CONTENT_TYPE_FAST_RE = re.compile(MEDIA_TYPE)


def check_name_addr_list(value: str) -> None:
    if check_name_addr_fast(value, is_list=True):
        return
    for el in split_list(value):
        parse_name_addr(el)


def check_name_addr(value: str) -> None:
    if check_name_addr_fast(value):
        return
    parse_name_addr(value)


def check_contact(value: str) -> None:
    if check_name_addr_fast(value, is_list=True) and "expires" not in value.lower():
        return
    els = split_list(value)
    for el in els:
        na = parse_name_addr(el, allow_star=True)
        if na.uri == "*" and len(els) > 1:
            raise RemoteProtocolError("Contact * combined with other contacts")
        exp = param_value(na.params, "expires")
        if exp is not None:
            _delta(exp, "Contact expires")


def check_via(value: str) -> None:
    if _VIA_FAST_RE.fullmatch(value) is not None:
        return
    for el in split_list(value):
        _parse_via_parm(el)


def check_max_forwards(value: str) -> None:
    if not value.isdigit() or not value.isascii() or int(value) > 255:
        raise RemoteProtocolError(f"invalid Max-Forwards {value!r} (0-255)")


def check_expires(value: str) -> None:
    _delta(value, "Expires")


def check_date(value: str) -> None:
    """RFC 3261 20.17: RFC 1123 date, GMT only (RFC 4475 3.1.2.12 baddate)."""
    if _DATE_RE.fullmatch(value) is None:
        raise RemoteProtocolError(f"invalid Date {value!r} (RFC 1123, GMT)")


def check_warning(value: str) -> None:
    parse_warning(value)


def check_retry_after(value: str) -> None:
    m = _RETRY_AFTER_RE.fullmatch(value)
    if m is None:
        raise RemoteProtocolError(f"invalid Retry-After {value!r}")
    _delta(m.group(1), "Retry-After")
    if m.group(3):
        parse_params(m.group(3))


def check_content_length(value: str) -> None:
    if not value.isdigit() or not value.isascii():
        raise RemoteProtocolError(f"invalid Content-Length {value!r}")


def check_content_type(value: str) -> None:
    if _CONTENT_TYPE_FAST_RE.fullmatch(value) is None:
        parse_content_type(value)


class HeaderValidation(NamedTuple):
    """How :func:`~conformance.protocol.sip.message.parse_message` validates the value of
    one header, on every line of it.

    ``check`` gives the verdict (RemoteProtocolError when invalid). ``fast`` is the
    check's own first step (a regex ``fullmatch``: a match means ``check`` would accept)
    or ``None``. ``remember``: a value that passed is kept in the parser's validated-value
    cache, for the values a dialog repeats (From, To, Contact, Route, Record-Route); the
    other checks cost less than a cache look-up, and Via values change with every branch.
    """

    fast: Callable[[str], object] | None
    check: Callable[[str], None]
    remember: bool


#: The one validation table: header key -> how parse_message validates its value.
VALIDATION_PLAN: Mapping[str, HeaderValidation] = MappingProxyType(
    {
        "via": HeaderValidation(_VIA_FAST_RE.fullmatch, check_via, False),
        "from": HeaderValidation(_NAME_ADDR_FAST_RE.fullmatch, check_name_addr, True),
        "to": HeaderValidation(_NAME_ADDR_FAST_RE.fullmatch, check_name_addr, True),
        "contact": HeaderValidation(None, check_contact, True),
        "route": HeaderValidation(_NAME_ADDR_LIST_FAST_RE.fullmatch, check_name_addr_list, True),
        "record-route": HeaderValidation(
            _NAME_ADDR_LIST_FAST_RE.fullmatch, check_name_addr_list, True
        ),
        "max-forwards": HeaderValidation(None, check_max_forwards, False),
        "expires": HeaderValidation(None, check_expires, False),
        "min-expires": HeaderValidation(None, check_expires, False),
        "date": HeaderValidation(_DATE_RE.fullmatch, check_date, False),
        "warning": HeaderValidation(None, check_warning, False),
        "retry-after": HeaderValidation(None, check_retry_after, False),
        "content-length": HeaderValidation(None, check_content_length, False),
        "content-type": HeaderValidation(
            _CONTENT_TYPE_FAST_RE.fullmatch, check_content_type, False
        ),
    }
)

#: header key -> the validator parse_message runs on every line of that header: a view
#: of :data:`VALIDATION_PLAN`, not a second table.
VALIDATORS: Mapping[str, Callable[[str], None]] = MappingProxyType(
    {key: plan.check for key, plan in VALIDATION_PLAN.items()}
)


__all__ = [
    "IARI_REF",
    "ICSI_REF",
    "MAGIC_COOKIE",
    "MAX_DELTA",
    "VALIDATION_PLAN",
    "VALIDATORS",
    "Contact",
    "ContactPreference",
    "ContentDisposition",
    "ContentType",
    "Event",
    "HasHeaders",
    "HeaderLookup",
    "HeaderValidation",
    "Product",
    "Reason",
    "SessionExpires",
    "SipWarning",
    "SubscriptionState",
    "Via",
    "anonymity_requested",
    "check_contact",
    "check_content_length",
    "check_content_type",
    "check_date",
    "check_expires",
    "check_max_forwards",
    "check_name_addr",
    "check_name_addr_list",
    "check_retry_after",
    "check_via",
    "check_warning",
    "cpm_release",
    "decode_feature_list",
    "format_contact_preference",
    "format_content_disposition",
    "format_content_type",
    "format_event",
    "format_icsi_ref",
    "format_products",
    "format_reason",
    "format_session_expires",
    "format_subscription_state",
    "format_via",
    "format_warning",
    "get_accept_contact",
    "get_asserted_identities",
    "get_asserted_services",
    "get_call_id",
    "get_contacts",
    "get_content_type",
    "get_contribution_id",
    "get_conversation_id",
    "get_from",
    "get_in_reply_to_contribution_id",
    "get_option_tags",
    "get_preferred_services",
    "get_privacy",
    "get_reasons",
    "get_reject_contact",
    "get_session_replaces",
    "get_to",
    "get_vias",
    "get_warnings",
    "is_anonymous",
    "is_rfc3261_branch",
    "parse_accept_contact",
    "parse_contact",
    "parse_contact_preferences",
    "parse_content_disposition",
    "parse_content_type",
    "parse_event",
    "parse_expires",
    "parse_min_se",
    "parse_name_addr_list",
    "parse_option_tags",
    "parse_privacy",
    "parse_products",
    "parse_reason",
    "parse_reject_contact",
    "parse_request_disposition",
    "parse_service_list",
    "parse_session_expires",
    "parse_subscription_state",
    "parse_via",
    "parse_warning",
]
