"""The README's first command (until the reference SUT lands) runs the loopback demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.demo import main, run_demo


async def test_demo_exchange_is_captured_in_order(tmp_path: Path) -> None:
    result = await run_demo(tmp_path)
    starts = [
        line
        for rec in result.capture.records
        for line in rec.data.split(b"\r\n")
        if line.startswith((b"INVITE ", b"ACK ", b"BYE ", b"SIP/2.0 ", b"MSRP "))
    ]
    assert re.fullmatch(rb"SIP/2\.0 200 OK", starts[1])
    assert starts[0].startswith(b"INVITE ") and starts[2].startswith(b"ACK ")
    sends = [s for s in starts if s.endswith(b" SEND")]
    assert len(sends) == 4  # 6 KB CPIM message in 2 KB chunks
    assert sum(s.endswith(b" 200 OK") for s in starts if s.startswith(b"MSRP")) == 4
    assert any(s.endswith(b" REPORT") for s in starts)
    assert starts[-2].startswith(b"BYE ") and starts[-1] == b"SIP/2.0 200 OK"
    assert result.pcap_path.stat().st_size > 0
    assert b"INVITE" in result.log_path.read_bytes()


def test_demo_command_prints_the_exchange(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--report-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "INVITE sip:group-factory@" in out
    assert out.count(" SEND") == 4
    assert "REPORT" in out and "BYE " in out


def test_demo_writes_nothing_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    assert list(tmp_path.iterdir()) == []
    assert "records" in capsys.readouterr().out
