"""Preflight: what would stop a run, found before the first test case.

``cpm-conformance check --sut PROFILE`` runs it alone; ``run`` and ``selftest`` run it before
they start pytest. Every problem is one line, ``where: what`` (for example
``my-pf.toml: tool.host: 192.0.2.1 cannot be bound: …`` or ``role pf: no answer from
127.0.0.1:5060/UDP within 2.0 s``), and a run with a problem does not start (exit status
:data:`EXIT_CANNOT_START`). No traceback is ever printed for a configuration mistake.

The checks, in order:

1. the names given: PICS options (and their values), faults, requirement ids, clauses and
   roles, each with a did-you-mean;
2. the addresses: every address the tool listens on can be bound; no address of the profile
   is a documentation address (RFC 5737, RFC 3849), which the tool never sends to;
3. only when 1 and 2 found nothing, the reachability of the SUT: each role under test answers
   a SIP OPTIONS (or, where OPTIONS goes unanswered, accepts a TCP connection), the Message
   Store accepts the login and lists its folders, and the upper tester accepts a connection.

The reference SUT is started by the run itself: for it only 1 and 2 apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import ipaddress
import secrets
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from conformance.catalog.loader import Catalog
from conformance.catalog.model import Role
from conformance.catalog.pics import PICS_OPTIONS
from conformance.catalog.profile import SutProfile, Target
from conformance.errors import RemoteProtocolError
from conformance.protocol.sip.message import SipResponse, parse_message
from conformance.protocol.sip.timers import Address

__all__ = [
    "DOCUMENTATION_NETWORKS",
    "EXIT_CANNOT_START",
    "PreflightReport",
    "Problem",
    "Selection",
    "check_addresses",
    "check_names",
    "did_you_mean",
    "preflight",
    "probe_sip",
]

#: the exit status of a run that could not start (configuration or usage)
EXIT_CANNOT_START = 3

#: address blocks reserved for documentation: a profile that still holds one was not edited,
#: and nothing is ever sent there
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the run cannot start: ``where`` names the file and key, the option or
    the role; ``text`` says what is wrong."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass(frozen=True, slots=True)
class Selection:
    """The names given on the command line (or by the profile), to be checked."""

    pics: Sequence[str] = ()  #: ``NAME=VALUE`` overrides
    faults: Sequence[str] = ()
    requirements: Sequence[str] = ()
    clauses: Sequence[str] = ()
    roles: Sequence[str] = ()


@dataclass(slots=True)
class PreflightReport:
    problems: list[Problem] = field(default_factory=list)
    #: what was checked and found good, one line each (printed by ``check``)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


# --------------------------------------------------------------------------- names


def check_names(
    profile: SutProfile,
    selection: Selection,
    catalog: Catalog,
    fault_names: Iterable[str],
) -> list[Problem]:
    """Every name of ``selection`` (and the profile's faults) exists."""
    problems: list[Problem] = []
    for item in selection.pics:
        name, sep, value = (part.strip() for part in item.partition("="))
        option = PICS_OPTIONS.get(name)
        if not sep:
            problems.append(Problem(f"--pics {item}", "expected NAME=VALUE"))
        elif option is None:
            hint = did_you_mean(name, PICS_OPTIONS)
            problems.append(Problem(f"--pics {item}", f"unknown PICS option {name}{hint}"))
        elif option.kind == "bool" and value.lower() not in ("true", "false"):
            problems.append(Problem(f"--pics {item}", f"{name} takes true or false"))
        elif option.kind == "choice" and value not in option.choices:
            problems.append(
                Problem(f"--pics {item}", f"{name} takes one of {', '.join(option.choices)}")
            )
    known_faults = set(fault_names)
    given = [(f"--faults {f}", f) for f in selection.faults]
    given += [(f"{profile.path}: sut.faults", f) for f in profile.faults]
    for where, fault in given:
        if fault not in known_faults:
            hint = did_you_mean(fault, known_faults)
            problems.append(Problem(where, f"unknown fault {fault}{hint}"))
        elif profile.target is not Target.REFERENCE:
            problems.append(Problem(where, "faults switch the reference SUT only"))
    ids = {q.id for q in catalog}
    for rid in selection.requirements:
        if rid not in ids:
            problems.append(
                Problem(f"--requirement {rid}", f"unknown requirement id{did_you_mean(rid, ids)}")
            )
    sections = {q.section for q in catalog}
    for clause in selection.clauses:
        if not any(s == clause or s.startswith(f"{clause}.") for s in sections):
            problems.append(
                Problem(
                    f"--clause {clause}",
                    f"no requirement in that section{did_you_mean(clause, sections)}",
                )
            )
    roles = {r.value for r in Role}
    for role in selection.roles:
        if role not in roles:
            problems.append(Problem(f"--role {role}", f"unknown role{did_you_mean(role, roles)}"))
    return problems


# --------------------------------------------------------------------------- addresses


def _is_documentation(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in DOCUMENTATION_NETWORKS)


def _bind_problem(host: str, port: int, kind: socket.SocketKind) -> str | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        sock.close()
    return None


def _store_host(profile: SutProfile) -> str:
    return profile.pixit.message_store.host if profile.pixit.message_store.kind == "imap" else ""


def _upper_tester_address(profile: SutProfile) -> tuple[str, int] | None:
    config = profile.pixit.upper_tester
    if not config.url or config.url == "manual":
        return None
    parts = urlsplit(config.url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def check_addresses(profile: SutProfile) -> list[Problem]:
    """The tool's addresses bind, and no address is a documentation address."""
    problems: list[Problem] = []
    where = profile.path
    pixit = profile.pixit
    external = profile.target is not Target.REFERENCE
    documentation: list[tuple[str, str]] = [("tool.host", pixit.tool_host)]
    if external:
        documentation += [(f"sut.{role.value}.host", a.host) for role, a in pixit.sut.items()]
        documentation.append(("message_store.url", _store_host(profile)))
        ut = _upper_tester_address(profile)
        if ut is not None:
            documentation.append(("upper_tester.url", ut[0]))
    documentation.append(("xdms.host", pixit.xdms.host))
    for key, host in documentation:
        if host and _is_documentation(host):
            problems.append(
                Problem(
                    f"{where}: {key}",
                    f"{host} is a documentation address (RFC 5737): put a real address here",
                )
            )
    binds = [
        ("tool.host", pixit.tool_host, pixit.tool_port, socket.SOCK_DGRAM),
        ("tool.host", pixit.tool_host, pixit.tool_port, socket.SOCK_STREAM),
    ]
    if external:
        binds.append(("xdms.host", pixit.xdms.host, pixit.xdms.port, socket.SOCK_STREAM))
    reported: set[str] = set()
    for key, host, port, kind in binds:
        error = _bind_problem(host, port, kind)
        if error is not None and key not in reported:
            reported.add(key)
            proto = "UDP" if kind is socket.SOCK_DGRAM else "TCP"
            problems.append(
                Problem(f"{where}: {key}", f"{host}:{port}/{proto} cannot be bound: {error}")
            )
    return problems


# --------------------------------------------------------------------------- reachability


def _options(host: str, port: int, local: tuple[str, int], transport: str) -> bytes:
    tag, branch, call_id = secrets.token_hex(6), secrets.token_hex(8), secrets.token_hex(10)
    lhost, lport = local
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {lhost}:{lport};branch=z9hG4bK{branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:preflight@{lhost}>;tag={tag}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {call_id}@{lhost}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        f"Contact: <sip:preflight@{lhost}:{lport}>\r\n"
        "Accept: application/sdp\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def _first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def _status_of(data: bytes) -> int | None:
    try:
        message = parse_message(data, stream=True)
    except RemoteProtocolError:
        return None
    return message.status if isinstance(message, SipResponse) else None


class _Answer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        status = _status_of(data)
        # a provisional response says the SUT is there; wait no longer for the final one
        if status is not None and not self.got.done():
            self.got.set_result(data)


async def probe_sip(local_host: str, address: Address, timeout: float) -> tuple[str | None, str]:
    """Send one OPTIONS to ``address`` from ``local_host``; (problem or None, what was seen).
    Where OPTIONS is not answered, a TCP connection that is accepted counts as an answer."""
    transport = address.transport.upper()
    where = f"{address.host}:{address.port}/{transport}"
    loop = asyncio.get_running_loop()
    if transport == "UDP":
        udp, proto = await loop.create_datagram_endpoint(_Answer, local_addr=(local_host, 0))
        try:
            local = udp.get_extra_info("sockname")[:2]
            udp.sendto(
                _options(address.host, address.port, local, "UDP"), (address.host, address.port)
            )
            try:
                data = await asyncio.wait_for(proto.got, timeout)
            except TimeoutError:
                pass
            else:
                return None, f"{where} answered OPTIONS: {_first_line(data)}"
        finally:
            udp.close()
    else:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address.host, address.port, local_addr=(local_host, 0)),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
            return f"{reason} from {where} within {timeout:.1f} s", ""
        try:
            local = writer.get_extra_info("sockname")[:2]
            writer.write(_options(address.host, address.port, local, "TCP"))
            try:
                data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
                return None, f"{where} answered OPTIONS: {_first_line(data)}"
            except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                return None, f"{where} accepts TCP connections (OPTIONS not answered)"
        finally:
            writer.close()
    # UDP OPTIONS unanswered: does anything accept a TCP connection there?
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(address.host, address.port), timeout
        )
        writer.close()
        return None, (
            f"{where} did not answer OPTIONS, but {address.host}:{address.port}/TCP"
            " accepts connections"
        )
    except (OSError, TimeoutError):
        return f"no answer from {where} within {timeout:.1f} s", ""


async def _connect(host: str, port: int, timeout: float) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return f"no answer from {host}:{port}/TCP within {timeout:.1f} s"
    except OSError as exc:
        return f"{host}:{port}/TCP: {exc.strerror or exc}"
    writer.close()
    return None


def _check_store_sync(profile: SutProfile, timeout: float) -> Problem | None:
    store = profile.pixit.message_store
    where = f"{profile.path}: message_store.url"
    if store.kind == "maildir":
        path = Path(store.path)
        return None if path.is_dir() else Problem(where, f"{path}: no such Maildir folder")
    if store.kind != "imap":
        return None
    from imapclient import IMAPClient  # the IMAP client library, imported only when used

    try:
        client = IMAPClient(store.host, port=store.port, ssl=store.tls, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        return Problem(where, f"cannot reach {store.host}:{store.port}: {exc}")
    try:
        client.login(store.user, store.password)
        client.list_folders()
    except Exception as exc:  # imapclient raises its own error classes and socket errors
        return Problem(where, f"{store.host}:{store.port}: {type(exc).__name__}: {exc}")
    finally:
        # a failed logout after a failed login says nothing more
        with contextlib.suppress(Exception):
            client.logout()
    return None


async def _reachability(profile: SutProfile, report: PreflightReport, timeout: float) -> None:
    pixit = profile.pixit
    probes = {
        role: probe_sip(pixit.tool_host, address, timeout)
        for role, address in pixit.sut.items()
        if role in profile.roles
    }
    for role, outcome in zip(probes, await asyncio.gather(*probes.values()), strict=True):
        problem, seen = outcome
        if problem is not None:
            report.problems.append(Problem(f"role {role.value}", problem))
        else:
            report.notes.append(f"role {role.value}: {seen}")
    store_problem = await asyncio.to_thread(_check_store_sync, profile, timeout)
    if store_problem is not None:
        report.problems.append(store_problem)
    elif profile.pixit.message_store.kind != "none":
        report.notes.append("message store: login and folder listing work")
    ut = _upper_tester_address(profile)
    if ut is not None:
        problem = await _connect(*ut, timeout)
        if problem is not None:
            report.problems.append(Problem(f"{profile.path}: upper_tester.url", problem))
        else:
            report.notes.append(f"upper tester: {ut[0]}:{ut[1]} accepts connections")


def preflight(
    profile: SutProfile,
    selection: Selection,
    catalog: Catalog,
    fault_names: Iterable[str],
    *,
    timeout: float = 2.0,
    probe: bool = True,
) -> PreflightReport:
    """Run the checks (module docstring); the SUT is probed only when nothing else failed
    and the target is an external SUT."""
    report = PreflightReport()
    report.problems += check_names(profile, selection, catalog, fault_names)
    report.problems += check_addresses(profile)
    if report.problems:
        return report
    report.notes.append(
        f"profile {profile.path}: names and addresses good"
        f" (tool at {profile.pixit.tool_host}:{profile.pixit.tool_port})"
    )
    report.notes.append(pool_note(profile))
    if probe and profile.target is not Target.REFERENCE:
        asyncio.run(_reachability(profile, report, timeout))
    return report


def pool_note(profile: SutProfile) -> str:
    """How many parallel workers the profile's user pool supports (docs/parallel.md)."""
    from conformance.catalog.pool import slice_count, users_per_slice
    from conformance.pytest.pool import default_workers

    pixit = profile.pixit
    slices = slice_count(pixit)
    line = (
        f"user pool: {len(pixit.all_users)} users in {slices} slice{'s' if slices != 1 else ''}"
        f" of {users_per_slice(pixit)}: supports {slices} parallel worker"
        f"{'s' if slices != 1 else ''} (or shards x workers)"
    )
    default = default_workers(pixit)
    if default > 1:
        return line + f"; run uses {default} by default (-n 0: serial)"
    return line + "; run is serial by default"
