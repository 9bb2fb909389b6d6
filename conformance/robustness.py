"""``cpm-conformance robustness``: a mutation campaign against a SUT's SIP and MSRP.

The inputs are the engine's own valid CPM messages (an RFC 5366 group INVITE with SDP and
a resource-list, SUBSCRIBE and NOTIFY with conference-info, OPTIONS, MSRP SEND with CPIM
and with an IMDN), damaged by a :class:`Mutator` (bit flips, byte insertion and deletion,
header duplication and removal, length fields that lie, long values, boundary values,
separator damage, truncation, XML entity declarations, ...).

Every input is a pure function of ``(seed, index)`` (:func:`generate`): its id
``"seed:index"`` regenerates the same bytes. On the wire two placeholders are filled in
(:func:`wire_bytes`): the tool's own SIP address (``127.0.0.1:5060`` in the templates) and
the MSRP paths (``msrp://sut.invalid:2855/...``) of the session the last probe set up.

After each batch a liveness probe runs (:meth:`Campaign.probe`): OPTIONS to each SIP
target, then a minimal valid group INVITE to the CF (any response; a 2xx is ACKed and
ended with BYE at the next probe; a call left ringing is CANCELled). A probe that gets no
answer within ``--timeout`` is a crash or hang. When the SUT can be restarted (the
reference SUT), the failing batch is replayed one input at a time with a probe after
each, on a fresh SUT, to find the first input after which it stopped answering; a
reference SUT's log is also read after each batch for unhandled exceptions ("Traceback").

Traffic goes to loopback only; a non-loopback target is refused unless the profile's
target is external, and documentation addresses (RFC 5737) are refused outright.

This is the top layer: it imports from every layer, and nothing imports it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from conformance.catalog.model import Role
from conformance.catalog.profile import ProfileError, SutProfile, Target, load_sut
from conformance.documents.conference_info import (
    ConferenceInfo,
    DocState,
    Endpoint,
    User,
    build_conference_info,
)
from conformance.documents.cpim import build_cpim, new_cpim
from conformance.documents.imdn import Imdn, ImdnKind, build_imdn
from conformance.documents.resource_lists import (
    RECIPIENT_LIST_DISPOSITION,
    RESOURCE_LISTS_CONTENT_TYPE,
    Entry,
    ResourceList,
    build_resource_list,
)
from conformance.errors import RemoteProtocolError
from conformance.net.clock import WaitTimeout
from conformance.net.sip_pump import TransactionTimeoutError
from conformance.protocol.msrp.codec import build_send
from conformance.protocol.sip.cpm import (
    CONTRIBUTION_ID,
    CONVERSATION_ID,
    ICSI_SESSION,
    OPTION_RECIPIENT_LIST_INVITE,
    SDP_TYPE,
)
from conformance.protocol.sip.message import SipResponse, build_request
from conformance.protocol.sip.multipart import build_multipart, build_part
from conformance.protocol.sip.sdp import build_msrp_sdp, parse_sdp
from conformance.protocol.sip.timers import Address, Timers, Transport
from conformance.roles.client import ClientEmulator, InviteHandle, sdp_of
from conformance.roles.core import ToolCore

#: RFC 5737 documentation networks: never a test target
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
#: the tool's own SIP address in the templates, replaced on the wire
VIA_PLACEHOLDER = b"127.0.0.1:5060"
#: the SUT's and the tool's MSRP paths in the templates, replaced on the wire
MSRP_TO_PLACEHOLDER = b"msrp://sut.invalid:2855/robustness-sut;tcp"
MSRP_FROM_PLACEHOLDER = b"msrp://127.0.0.1:2856/robustness-tool;tcp"
#: the largest datagram sent over UDP; a longer input goes over TCP
MAX_DATAGRAM = 60_000

SIP_TEMPLATES = ("group-invite", "subscribe", "notify", "options")
MSRP_TEMPLATES = ("msrp-send-cpim", "msrp-send-imdn")
TEMPLATES = SIP_TEMPLATES + MSRP_TEMPLATES

ProtocolName = Literal["sip", "msrp"]


# ------------------------------------------------------------------------ inputs


@dataclass(frozen=True, slots=True)
class Context:
    """What the templates are built from (the SUT profile's URIs and users)."""

    factory_uri: str = "sip:conference-factory@cf.reference.test"
    users: tuple[str, ...] = (
        "sip:alice@reference.test",
        "sip:bob@reference.test",
        "sip:carol@reference.test",
    )
    #: the SIP targets by name ("pf", "cf")
    targets: tuple[str, ...] = ("pf", "cf")
    #: whether MSRP inputs are generated
    msrp: bool = True


@dataclass(frozen=True, slots=True)
class FuzzInput:
    """One mutated input; ``id`` regenerates it (:func:`generate`)."""

    seed: int
    index: int
    template: str
    protocol: ProtocolName
    #: "pf" / "cf" for SIP, "msrp" for MSRP
    target: str
    transport: Literal["udp", "tcp"]
    operations: tuple[str, ...]
    data: bytes

    @property
    def id(self) -> str:
        return f"{self.seed}:{self.index}"

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seed": self.seed,
            "index": self.index,
            "template": self.template,
            "protocol": self.protocol,
            "target": self.target,
            "transport": self.transport,
            "operations": list(self.operations),
            "length": len(self.data),
            "base64": base64.b64encode(self.data).decode("ascii"),
            "text": escaped(self.data),
        }


def escaped(data: bytes, limit: int = 4096) -> str:
    """``data`` as printable text (Python escapes), cut at ``limit`` bytes."""
    text = data[:limit].decode("latin-1").encode("unicode_escape").decode("ascii")
    return text + (f"... ({len(data) - limit} more bytes)" if len(data) > limit else "")


def _uniq(seed: int, index: int) -> str:
    return f"r{seed}x{index}"


def _sip_base(
    method: str, uri: str, ctx: Context, uniq: str, *, to: str | None = None, cseq: int = 1
) -> list[tuple[str, str]]:
    return [
        ("Via", f"SIP/2.0/UDP {VIA_PLACEHOLDER.decode()};branch=z9hG4bK{uniq};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<{ctx.users[0]}>;tag=f{uniq}"),
        ("To", f"<{to or uri}>"),
        ("Call-ID", f"{uniq}@127.0.0.1"),
        ("CSeq", f"{cseq} {method}"),
        (
            "Contact",
            f"<sip:fuzzer@{VIA_PLACEHOLDER.decode()}>;+sip.instance="
            f'"<urn:uuid:00000000-0000-4000-8000-00000000a001>"',
        ),
    ]


def _msrp_offer() -> bytes:
    return build_msrp_sdp(
        host="127.0.0.1",
        port=2856,
        path=[MSRP_FROM_PLACEHOLDER.decode()],
        accept_types=("message/cpim", "application/im-iscomposing+xml"),
        accept_wrapped_types=("text/plain", "message/imdn+xml"),
        setup="active",
    )


def build_template(name: str, ctx: Context, uniq: str) -> bytes:
    """The valid message ``name`` of :data:`TEMPLATES`, with ids made from ``uniq``."""
    if name == "group-invite":
        recipients = build_resource_list(
            ResourceList(entries=tuple(Entry(uri=u) for u in ctx.users[1:]))
        )
        content_type, body = build_multipart(
            [
                build_part(SDP_TYPE, _msrp_offer()),
                build_part(
                    RESOURCE_LISTS_CONTENT_TYPE,
                    recipients,
                    disposition=f"{RECIPIENT_LIST_DISPOSITION};handling=required",
                ),
            ],
            boundary=f"boundary-{uniq}",
        )
        hs = [
            *_sip_base("INVITE", ctx.factory_uri, ctx, uniq),
            ("P-Asserted-Identity", f"<{ctx.users[0]}>"),
            ("Accept-Contact", f'*;+g.3gpp.icsi-ref="{ICSI_SESSION.replace(":", "%3A")}"'),
            ("User-Agent", "CPM-client/OMA2.0 robustness/1"),
            (CONVERSATION_ID, f"conv-{uniq}"),
            (CONTRIBUTION_ID, f"contrib-{uniq}"),
            ("Require", OPTION_RECIPIENT_LIST_INVITE),
            ("Supported", "timer"),
            ("Session-Expires", "1800"),
            ("Content-Type", content_type),
        ]
        return build_request("INVITE", ctx.factory_uri, hs, body).to_bytes()
    if name == "subscribe":
        conf = f"sip:conf-{uniq}@cf.reference.test"
        hs = [
            *_sip_base("SUBSCRIBE", conf, ctx, uniq),
            ("Event", "conference"),
            ("Expires", "600"),
            ("Accept", "application/conference-info+xml"),
        ]
        return build_request("SUBSCRIBE", conf, hs, b"").to_bytes()
    if name == "notify":
        info = ConferenceInfo(
            entity=f"sip:conf-{uniq}@cf.reference.test",
            state=DocState.FULL,
            version=1,
            users=tuple(
                User(entity=u, endpoints=(Endpoint(entity=u, status="connected"),))
                for u in ctx.users
            ),
        )
        hs = [
            *_sip_base("NOTIFY", ctx.users[0], ctx, uniq),
            ("Event", "conference"),
            ("Subscription-State", "active;expires=600"),
            ("Content-Type", "application/conference-info+xml"),
        ]
        return build_request("NOTIFY", ctx.users[0], hs, build_conference_info(info)).to_bytes()
    if name == "options":
        hs = [*_sip_base("OPTIONS", ctx.factory_uri, ctx, uniq), ("Accept", "application/sdp")]
        return build_request("OPTIONS", ctx.factory_uri, hs, b"").to_bytes()
    if name in ("msrp-send-cpim", "msrp-send-imdn"):
        if name == "msrp-send-cpim":
            inner, inner_type = b"hello from the robustness campaign", "text/plain"
            dn: tuple[str, ...] = ("positive-delivery", "display")
        else:
            inner = build_imdn(
                Imdn(
                    message_id=f"m{uniq}",
                    datetime="2026-01-01T00:00:00Z",
                    kind=ImdnKind.DELIVERY,
                    status="delivered",
                    recipient_uri=ctx.users[1],
                )
            )
            inner_type, dn = "message/imdn+xml", ()
        cpim = build_cpim(
            new_cpim(
                from_=f"<{ctx.users[0]}>",
                to=f"<{ctx.factory_uri}>",
                body=inner,
                content_type=inner_type,
                datetime_="2026-01-01T00:00:00Z",
                imdn_message_id=f"i{uniq}",
                disposition_notification=dn,
            )
        )
        send = build_send(
            MSRP_TO_PLACEHOLDER.decode(),
            MSRP_FROM_PLACEHOLDER.decode(),
            f"msg{uniq}",
            cpim,
            "message/cpim",
            tid=f"tid{uniq}"[:31],
            success_report="no",
            failure_report="yes",
        )
        return send.to_bytes()
    raise ValueError(f"unknown template {name!r}")


# ------------------------------------------------------------------------ mutator

_LENGTH_LIES = (
    b"-1",
    b"0",
    b"1",
    b"65535",
    b"65536",
    b"2147483647",
    b"4294967296",
    b"99999999999999999999",
    b"",
    b"abc",
    b"0x10",
    b"+5",
    b" 12 ",
    b"1e3",
)
_BOUNDARY = (
    b"0",
    b"-1",
    b"-0",
    b"1",
    b"255",
    b"256",
    b"65535",
    b"65536",
    b"2147483647",
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"9223372036854775808",
    b"18446744073709551616",
    b"99999999999999999999999",
    b"1.5",
    b"NaN",
)
_JUNK = (
    b"\x00",
    b"\xff\xfe",
    b"\xc0\x80",
    b"%00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b'"',
    b"\\",
    b"\t",
    b" ",
    b"=",
    b"@",
    b"-------",
    b"\xe2\x80\xae",
    b"\xf0\x9f\x92\xa9",
    b"$",
    b"#",
    b"%s%n",
)
_XML_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")


def _header_span(data: bytes) -> int:
    idx = data.find(b"\r\n\r\n")
    return idx if idx >= 0 else len(data)


class Mutator:
    """Damages a message with operations drawn from ``rng`` (reproducible by its seed)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def mutate(self, data: bytes) -> tuple[bytes, tuple[str, ...]]:
        ops: list[str] = []
        count = self.rng.choice((1, 1, 1, 2, 2, 3, 4))
        for _ in range(count):
            name = self.rng.choice(_OPERATIONS)
            data = getattr(self, "_" + name.replace("-", "_"))(data)
            ops.append(name)
        return data, tuple(ops)

    def _pos(self, data: bytes) -> int:
        return self.rng.randrange(len(data) + 1)

    def _bit_flip(self, data: bytes) -> bytes:
        if not data:
            return data
        buf = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randrange(len(buf))
            buf[i] ^= 1 << self.rng.randrange(8)
        return bytes(buf)

    def _byte_insert(self, data: bytes) -> bytes:
        at = self._pos(data)
        if self.rng.random() < 0.5:
            junk = self.rng.choice(_JUNK)
        else:
            junk = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 16)))
        return data[:at] + junk + data[at:]

    def _byte_delete(self, data: bytes) -> bytes:
        at = self._pos(data)
        return data[:at] + data[at + self.rng.randint(1, 32) :]

    def _header_duplicate(self, data: bytes) -> bytes:
        lines = _lines(data)
        end = lines.index(b"") if b"" in lines else len(lines)
        if end < 2:
            return data
        i = self.rng.randrange(1, end)
        times = self.rng.choice((1, 1, 2, 50))
        return b"\r\n".join(lines[: i + 1] + [lines[i]] * times + lines[i + 1 :])

    def _header_remove(self, data: bytes) -> bytes:
        lines = _lines(data)
        end = lines.index(b"") if b"" in lines else len(lines)
        if end < 2:
            return data
        i = self.rng.randrange(1, end)
        return b"\r\n".join(lines[:i] + lines[i + 1 :])

    def _length_lie(self, data: bytes) -> bytes:
        lie = self.rng.choice(_LENGTH_LIES)
        for pattern in (
            rb"(?im)^(Content-Length|l)[ \t]*:[ \t]*([^\r\n]*)",
            rb"(?im)^(Byte-Range)[ \t]*:[ \t]*([^\r\n]*)",
        ):
            m = re.search(pattern, data)
            if m is not None:
                if m.group(1).lower() == b"byte-range":
                    lie = b"1-" + lie + b"/" + self.rng.choice(_LENGTH_LIES)
                return data[: m.start(2)] + lie + data[m.end(2) :]
        return (
            data[: _header_span(data)] + b"\r\nContent-Length: " + lie + data[_header_span(data) :]
        )

    def _long_value(self, data: bytes) -> bytes:
        lines = _lines(data)
        end = lines.index(b"") if b"" in lines else len(lines)
        size = self.rng.choice((256, 1024, 8192, 65536))
        fill = self.rng.choice((b"A", b"%", b";a=b", b",", b"<sip:x@y>", b" "))
        if end < 2:
            return data + fill * (size // len(fill))
        i = self.rng.randrange(end)
        lines[i] = lines[i] + fill * (size // len(fill))
        return b"\r\n".join(lines)

    def _boundary_value(self, data: bytes) -> bytes:
        numbers = list(re.finditer(rb"\d+", data))
        if not numbers:
            return data
        m = self.rng.choice(numbers)
        return data[: m.start()] + self.rng.choice(_BOUNDARY) + data[m.end() :]

    def _separator_damage(self, data: bytes) -> bytes:
        seps = list(re.finditer(rb"\r\n|:|;|,|/|=|<|>| ", data))
        if not seps:
            return data
        m = self.rng.choice(seps)
        repl = self.rng.choice(
            (b"", b"\n", b"\r", b"\r\r\n", b"\n\r", b"\x00", b"  ", m.group(0) * 2)
        )
        return data[: m.start()] + repl + data[m.end() :]

    def _truncate(self, data: bytes) -> bytes:
        return data[: self._pos(data)]

    def _line_swap(self, data: bytes) -> bytes:
        lines = _lines(data)
        if len(lines) < 3:
            return data
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\r\n".join(lines)

    def _repeat(self, data: bytes) -> bytes:
        if not data:
            return data
        at = self._pos(data)
        chunk = data[at : at + self.rng.randint(1, 64)]
        return data[:at] + chunk * self.rng.choice((2, 10, 200)) + data[at:]

    def _xml_entities(self, data: bytes) -> bytes:
        m = re.search(rb"<\?xml[^>]*\?>\s*", data)
        if m is None:
            at = data.find(b"<")
            if at < 0:
                return data + b"\r\n" + _XML_BOMB + b"<r>&c;&x;</r>"
            return data[:at] + _XML_BOMB + data[at:]
        body = data[m.end() :]
        tag = re.match(rb"<([A-Za-z][-\w:.]*)", body)
        use = b"&c;&x;" if tag is None else b""
        out = data[: m.start()] + _XML_BOMB + body
        if tag is not None:
            close = out.find(b">", m.start() + len(_XML_BOMB))
            if close > 0:
                out = out[: close + 1] + b"&c;&x;" + out[close + 1 :]
        return out + use

    def _mime_boundary(self, data: bytes) -> bytes:
        m = re.search(rb'boundary="?([^";\r\n]+)"?', data)
        if m is None:
            return self._separator_damage(data)
        boundary = m.group(1)
        hits = [h.start() for h in re.finditer(re.escape(boundary), data)]
        at = self.rng.choice(hits)
        repl = self.rng.choice((b"", boundary[:-1], boundary + b"x", b"--" + boundary, b"\x00"))
        return data[:at] + repl + data[at + len(boundary) :]

    def _start_line(self, data: bytes) -> bytes:
        eol = data.find(b"\r\n")
        eol = len(data) if eol < 0 else eol
        first = data[:eol]
        parts = first.split(b" ")
        choice = self.rng.randrange(4)
        if choice == 0 and parts:
            parts[self.rng.randrange(len(parts))] = self.rng.choice(
                (b"", b"SIP/3.0", b"MSRP", b"INVITEX", b"sip:", b"\x00", b"A" * 300)
            )
        elif choice == 1:
            parts = parts[: max(1, len(parts) - 1)]
        elif choice == 2:
            parts.append(b"extra")
        else:
            parts = [p.lower() for p in parts]
        return b" ".join(parts) + data[eol:]


_OPERATIONS = (
    "bit-flip",
    "byte-insert",
    "byte-delete",
    "header-duplicate",
    "header-remove",
    "length-lie",
    "long-value",
    "boundary-value",
    "separator-damage",
    "truncate",
    "line-swap",
    "repeat",
    "xml-entities",
    "mime-boundary",
    "start-line",
)
OPERATIONS = _OPERATIONS


def generate(seed: int, index: int, ctx: Context | None = None) -> FuzzInput:
    """Input ``index`` of the campaign with ``seed``: the same bytes every time."""
    ctx = ctx or Context()
    rng = random.Random(f"cpm-robustness:{seed}:{index}")
    protocol: ProtocolName = "msrp" if ctx.msrp and rng.random() < 0.25 else "sip"
    if protocol == "msrp":
        template, target = rng.choice(MSRP_TEMPLATES), "msrp"
    else:
        template, target = rng.choice(SIP_TEMPLATES), rng.choice(ctx.targets)
    tcp = rng.random() < 0.25
    base = build_template(template, ctx, _uniq(seed, index))
    data, ops = Mutator(rng).mutate(base)
    transport: Literal["udp", "tcp"] = (
        "tcp" if protocol == "msrp" or tcp or len(data) > MAX_DATAGRAM else "udp"
    )
    return FuzzInput(seed, index, template, protocol, target, transport, ops, data)


@dataclass(frozen=True, slots=True)
class Live:
    """The run-time values the placeholders take on the wire."""

    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    msrp_to_path: bytes = MSRP_TO_PLACEHOLDER
    msrp_from_path: bytes = MSRP_FROM_PLACEHOLDER


def wire_bytes(item: FuzzInput, live: Live) -> bytes:
    """The bytes actually sent: ``item.data`` with the placeholders filled in."""
    if item.protocol == "msrp":
        return item.data.replace(MSRP_TO_PLACEHOLDER, live.msrp_to_path).replace(
            MSRP_FROM_PLACEHOLDER, live.msrp_from_path
        )
    data = item.data.replace(VIA_PLACEHOLDER, f"{live.sip_host}:{live.sip_port}".encode())
    if item.transport == "tcp":
        data = data.replace(b"SIP/2.0/UDP ", b"SIP/2.0/TCP ", 1)
    return data


# ------------------------------------------------------------------------ the SUT


def check_target(host: str, *, external: bool) -> str | None:
    """Why ``host`` may not be a target (None: it may)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"{host!r} is not an IP address (give the SUT's address literally)"
    if any(ip in net for net in DOCUMENTATION_NETWORKS):
        return f"{host} is a documentation address (RFC 5737), never a test target"
    if not ip.is_loopback and not external:
        return f"{host} is not a loopback address"
    return None


class SutHandle(Protocol):
    """What the campaign needs of the SUT."""

    #: the SIP targets by name ("pf", "cf"): UDP addresses (TCP on the same port)
    targets: dict[str, Address]

    def dead(self) -> str | None:
        """Why the SUT is known dead (its process exited), else None."""

    def new_log_errors(self) -> list[str]:
        """Unhandled exceptions the SUT logged since the last call."""

    @property
    def restartable(self) -> bool: ...

    async def restart(self) -> None:
        """A fresh SUT (new :attr:`targets`)."""

    async def stop(self) -> None: ...


class ExternalSut:
    """A vendor's SUT: only its addresses; it is never started, stopped or restarted."""

    restartable = False

    def __init__(self, targets: dict[str, Address]) -> None:
        self.targets = targets

    def dead(self) -> str | None:
        return None

    def new_log_errors(self) -> list[str]:
        return []

    async def restart(self) -> None:
        raise RuntimeError("an external SUT cannot be restarted")

    async def stop(self) -> None:
        return None


class ReferenceSut:
    """The reference SUT as a subprocess (conformance/reference/spawn.py), stopped by pid."""

    restartable = True

    def __init__(self, config_factory: Callable[[str], Any]) -> None:
        self._config_factory = config_factory
        self._child: Any = None
        self._log_offset = 0
        self._store: str | None = None
        self.targets: dict[str, Address] = {}
        self.pids: list[int] = []
        #: every unhandled exception the SUT logged, with its excerpt
        self.log_errors: list[str] = []

    async def start(self) -> None:
        from conformance.reference.spawn import ReferenceProcess

        self._store = tempfile.mkdtemp(prefix="cpm-robustness-store-")
        self._child = await ReferenceProcess.start(self._config_factory(self._store))
        self.pids.append(self._child.process.pid)
        self._log_offset = 0
        ends = self._child.endpoints
        self.targets = {"cf": Address(ends.cf.host, ends.cf.port, Transport.UDP)}
        if ends.pf is not None:
            self.targets = {
                "pf": Address(ends.pf.host, ends.pf.port, Transport.UDP),
                **self.targets,
            }

    def dead(self) -> str | None:
        if self._child is None:
            return "not started"
        code = self._child.process.returncode
        return None if code is None else f"the reference SUT process exited with status {code}"

    def new_log_errors(self) -> list[str]:
        if self._child is None:
            return []
        try:
            with self._child.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                text = fh.read()
        except OSError:
            return []
        # only whole lines: a traceback being written is read next time
        cut = text.rfind(b"\n") + 1
        self._log_offset += cut
        return log_errors(text[:cut].decode("utf-8", "replace"))

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            # read what is left of the log before the directory goes
            self._child = child
            with contextlib.suppress(Exception):
                _terminate(child.process.pid)
                await asyncio.wait_for(child.process.wait(), 5.0)
            self.log_errors.extend(self.new_log_errors())
            self._child = None
            await child.stop()
        if self._store is not None:
            shutil.rmtree(self._store, ignore_errors=True)
            self._store = None


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)


def error_signature(entry: str) -> str:
    """What identifies one bug in a logged traceback: its last frame and exception type."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', entry)
    last = frames[-1] if frames else ("?", "?", "?")
    own = [f for f in frames if "/reference/" in f[0]]
    tail = [line for line in entry.splitlines() if line and not line.startswith(" ")]
    kind = tail[-1].split(":", 1)[0] if tail else "?"
    where = f"{Path(last[0]).name}:{last[1]} in {last[2]}"
    if own and own[-1] != last:
        where = f"{Path(own[-1][0]).name}:{own[-1][1]} in {own[-1][2]} -> {where}"
    return f"{where}: {kind.rsplit('.', 1)[-1]}"


def log_errors(text: str) -> list[str]:
    """The unhandled exceptions in a log: each "Traceback" with the lines around it."""
    lines = text.splitlines()
    found: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            start = max(0, i - 1)
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            found.append("\n".join(lines[start : min(end + 1, len(lines))]))
    return found


# ------------------------------------------------------------------------ the campaign


@dataclass(slots=True)
class ProbeResult:
    ok: bool
    detail: str
    invite: InviteHandle | None = None
    msrp_path: bytes | None = None


@dataclass
class CampaignOptions:
    seed: int = 1
    count: int = 1000
    batch: int = 100
    #: the guard of every probe wait, seconds
    timeout: float = 2.0
    #: the first input index (a campaign continued in chunks)
    start: int = 0
    #: restart a restartable SUT after a failure and go on
    keep_going: bool = False
    #: findings replayed input by input to find their first input (later ones are not)
    max_pinpoints: int = 5


@dataclass
class Finding:
    kind: Literal["no-answer", "exited", "log-exception"]
    detail: str
    #: the inputs of the batch the failure followed
    batch: tuple[int, int]
    #: the first input after which it happened (None: not pinpointed)
    first: FuzzInput | None = None
    wire: bytes | None = None
    log: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "detail": self.detail,
            "batch": list(self.batch),
            "log": [_cut(e, 8000) for e in self.log],
            "signatures": sorted({error_signature(e) for e in self.log}),
        }
        if self.first is not None:
            out["first_input"] = self.first.describe()
            if self.wire is not None and self.wire != self.first.data:
                out["first_input"]["wire_base64"] = base64.b64encode(self.wire).decode()
                out["first_input"]["wire_text"] = escaped(self.wire)
        return out


@dataclass
class CampaignResult:
    seed: int
    start: int
    count: int
    batch: int
    sent: int = 0
    by_template: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, int] = field(default_factory=dict)
    probes: int = 0
    responses: int = 0
    elapsed: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    #: each unhandled-exception signature seen in the SUT's log, and how often
    signatures: dict[str, int] = field(default_factory=dict)
    #: inputs sent again, one at a time, to pinpoint a finding
    replayed: int = 0
    complete: bool = False
    target: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": self.start,
            "count": self.count,
            "batch": self.batch,
            "target": self.target,
            "inputs_sent": self.sent,
            "probes": self.probes,
            "responses_to_inputs": self.responses,
            "elapsed_s": round(self.elapsed, 3),
            "inputs_per_s": round(self.rate, 1),
            "complete": self.complete,
            "by_template": self.by_template,
            "by_operation": self.by_operation,
            "replayed": self.replayed,
            "log_signatures": self.signatures,
            "findings": [f.describe() for f in self.findings],
            "notes": self.notes,
        }

    def summary(self) -> str:
        lines = [
            f"robustness campaign against {self.target}: seed {self.seed}, inputs "
            f"{self.start}..{self.start + self.count - 1}, batch {self.batch}",
            f"  sent {self.sent} inputs in {self.elapsed:.1f} s ({self.rate:.0f}/s),"
            f" {self.probes} probes, {self.replayed} replayed,"
            f" {self.responses} responses to inputs" + ("" if self.complete else " (INCOMPLETE)"),
        ]
        if not self.findings:
            lines.append("  findings: none (every probe answered, no unhandled exception)")
        for f in self.findings:
            where = (
                f"after batch {f.batch[0]}..{f.batch[1] - 1}"
                if f.batch[1] > f.batch[0]
                else "before the first input"
            )
            lines.append(f"  {f.kind}: {f.detail} ({where})")
            if f.first is not None:
                lines.append(
                    f"    first input {f.first.id} ({f.first.template},"
                    f" {f.first.transport}, {'+'.join(f.first.operations)}):"
                )
                lines.append(f"    {escaped(f.first.data, 600)}")
            for entry in f.log[:2]:
                lines.append(f"    log ({error_signature(entry)}):")
                lines.append("      " + _cut(entry, 1500).replace("\n", "\n      "))
        for sig, n in self.signatures.items():
            lines.append(f"  SUT log signature x{n}: {sig}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.received += 1

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable: not our concern
        return None


class Campaign:
    """Sends the inputs, probes, and keeps the findings (module docstring)."""

    def __init__(
        self,
        sut: SutHandle,
        core: ToolCore,
        ctx: Context,
        options: CampaignOptions,
        *,
        probe_invite: bool = True,
    ) -> None:
        self.sut = sut
        self.core = core
        self.ctx = ctx
        self.options = options
        self.probe_invite = probe_invite
        self.result = CampaignResult(options.seed, options.start, options.count, options.batch)
        self._sink: _Sink | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._client: ClientEmulator | None = None
        self._session: ProbeResult | None = None
        self._live = Live()
        self._pinpoints = 0

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        udp, sink = await loop.create_datagram_endpoint(_Sink, local_addr=(self.core.host, 0))
        self._udp, self._sink = udp, sink
        port = int(udp.get_extra_info("sockname")[1])
        self._live = Live(self.core.host, port)
        self._client = await ClientEmulator.create(
            self.core, self.ctx.users[0], "urn:uuid:00000000-0000-4000-8000-00000000f001"
        )

    async def close(self) -> None:
        await self._end_session()
        if self._client is not None:
            await self._client.close()
        if self._udp is not None:
            self._udp.close()

    # -- probing ------------------------------------------------------------------
    async def probe(self) -> ProbeResult:
        """OPTIONS to each target, then a group INVITE to the CF; ok when each answered."""
        self.result.probes += 1
        dead = self.sut.dead()
        if dead is not None:
            return ProbeResult(False, dead)
        timeout = self.options.timeout
        for name, address in self.sut.targets.items():
            request = self.core.build_request(
                "OPTIONS",
                f"sip:{address.host}:{address.port}",
                from_=self.ctx.users[0],
                to=f"sip:{address.host}:{address.port}",
            )
            try:
                handle = await self.core.send(request, address)
                await handle.next_response(timeout)
            except (WaitTimeout, TransactionTimeoutError) as exc:
                return ProbeResult(False, f"no answer to OPTIONS at the {name} ({exc})")
        await self._end_session()
        if not self.probe_invite or "cf" not in self.sut.targets:
            return ProbeResult(True, "OPTIONS answered")
        return await self._probe_invite(self.sut.targets["cf"])

    async def _probe_invite(self, cf: Address) -> ProbeResult:
        client = self._client
        assert client is not None
        timeout = self.options.timeout
        peer = client.msrp_peers[0] if client.msrp_peers else await client.new_msrp_peer()
        n = self.result.probes
        request = client.build_group_invite(
            self.ctx.factory_uri,
            msrp=peer,
            conversation_id=f"probe-conv-{n}",
            contribution_id=f"probe-contrib-{n}",
            participants=self.ctx.users[1:],
            extra_headers=(("P-Asserted-Identity", f"<{self.ctx.users[0]}>"),),
        )
        try:
            invite = await client.send_invite(request, cf, msrp=peer)
            first = await invite.transaction.next_response(timeout)
        except (WaitTimeout, TransactionTimeoutError) as exc:
            return ProbeResult(False, f"no answer to a valid group INVITE at the cf ({exc})")
        final: SipResponse | None = first if first.status >= 200 else None
        if final is None:
            with contextlib.suppress(WaitTimeout, TransactionTimeoutError):
                final = await invite.final(timeout)
        if final is None:
            with contextlib.suppress(Exception):
                invite.transaction.cancel()
            return ProbeResult(True, f"INVITE answered {first.status} only (cancelled)")
        if not 200 <= final.status < 300:
            return ProbeResult(True, f"INVITE answered {final.status}")
        await invite.final(timeout)  # creates the dialog
        await invite.ack()
        path: bytes | None = None
        with contextlib.suppress(RemoteProtocolError, ValueError, IndexError):
            paths = parse_sdp(sdp_of(final)).msrp.path
            path = paths[-1].encode() if paths else None
        result = ProbeResult(True, "INVITE answered 2xx", invite, path)
        self._session = result
        if path is not None:
            self._live = dataclasses.replace(
                self._live, msrp_to_path=path, msrp_from_path=peer.uri.encode()
            )
        return result

    async def _end_session(self) -> None:
        session, self._session = self._session, None
        if session is None or session.invite is None:
            return
        with contextlib.suppress(Exception):
            handle = await session.invite.bye()
            await handle.next_response(self.options.timeout)

    # -- sending ------------------------------------------------------------------
    async def send(self, item: FuzzInput, *, replay: bool = False) -> None:
        data = wire_bytes(item, self._live)
        result = self.result
        if replay:
            result.replayed += 1
        else:
            result.sent += 1
            result.by_template[item.template] = result.by_template.get(item.template, 0) + 1
            for op in item.operations:
                result.by_operation[op] = result.by_operation.get(op, 0) + 1
        if item.protocol == "msrp":
            target = _msrp_address(self._live.msrp_to_path)
            if target is None:
                return
            await self._send_tcp(target, data)
            return
        address = self.sut.targets.get(item.target) or next(iter(self.sut.targets.values()))
        if item.transport == "udp":
            assert self._udp is not None
            self._udp.sendto(data, (address.host, address.port))
            await asyncio.sleep(0)
        else:
            await self._send_tcp((address.host, address.port), data)

    async def _send_tcp(self, target: tuple[str, int], data: bytes) -> None:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(target[0], target[1]), self.options.timeout
            )
        except (OSError, TimeoutError):
            return
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), self.options.timeout)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), self.options.timeout)
        except (OSError, TimeoutError):
            writer.transport.abort()

    def _trim(self) -> None:
        """Forget what the tool's core kept of the batch (it is not evidence here)."""
        self.core.unrouted.clear()
        pump = self.core.pump
        pump.events.clear()
        pump.received.clear()
        pump.invalid.clear()
        pump.stray.clear()
        trim_capture(self.core.capture)

    # -- the run ------------------------------------------------------------------
    async def run(self) -> CampaignResult:
        opts, result = self.options, self.result
        began = time.monotonic()
        await self._open()
        try:
            first = await self.probe()
            if not first.ok:
                result.findings.append(
                    Finding(
                        "no-answer",
                        f"the SUT does not answer before the first input: {first.detail}",
                        (opts.start, opts.start),
                    )
                )
                return result
            index, end = opts.start, opts.start + opts.count
            while index < end:
                stop = min(end, index + opts.batch)
                for i in range(index, stop):
                    if STOP_REQUESTED.is_set():
                        # the cancel a signal sends can be lost in Python 3.11's wait_for when
                        # an inner wait completes at the same moment: stop here regardless
                        raise asyncio.CancelledError
                    await self.send(generate(opts.seed, i, self.ctx))
                self._trim()
                if self._sink is not None:
                    result.responses = self._sink.received
                probe = await self.probe()
                errors = self.sut.new_log_errors()
                fresh = self._count(errors)
                if probe.ok and not fresh:
                    index = stop
                    continue
                finding = Finding(
                    "log-exception" if probe.ok else ("exited" if self.sut.dead() else "no-answer"),
                    probe.detail
                    if not probe.ok
                    else f"{len(errors)} unhandled exception(s) in the SUT's log",
                    (index, stop),
                    log=errors,
                )
                result.findings.append(finding)
                if self.sut.restartable and self._pinpoints < opts.max_pinpoints:
                    self._pinpoints += 1
                    await self._pinpoint(finding)
                elif self.sut.restartable and not probe.ok:
                    result.notes.append(
                        f"the finding after batch {index}..{stop - 1} was not"
                        " replayed (--max-pinpoints reached)"
                    )
                if not (opts.keep_going and self.sut.restartable):
                    index = stop
                    if not probe.ok:
                        result.notes.append(
                            f"stopped after input {stop - 1}: the SUT stopped answering"
                        )
                        return result
                    continue
                if not probe.ok:
                    await self._restart()
                index = stop
            result.complete = True
            return result
        finally:
            result.elapsed = time.monotonic() - began
            if self._sink is not None:
                result.responses = self._sink.received

    def _count(self, errors: list[str]) -> list[str]:
        """Count ``errors`` by signature; the ones whose signature is new."""
        fresh: list[str] = []
        for entry in errors:
            sig = error_signature(entry)
            if sig not in self.result.signatures:
                fresh.append(entry)
            self.result.signatures[sig] = self.result.signatures.get(sig, 0) + 1
        return fresh

    async def _restart(self) -> None:
        await self._end_session()
        await self.sut.restart()
        await self.probe()

    async def _pinpoint(self, finding: Finding) -> None:
        """Replay the batch one input at a time on a fresh SUT, a probe after each."""
        await self._restart()
        start, stop = finding.batch
        for i in range(start, stop):
            item = generate(self.options.seed, i, self.ctx)
            wire = wire_bytes(item, self._live)
            await self.send(item, replay=True)
            probe = await self.probe()
            errors = self.sut.new_log_errors()
            if not probe.ok or (finding.kind == "log-exception" and errors):
                finding.first, finding.wire = item, wire
                finding.log.extend(e for e in errors if e not in finding.log)
                if not probe.ok:
                    finding.detail += f"; replayed alone: {probe.detail}"
                return
        self.result.notes.append(
            f"the failure after batch {start}..{stop - 1} did not recur when its inputs were"
            " replayed one at a time (it needs several inputs, or timing)"
        )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


def _msrp_address(path: bytes) -> tuple[str, int] | None:
    m = re.match(rb"msrps?://\[?([^\]/:]+)\]?:(\d+)/", path)
    if m is None or path == MSRP_TO_PLACEHOLDER:
        return None
    return m.group(1).decode(), int(m.group(2))


def trim_capture(capture: Any, keep: int = 1000) -> None:
    """Keep only the last ``keep`` records of the core's capture: a campaign of 100,000
    inputs is not a test case, and its evidence is the findings, not the capture."""
    records = getattr(capture, "_records", None)
    lock = getattr(capture, "_lock", None)
    if isinstance(records, list) and len(records) > keep and lock is not None:
        with lock:
            del records[: len(records) - keep]


# ------------------------------------------------------------------------ the command


def configure_robustness(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sut",
        default="reference",
        metavar="PROFILE|reference",
        help="the SUT profile (reference: start the reference SUT here)",
    )
    parser.add_argument("--count", type=int, default=1000, help="inputs to send (1000)")
    parser.add_argument("--seed", type=int, default=1, help="the campaign's seed (1)")
    parser.add_argument(
        "--start",
        type=int,
        default=0,
        help="the first input index (to continue a campaign in chunks)",
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="inputs between two liveness probes (100)"
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="guard of each probe wait, seconds (2)"
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="after a finding, restart the reference SUT and go on",
    )
    parser.add_argument(
        "--max-pinpoints",
        type=int,
        default=5,
        help="findings replayed one input at a time to find their first input (5)",
    )
    parser.add_argument(
        "--output",
        default="robustness.json",
        metavar="FILE",
        help="the JSON result (robustness.json)",
    )
    parser.add_argument(
        "--show", metavar="SEED:INDEX", help="print one input (escaped text) and exit"
    )


def _profile_context(profile: SutProfile) -> Context:
    pixit = profile.pixit
    users = tuple(u.uri for u in pixit.users) or Context().users
    while len(users) < 3:
        users = (*users, users[-1])
    targets = tuple(
        r.value
        for r in (Role.PF, Role.CF)
        if r in profile.roles and (profile.target is Target.REFERENCE or r in pixit.sut)
    )
    return Context(
        factory_uri=pixit.uris.conference_factory or Context().factory_uri,
        users=users,
        targets=targets or ("cf",),
    )


def _user_of(uri: str | None) -> str | None:
    m = re.match(r"sips?:([^@;>]+)@", uri or "")
    return m.group(1) if m else None


def _reference_factory(profile: SutProfile, core: Address) -> Callable[[str], Any]:
    from conformance.reference.config import ReferenceConfig, ReferenceUser

    pixit = profile.pixit

    def factory(store: str) -> Any:
        defaults = ReferenceConfig()
        return ReferenceConfig(
            host=pixit.tool_host,
            timers=pixit.timers.sip,
            msrp_transaction_timeout=pixit.timers.msrp_transaction_timeout,
            core=core,
            users=tuple(ReferenceUser(u.uri, tuple(u.clients)) for u in pixit.users),
            pf_uri=pixit.uris.pf or defaults.pf_uri,
            deferred_uri=pixit.uris.deferred_msg_mgmt or defaults.deferred_uri,
            conference_factory_uri=pixit.uris.conference_factory or defaults.conference_factory_uri,
            factory_user=_user_of(pixit.uris.conference_factory) or defaults.factory_user,
            upper_tester_port=None,
            store_url=f"maildir:{store}",
        )

    return factory


async def run_against(
    profile: SutProfile, options: CampaignOptions, box: list[CampaignResult] | None = None
) -> CampaignResult:
    """The campaign against ``profile``'s SUT (starting and stopping a reference SUT)."""
    external = profile.target is not Target.REFERENCE
    ctx = _profile_context(profile)
    base: Timers = profile.pixit.timers.sip
    # the probes' own transactions last the probe guard (Timer F = 64*T1 >= --timeout)
    t1 = max(base.t1, options.timeout / 64)
    timers = Timers(t1, max(base.t2, t1), base.t4)
    host = profile.pixit.tool_host
    problem = check_target(host, external=external)
    if problem is not None:
        raise ValueError(f"tool address: {problem}")
    async with await ToolCore.start(host, 0, timers=timers) as core:
        sut: ExternalSut | ReferenceSut
        if external:
            targets: dict[str, Address] = {
                str(r.value): Address(a.host, a.port, Transport.UDP)
                for r, a in profile.pixit.sut.items()
                if r.value in ctx.targets
            }
            for a in targets.values():
                problem = check_target(a.host, external=True)
                if problem is not None:
                    raise ValueError(f"SUT address: {problem}")
            if not targets:
                raise ValueError("the profile names no PF or CF address to send to")
            sut = ExternalSut(targets)
        else:
            sut = ReferenceSut(_reference_factory(profile, core.address))
        try:
            if isinstance(sut, ReferenceSut):
                await sut.start()
                for a in sut.targets.values():
                    problem = check_target(a.host, external=False)
                    if problem is not None:
                        raise ValueError(f"SUT address: {problem}")
            campaign = Campaign(
                sut,
                core,
                dataclasses.replace(ctx, targets=tuple(t for t in ctx.targets if t in sut.targets)),
                options,
            )
            campaign.result.target = profile.name
            if box is not None:
                box.append(campaign.result)
            try:
                return await campaign.run()
            finally:
                await campaign.close()
                if isinstance(sut, ReferenceSut):
                    await sut.stop()
                    _reference_log_findings(campaign.result, sut)
        finally:
            await sut.stop()


def _reference_log_findings(result: CampaignResult, sut: ReferenceSut) -> None:
    reported = {e for f in result.findings for e in f.log}
    late = [e for e in sut.log_errors if e not in reported]
    if late:
        result.findings.append(
            Finding(
                "log-exception",
                f"{len(late)} unhandled exception(s) in the SUT's log at its stop",
                (result.start, result.start + result.sent),
                log=late,
            )
        )


def cmd_robustness(args: argparse.Namespace) -> int:
    """0: no finding; 1: findings; 2: cannot start; 130: interrupted."""
    if args.show:
        seed, _, index = str(args.show).partition(":")
        item = generate(int(seed), int(index))
        print(json.dumps(item.describe(), indent=2))
        return 0
    if args.count < 0 or args.batch < 1 or args.timeout <= 0:
        print("robustness: --count >= 0, --batch >= 1 and --timeout > 0", file=sys.stderr)
        return 2
    try:
        profile = load_sut(args.sut)
    except ProfileError as exc:
        for line in exc.lines():
            print(f"robustness: invalid SUT profile: {line}", file=sys.stderr)
        return 2
    options = CampaignOptions(
        seed=args.seed,
        count=args.count,
        batch=args.batch,
        timeout=args.timeout,
        start=args.start,
        keep_going=args.keep_going,
        max_pinpoints=args.max_pinpoints,
    )
    out = Path(args.output)
    holder: list[CampaignResult] = []

    async def main() -> CampaignResult:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def stop() -> None:
            STOP_REQUESTED.set()
            task.cancel()

        STOP_REQUESTED.clear()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        try:
            return await run_against(profile, options, holder)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(main())
    except ValueError as exc:
        print(f"robustness: {exc}", file=sys.stderr)
        return 2
    except (asyncio.CancelledError, KeyboardInterrupt):
        result = (
            holder[0] if holder else CampaignResult(args.seed, args.start, args.count, args.batch)
        )
        result.notes.append("interrupted")
        _write(out, result)
        print(result.summary())
        return 130
    _write(out, result)
    print(result.summary())
    print(f"  results: {out}")
    return 1 if result.findings else 0


#: set by SIGINT or SIGTERM: the campaign stops before its next input
STOP_REQUESTED = threading.Event()


def _write(path: Path, result: CampaignResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cpm-conformance robustness")
    configure_robustness(parser)
    return cmd_robustness(parser.parse_args(argv))


__all__ = [
    "OPERATIONS",
    "TEMPLATES",
    "Campaign",
    "CampaignOptions",
    "CampaignResult",
    "Context",
    "ExternalSut",
    "Finding",
    "FuzzInput",
    "Live",
    "Mutator",
    "ReferenceSut",
    "build_template",
    "check_target",
    "cmd_robustness",
    "configure_robustness",
    "error_signature",
    "escaped",
    "generate",
    "log_errors",
    "wire_bytes",
]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
