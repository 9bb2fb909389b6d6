"""SIPp (Debian ``sip-tester``) as a hostile UAS: an independent implementation scripted
to answer the tool's INVITE with 100 Trying only, or with a 200 OK whose Content-Length
lies. The tool's INVITE wait ends at its guard (inconc) or the answer is reported as an
invalid message (its bytes kept); SIPp is stopped by pid on every exit path."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import pytest

from conformance.net.clock import WaitTimeout
from conformance.net.ports import pick_free_port
from conformance.protocol.sip.timers import Address, Transport
from conformance.roles.client import ClientEmulator
from conformance.roles.core import ToolCore

from .conftest import GUARD
from .test_hostile_sip import invite_outcome

_HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="hostile">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

  ]]></send>
"""
_ONLY_TRYING = (
    _HEAD
    + """  <recv request="CANCEL" optional="true" timeout="3000" ontimeout="end"/>
  <label id="end"/>
</scenario>
"""
)
_LYING_OK = (
    _HEAD
    + """  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=sipp[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: 5000

v=0
  ]]></send>
  <recv request="ACK" optional="true" timeout="3000" ontimeout="end"/>
  <label id="end"/>
</scenario>
"""
)


async def _sipp(tmp: Path, scenario: str) -> tuple[asyncio.subprocess.Process, Address]:
    path = tmp / "scenario.xml"
    path.write_text(scenario, encoding="ascii")
    port = pick_free_port("127.0.0.1")
    process = await asyncio.create_subprocess_exec(
        "sipp",
        "-sf",
        str(path),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        "1",
        "-timeout",
        "10s",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(tmp / "err.log"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
        cwd=tmp,
    )
    return process, Address("127.0.0.1", port, Transport.UDP)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def _ready(address: Address, process: asyncio.subprocess.Process) -> None:
    """SIPp listens once its UDP port is taken (a bounded probe of the port)."""
    import socket

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline and process.returncode is None:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind((address.host, address.port))
        except OSError:
            return
        finally:
            probe.close()
        await asyncio.sleep(0.05)  # probe interval while SIPp starts; the guard decides
    raise AssertionError("SIPp did not start")


@pytest.mark.parametrize("scenario", ["only-trying", "lying-content-length"])
async def test_sipp_hostile_uas(
    core: ToolCore, client: ClientEmulator, tmp_path: Path, require_binary: object, scenario: str
) -> None:
    require_binary("sipp")  # type: ignore[operator]
    text = _ONLY_TRYING if scenario == "only-trying" else _LYING_OK
    process, address = await _sipp(tmp_path, text)
    try:
        await _ready(address, process)
        began = time.monotonic()
        verdict, observed = await invite_outcome(client, address)
        elapsed = time.monotonic() - began
    finally:
        await _stop(process)
    assert verdict == "inconc", observed
    assert elapsed < GUARD + 1.0
    if scenario == "only-trying":
        assert isinstance(observed, WaitTimeout)
        assert any(
            r.data.startswith(b"SIP/2.0 100 Trying")
            for r in core.capture.records
            if r.direction == "in"
        )
    else:
        assert any(b"Content-Length: 5000" in inv.data for inv in core.pump.invalid)
