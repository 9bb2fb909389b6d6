"""The plugin collects each test case's capture records (from its set-up to its teardown),
keeps them in the results, and writes DIR/evidence/<node>.log and .pcap."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from conformance.report.evidence import safe_name

CONFTEST = """
import pytest
from conformance.net.capture import Capture

CAP = Capture()


def send(line):
    cseq = len(CAP) + 1
    CAP.record(direction="out", transport="udp", protocol="sip", src=("127.0.0.1", 5060),
               dst=("127.0.0.2", 5070),
               data=f"{line}\\r\\nCall-ID: 1\\r\\nCSeq: {cseq} X\\r\\n\\r\\n".encode())


@pytest.fixture(scope="session")
def run_capture():
    return CAP


@pytest.fixture
def talker(run_capture):
    send("OPTIONS sip:setup SIP/2.0")
    yield run_capture
    send("BYE sip:teardown SIP/2.0")
"""

TESTS = '''
from conftest import send


def test_first(talker):
    """with {a capture} ensure that { when {x} then {y} }"""
    send("MESSAGE sip:first SIP/2.0")


def test_plain():
    pass


def test_second(talker):
    send("MESSAGE sip:second SIP/2.0")
    assert False, "boom"
'''


@pytest.fixture
def outcome(pytester: pytest.Pytester, tmp_path: Path) -> dict[str, dict[str, object]]:
    pytester.makeconftest(textwrap.dedent(CONFTEST))
    pytester.makepyfile(test_cases=textwrap.dedent(TESTS))
    report_dir = tmp_path / "out"
    r = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        f"--cpm-report-dir={report_dir}",
        f"--alluredir={tmp_path / 'allure'}",
    )
    r.assert_outcomes(passed=2, failed=1)
    data = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    out = {tc["nodeid"].rpartition("::")[2]: tc for tc in data["test_cases"]}
    out["_dir"] = {"path": str(report_dir)}
    return out


def lines(tc: dict[str, object]) -> list[str]:
    evidence = tc["evidence"]
    assert isinstance(evidence, list)
    return [str(m["text"]).split("\r\n", 1)[0] for m in evidence]


def test_records_per_test_case(outcome: dict[str, dict[str, object]]) -> None:
    assert lines(outcome["test_first"]) == [
        "OPTIONS sip:setup SIP/2.0",
        "MESSAGE sip:first SIP/2.0",
        "BYE sip:teardown SIP/2.0",
    ]
    assert lines(outcome["test_second"]) == [
        "OPTIONS sip:setup SIP/2.0",
        "MESSAGE sip:second SIP/2.0",
        "BYE sip:teardown SIP/2.0",
    ]
    assert outcome["test_plain"]["evidence"] == []
    assert outcome["test_plain"]["files"] == {}
    first = outcome["test_first"]
    assert first["purpose"] == "with {a capture} ensure that { when {x} then {y} }"
    evidence = first["evidence"]
    assert isinstance(evidence, list)
    m = evidence[1]
    assert (m["direction"], m["transport"], m["protocol"], m["src"], m["dst"]) == (
        "out",
        "udp",
        "sip",
        "127.0.0.1:5060",
        "127.0.0.2:5070",
    )
    assert m["size"] == len(str(m["text"]).encode())


def test_evidence_files(outcome: dict[str, dict[str, object]]) -> None:
    report_dir = Path(str(outcome["_dir"]["path"]))
    tc = outcome["test_second"]
    files = tc["files"]
    assert isinstance(files, dict)
    stem = safe_name(str(tc["nodeid"]))
    assert files == {"log": f"evidence/{stem}.log", "pcap": f"evidence/{stem}.pcap"}
    log = (report_dir / files["log"]).read_text(encoding="utf-8")
    assert "MESSAGE sip:second SIP/2.0" in log and "MESSAGE sip:first" not in log
    pcap = (report_dir / files["pcap"]).read_bytes()
    assert pcap[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    assert b"MESSAGE sip:second" in pcap


def test_allure_steps_and_attachments(outcome: dict[str, dict[str, object]]) -> None:
    allure_dir = Path(str(outcome["_dir"]["path"])).parent / "allure"
    found = {}
    for f in allure_dir.glob("*-result.json"):
        data = json.loads(f.read_text(encoding="utf-8"))
        found[data["name"]] = data
    first = found["test_first"]
    steps = [s["name"] for s in first.get("steps", [])]
    # one step per exchange seen up to the end of the call (the teardown BYE comes later)
    assert steps == ["OPTIONS sip:setup SIP/2.0", "MESSAGE sip:first SIP/2.0"]
    assert all(s["attachments"] for s in first["steps"])
    names = [a["name"] for a in first.get("attachments", [])]
    assert "messages.log" in names and "capture.pcap" in names
    assert "steps" not in found["test_plain"] or not found["test_plain"]["steps"]
