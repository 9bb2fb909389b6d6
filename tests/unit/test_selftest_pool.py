"""The self-test's pool engine: planning, the skip rule, attribution of results to faults."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import selftest_pool as pool
from conformance.checks.verdict import CheckResult, Verdict
from conformance.pytest.faultloop import claim, failed_ids, killed_marker, should_skip
from conformance.reference.faults import FAULTS
from conformance.report.model import RunResults, TestCaseResult
from conformance.selftest import judge_pooled, selftest

PLAIN = "cf.no-initial-notify"
PROXY = next(n for n in sorted(FAULTS) if FAULTS[n].pics)


def test_plan_puts_the_clean_slices_first_and_a_variant_per_set_of_claims(
    tmp_path: Path,
) -> None:
    variants = pool.plan(tmp_path, [FAULTS[PLAIN], FAULTS[PROXY]], slices=3)
    assert [v.pics for v in variants] == [(), tuple(FAULTS[PROXY].pics)]
    main, claims = variants
    names = sorted(p.stem for p in (main.directory / "jobs").glob("*.json"))
    assert names == ["0-clean-000", "0-clean-001", "0-clean-002", f"1-fault-{PLAIN}"]
    spec = json.loads((main.directory / "jobs" / f"1-fault-{PLAIN}.json").read_text())
    assert spec == {
        "fault": PLAIN,
        "requirements": list(FAULTS[PLAIN].requirement_ids),
        "control": False,
    }
    # a fault under claims runs in its claims' sessions, after a control run
    assert list(claims.jobs) == [f"1-fault-{PROXY}"]
    assert claims.jobs[f"1-fault-{PROXY}"]["control"] is True
    cmd = pool.worker_command(claims, "w0", tmp_path / "k", tmp_path, tmp_path / "c")
    for name, value in FAULTS[PROXY].pics:
        assert f"{name}={value}" in cmd
    assert "--cpm-strict" in cmd and "conformance.pytest.faultloop" in cmd


def test_a_job_is_claimed_once_in_name_order(tmp_path: Path) -> None:
    (variant,) = pool.plan(tmp_path, [FAULTS[PLAIN]], slices=1)
    first = claim(variant.directory, "a")
    second = claim(variant.directory, "b")
    assert first is not None and first[0] == "0-clean-000"
    assert second is not None and second[0] == f"1-fault-{PLAIN}"
    assert claim(variant.directory, "c") is None
    assert sorted(p.name for p in (variant.directory / "claimed").iterdir()) == [
        "0-clean-000.a.json",
        f"1-fault-{PLAIN}.b.json",
    ]


@pytest.mark.parametrize(
    ("proven", "killed", "skipped"),
    [
        ({"A", "B"}, True, True),  # proven on every target, and the case already killed
        ({"A", "B"}, False, False),  # the kill matrix still needs this test case
        ({"A"}, True, False),  # not yet proven on B
        (set(), False, False),
    ],
)
def test_skip_rule(proven: set[str], killed: bool, skipped: bool) -> None:
    assert should_skip(proven, {"A", "B"}, killed) is skipped


def test_killed_markers_are_per_test_case(tmp_path: Path) -> None:
    a, b = killed_marker(tmp_path, "t.py::a"), killed_marker(tmp_path, "t.py::b")
    assert a != b and a.parent == tmp_path
    assert failed_ids(
        [{"requirement": "X", "verdict": "fail"}, {"requirement": "Y", "verdict": "pass"}]
    ) == {"X"}


def _line(nodeid: str, verdict: str, failed: str = "", **extra: Any) -> dict[str, Any]:
    checks = [CheckResult(failed, Verdict.FAIL, "x", "y").to_json()] if failed else []
    return {"nodeid": nodeid, "verdict": verdict, "checks": checks, **extra}


def _write_job(variant: pool.Variant, job: str, lines: list[dict[str, Any]], done: bool) -> None:
    text = "".join(json.dumps(line) + "\n" for line in lines)
    text += json.dumps({"done": True}) + "\n" if done else ""
    (variant.directory / "out" / f"{job}.jsonl").write_text(text)


def _clean(fault: str, *names: str) -> RunResults:
    rids = tuple(FAULTS[fault].requirement_ids)
    return RunResults(test_cases=[TestCaseResult(n, Verdict.PASS, rids) for n in names])


def test_a_fault_is_caught_only_by_a_failed_check_of_its_own_ids(tmp_path: Path) -> None:
    (variant,) = pool.plan(tmp_path, [FAULTS[PLAIN]], clean=False)
    target = FAULTS[PLAIN].requirement_ids[0]
    _write_job(
        variant,
        f"1-fault-{PLAIN}",
        [
            _line("t::other", "fail", "SOME-OTHER-ID", phase="fault"),
            _line("t::own", "fail", target, phase="fault"),
            _line("t::late", "pass", phase="fault", skipped=True),
        ],
        done=True,
    )
    run = pool.read_fault([variant], FAULTS[PLAIN])
    outcome = judge_pooled(FAULTS[PLAIN], _clean(PLAIN, "t::other", "t::own", "t::late"), run)
    assert outcome is not None and outcome.caught
    assert outcome.proven == (target,) and outcome.proving == ("t::own",)
    # both failures kill their test case; the skipped one was neither run nor judged
    assert outcome.failing == ("t::other", "t::own")
    assert outcome.skipped == ("t::late",)
    assert "t::late" not in outcome.verdicts


def test_a_job_its_worker_did_not_finish_is_judged_again(tmp_path: Path) -> None:
    (variant,) = pool.plan(tmp_path, [FAULTS[PLAIN]], clean=False)
    _write_job(variant, f"1-fault-{PLAIN}", [_line("t::a", "pass", phase="fault")], done=False)
    run = pool.read_fault([variant], FAULTS[PLAIN])
    assert judge_pooled(FAULTS[PLAIN], _clean(PLAIN, "t::a"), run) is None


def test_under_claims_only_test_cases_passing_the_control_are_trusted(tmp_path: Path) -> None:
    variants = pool.plan(tmp_path, [FAULTS[PROXY]], clean=False)
    target = FAULTS[PROXY].requirement_ids[0]
    _write_job(
        variants[-1],
        f"1-fault-{PROXY}",
        [
            _line("t::good", "pass", phase="control"),
            _line("t::bad", "fail", "SOME-OTHER-ID", phase="control"),
            _line("t::good", "fail", target, phase="fault"),
        ],
        done=True,
    )
    run = pool.read_fault(variants, FAULTS[PROXY])
    assert run is not None and run.control == {"t::good": "pass", "t::bad": "fail"}
    outcome = judge_pooled(FAULTS[PROXY], _clean(PROXY, "t::good", "t::bad"), run)
    assert outcome is not None and outcome.caught and outcome.failing == ("t::good",)


def test_read_clean_needs_every_slice(tmp_path: Path) -> None:
    (variant,) = pool.plan(tmp_path, [], slices=2)
    _write_job(variant, "0-clean-000", [_line("t::a", "pass", phase="clean")], done=True)
    assert pool.read_clean([variant]) is None
    _write_job(variant, "0-clean-001", [_line("t::b", "n/a", phase="clean")], done=True)
    clean = pool.read_clean([variant])
    assert clean is not None
    assert [(tc.nodeid, tc.verdict) for tc in clean.test_cases] == [
        ("t::a", Verdict.PASS),
        ("t::b", Verdict.NA),
    ]


def test_a_fault_the_pool_missed_is_run_once_more_the_slow_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's workers are replaced by outputs written here: PLAIN's run fails its test
    case without a check of its own ids (missed), and the slow retry catches it."""
    target = FAULTS[PLAIN].requirement_ids[0]
    rids = list(FAULTS[PLAIN].requirement_ids)

    def workers(variants: list[pool.Variant], root: Path, jobs: int) -> None:
        (main,) = variants
        for job in main.jobs:
            lines = (
                [_line("t::own", "pass", phase="clean", requirements=rids)]
                if job.startswith("0-clean-000")
                else []
                if job.startswith("0-clean")
                else [_line("t::own", "fail", "SOME-OTHER-ID", phase="fault")]
            )
            _write_job(main, job, lines, done=True)

    calls: list[list[str]] = []

    def runner(argv: list[str]) -> int:
        calls.append(argv)
        report_dir = Path(argv[argv.index("--report-dir") + 1])
        report_dir.mkdir(parents=True, exist_ok=True)
        check = CheckResult(target, Verdict.FAIL, "x", "y")
        case = TestCaseResult("t::own", Verdict.FAIL, tuple(rids), checks=(check,))
        results = RunResults(run={}, test_cases=[case])
        (report_dir / "results.json").write_text(json.dumps(results.to_json()))
        return 1

    monkeypatch.setattr(pool, "run_workers", workers)
    status, doc = selftest(
        tmp_path, fault_names=[PLAIN], jobs=1, runner=runner, engine="pool", testable=[target]
    )
    assert len(calls) == 1 and "--faults" in calls[0]  # one retry, no second attempt
    assert doc["engine"] == "pool"
    assert doc["uncaught"] == [] and doc["kill_matrix"] == {PLAIN: ["t::own"]}
    assert doc["requirements"] == {target: [PLAIN]}
    assert status == 0


def test_sessions_that_cannot_start_are_not_started_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    def broken(variant: pool.Variant, worker: str, *_: object) -> list[str]:
        started.append(worker)
        return [sys.executable, "-c", "raise SystemExit(4)"]  # pytest's usage error

    monkeypatch.setattr(pool, "worker_command", broken)
    monkeypatch.setattr(pool, "locate_testcases", lambda: tmp_path)
    variants = pool.plan(tmp_path, [FAULTS[PLAIN]], slices=2)
    pool.run_workers(variants, tmp_path, jobs=1)
    assert len(started) == pool.BROKEN_LIMIT
    # its jobs stay unclaimed and unfinished: judged again the per-process way
    assert pool.read_clean(variants) is None
    run = pool.read_fault(variants, FAULTS[PLAIN])
    assert run is not None and not run.done
