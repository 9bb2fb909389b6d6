"""selftest bookkeeping: clean run, fault runs limited to mapped test cases, kill matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.checks.verdict import CheckResult, Verdict
from conformance.reference.faults import FAULTS
from conformance.report.model import RunResults, TestCaseResult
from conformance.report.results import RESULTS_NAME
from conformance.selftest import selftest

CAUGHT = "cf.no-initial-notify"
MISSED = "cf.unknown-focus-200"
UNTESTED = "cf.full-on-change"


def _case(name: str, fault: str) -> TestCaseResult:
    return TestCaseResult(
        nodeid=f"testcases/test_x.py::{name}",
        verdict=Verdict.PASS,
        requirements=tuple(FAULTS[fault].requirement_ids[:1]),
    )


CASES = {CAUGHT: _case("test_initial_notify", CAUGHT), MISSED: _case("test_hosts", MISSED)}


def _write(report_dir: Path, cases: list[TestCaseResult]) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    results = RunResults(run={}, test_cases=cases)
    (report_dir / RESULTS_NAME).write_text(json.dumps(results.to_json()))


def _failed(case: TestCaseResult, rid: str) -> TestCaseResult:
    check = CheckResult(rid, Verdict.FAIL, expected="x", actual="y")
    return TestCaseResult(case.nodeid, Verdict.FAIL, case.requirements, checks=(check,))


def fake_runner(calls: list[list[str]]):  # type: ignore[no-untyped-def]
    def run(argv: list[str]) -> int:
        calls.append(argv)
        report_dir = Path(argv[argv.index("--report-dir") + 1])
        if "--faults" not in argv:
            _write(report_dir, list(CASES.values()))
            return 0
        fault = argv[argv.index("--faults") + 1]
        selected = set(argv[i + 1] for i, a in enumerate(argv) if a == "--requirement")
        cases = [c for c in CASES.values() if selected & set(c.requirements)]
        if fault == CAUGHT:  # the suite sees this fault: a check carrying its id fails
            cases = [_failed(c, c.requirements[0]) for c in cases]
        elif fault == MISSED:  # the test case fails, but no check carrying the fault's id
            cases = [_failed(c, "SOME-OTHER-ID") for c in cases]
        _write(report_dir, cases)
        return 1 if fault == CAUGHT else 0

    return run


def test_kill_matrix_and_mutation_score(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    status, doc = selftest(
        tmp_path, fault_names=[CAUGHT, MISSED, UNTESTED], jobs=1, runner=fake_runner(calls)
    )
    assert status == 1  # one fault missed, one without a test case
    assert doc["kill_matrix"][CAUGHT] == [CASES[CAUGHT].nodeid]
    # MISSED's test case failed, but no check carrying the fault's own id did
    assert doc["kill_matrix"][MISSED] == [CASES[MISSED].nodeid]
    assert set(doc["uncaught"]) == {MISSED, UNTESTED}
    caught = next(f for f in doc["faults"] if f["fault"] == CAUGHT)
    assert caught["proven"] == [FAULTS[CAUGHT].requirement_ids[0]]
    assert caught["proving"] == [CASES[CAUGHT].nodeid]
    assert (doc["caught"], doc["total"]) == (1, 3)
    assert doc["mutation_score"] == round(1 / 3, 4)
    untested = next(f for f in doc["faults"] if f["fault"] == UNTESTED)
    assert "no test case" in untested["problem"]
    # a fault run selects only the requirements the fault breaks, with the fault on
    fault_runs = [c for c in calls if "--faults" in c]
    # the untested fault needs no run; the missed one is run once more (a timing miss on
    # a loaded machine is not read as a missed fault)
    assert len(fault_runs) == 3
    for argv in fault_runs:
        name = argv[argv.index("--faults") + 1]
        selected = [argv[i + 1] for i, a in enumerate(argv) if a == "--requirement"]
        assert selected == list(FAULTS[name].requirement_ids)
    written = json.loads((tmp_path / "selftest.json").read_text())
    assert written["kill_matrix"] == doc["kill_matrix"]


def test_all_caught_and_clean_gives_zero(tmp_path: Path) -> None:
    status, doc = selftest(tmp_path, fault_names=[CAUGHT], jobs=1, runner=fake_runner([]))
    assert status == 0 and doc["mutation_score"] == 1.0
    assert doc["clean"]["not_clean"] == {}


def test_unknown_fault_is_reported(tmp_path: Path) -> None:
    status, doc = selftest(tmp_path, fault_names=["no.such-fault"], runner=fake_runner([]))
    assert status == 2 and "no.such-fault" in doc["error"]


def test_a_clean_run_that_fails_is_reported(tmp_path: Path) -> None:
    def runner(argv: list[str]) -> int:
        report_dir = Path(argv[argv.index("--report-dir") + 1])
        bad = TestCaseResult(CASES[CAUGHT].nodeid, Verdict.INCONC, CASES[CAUGHT].requirements)
        _write(report_dir, [bad] if "--faults" not in argv else [])
        return 2

    status, doc = selftest(tmp_path, fault_names=[CAUGHT], jobs=1, runner=runner)
    assert status == 1
    assert doc["clean"]["not_clean"] == {CASES[CAUGHT].nodeid: "inconc"}


PROXY = "pf.no-record-route"  # observable only with pf.media_path=false


def _proxy_runner(control_verdict: Verdict, calls: list[list[str]]):  # type: ignore[no-untyped-def]
    case = TestCaseResult(
        "testcases/test_p.py::test_record_route", Verdict.NA, tuple(FAULTS[PROXY].requirement_ids)
    )

    def run(argv: list[str]) -> int:
        calls.append(argv)
        report_dir = Path(argv[argv.index("--report-dir") + 1])
        if "--pics" not in argv:  # the clean run: proxy cases are n/a under the profile
            _write(report_dir, [case])
        elif "--faults" not in argv:  # the control run under the fault's claims
            _write(report_dir, [TestCaseResult(case.nodeid, control_verdict, case.requirements)])
        else:
            _write(report_dir, [_failed(case, case.requirements[0])])
        return 0

    return run


def test_fault_with_claims_needs_a_clean_control_run(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    status, doc = selftest(
        tmp_path, fault_names=[PROXY], jobs=1, runner=_proxy_runner(Verdict.PASS, calls)
    )
    assert status == 0
    assert doc["kill_matrix"][PROXY] == ["testcases/test_p.py::test_record_route"]
    pics_runs = [c for c in calls if "--pics" in c]
    assert len(pics_runs) == 2
    assert all("pf.media_path=false" in c for c in pics_runs)
    assert all("--strict" in c for c in calls)


def test_failure_under_claims_without_a_clean_control_proves_nothing(tmp_path: Path) -> None:
    status, doc = selftest(
        tmp_path, fault_names=[PROXY], jobs=1, runner=_proxy_runner(Verdict.FAIL, [])
    )
    assert status == 1 and doc["kill_matrix"][PROXY] == []
    outcome = doc["faults"][0]
    assert "pf.media_path=false" in outcome["problem"]


def test_min_score_ratchet() -> None:
    from conformance.selftest import gate

    doc = {"clean": {"not_clean": {}}, "mutation_score": 0.8}
    assert gate(1, doc, None) == 1  # default: every fault must be caught
    assert gate(1, doc, 0.8) == 0
    assert gate(1, doc, 0.81) == 1
    unclean = {"clean": {"not_clean": {"t": "fail"}}, "mutation_score": 1.0}
    assert gate(1, unclean, 0.5) == 1  # a dirty clean run never passes
    assert gate(2, {"error": "x"}, 0.1) == 2
    unproven = {"clean": {"not_clean": {}}, "mutation_score": 1.0, "unkilled": ["t"]}
    assert gate(1, unproven, 0.5) == 1  # a test case no fault fails never passes


def test_unkilled_lists_test_cases_no_fault_fails(tmp_path: Path) -> None:
    from conformance.selftest import FaultOutcome, unkilled

    clean = RunResults(run={}, test_cases=list(CASES.values()))
    killed = FaultOutcome(CAUGHT, "cf", (), (), (CASES[CAUGHT].nodeid,))
    assert unkilled(clean, [killed]) == [CASES[MISSED].nodeid]
    assert unkilled(clean, []) == [c.nodeid for c in CASES.values()]
    # a run of chosen faults judges faults only: no test case is called unproven
    _, doc = selftest(tmp_path, fault_names=[CAUGHT], jobs=1, runner=fake_runner([]))
    assert doc["unkilled"] is None


def test_requirements_are_proven_by_a_failed_check_of_their_own(tmp_path: Path) -> None:
    caught_id = FAULTS[CAUGHT].requirement_ids[0]
    missed_id = FAULTS[MISSED].requirement_ids[0]
    status, doc = selftest(
        tmp_path,
        fault_names=[CAUGHT, MISSED],
        jobs=1,
        runner=fake_runner([]),
        testable=[caught_id, missed_id, "NEVER-TARGETED"],
    )
    assert doc["requirements"] == {caught_id: [CAUGHT], missed_id: [], "NEVER-TARGETED": []}
    assert doc["unproven"] is None  # judged only over every fault
    assert status == 1


def test_every_fault_run_lists_the_unproven_requirements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("conformance.selftest.FAULTS", {CAUGHT: FAULTS[CAUGHT]})
    status, doc = selftest(
        tmp_path,
        jobs=1,
        runner=fake_runner([]),
        testable=[FAULTS[CAUGHT].requirement_ids[0], "NEVER-TARGETED"],
    )
    assert doc["unproven"] == ["NEVER-TARGETED"]
    assert status == 1  # every fault caught, but a requirement no fault proves


def test_gate_fails_on_an_unproven_requirement() -> None:
    from conformance.selftest import gate

    doc = {"clean": {"not_clean": {}}, "mutation_score": 1.0, "unkilled": [], "unproven": ["X-1"]}
    assert gate(1, doc, 0.5) == 1
    doc["unproven"] = []
    assert gate(1, doc, 0.5) == 0


def test_known_gaps_are_a_ratchet(tmp_path: Path) -> None:
    from conformance.selftest import KnownGaps, gate

    path = tmp_path / "gaps.toml"
    path.write_text('unproven = ["A-1"]\nuncaught = ["f.one"]\n')
    known = KnownGaps.load(path)
    doc = {
        "clean": {"not_clean": {}},
        "mutation_score": 0.5,
        "unkilled": [],
        "unproven": ["A-1"],
        "uncaught": ["f.one"],
    }
    assert known.judge(doc) == [] and gate(1, doc, None, known) == 0
    doc_new = {**doc, "unproven": ["A-1", "B-2"], "uncaught": ["f.one", "f.two"]}
    assert known.judge(doc_new) == ["UNPROVEN (new) B-2", "MISSED (new) f.two"]
    assert gate(1, doc_new, None, known) == 1
    closed = {**doc, "unproven": [], "uncaught": []}
    assert known.judge(closed) == [
        "now proven, remove it from the known gaps: A-1",
        "now caught, remove it from the known gaps: f.one",
    ]
    assert gate(1, closed, None, known) == 1
    assert gate(1, doc, 0.9, known) == 1  # the score floor still applies
    # a run of chosen faults judges no unproven requirement
    partial = {**doc, "unproven": None, "uncaught": []}
    assert known.judge(partial) == []


def test_an_unknown_fault_is_one_line_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance.cli import main

    assert main(["selftest", "--report-dir", str(tmp_path), "--fault", "cf.no-initial-notfy"]) == 3
    assert capsys.readouterr().err == (
        "selftest: --fault cf.no-initial-notfy: unknown fault"
        " (did you mean cf.no-initial-notify?)\n"
    )
