"""A requirement's verdict comes from the checks that carry its id, never from the test case
(DESIGN.md, "Results"): a requirement a test case declares but no check carried is "not
evaluated", in results.json, JUnit, the report and compare."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.checks.verdict import CheckResult, Verdict
from conformance.report.compare import compare, worse
from conformance.report.html import render_html
from conformance.report.model import NOT_EVALUATED, RunResults, TestCaseResult
from conformance.report.results import write_junit


def _check(rid: str, verdict: Verdict) -> CheckResult:
    return CheckResult(rid, verdict, expected="x", actual="y")


def _run(*cases: TestCaseResult) -> RunResults:
    return RunResults(run={}, test_cases=list(cases))


FAILING = TestCaseResult(
    "t.py::test_fails",
    Verdict.FAIL,
    requirements=("REQ-A", "REQ-B"),
    checks=(_check("REQ-A", Verdict.FAIL),),
)


def test_a_declared_requirement_no_check_carried_is_not_evaluated() -> None:
    reqs = {r.id: r for r in _run(FAILING).requirements()}
    assert reqs["REQ-A"].verdict is Verdict.FAIL
    assert reqs["REQ-B"].verdict is None
    assert reqs["REQ-B"].status == NOT_EVALUATED
    assert "no check carried it" in reqs["REQ-B"].reason
    passing = TestCaseResult(
        "t.py::test_passes",
        Verdict.PASS,
        requirements=("REQ-C", "REQ-D"),
        checks=(_check("REQ-C", Verdict.PASS),),
    )
    reqs = {r.id: r for r in _run(passing).requirements()}
    assert reqs["REQ-C"].verdict is Verdict.PASS
    assert reqs["REQ-D"].verdict is None


def test_a_check_elsewhere_evaluates_it() -> None:
    other = TestCaseResult(
        "t.py::test_other",
        Verdict.PASS,
        requirements=("REQ-B",),
        checks=(_check("REQ-B", Verdict.PASS),),
    )
    reqs = {r.id: r for r in _run(FAILING, other).requirements()}
    assert reqs["REQ-B"].verdict is Verdict.PASS
    assert reqs["REQ-B"].reason == ""
    assert reqs["REQ-B"].test_cases == ("t.py::test_fails", "t.py::test_other")


def test_a_test_case_that_judged_nothing_passes_on_its_verdict() -> None:
    for verdict in (Verdict.NA, Verdict.INCONC, Verdict.ERROR):
        tc = TestCaseResult("t.py::test_x", verdict, requirements=("REQ-A",))
        (req,) = _run(tc).requirements()
        assert req.verdict is verdict


def test_results_json_keeps_not_evaluated_and_its_reason() -> None:
    run = _run(FAILING)
    again = RunResults.from_json(run.to_json())
    reqs = {r.id: r for r in again.requirements()}
    assert reqs["REQ-B"].status == NOT_EVALUATED
    doc = run.to_json()
    (row,) = [r for r in doc["requirements"] if r["id"] == "REQ-B"]
    assert row["verdict"] == NOT_EVALUATED and row["reason"]
    assert doc["summary"]["requirements"][NOT_EVALUATED] == 1
    assert doc["summary"]["requirements"]["fail"] == 1


def test_compare_sees_no_regression_in_a_requirement_no_check_failed() -> None:
    old = _run(
        TestCaseResult(
            "t.py::test_fails",
            Verdict.PASS,
            requirements=("REQ-A", "REQ-B"),
            checks=(_check("REQ-A", Verdict.PASS), _check("REQ-B", Verdict.PASS)),
        )
    )
    changes = {c.requirement: c for c in compare(old, _run(FAILING))}
    assert changes["REQ-A"].kind == "regression"
    assert changes["REQ-B"].kind == "coverage-drop" and changes["REQ-B"].new is None
    assert worse(list(changes.values()))


def test_junit_and_html_show_the_requirement_verdicts(tmp_path: Path) -> None:
    path = write_junit(_run(FAILING), tmp_path / "junit.xml")
    props = {
        p.get("name"): p.get("value")
        for p in ET.parse(path).getroot().iter("property")  # noqa: S314 (our own output)
    }
    assert props["verdict:REQ-A"] == "fail"
    assert props["verdict:REQ-B"] == NOT_EVALUATED
    html = render_html(_run(FAILING))
    assert "v-not-evaluated" in html and "no check carried it" in html


def test_evidence_links_stay_inside_the_report_folder() -> None:
    from conformance.report.html import safe_link

    assert safe_link("evidence/tc1.log") == "evidence/tc1.log"
    for bad in (
        "javascript:alert(1)",
        "/etc/passwd",
        "../x.log",
        "evidence/../../x",
        "http://example.invalid/x",
        "",
        "evidence//x",
        " javascript:x",
    ):
        assert safe_link(bad) is None, bad
    tc = TestCaseResult(
        "t.py::test_x",
        Verdict.PASS,
        files={"log": "javascript:alert(1)", "pcap": "evidence/t.pcap"},
    )
    html = render_html(_run(tc))
    assert 'href="javascript:' not in html and 'href="evidence/t.pcap"' in html


def test_results_json_has_the_permissions_of_the_other_files(tmp_path: Path) -> None:
    import os

    from conformance.report.results import write_json_atomic

    write_json_atomic(tmp_path / "results.json", {})
    (tmp_path / "junit.xml").write_text("x")
    mode = os.stat(tmp_path / "results.json").st_mode & 0o777
    assert mode == os.stat(tmp_path / "junit.xml").st_mode & 0o777


def test_an_incomplete_run_is_never_a_pass() -> None:
    tc = TestCaseResult("t.py::test_x", Verdict.PASS, checks=(_check("A", Verdict.PASS),))
    run = RunResults(run={"incomplete": True}, test_cases=[tc])
    html = render_html(run)
    assert 'id="run-verdict">incomplete</span>' in html
    failing = RunResults(run={"incomplete": True}, test_cases=[FAILING])
    assert 'id="run-verdict">incomplete (fail so far)</span>' in render_html(failing)


def test_junit_tells_inconc_from_na_and_attaches_the_evidence(tmp_path: Path) -> None:
    inconc = TestCaseResult(
        "t.py::test_i",
        Verdict.INCONC,
        reason="no upper tester",
        files={"log": "evidence/i.log", "bad": "../../etc/passwd"},
    )
    na = TestCaseResult("t.py::test_n", Verdict.NA, reason="PICS")
    root = ET.parse(write_junit(_run(inconc, na), tmp_path / "junit.xml")).getroot()  # noqa: S314
    skipped = {c.get("name"): c.find("skipped") for c in root.iter("testcase")}
    assert skipped["test_i"] is not None and skipped["test_i"].get("type") == "inconc"
    assert skipped["test_n"] is not None and skipped["test_n"].get("type") == "n/a"
    out = {c.get("name"): c.findtext("system-out") for c in root.iter("testcase")}
    assert out["test_i"] == f"[[ATTACHMENT|{(tmp_path / 'evidence/i.log').resolve()}]]"
    assert out["test_n"] is None
