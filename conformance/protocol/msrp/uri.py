"""MSRP URIs (RFC 4975 section 6, grammar in section 9).

    MSRP-URI   = msrp-scheme "://" authority ["/" session-id] ";" transport *( ";" URI-parameter )
    session-id = 1*( unreserved / "+" / "=" / "/" )
    transport  = "tcp" / 1*ALPHANUM

:class:`MsrpUri` keeps the text it was parsed from (``raw``), so a URI is written back
exactly as the peer sent it (a peer matches its own URI in To-Path). Equality follows the
comparison rules of RFC 4975 section 6.1, not the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote

from conformance.errors import LocalProtocolError, RemoteProtocolError

SCHEMES = frozenset({"msrp", "msrps"})

_SESSION_ID = re.compile(r"[A-Za-z0-9\-._~+=/%]+\Z")
_TRANSPORT = re.compile(r"[A-Za-z0-9]+\Z")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,=]+)\Z")
_USERINFO = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:]*\Z")
_PARAM_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'*+%]+\Z")


def _format(
    scheme: str,
    userinfo: str | None,
    host: str,
    port: int | None,
    session_id: str | None,
    transport: str,
    params: Sequence[tuple[str, str | None]],
) -> str:
    text = f"{scheme}://"
    if userinfo is not None:
        text += f"{userinfo}@"
    text += host
    if port is not None:
        text += f":{port}"
    if session_id is not None:
        text += f"/{session_id}"
    text += f";{transport}"
    for name, value in params:
        text += f";{name}" if value is None else f";{name}={value}"
    return text


@dataclass(frozen=True, slots=True, eq=False)
class MsrpUri:
    """One MSRP URI. Compare with ``==``, which applies RFC 4975 section 6.1:

    1. the scheme matches, case-insensitively;
    2. the host matches case-insensitively after percent-decoding; userinfo is ignored;
    3. a port present in either URI must match exactly (an explicit port never equals an
       absent one);
    4. the session-id matches case-sensitively (absent never equals present);
    5. the transport matches case-insensitively;
    6. URI parameters are ignored.
    """

    scheme: str
    host: str
    port: int | None
    session_id: str | None
    transport: str = "tcp"
    params: tuple[tuple[str, str | None], ...] = ()
    userinfo: str | None = None
    #: the text as received (or as formatted for a built URI)
    raw: str = field(default="")

    def __post_init__(self) -> None:
        if not self.raw:
            object.__setattr__(
                self,
                "raw",
                _format(
                    self.scheme,
                    self.userinfo,
                    self.host,
                    self.port,
                    self.session_id,
                    self.transport,
                    self.params,
                ),
            )

    @classmethod
    def build(
        cls,
        host: str,
        port: int | None,
        session_id: str | None,
        *,
        scheme: str = "msrp",
        transport: str = "tcp",
        params: Iterable[tuple[str, str | None]] = (),
    ) -> MsrpUri:
        """Build a URI of our own; misuse raises :class:`LocalProtocolError`."""
        params = tuple(params)
        try:
            uri = parse_uri(_format(scheme, None, host, port, session_id, transport, params))
        except RemoteProtocolError as exc:
            raise LocalProtocolError(f"cannot build MSRP URI: {exc.message}") from None
        return uri

    def __str__(self) -> str:
        return self.raw

    def _key(self) -> tuple[str, str, int | None, str | None, str]:
        return (
            self.scheme.lower(),
            unquote(self.host).lower(),
            self.port,
            self.session_id,
            self.transport.lower(),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MsrpUri):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def formatted(self) -> str:
        """The canonical text (scheme and transport as held, no original spelling)."""
        return _format(
            self.scheme,
            self.userinfo,
            self.host,
            self.port,
            self.session_id,
            self.transport,
            self.params,
        )


def parse_uri(text: str) -> MsrpUri:
    """Parse one MSRP URI; invalid text raises :class:`RemoteProtocolError`."""

    def bad(why: str) -> RemoteProtocolError:
        return RemoteProtocolError(
            f"invalid MSRP URI {text!r}: {why}", raw=text.encode("utf-8", "surrogateescape")
        )

    scheme, sep, rest = text.partition("://")
    if not sep:
        raise bad("missing '://'")
    if scheme.lower() not in SCHEMES:
        raise bad(f"scheme {scheme!r} is not msrp or msrps")
    base, sep, tail = rest.partition(";")
    if not sep:
        raise bad("missing ';transport'")
    transport, *param_texts = tail.split(";")
    if not _TRANSPORT.match(transport):
        raise bad(f"invalid transport {transport!r}")
    params: list[tuple[str, str | None]] = []
    for param in param_texts:
        name, eq, value = param.partition("=")
        if not _PARAM_NAME.match(name):
            raise bad(f"invalid URI parameter {param!r}")
        params.append((name, value if eq else None))
    authority, slash, session = base.partition("/")
    session_id: str | None = None
    if slash:
        if not _SESSION_ID.match(session):
            raise bad(f"invalid session-id {session!r}")
        session_id = session
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        if not _USERINFO.match(userinfo):
            raise bad("invalid userinfo")
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise bad("unterminated IPv6 reference")
        host, port_text = authority[: close + 1], authority[close + 1 :]
        if port_text and not port_text.startswith(":"):
            raise bad("junk after IPv6 reference")
        port_text = port_text[1:] if port_text else ""
        has_port = bool(authority[close + 1 :])
    else:
        host, colon, port_text = authority.partition(":")
        has_port = bool(colon)
    if not host or not _HOST.match(host):
        raise bad(f"invalid host {host!r}")
    port: int | None = None
    if has_port:
        if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
            raise bad(f"invalid port {port_text!r}")
        port = int(port_text)
        if port > 65535:
            raise bad(f"port {port} out of range")
    return MsrpUri(
        scheme=scheme,
        host=host,
        port=port,
        session_id=session_id,
        transport=transport,
        params=tuple(params),
        userinfo=userinfo,
        raw=text,
    )


@lru_cache(maxsize=512)
def parse_path(value: str) -> tuple[MsrpUri, ...]:
    """Parse a To-Path / From-Path value: ``MSRP-URI *( SP MSRP-URI )`` (RFC 4975 9).

    Results are cached (the value of a session's paths repeats on every chunk); errors
    are not cached.
    """
    parts = value.split()
    if not parts:
        raise RemoteProtocolError("empty MSRP path", raw=value.encode("utf-8", "surrogateescape"))
    return tuple(parse_uri(part) for part in parts)


def format_path(path: MsrpUri | str | Sequence[MsrpUri | str]) -> str:
    """Write a path header value; strings are written as given (for malformed stimuli)."""
    if isinstance(path, MsrpUri | str):
        return str(path)
    if not path:
        raise LocalProtocolError("an MSRP path needs at least one URI")
    return " ".join(str(uri) for uri in path)
