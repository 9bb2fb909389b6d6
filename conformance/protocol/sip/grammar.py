"""RFC 3261 section 25 grammar as regular-expression fragments (sans-IO, pure strings).

Each constant is the text of a regex, named after the ABNF rule it recognises (25.1
unless said otherwise), so that :mod:`.uri` and :mod:`.headers` build their parsers and
fast validators from one definition. Fragments are uncompiled; possessive quantifiers
(``++``, ``*+``) keep a rejected value from backtracking. A fragment captures no group,
so it can be embedded anywhere.

Where a fragment is simpler than the ABNF it says so: the parsers that use it give the
exact verdict (for example :data:`LWS` has no line folding because header values are
unfolded before they are parsed).
"""

from __future__ import annotations

TOKEN_CHARS = "A-Za-z0-9\\-.!%*_+`'~"  # noqa: S105 - a character class
"""The body of a character class of ``token`` characters: ``alphanum / "-" / "." / "!" /
"%" / "*" / "_" / "+" / "`" / "'" / "~"``."""

TOKEN = f"[{TOKEN_CHARS}]++"
"""``token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")``."""

QUOTED_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
"""``quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE`` (without the SWS)."""

LWS = r"[ \t]*"
"""``LWS`` / ``SWS`` on an unfolded value: any run of SP and HTAB, possibly empty."""

IPV6_REFERENCE = r"\[[0-9A-Fa-f:.]+\]"
"""``IPv6reference = "[" IPv6address "]"`` (the address itself is not checked here)."""

GEN_VALUE = f"(?:{TOKEN}|{IPV6_REFERENCE}|{QUOTED_STRING})"
"""``gen-value = token / host / quoted-string`` (host as a token or an IPv6 reference)."""

GENERIC_PARAM = f"{LWS};{LWS}{TOKEN}(?:{LWS}={LWS}{GEN_VALUE})?"
"""``SEMI generic-param`` with ``generic-param = token [ EQUAL gen-value ]``."""

GENERIC_PARAMS = f"(?:{GENERIC_PARAM})*{LWS}"
"""``*( SEMI generic-param )`` and the trailing white space of a header value."""

SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
"""``scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )``."""

ABSOLUTE_URI = r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"]+"
"""``absoluteURI = scheme ":" ( hier-part / opaque-part )``, loosely: no SP, ``<``, ``>``
or ``"`` after the colon."""

ESCAPED = r"%[0-9A-Fa-f]{2}"
"""``escaped = "%" HEXDIG HEXDIG``."""

UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
"""The body of a character class of ``unreserved = alphanum / mark`` characters."""

USER = f"(?:[{UNRESERVED}&=+$,;?/]++|{ESCAPED})++"
"""``user = 1*( unreserved / escaped / user-unreserved )``."""

PASSWORD = f"(?:[{UNRESERVED}&=+$,]++|{ESCAPED})*+"
"""``password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )``."""

HOST = r"(?:[A-Za-z0-9.\-]++|\[[0-9A-Fa-f:.]++\])"
"""``host = hostname / IPv4address / IPv6reference``, loosely (labels are not checked)."""

PORT = r"(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""``port = 1*DIGIT``, limited to 0-65535."""

PARAMCHARS = f"(?:[{UNRESERVED}\\[\\]/:&+$]++|{ESCAPED})++"
"""``pname`` / ``pvalue = 1*paramchar`` with ``paramchar = param-unreserved / unreserved
/ escaped``."""

URI_PARAMETERS = f"(?:;{PARAMCHARS}(?:={PARAMCHARS})?)*+"
"""``uri-parameters = *( ";" uri-parameter )`` (every uri-parameter as ``other-param``)."""

HCHARS = f"(?:[{UNRESERVED}\\[\\]/?:+$]++|{ESCAPED})"
"""One run of ``hname`` / ``hvalue`` characters: ``hnv-unreserved / unreserved / escaped``."""

URI_HEADERS = f"{HCHARS}++={HCHARS}*+(?:&{HCHARS}++={HCHARS}*+)*+"
"""``headers`` without the leading ``?``: ``header *( "&" header )``,
``header = hname "=" hvalue``."""

TELEPHONE_SUBSCRIBER = r"[0-9A-Fa-f+\-.()*#]+(?:;[^;\s]+)*"
"""RFC 3966 ``telephone-subscriber`` with its parameters, loosely."""

SIP_URI = (
    f"[sS][iI][pP][sS]?:(?:(?:[{UNRESERVED}&=+$,;?/]++|{ESCAPED})++"
    f"(?::(?:[{UNRESERVED}&=+$,]++|{ESCAPED})*+)?@)?"
    f"{HOST}(?::{PORT})?"
    f"{URI_PARAMETERS}"
)
"""``SIP-URI`` / ``SIPS-URI`` without the ``headers`` part:
``"sip:" [ userinfo ] hostport uri-parameters``."""

SIP_URI_WITH_HEADERS = f"{SIP_URI}(?:\\?{URI_HEADERS})?"
"""``SIP-URI`` / ``SIPS-URI`` with the optional ``"?" headers``."""

ADDR_SPEC_SIP_URI = (
    f"[sS][iI][pP][sS]?:(?:(?:[{UNRESERVED}&=+$/]++|{ESCAPED})++"
    f"(?::(?:[{UNRESERVED}&=+$]++|{ESCAPED})*+)?@)?"
    f"{HOST}(?::{PORT})?"
)
"""A sip/sips ``addr-spec`` outside ``<>``: no ``;``, ``?`` or ``,`` in the URI (20.10)."""

DISPLAY_NAME_TOKENS = f"{TOKEN}(?:[ \\t]+{TOKEN})*"
"""``display-name = *(token LWS)`` (the ``quoted-string`` form is :data:`QUOTED_STRING`)."""

NAME_ADDR = (
    f"(?:(?:(?:{QUOTED_STRING}|{DISPLAY_NAME_TOKENS})[ \\t]*)?"
    f"<{SIP_URI_WITH_HEADERS}>"
    f"|{ADDR_SPEC_SIP_URI}){GENERIC_PARAMS}"
)
"""``( name-addr / addr-spec ) *( SEMI generic-param )`` with a sip/sips URI: the value of
From, To, Route, Record-Route and one Contact element (20.10, 20.20, 20.30, 20.34, 20.39)."""

NAME_ADDR_LIST = f"{NAME_ADDR}(?:[ \\t]*,[ \\t]*{NAME_ADDR})*"
"""``element *(COMMA element)`` of :data:`NAME_ADDR` elements."""

VIA_PARM = (
    r"SIP/2\.0/[A-Za-z]+ (?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])"
    f"(?::{PORT})?(?:;{TOKEN}(?:={GEN_VALUE})?)*"
)
"""``via-parm = sent-protocol LWS sent-by *( SEMI via-params )`` in its common shape:
``SIP/2.0/transport``, one SP, no white space around ``;`` and ``=`` (20.42)."""

VIA = f"{VIA_PARM}(?:[ \\t]*,[ \\t]*{VIA_PARM})*"
"""``Via = ( "Via" / "v" ) HCOLON via-parm *(COMMA via-parm)``: the value."""

MEDIA_TYPE = f"{TOKEN}/{TOKEN}(?:{LWS};{LWS}{TOKEN}(?:{LWS}={LWS}{GEN_VALUE})?)*+{LWS}"
"""``media-type = m-type SLASH m-subtype *(SEMI m-parameter)`` with no white space around
the slash: the value of Content-Type (20.15)."""

RFC1123_DATE = (
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
"""``SIP-date = rfc1123-date`` (RFC 2616 3.3.1), GMT only (20.17)."""

__all__ = [
    "ABSOLUTE_URI",
    "ADDR_SPEC_SIP_URI",
    "DISPLAY_NAME_TOKENS",
    "ESCAPED",
    "GENERIC_PARAM",
    "GENERIC_PARAMS",
    "GEN_VALUE",
    "HCHARS",
    "HOST",
    "IPV6_REFERENCE",
    "LWS",
    "MEDIA_TYPE",
    "NAME_ADDR",
    "NAME_ADDR_LIST",
    "PARAMCHARS",
    "PASSWORD",
    "PORT",
    "QUOTED_STRING",
    "RFC1123_DATE",
    "SCHEME",
    "SIP_URI",
    "SIP_URI_WITH_HEADERS",
    "TELEPHONE_SUBSCRIBER",
    "TOKEN",
    "TOKEN_CHARS",
    "UNRESERVED",
    "URI_HEADERS",
    "URI_PARAMETERS",
    "USER",
    "VIA",
    "VIA_PARM",
]
