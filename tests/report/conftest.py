"""A fake run for the report tests: a passing and a failing test case with evidence, where
the SUT put ``<script>`` in a header, a display name and a body."""

from __future__ import annotations

import pytest

from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.report.evidence import MessageRecord
from conformance.report.model import RunResults, TestCaseResult

T0 = 1_790_000_000.0
TOOL = "127.0.0.1:5060"
SUT = "127.0.0.2:5070"

#: what a hostile SUT sends: each payload would set an attribute on <body> if it ran
HOSTILE_200 = (
    "SIP/2.0 200 OK\r\n"
    "To: \"<script>document.body.setAttribute('data-pwned','name')</script>\""
    " <sip:conf@sut>;tag=1\r\n"
    "X-Evil: <script>document.body.setAttribute('data-pwned','header')</script>\r\n"
    "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: text/plain\r\n\r\n"
    "<script>document.body.setAttribute('data-pwned','body')</script>"
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
)
INVITE = (
    "INVITE sip:conf@sut SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
    "From: <sip:alice@tool>;tag=a\r\nTo: <sip:conf@sut>\r\n\r\n"
)
FORBIDDEN = "SIP/2.0 403 Forbidden\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"
ACK = "ACK sip:conf@sut SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 ACK\r\n\r\n"
MSRP = "MSRP a1 SEND\r\nTo-Path: msrp://x\r\n\r\nhello\r\n-------a1$\r\n"


def message(index: int, direction: str, text: str, protocol: str = "sip") -> MessageRecord:
    src, dst = (TOOL, SUT) if direction == "out" else (SUT, TOOL)
    return MessageRecord(
        index, T0 + index / 10, direction, "udp", protocol, src, dst, text, len(text.encode())
    )


def make_results() -> RunResults:
    passing = TestCaseResult(
        nodeid="testcases/conversation_function/pf/test_x.py::test_pass",
        verdict=Verdict.PASS,
        requirements=("PF-8.2.1-1",),
        role="pf",
        duration=0.2,
        checks=(CheckResult("PF-8.2.1-1", Verdict.PASS, "403", "403"),),
        purpose="with {a user} ensure that { when {x} then {y} }",
        evidence=(message(0, "out", INVITE), message(1, "in", FORBIDDEN)),
        files={"log": "evidence/pass.log", "pcap": "evidence/pass.pcap"},
    )
    failing = TestCaseResult(
        nodeid="testcases/conversation_function/pf/test_x.py::test_fail",
        verdict=Verdict.FAIL,
        requirements=("PF-8.2.1-2", "PF-8.2.1-3"),
        role="pf",
        duration=0.3,
        reason="check failed: PF-8.2.1-2",
        checks=(
            CheckResult(
                "PF-8.2.1-2",
                Verdict.FAIL,
                "403 <Forbidden>",
                "200 <script>x</script>",
                (EvidenceRef("sip", "the response", "SIP/2.0 200 OK", HOSTILE_200.encode()),),
            ),
            CheckResult("PF-8.2.1-3", Verdict.PASS, "a", "a"),
        ),
        purpose="with {<script>alert(1)</script>} ensure that { }",
        evidence=(
            message(2, "out", INVITE),
            message(3, "in", HOSTILE_200),
            message(4, "out", ACK),
            message(5, "out", MSRP, "msrp"),
        ),
    )
    na = TestCaseResult(
        nodeid="testcases/conversation_function/pf/test_y.py::test_na",
        verdict=Verdict.NA,
        requirements=("PF-8.2.1-4.a.iii",),
        role="pf",
        reason="optional; use --strict",
    )
    return RunResults(
        run={
            "sut": "reference",
            "start": T0,
            "stop": T0 + 12.5,
            "strict": False,
            "profile": {
                "name": "<b>Evil SUT</b>",
                "target": "reference",
                "roles": ["pf", "cf"],
                "pics": {"pf.media_path": True},
            },
        },
        test_cases=[passing, failing, na],
    )


def pytest_configure(config: pytest.Config) -> None:
    # pytester for the plugin tests (see tests/plugin/conftest.py for why not pytest_plugins)
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def results() -> RunResults:
    return make_results()
