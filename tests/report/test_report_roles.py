"""Roles of the captured addresses: the capture names them, the results keep them, the
report's lanes show ``role (address)`` (the address alone when no role is known), and a
hostile name stays text."""

from __future__ import annotations

import asyncio

from conformance.catalog.model import Role
from conformance.catalog.profile import Pixit, User
from conformance.checks.verdict import Verdict
from conformance.fixtures.network import client_role_name, name_sut
from conformance.net.capture import Capture
from conformance.net.msrp_transport import MsrpTransport
from conformance.protocol.sip.timers import Address, Transport
from conformance.report.evidence import MessageRecord, records_from_capture
from conformance.report.html import ladder, render_html
from conformance.report.model import RunResults, TestCaseResult
from tests.report.conftest import T0

TOOL = ("127.0.0.1", 5060)
SUT = ("127.0.0.2", 5070)


def _send(cap: Capture, src: tuple[str, int], dst: tuple[str, int], data: bytes = b"x") -> None:
    cap.record(direction="out", transport="udp", protocol="sip", src=src, dst=dst, data=data)


def test_records_carry_the_roles_their_addresses_had() -> None:
    cap = Capture()
    _send(cap, TOOL, SUT)  # nobody named yet
    cap.name(TOOL, "tool: SIP core")
    cap.name(SUT, "SUT: PF")
    _send(cap, TOOL, SUT)
    cap.name(TOOL, "tool: CF")  # the port now plays another role
    _send(cap, TOOL, SUT)
    first, second, third = cap.records
    assert (first.src_role, first.dst_role) == (None, None)
    assert (second.src_role, second.dst_role) == ("tool: SIP core", "SUT: PF")
    assert third.src_role == "tool: CF"
    assert cap.role_of(["127.0.0.2", "5070"]) == "SUT: PF"


def test_a_guess_from_the_far_end_never_replaces_the_owners_name() -> None:
    cap = Capture()
    cap.name(SUT, "tool: CF")
    cap.name(SUT, "SUT: PF", owner=False)
    assert cap.role_of(SUT) == "tool: CF"
    other = ("127.0.0.3", 1)
    cap.name(other, "SUT: PF", owner=False)
    cap.name(other, "SUT: CF", owner=False)
    assert cap.role_of(other) == "SUT: CF"
    cap.name(other, "tool: client bob#0")
    assert cap.role_of(other) == "tool: client bob#0"


async def test_msrp_transport_names_its_listener_and_both_ends_of_its_connections() -> None:
    cap = Capture()
    tool = await MsrpTransport.start("127.0.0.1", cap)
    far = await MsrpTransport.start("127.0.0.1", Capture())
    try:
        tool.name("tool: client bob#1", "SUT: PF")
        assert cap.role_of(("127.0.0.1", tool.port)) == "tool: client bob#1"
        conn = await asyncio.wait_for(tool.connect("127.0.0.1", far.port), 5)
        tool.send(conn, b"MSRP a SEND\r\n-------a$\r\n")
        (rec,) = cap.records
        assert rec.src == conn.local and rec.src_role == "tool: client bob#1"
        assert rec.dst_role == "SUT: PF"
    finally:
        await tool.close()
        await far.close()


def test_message_records_keep_roles_through_json() -> None:
    cap = Capture()
    cap.name(TOOL, "tool: CF")
    _send(cap, TOOL, SUT)
    (rec,) = records_from_capture(cap.records)
    assert (rec.src_role, rec.dst_role) == ("tool: CF", "")
    assert rec.src_label == "tool: CF (127.0.0.1:5060)"
    assert rec.dst_label == "127.0.0.2:5070"
    data = rec.to_json()
    assert data["src_role"] == "tool: CF" and "dst_role" not in data
    assert MessageRecord.from_json(data) == rec
    old = {k: v for k, v in data.items() if k != "src_role"}  # a results file of before
    assert MessageRecord.from_json(old).src_label == "127.0.0.1:5060"


def _msg(
    index: int,
    direction: str,
    tool_role: str,
    sut_role: str,
    tool: str = "10.0.0.1:5060",
    sut: str = "10.0.0.9:5070",
) -> MessageRecord:
    src, dst = (tool, sut) if direction == "out" else (sut, tool)
    roles = (tool_role, sut_role) if direction == "out" else (sut_role, tool_role)
    return MessageRecord(
        index,
        T0,
        direction,
        "udp",
        "sip",
        src,
        dst,
        "INVITE x SIP/2.0",
        1,
        src_role=roles[0],
        dst_role=roles[1],
    )


def test_a_lane_per_role_whatever_its_ports_and_an_address_alone_when_unnamed() -> None:
    recs = [
        _msg(0, "out", "tool: SIP core", "SUT: PF"),
        _msg(1, "in", "tool: SIP core", "SUT: PF"),
        _msg(2, "out", "tool: client bob#1", "", "10.0.0.1:4000", "10.0.0.9:4001"),
        _msg(3, "out", "tool: CF", "SUT: PF", "10.0.0.1:4000", "10.0.0.9:4002"),
        # the same emulator from an ephemeral port: the same lane
        _msg(4, "out", "tool: client bob#1", "SUT: PF", "10.0.0.1:58623", "10.0.0.9:5070"),
    ]
    lad = ladder(recs, set())
    assert [(lane.side, lane.label, lane.addresses) for lane in lad.lanes] == [
        ("tool", "SIP core", ("10.0.0.1:5060",)),
        ("tool", "client bob#1", ("10.0.0.1:4000", "10.0.0.1:58623")),
        # the same port in another role: a lane of its own
        ("tool", "CF", ("10.0.0.1:4000",)),
        ("SUT", "PF", ("10.0.0.9:5070", "10.0.0.9:4002")),
        ("SUT", "10.0.0.9:4001", ("10.0.0.9:4001",)),
    ]
    assert lad.lanes[1].full == "tool: client bob#1 (10.0.0.1:4000, 10.0.0.1:58623)"
    assert lad.lanes[1].where == "10.0.0.1:4000 +1" and lad.lanes[4].where == ""
    a, b, c, d, e = lad.arrows
    assert (a.x1, a.x2) == (lad.lanes[0].x, lad.lanes[3].x)
    assert (b.x1, b.x2) == (lad.lanes[3].x, lad.lanes[0].x)
    assert (c.x2, d.x1, d.x2) == (lad.lanes[4].x, lad.lanes[2].x, lad.lanes[3].x)
    assert (e.x1, e.x2) == (lad.lanes[1].x, lad.lanes[3].x)
    # the label sits near the arrow's start, on the side the arrow goes
    assert (a.text_x, a.anchor) == (a.x1 + 8, "start") and (b.text_x, b.anchor) == (b.x1 - 8, "end")
    # five lanes fit a page: no sideways scrolling of the page
    assert lad.width <= 1400


def test_many_lanes_narrow_down_before_the_diagram_scrolls() -> None:
    recs = [
        _msg(
            i,
            "out",
            f"tool: client u{i}#0",
            f"SUT: E{i}",
            f"10.0.0.1:{4000 + i}",
            f"10.0.0.9:{5000 + i}",
        )
        for i in range(7)
    ]
    lad = ladder(recs, set())
    # 14 lanes: narrowed to the minimum; the diagram then scrolls inside its own box
    assert len(lad.lanes) == 14 and lad.lane_w == 120
    few = ladder(recs[:3], set())
    assert few.lane_w > lad.lane_w and few.width <= 1400


def test_roles_in_the_report_are_text() -> None:
    hostile = "tool: client <script>document.body.dataset.pwned='role'</script>#0"
    tc = TestCaseResult(
        nodeid="testcases/x/test_y.py::test_z",
        verdict=Verdict.PASS,
        requirements=(),
        evidence=(_msg(0, "out", hostile, "SUT: PF"), _msg(1, "in", "", "")),
    )
    html = render_html(RunResults(run={}, test_cases=[tc]), load_catalogue=False)
    assert "<script>document.body.dataset" not in html
    escaped = (
        "tool: client &lt;script&gt;document.body.dataset.pwned=&#39;role&#39;&lt;/script&gt;#0"
    )
    assert f'title="{escaped} (10.0.0.1:5060)"' in html  # the lane
    assert f"{escaped} (10.0.0.1:5060) &rarr; SUT: PF (10.0.0.9:5070)" in html  # the message
    assert " sip 10.0.0.9:5070 &rarr; 10.0.0.1:5060 (" in html  # no role: the addresses


def test_profile_names_of_the_sut_and_the_client_emulators() -> None:
    pixit = Pixit(
        sut={
            Role.PF: Address("127.0.0.2", 5070, Transport.UDP),
            Role.CF: Address("127.0.0.2", 5080, Transport.UDP),
        },
        users=(User("sip:bob@example.com", clients=("urn:uuid:b0", "urn:uuid:b1")),),
    )
    cap = Capture()
    name_sut(cap, pixit)
    assert cap.role_of(("127.0.0.2", 5070)) == "SUT: PF"
    assert cap.role_of(("127.0.0.2", 5080)) == "SUT: CF"
    assert client_role_name("sip:bob@example.com", 1, pixit) == "tool: client bob#1"
    assert client_role_name("sip:bob@example.com", "urn:uuid:b0", pixit) == "tool: client bob#0"
    assert client_role_name("sip:eve@example.com", "urn:uuid:1234", pixit).startswith(
        "tool: client eve#"
    )
