"""SIP lexical helpers, URIs and name-addr (RFC 3261 sections 19.1, 20.10, 25.1; RFC 3966).

Everything here is pure string work on header values that have already been unfolded.
Parse functions raise :class:`~conformance.errors.RemoteProtocolError` (never another
exception); ``format_*`` functions are their inverse and are used to build stimuli.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import quote, unquote

from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.grammar import (
    ABSOLUTE_URI,
    DISPLAY_NAME_TOKENS,
    GEN_VALUE,
    LWS,
    NAME_ADDR,
    NAME_ADDR_LIST,
    PASSWORD,
    QUOTED_STRING,
    SCHEME,
    SIP_URI,
    SIP_URI_WITH_HEADERS,
    TELEPHONE_SUBSCRIBER,
    TOKEN,
    TOKEN_CHARS,
    URI_HEADERS,
    URI_PARAMETERS,
    USER,
)

# ---------------------------------------------------------------------------------------
# RFC 3261 25.1 lexical building blocks (the fragments are in grammar.py)
# ---------------------------------------------------------------------------------------

_PARAM = f"{LWS};{LWS}({TOKEN})(?:{LWS}={LWS}({GEN_VALUE}))?"
_PARAMS_RE = re.compile(f"(?:{_PARAM})*{LWS}", re.DOTALL)
_PARAM_RE = re.compile(_PARAM, re.DOTALL)
_TOKEN_RE = re.compile(TOKEN)
_QUOTED_RE = re.compile(QUOTED_STRING, re.DOTALL)
_DISPLAY_TOKENS_RE = re.compile(DISPLAY_NAME_TOKENS)

Params: TypeAlias = tuple[tuple[str, str | None], ...]
"""Ordered ``(name, value)`` pairs; value ``None`` for a parameter without ``=``."""


def is_token(text: str) -> bool:
    """RFC 3261 25.1 ``token``."""
    return _TOKEN_RE.fullmatch(text) is not None


def split_list(value: str, sep: str = ",") -> list[str]:
    """Split a header value on ``sep`` outside quoted strings and angle brackets.

    Empty elements are kept as empty strings so that callers can detect them
    (RFC 4475 badinv01 has ``;;,;,,``). An unterminated quoted string raises
    :class:`RemoteProtocolError`.
    """
    if '"' not in value and "<" not in value:
        return [p.strip(" \t") for p in value.split(sep)]
    out: list[str] = []
    start = 0
    i = 0
    n = len(value)
    in_angle = False
    while i < n:
        ch = value[i]
        if ch == '"':
            m = _QUOTED_RE.match(value, i)
            if m is None:
                raise RemoteProtocolError(f"unterminated quoted string in {value!r}")
            i = m.end()
            continue
        if ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == sep and not in_angle:
            out.append(value[start:i].strip(" \t"))
            start = i + 1
        i += 1
    out.append(value[start:].strip(" \t"))
    return out


def unquote_string(text: str) -> str:
    """The content of a quoted-string with quoted-pairs resolved (RFC 3261 25.1)."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise RemoteProtocolError(f"not a quoted string: {text!r}")
    inner = text[1:-1]
    if "\\" not in inner:
        return inner
    out: list[str] = []
    esc = False
    for ch in inner:
        if esc:
            out.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        else:
            out.append(ch)
    return "".join(out)


def quote_string(text: str) -> str:
    """A quoted-string holding ``text`` (``"`` and ``\\`` escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_params(text: str) -> Params:
    """``*( SEMI generic-param )`` with LWS allowed around ``;`` and ``=``.

    Quoted values are returned with their quotes (use :func:`unquote_string`), so that
    the value round-trips. An empty parameter (``;;``) is invalid.
    """
    if not text.strip(" \t"):
        return ()
    if _PARAMS_RE.fullmatch(text) is None:
        raise RemoteProtocolError(f"invalid parameters {text!r}")
    return tuple((m.group(1), m.group(2)) for m in _PARAM_RE.finditer(text))


def format_params(params: Iterable[tuple[str, str | None]]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def param_value(params: Params, name: str) -> str | None:
    """Value of the first parameter ``name`` (case-insensitive), unquoted; ``""`` if valueless.

    ``None`` when absent.
    """
    low = name.lower()
    for k, v in params:
        if k.lower() == low:
            if v is None:
                return ""
            return unquote_string(v) if v.startswith('"') else v
    return None


def has_param(params: Params, name: str) -> bool:
    low = name.lower()
    return any(k.lower() == low for k, _ in params)


# ---------------------------------------------------------------------------------------
# URIs (RFC 3261 19.1, RFC 3966)
# ---------------------------------------------------------------------------------------

_SCHEME_RE = re.compile(SCHEME)
_ABSOLUTE_URI_RE = re.compile(ABSOLUTE_URI)
_USER_RE = re.compile(USER)
_PASSWORD_RE = re.compile(PASSWORD)
_HOSTPORT_RE = re.compile(r"([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?")
_URI_PARAMS_RE = re.compile(URI_PARAMETERS)
_URI_HEADERS_RE = re.compile(URI_HEADERS)
_TEL_RE = re.compile(TELEPHONE_SUBSCRIBER)

SIP_URI_FAST = SIP_URI
"""A complete sip/sips URI (no headers part) in one regex: the fast path of validation. A
URI it rejects goes through :func:`parse_uri` for the exact verdict and message."""
_SIP_URI_NOHDR_RE = re.compile(SIP_URI)
_SIP_URI_FULL_RE = re.compile(SIP_URI_WITH_HEADERS)
NAME_ADDR_FAST = NAME_ADDR
"""One name-addr/addr-spec with a sip URI and its parameters (:data:`.grammar.NAME_ADDR`)."""
_NAME_ADDR_FAST_RE = re.compile(NAME_ADDR, re.DOTALL)
_NAME_ADDR_LIST_FAST_RE = re.compile(NAME_ADDR_LIST, re.DOTALL)

#: characters left unescaped in the user part by :func:`format_uri`
_USER_SAFE = "-_.!~*'()&=+$,;?/"
_PARAM_SAFE = "-_.!~*'()[]/:&+$"
_HEADER_SAFE = "-_.!~*'()[]/?:+$"


@dataclass(frozen=True, slots=True)
class SipUri:
    """A parsed URI (RFC 3261 19.1.1 for sip/sips, RFC 3966 for tel).

    ``user``, ``password``, parameter and header names and values are percent-decoded.
    For ``tel:`` the telephone-subscriber is in ``user`` and ``host`` is empty. For any
    other scheme only ``scheme`` and ``opaque`` (what follows the colon) are set.
    ``raw`` is the text parsed (empty for built URIs).
    """

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str = ""
    raw: str = ""

    def param(self, name: str) -> str | None:
        """Value of URI parameter ``name`` (``""`` when valueless, ``None`` when absent)."""
        return param_value(self.params, name)

    def has_param(self, name: str) -> bool:
        return has_param(self.params, name)

    @property
    def is_sip(self) -> bool:
        return self.scheme in ("sip", "sips")

    @property
    def aor(self) -> str:
        """``scheme:user@host`` (no port, params or headers): the address-of-record form."""
        if self.scheme == "tel":
            return f"tel:{self.user}"
        if not self.is_sip:
            return f"{self.scheme}:{self.opaque}"
        if self.user:
            return f"{self.scheme}:{self.user}@{self.host}"
        return f"{self.scheme}:{self.host}"

    def __str__(self) -> str:
        return format_uri(self)


def _pct(text: str) -> str:
    return unquote(text, errors="surrogateescape")


def _check_escapes(text: str, what: str) -> None:
    i = text.find("%")
    while i >= 0:
        if len(text) < i + 3 or not all(c in "0123456789abcdefABCDEF" for c in text[i + 1 : i + 3]):
            raise RemoteProtocolError(f"invalid escape in {what} {text!r}")
        i = text.find("%", i + 3)


def parse_uri(text: str) -> SipUri:
    """Parse a sip:, sips:, tel: or other absolute URI; RemoteProtocolError if invalid."""
    colon = text.find(":")
    if colon <= 0 or _SCHEME_RE.fullmatch(text, 0, colon) is None:
        raise RemoteProtocolError(f"URI without a valid scheme: {text!r}")
    scheme = text[:colon].lower()
    rest = text[colon + 1 :]
    if scheme in ("sip", "sips"):
        return _parse_sip_uri(scheme, rest, text)
    if scheme == "tel":
        if _TEL_RE.fullmatch(rest) is None:
            raise RemoteProtocolError(f"invalid tel URI {text!r}")
        number, _, ptext = rest.partition(";")
        params = tuple(
            (k, v if sep else None)
            for k, sep, v in (p.partition("=") for p in ptext.split(";") if ptext)
        )
        return SipUri(scheme="tel", user=number, params=params, raw=text)
    if _ABSOLUTE_URI_RE.fullmatch(text) is None:
        raise RemoteProtocolError(f"invalid URI {text!r}")
    return SipUri(scheme=scheme, opaque=rest, raw=text)


def _parse_sip_uri(scheme: str, rest: str, text: str) -> SipUri:
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    hostpart = rest
    if at >= 0:
        userinfo, hostpart = rest[:at], rest[at + 1 :]
        utext, sep, ptext = userinfo.partition(":")
        if _USER_RE.fullmatch(utext) is None:
            raise RemoteProtocolError(f"invalid user part in {text!r}")
        if sep and _PASSWORD_RE.fullmatch(ptext) is None:
            raise RemoteProtocolError(f"invalid password in {text!r}")
        user = _pct(utext)
        password = _pct(ptext) if sep else None
    m = _HOSTPORT_RE.match(hostpart)
    if m is None:
        raise RemoteProtocolError(f"invalid host in {text!r}")
    host = m.group(1)
    port = int(m.group(2)) if m.group(2) else None
    if port is not None and port > 65535:
        raise RemoteProtocolError(f"port out of range in {text!r}")
    tail = hostpart[m.end() :]
    ptext, qmark, htext = tail.partition("?")
    if _URI_PARAMS_RE.fullmatch(ptext) is None:
        raise RemoteProtocolError(f"invalid URI parameters in {text!r}")
    params: list[tuple[str, str | None]] = []
    if ptext:
        for p in ptext[1:].split(";"):
            k, sep, v = p.partition("=")
            params.append((_pct(k), _pct(v) if sep else None))
    headers: list[tuple[str, str]] = []
    if qmark:
        if _URI_HEADERS_RE.fullmatch(htext) is None:
            raise RemoteProtocolError(f"invalid URI headers in {text!r}")
        for h in htext.split("&"):
            k, _, v = h.partition("=")
            headers.append((_pct(k), _pct(v)))
    return SipUri(
        scheme=scheme,
        host=host,
        user=user,
        password=password,
        port=port,
        params=tuple(params),
        headers=tuple(headers),
        raw=text,
    )


def format_uri(uri: SipUri) -> str:
    """Serialize a :class:`SipUri`, percent-encoding what needs it."""
    if uri.scheme == "tel":
        return f"tel:{uri.user or ''}" + format_params(uri.params)
    if uri.scheme not in ("sip", "sips"):
        return f"{uri.scheme}:{uri.opaque}"
    out = [uri.scheme, ":"]
    if uri.user is not None:
        out.append(quote(uri.user, safe=_USER_SAFE))
        if uri.password is not None:
            out.append(":" + quote(uri.password, safe="-_.!~*'()&=+$,"))
        out.append("@")
    out.append(uri.host)
    if uri.port is not None:
        out.append(f":{uri.port}")
    for k, v in uri.params:
        out.append(";" + quote(k, safe=_PARAM_SAFE))
        if v is not None:
            out.append("=" + quote(v, safe=_PARAM_SAFE))
    if uri.headers:
        out.append(
            "?"
            + "&".join(
                quote(k, safe=_HEADER_SAFE) + "=" + quote(v, safe=_HEADER_SAFE)
                for k, v in uri.headers
            )
        )
    return "".join(out)


def build_sip_uri(
    user: str | None,
    host: str,
    *,
    port: int | None = None,
    params: Sequence[tuple[str, str | None]] = (),
    headers: Sequence[tuple[str, str]] = (),
    scheme: str = "sip",
) -> str:
    """Text of a sip/sips URI from its parts (the builder paired with :func:`parse_uri`)."""
    return format_uri(
        SipUri(
            scheme=scheme,
            host=host,
            user=user,
            port=port,
            params=tuple(params),
            headers=tuple(headers),
        )
    )


def check_request_uri(text: str) -> None:
    """RFC 3261 25.1 Request-URI: an absolute URI; a sip/sips one has no headers part.

    RFC 4475 3.1.2.11 (escruri): escaped headers are not allowed in a Request-URI.
    """
    if _SIP_URI_NOHDR_RE.fullmatch(text) is not None:
        return
    if not text or text[0] == "<":
        raise RemoteProtocolError(f"invalid Request-URI {text!r}")
    uri = parse_uri(text)
    if uri.is_sip and uri.headers:
        raise RemoteProtocolError(f"headers in a SIP Request-URI: {text!r}")


# ---------------------------------------------------------------------------------------
# name-addr / addr-spec (RFC 3261 20.10, 25.1)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameAddr:
    """``[display-name] <addr-spec> *(;param)`` or ``addr-spec *(;param)``.

    ``display_name`` is unquoted (``None`` when absent); ``uri`` is the URI text as sent;
    ``params`` are the header parameters (not the URI's). ``bracketed`` says whether the
    URI was in ``<>``. A Contact of ``*`` has ``uri == "*"``.
    """

    uri: str
    display_name: str | None = None
    params: Params = ()
    bracketed: bool = True

    def param(self, name: str) -> str | None:
        return param_value(self.params, name)

    def has_param(self, name: str) -> bool:
        return has_param(self.params, name)

    @property
    def tag(self) -> str | None:
        return param_value(self.params, "tag")

    @property
    def sip_uri(self) -> SipUri:
        """The URI parsed (RemoteProtocolError if invalid)."""
        return parse_uri(self.uri)

    def __str__(self) -> str:
        return format_name_addr(self.uri, self.display_name, self.params)


def parse_name_addr(text: str, *, allow_star: bool = False) -> NameAddr:
    """Parse one From/To/Contact/Route-style element (RFC 3261 20.10).

    The addr-spec form may not hold ``;``, ``?`` or ``,`` in its URI: a ``;`` starts the
    header parameters, and ``?`` or ``,`` is invalid (RFC 4475 3.1.2.13 regbadct).
    """
    text = text.strip(" \t")
    if not text:
        raise RemoteProtocolError("empty name-addr")
    if allow_star and text[0] == "*":
        return NameAddr(uri="*", params=parse_params(text[1:]), bracketed=False)
    display: str | None = None
    pos = 0
    if text[0] == '"':
        m = _QUOTED_RE.match(text)
        if m is None:
            raise RemoteProtocolError(f"unterminated quoted display name in {text!r}")
        display = unquote_string(m.group(0))
        pos = m.end()
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text) or text[pos] != "<":
            raise RemoteProtocolError(f"quoted display name without <uri> in {text!r}")
    lt = text.find("<", pos)
    semi = text.find(";", pos)
    if lt >= 0 and (semi < 0 or lt < semi or display is not None):
        if display is None:
            dn = text[:lt].rstrip(" \t")
            if dn:
                if _DISPLAY_TOKENS_RE.fullmatch(dn) is None:
                    raise RemoteProtocolError(f"display name must be tokens or quoted: {dn!r}")
                display = dn
        gt = text.find(">", lt)
        if gt < 0:
            raise RemoteProtocolError(f"unterminated <uri> in {text!r}")
        uri = text[lt + 1 : gt]
        if not uri or any(c in uri for c in ' \t<"'):
            raise RemoteProtocolError(f"invalid URI in <>: {uri!r}")
        _check_uri(uri)
        return NameAddr(uri=uri, display_name=display, params=parse_params(text[gt + 1 :]))
    # addr-spec form
    end = semi if semi >= 0 else len(text)
    uri = text[:end].rstrip(" \t")
    if not uri or any(c in uri for c in ' \t<>"?,'):
        raise RemoteProtocolError(f"invalid addr-spec {uri!r} (use <> for ?, ; or ,)")
    _check_uri(uri)
    return NameAddr(uri=uri, params=parse_params(text[end:]), bracketed=False)


def check_name_addr_fast(value: str, *, is_list: bool = False) -> bool:
    """True when ``value`` is certainly a valid (list of) name-addr/addr-spec with sip URIs.

    False means "not decided here": run :func:`parse_name_addr` for the verdict.
    """
    regex = _NAME_ADDR_LIST_FAST_RE if is_list else _NAME_ADDR_FAST_RE
    return regex.fullmatch(value) is not None


def _check_uri(uri: str) -> None:
    if _SIP_URI_FULL_RE.fullmatch(uri) is not None:
        return
    c = uri[:5].lower()
    if c.startswith(("sip:", "sips:")):
        parse_uri(uri)
    elif _ABSOLUTE_URI_RE.fullmatch(uri) is None:
        raise RemoteProtocolError(f"invalid URI {uri!r}")


def format_name_addr(
    uri: str | SipUri,
    display_name: str | None = None,
    params: Iterable[tuple[str, str | None]] = (),
    *,
    bracketed: bool = True,
) -> str:
    """Build a name-addr (the builder paired with :func:`parse_name_addr`).

    The display name is written as tokens when it is a token sequence, else quoted.
    ``bracketed=False`` writes the addr-spec form (only valid for simple URIs).
    """
    text = str(uri)
    out = ""
    if display_name is not None:
        if display_name and _DISPLAY_TOKENS_RE.fullmatch(display_name):
            out = display_name + " "
        else:
            out = quote_string(display_name) + " "
    if bracketed or display_name is not None:
        out += f"<{text}>"
    else:
        out += text
    return out + format_params(params)


__all__ = [
    "NAME_ADDR_FAST",
    "SIP_URI_FAST",
    "TOKEN_CHARS",
    "NameAddr",
    "Params",
    "SipUri",
    "build_sip_uri",
    "check_name_addr_fast",
    "check_request_uri",
    "format_name_addr",
    "format_params",
    "format_uri",
    "has_param",
    "is_token",
    "param_value",
    "parse_name_addr",
    "parse_params",
    "parse_uri",
    "quote_string",
    "split_list",
    "unquote_string",
]
