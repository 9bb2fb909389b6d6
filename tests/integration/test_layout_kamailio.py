"""The ``kamailio`` layout: Kamailio as the SIP/IP core between the tool and the SUT.

- ``ToolCore.outbound``: a request the tool sends goes to Kamailio with a pre-loaded
  ``Route: <sip:SUT;lr>``, reaches the SUT with Kamailio's Via and Record-Route, and the
  response comes back by Via; a request the SUT sends to Kamailio (its outbound proxy,
  no Route) reaches the tool's core;
- the 8.2.1 test cases pass in that layout through ``cpm-conformance run --layout kamailio``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.net.layout import sip_core_between
from conformance.net.sip_pump import IncomingRequest
from conformance.roles.core import ToolCore

pytestmark = pytest.mark.needs_server("kamailio")

WITHIN = 5.0


async def test_tool_core_sends_through_kamailio_and_the_sut_reaches_it() -> None:
    async with await ToolCore.start() as tool, await ToolCore.start() as sut:
        at_sut: asyncio.Queue[IncomingRequest] = asyncio.Queue()
        at_tool: asyncio.Queue[IncomingRequest] = asyncio.Queue()
        sut.add_route("all", lambda r: True, at_sut.put_nowait)
        tool.add_route("all", lambda r: True, at_tool.put_nowait)
        async with sip_core_between("kamailio", tool.address) as proxy:
            assert proxy is not None
            tool.outbound = proxy
            kamailio = f"{proxy.host}:{proxy.port}"

            # tool -> Kamailio -> SUT, pre-loaded Route, Record-Routed; 200 back by Via
            invite = tool.build_request(
                "INVITE",
                sut.uri("bob"),
                from_=tool.uri("alice"),
                to=sut.uri("bob"),
                contact=tool.uri("alice"),
            )
            handle = await tool.send(invite, sut.address)
            assert handle.request.headers.get("Route") == (f"<sip:{sut.host}:{sut.port};lr>")
            got = await asyncio.wait_for(at_sut.get(), WITHIN)
            vias = got.request.headers.values("Via")
            assert len(vias) == 2 and kamailio in vias[0]
            assert any(kamailio in rr for rr in got.request.headers.values("Record-Route"))
            got.respond(486)
            final = await handle.final(WITHIN)
            assert final.status == 486

            # SUT -> Kamailio (its outbound proxy, no Route) -> the tool's core
            message = sut.build_request(
                "MESSAGE",
                tool.uri("alice"),
                from_=sut.uri("bob"),
                to=tool.uri("alice"),
                body=b"hi",
                content_type="text/plain",
            )
            sent = await sut.send(message, proxy)
            arrived = await asyncio.wait_for(at_tool.get(), WITHIN)
            assert kamailio in arrived.request.headers.values("Via")[0]
            arrived.respond(200)
            assert (await sent.final(WITHIN)).status == 200


TESTCASES = Path(__file__).resolve().parents[2] / "testcases"


def test_8_2_1_passes_in_the_kamailio_layout(tmp_path: Path) -> None:
    report = tmp_path / "report"
    files = sorted(TESTCASES.glob("conversation_function/pf/test_8_2_1_*.py"))
    assert files, f"no 8.2.1 test cases under {TESTCASES}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "--sut",
            "reference",
            "--layout",
            "kamailio",
            "--clause",
            "8.2.1",
            "--report-dir",
            str(report),
            "--testcases",
            str(files[0]),
            "--",
            *map(str, files[1:]),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    cases = json.loads((report / "results.json").read_text())["test_cases"]
    verdicts = {c["nodeid"]: c["verdict"] for c in cases}
    assert any("test_8_2_1_" in n and v == "pass" for n, v in verdicts.items()), verdicts
