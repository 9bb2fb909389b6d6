"""``cpm-conformance compare OLD NEW``: the requirement verdicts that changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.checks.verdict import CheckResult, Verdict
from conformance.cli import main
from conformance.report.compare import compare, worse
from conformance.report.model import RunResults, TestCaseResult
from conformance.report.results import write_json_atomic


def run_of(**verdicts: str) -> RunResults:
    tcs = [
        TestCaseResult(
            f"t.py::test_{i}",
            Verdict.parse(v),
            (rid.replace("_", "-"),),
            checks=(CheckResult(rid.replace("_", "-"), Verdict.parse(v), "", ""),),
        )
        for i, (rid, v) in enumerate(verdicts.items())
    ]
    return RunResults(test_cases=tcs)


def test_kinds() -> None:
    old = run_of(A_1="pass", A_2="fail", A_3="pass", A_4="inconc", A_6="pass")
    new = run_of(A_1="fail", A_2="pass", A_3="pass", A_4="error", A_5="fail", A_6="inconc")
    changes = {c.requirement: c.kind for c in compare(old, new)}
    assert changes == {
        "A-1": "regression",
        "A-2": "fixed",
        "A-4": "regression",
        "A-5": "new-fail",
        "A-6": "changed",
    }
    assert worse(compare(old, new))
    assert not worse(compare(run_of(A_1="fail", A_2="pass"), run_of(A_1="pass", A_2="pass")))
    assert compare(old, old) == []


@pytest.mark.parametrize(
    ("old", "new", "status"),
    [
        ({"A_1": "pass"}, {"A_1": "fail"}, 1),
        ({"A_1": "fail"}, {"A_1": "pass"}, 0),
        ({"A_1": "pass"}, {"A_1": "pass", "A_2": "fail"}, 1),
        ({"A_1": "pass"}, {"A_1": "pass"}, 0),
    ],
)
def test_exit_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: dict[str, str],
    new: dict[str, str],
    status: int,
) -> None:
    write_json_atomic(tmp_path / "old.json", run_of(**old).to_json())
    write_json_atomic(tmp_path / "new.json", run_of(**new).to_json())
    assert main(["compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == status
    out = capsys.readouterr().out
    if old == new:
        assert "no requirement verdict changed" in out
    else:
        assert "A-" in out


def test_json_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_json_atomic(tmp_path / "old.json", run_of(A_1="pass").to_json())
    write_json_atomic(tmp_path / "new.json", run_of(A_1="fail").to_json())
    assert (
        main(
            ["compare", "--format", "json", str(tmp_path / "old.json"), str(tmp_path / "new.json")]
        )
        == 1
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["requirements"] == [
        {"requirement": "A-1", "kind": "regression", "old": "pass", "new": "fail"}
    ]
    assert doc["test_cases"] == [{"test_case": "t.py::test_0", "old": "pass", "new": "fail"}]
    assert doc["worse"] is True and "1 regression" in doc["summary"]
    assert main(["compare", str(tmp_path / "nope.json"), str(tmp_path / "new.json")]) == 3


def test_a_smaller_run_is_a_coverage_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = run_of(A_1="pass", A_2="pass", A_3="n/a")
    part = run_of(A_1="pass")
    kinds = {c.requirement: c.kind for c in compare(full, part)}
    assert kinds == {"A-2": "coverage-drop", "A-3": "changed"}  # n/a -> not run: no drop
    write_json_atomic(tmp_path / "old.json", full.to_json())
    write_json_atomic(tmp_path / "new.json", part.to_json())
    old, new = str(tmp_path / "old.json"), str(tmp_path / "new.json")
    assert main(["compare", old, new]) == 1
    out = capsys.readouterr().out
    assert "coverage-drop" in out and "1 coverage-drop" in out and "2 only in OLD" in out
    assert main(["compare", "--allow-shrink", old, new]) == 0
    capsys.readouterr()
    assert main(["compare", "--only-regressions", old, new]) == 1
    out = capsys.readouterr().out
    assert "A-2" in out and "t.py::test_1" not in out  # no test-case table
