"""The terminal in the suite's words (conformance/pytest/terminal.py): a line per test case,
the end summary of failed and inconc requirements, and a stdout that outlives its reader."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.checks.verdict import CheckResult, EvidenceRef, Verdict
from conformance.pytest.terminal import (
    CaseSummary,
    count_line,
    relative_path,
    summary_lines,
)
from conformance.report.evidence import MessageRecord
from tests.plugin.test_plugin import env, run  # noqa: F401 - the fixture

#: what ``cpm-conformance run`` passes for its default terminal
SUITE = ("-qq", "-o", "console_output_style=classic", "--tb=short", "-rN", "--cpm-terminal=cases")


def test_a_line_per_test_case_and_the_end_summary(
    pytester: pytest.Pytester,
    env: dict[str, Path],  # noqa: F811
) -> None:
    r = run(pytester, env, *SUITE)
    out = r.stdout.str()
    for word, section, title in (
        ("PASS", "8.3.2", "first"),
        ("FAIL", "8.3.2", "first"),
        ("N/A", "8.3.2.9", "test_pics_excluded"),
        ("INCONC", "9.1", "test_cf_inconc"),
        ("ERROR", "9.1", "test_cf_error"),
    ):
        assert re.search(
            rf"^{re.escape(word)} +{re.escape(section)} +{title}.* \d+\.\d\d s$", out, re.MULTILINE
        ), (word, out)
    # no pytest progress letters, no banner, no pytest count line beside the tool's
    assert "test session starts" not in out and "rootdir" not in out
    assert not re.search(r"^[.sFE]+$", out, re.MULTILINE), out
    assert not re.search(r"\d+ (failed|passed|skipped)", out), out
    # the failed requirement with expected and actual; the inconc one with its reason
    r.stdout.fnmatch_lines(
        [
            "failed (1 test case):",
            "  test_cases.py::test_soft_fail",
            "    PF-8.3.2-1  8.3.2  [[]fail[]]",
            "      expected: 200",
            "      actual:   486",
            "error (1 test case):",
            "  test_cases.py::test_cf_error",
            "inconc (1 test case):",
            "  test_cases.py::test_cf_inconc",
            "    CF-9.1-1  9.1  [[]inconc[]]",
            "      reason:   no upper tester configured for client-offline",
        ]
    )
    # the error keeps its traceback; the failed check's is the list above
    assert "emulator crashed" in out and "requirement: PF-8.3.2-1" not in out


def test_summary_mode_has_no_line_per_test_case(
    pytester: pytest.Pytester,
    env: dict[str, Path],  # noqa: F811
) -> None:
    r = run(pytester, env, *SUITE[:-1], "--cpm-terminal=summary")
    out = r.stdout.str()
    assert not re.search(r"^PASS ", out, re.MULTILINE)
    assert "failed (1 test case):" in out


def test_plain_pytest_keeps_its_output_and_adds_the_verdicts(
    pytester: pytest.Pytester,
    env: dict[str, Path],  # noqa: F811
) -> None:
    r = run(pytester, env)
    r.stdout.fnmatch_lines(
        [
            "*test session starts*",
            "*cpm-conformance verdicts*",
            "failed (1 test case):",
            "6 test cases: 1 pass, 1 fail, 1 inconc, 1 error, 2 n/a",
            "results: *results.json",
        ]
    )


def test_count_line_says_case_or_cases() -> None:
    assert count_line({"pass": 1}) == "1 test case: 1 pass, 0 fail, 0 inconc, 0 error, 0 n/a"
    assert count_line({"pass": 108, "n/a": 11}) == (
        "119 test cases: 108 pass, 0 fail, 0 inconc, 0 error, 11 n/a"
    )


def test_relative_path_never_climbs_out(tmp_path: Path) -> None:
    assert relative_path(tmp_path / "out" / "x.log", tmp_path) == "out/x.log"
    assert relative_path(tmp_path / "x.log", tmp_path / "elsewhere") == str(tmp_path / "x.log")


def _record(index: int, text: str) -> MessageRecord:
    return MessageRecord(
        index=index,
        timestamp=0.0,
        direction="in",
        transport="udp",
        protocol="sip",
        src="127.0.0.1:5060",
        dst="127.0.0.1:5070",
        text=text,
        size=len(text),
    )


def test_the_failed_requirement_names_the_evidence_file_and_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    check = CheckResult(
        "PF-8.3.2-3",
        Verdict.FAIL,
        expected="a 200 OK",
        actual="486 Busy",
        evidence=(
            EvidenceRef("sip", "the answer", "SIP/2.0 486 Busy Here", b"SIP/2.0 486 Busy Here\n"),
        ),
    )
    case = CaseSummary(
        name="conversation_function/pf/test_8_3_2_x.py::test_x",
        verdict=Verdict.FAIL,
        section="8.3.2",
        requirements=("PF-8.3.2-3",),
        reason="check failed: PF-8.3.2-3",
        checks=(check,),
        records=(_record(3, "INVITE sip:a@x SIP/2.0\n"), _record(7, "SIP/2.0 486 Busy Here\n")),
        files={"log": "evidence/x.log", "pcap": "evidence/x.pcap"},
    )
    lines = summary_lines([case], tmp_path / "out")
    assert lines == [
        "  conversation_function/pf/test_8_3_2_x.py::test_x",
        "    PF-8.3.2-3  8.3.2  [fail]",
        "      expected: a 200 OK",
        "      actual:   486 Busy",
        "      evidence: out/evidence/x.log (message #7)",
    ]
    # a report directory outside the current one: the absolute path
    outside = summary_lines([case], Path("/elsewhere/out"))
    assert outside[-1] == "      evidence: /elsewhere/out/evidence/x.log (message #7)"


def test_an_interrupt_inside_a_finalizer_prints_no_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import gc

        class Finalized:
            def __del__(self):
                raise KeyboardInterrupt

        def test_x():
            Finalized()
            gc.collect()
        """
    )
    result = pytester.runpytest()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert result.ret == 0
