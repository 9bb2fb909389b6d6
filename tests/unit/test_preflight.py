"""Preflight (conformance/preflight.py): one line per problem, before any probe; the SUT's
reachability is probed on loopback only."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.catalog import load_catalog
from conformance.catalog.profile import load_sut
from conformance.preflight import (
    Selection,
    check_addresses,
    check_names,
    did_you_mean,
    preflight,
    probe_sip,
)
from conformance.protocol.sip.timers import Address, Transport
from conformance.reference.faults import FAULTS

TEMPLATE = Path(__file__).resolve().parents[2] / "conformance/profiles/vendor-template.toml"


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loopback_profile(tmp_path: Path, sut_port: int, transport: str = "udp") -> Path:
    text = TEMPLATE.read_text(encoding="utf-8")
    text = (
        text.replace('"192.0.2.10"', '"127.0.0.1"')
        .replace('"192.0.2.1"', '"127.0.0.1"')
        .replace("port = 5060", f"port = {sut_port}", 1)
        .replace('transport = "udp"', f'transport = "{transport}"', 1)
        .replace("port = 8090", "port = 0")
        .replace('url = "imap://conformance:secret@192.0.2.11:143/"', f'url = "maildir:{tmp_path}"')
    )
    path = tmp_path / "sut.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_did_you_mean() -> None:
    hint = did_you_mean("pf.media_pat", ["pf.media_path", "cf.x"])
    assert hint == " (did you mean pf.media_path?)"
    assert did_you_mean("zzz", ["pf.media_path"]) == ""


def test_every_name_is_checked_with_a_hint(tmp_path: Path) -> None:
    profile = load_sut(_loopback_profile(tmp_path, 5060))
    selection = Selection(
        pics=["pf.media_pat=true", "pf.media_path=maybe", "nonsense"],
        faults=["cf.no-initial-notfy"],
        requirements=["CF-5.2.3.5-20O", "CF-5.2.3.5-200"],
        clauses=["9.9.9", "8.3.2"],
        roles=["pff"],
    )
    lines = [str(p) for p in check_names(profile, selection, load_catalog(), FAULTS)]
    assert lines == [
        "--pics pf.media_pat=true: unknown PICS option pf.media_pat (did you mean pf.media_path?)",
        "--pics pf.media_path=maybe: pf.media_path takes true or false",
        "--pics nonsense: expected NAME=VALUE",
        "--faults cf.no-initial-notfy: unknown fault cf.no-initial-notfy"
        " (did you mean cf.no-initial-notify?)",
        "--requirement CF-5.2.3.5-20O: unknown requirement id (did you mean CF-5.2.3.5-200?)",
        "--clause 9.9.9: no requirement in that section",
        "--role pff: unknown role (did you mean pf?)",
    ]


def test_faults_are_for_the_reference_sut_only(tmp_path: Path) -> None:
    profile = load_sut(_loopback_profile(tmp_path, 5060))
    (problem,) = check_names(
        profile, Selection(faults=["cf.no-initial-notify"]), load_catalog(), FAULTS
    )
    assert "reference SUT only" in str(problem)


def test_the_unedited_template_is_refused_before_any_probe() -> None:
    profile = load_sut(TEMPLATE)
    lines = [str(p) for p in check_addresses(profile)]
    assert any("tool.host: 192.0.2.1 is a documentation address" in line for line in lines)
    assert any("sut.pf.host: 192.0.2.10 is a documentation address" in line for line in lines)
    assert any("tool.host: 192.0.2.1:0/UDP cannot be bound" in line for line in lines)
    # problems found: the SUT is not probed (nothing is ever sent to 192.0.2.x)
    report = preflight(profile, Selection(), load_catalog(), FAULTS, timeout=0.2)
    assert not report.ok and not any(p.where.startswith("role ") for p in report.problems)


def test_a_dead_loopback_sut_is_named_with_its_address(tmp_path: Path) -> None:
    port = _free_port(socket.SOCK_DGRAM)
    profile = load_sut(_loopback_profile(tmp_path, port))
    report = preflight(profile, Selection(), load_catalog(), FAULTS, timeout=0.3)
    assert [str(p) for p in report.problems] == [
        f"role pf: no answer from 127.0.0.1:{port}/UDP within 0.3 s"
    ]


class _Responder(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [
            h
            for h in head[1:]
            if h.split(b":", 1)[0] in (b"Via", b"From", b"To", b"Call-ID", b"CSeq")
        ]
        answer = b"\r\n".join([b"SIP/2.0 200 OK", *keep, b"Content-Length: 0", b"", b""])
        self.transport.sendto(answer, addr)


async def test_an_answering_sut_is_good() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Responder, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        problem, seen = await probe_sip("127.0.0.1", Address("127.0.0.1", port, Transport.UDP), 2.0)
    finally:
        transport.close()
    assert problem is None and "answered OPTIONS: SIP/2.0 200 OK" in seen


async def test_a_tcp_sut_that_accepts_but_does_not_answer_is_reachable() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        problem, seen = await probe_sip("127.0.0.1", Address("127.0.0.1", port, Transport.TCP), 0.3)
    finally:
        server.close()
    assert problem is None and "accepts TCP connections" in seen


def test_check_and_run_exit_3_with_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["check", "--sut", str(TEMPLATE)]) == cli.EXIT_CANNOT_START
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == len(err.strip().splitlines())
    assert all(line.startswith("cpm-conformance: error: ") for line in err.splitlines())
    assert (
        cli.main(
            ["run", "--sut", "reference", "--faults", "cf.nope", "--report-dir", str(tmp_path)]
        )
        == cli.EXIT_CANNOT_START
    )
    assert capsys.readouterr().err == (
        "cpm-conformance: error: --faults cf.nope: unknown fault cf.nope\n"
    )
