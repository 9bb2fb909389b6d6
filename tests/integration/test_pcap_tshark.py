"""The pcap written from a capture is dissected by tshark (SIP over UDP and TCP, MSRP)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.net.capture import Capture
from conformance.net.msrp_transport import MsrpTransport
from conformance.net.pcap import write_pcap
from conformance.net.sip_transport import SipTransport
from conformance.net.stream import StreamConnection
from conformance.protocol.msrp import codec as msrp
from conformance.protocol.sip.message import SipRequest, build_request, build_response
from conformance.protocol.sip.timers import Address, Transport

GUARD = 5.0


def _options(transport: Transport, local: Address, branch: str) -> bytes:
    return build_request(
        "OPTIONS",
        "sip:b@127.0.0.1",
        [
            ("Via", f"SIP/2.0/{transport.value} 127.0.0.1:{local.port};branch={branch}"),
            ("Max-Forwards", "70"),
            ("From", "<sip:a@127.0.0.1>;tag=1"),
            ("To", "<sip:b@127.0.0.1>"),
            ("Call-ID", f"call-{branch}"),
            ("CSeq", "1 OPTIONS"),
        ],
    ).to_bytes()


async def _traffic(cap: Capture) -> tuple[int, int, int]:
    """SIP OPTIONS/200 over UDP and TCP and an MSRP SEND/200; only side A is captured."""
    got: asyncio.Queue[object] = asyncio.Queue()

    def answer(msg: object, source: Address) -> None:
        assert isinstance(msg, SipRequest)
        ok = build_response(200, "OK", list(msg.headers))
        b.send_nowait(ok.to_bytes(), source)

    a = await SipTransport.start("127.0.0.1", cap, lambda m, s: got.put_nowait(m))
    b = await SipTransport.start("127.0.0.1", Capture(), answer)
    ma = await MsrpTransport.start("127.0.0.1", cap, lambda m, c: got.put_nowait(m))
    mb = await MsrpTransport.start("127.0.0.1", Capture())

    def msrp_answer(msg: object, conn: StreamConnection) -> None:
        assert isinstance(msg, msrp.MsrpRequest)
        mb.send(conn, msrp.build_response(msg, 200, "OK").to_bytes())

    mb.set_handler(msrp_answer)
    try:
        for transport, branch in ((Transport.UDP, "z9hG4bK-u"), (Transport.TCP, "z9hG4bK-t")):
            await a.send(_options(transport, a.address(transport), branch), b.address(transport))
            await asyncio.wait_for(got.get(), GUARD)
        conn = await ma.connect("127.0.0.1", mb.port)
        send = msrp.build_send(
            mb.uri("sb"), ma.uri("sa"), msrp.new_message_id(), b"hi", content_type="text/plain"
        )
        ma.send(conn, send.to_bytes())
        await asyncio.wait_for(got.get(), GUARD)
        return b.port, b.port, mb.port
    finally:
        await a.close()
        await b.close()
        await ma.close()
        await mb.close()


@pytest.mark.needs_server("tshark")
async def test_tshark_dissects_sip_and_msrp(
    tmp_path: Path, require_binary: Callable[[str], str]
) -> None:
    tshark = require_binary("tshark")
    cap = Capture()
    udp_port, tcp_port, msrp_port = await _traffic(cap)
    pcap = write_pcap(cap, tmp_path / "run.pcap")
    result = subprocess.run(
        [
            tshark,
            "-r",
            str(pcap),
            "-o",
            "tcp.analyze_sequence_numbers:TRUE",
            "-d",
            f"udp.port=={udp_port},sip",
            "-d",
            f"tcp.port=={tcp_port},sip",
            "-d",
            f"tcp.port=={msrp_port},msrp",
            "-Y",
            "sip || msrp || tcp.analysis.flags",
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "frame.protocols",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
            "-e",
            "msrp.method",
            "-e",
            "msrp.status.code",
            "-e",
            "tcp.analysis.flags",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in result.stdout.splitlines() if line]
    sip = [(r[0].split(":")[-2], r[1], r[2]) for r in rows if r[1] or r[2]]
    assert sip == [
        ("udp", "OPTIONS", ""),
        ("udp", "", "200"),
        ("tcp", "OPTIONS", ""),
        ("tcp", "", "200"),
    ]
    msrp = [(r[3], r[4]) for r in rows if r[3] or r[4]]
    assert msrp == [("SEND", ""), ("", "200")]
    # consistent sequence numbers: no lost segments, retransmissions or out-of-order
    assert not [r for r in rows if r[5]], result.stdout
