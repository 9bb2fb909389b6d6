"""Merging shards' results (conformance/report/merge.py, ``cpm-conformance merge``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import cli
from conformance.checks.verdict import CheckResult, Verdict
from conformance.report.compare import compare, compare_test_cases
from conformance.report.html import render_html
from conformance.report.merge import MergeError, MergeInput, check_inputs, merge_results
from conformance.report.model import RunResults, TestCaseResult
from conformance.report.results import load_results, write_json_atomic

PROFILE = {
    "name": "vendor",
    "path": "/somewhere/vendor.toml",
    "target": "pf",
    "roles": ["pf"],
    "pics": {"pf.media_path": True, "pf.sdp_policy": "strict"},
}


def _run(shard: str, **overrides: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "sut": "/somewhere/vendor.toml",
        "strict": False,
        "selection": {"role": [], "clause": [], "requirement": []},
        "faults": [],
        "layout": "direct",
        "store": "maildir",
        "reference_process": "inprocess",
        "command": f"cpm-conformance run --shard {shard}",
        "version": "0.1.0",
        "catalogue": "sha256:0123456789abcdef",
        "start": 1000.0,
        "stop": 1010.0,
        "profile": json.loads(json.dumps(PROFILE)),
    }
    if shard:
        run["shard"] = shard
    run.update(overrides)
    return run


def _check(rid: str, verdict: Verdict) -> CheckResult:
    return CheckResult(
        rid, verdict, expected="200", actual="200" if verdict is Verdict.PASS else "486"
    )


def _shard(shard: str, *cases: TestCaseResult, **run: Any) -> RunResults:
    results = RunResults(run=_run(shard, **run))
    for tc in cases:
        results.add(tc)
    results.requirement_info["R-1"] = {"section": "8.3.2", "strength": "SHALL", "role": "pf"}
    return results


def _tc(
    name: str, *checks: CheckResult, shard: str = "", verdict: Verdict | None = None
) -> TestCaseResult:
    worst = verdict or max((c.verdict for c in checks), default=Verdict.PASS)
    return TestCaseResult(
        f"testcases/pf/test_x.py::{name}",
        worst,
        requirements=tuple(dict.fromkeys(c.requirement for c in checks)),
        checks=checks,
        shard=shard,
    )


def _two_shards() -> list[MergeInput]:
    one = _shard(
        "1/2",
        _tc("test_a", _check("R-1", Verdict.PASS), _check("R-2", Verdict.PASS), shard="1/2"),
        _tc("test_b", _check("R-3", Verdict.PASS), shard="1/2"),
        start=1000.0,
        stop=1010.0,
    )
    two = _shard(
        "2/2",
        _tc("test_c", _check("R-1", Verdict.FAIL), shard="2/2"),
        _tc("test_d", verdict=Verdict.NA, shard="2/2"),
        start=1002.0,
        stop=1020.0,
    )
    return [MergeInput("out/shard-2", two), MergeInput("out/shard-1", one)]


def test_merge_joins_the_shards_in_shard_order() -> None:
    merged = merge_results(_two_shards(), "cpm-conformance merge out/shard-2 out/shard-1")
    names = [tc.nodeid.rpartition("::")[2] for tc in merged.test_cases]
    assert names == ["test_a", "test_b", "test_c", "test_d"]
    assert [tc.shard for tc in merged.test_cases] == ["1/2", "1/2", "2/2", "2/2"]
    run = merged.run
    assert run["shards"] == ["1/2", "2/2"] and "shard" not in run
    assert (run["start"], run["stop"]) == (1000.0, 1020.0)
    assert run["command"] == "cpm-conformance merge out/shard-2 out/shard-1"
    assert [m["results"] for m in run["merged_from"]] == ["out/shard-1", "out/shard-2"]
    assert [m["test_cases"] for m in run["merged_from"]] == [2, 2]
    assert run["profile"] == PROFILE and run["version"] == "0.1.0"
    assert "incomplete" not in run
    assert merged.requirement_info["R-1"]["section"] == "8.3.2"


def test_requirement_verdicts_are_recomputed_from_the_checks() -> None:
    """R-1 passed in shard 1 and failed in shard 2: the merge says fail (the worst of the
    checks carrying the id), whatever each shard's own requirement list said."""
    merged = merge_results(_two_shards())
    verdicts = {r.id: r.status for r in merged.requirements()}
    assert verdicts == {"R-1": "fail", "R-2": "pass", "R-3": "pass"}
    r1 = next(r for r in merged.requirements() if r.id == "R-1")
    assert [t.rpartition("::")[2] for t in r1.test_cases] == ["test_a", "test_c"]
    summary = merged.summary()
    assert summary["test_cases"]["total"] == 4 and summary["verdict"] == "fail"


def test_a_merged_run_round_trips_and_compares(tmp_path: Path) -> None:
    merged = merge_results(_two_shards())
    write_json_atomic(tmp_path / "results.json", merged.to_json())
    again = load_results(tmp_path / "results.json")
    assert [tc.shard for tc in again.test_cases] == ["1/2", "1/2", "2/2", "2/2"]
    assert again.run["shards"] == ["1/2", "2/2"]
    # compare treats a merged run as any run: against a single run with the same verdicts
    single = RunResults(run=_run(""))
    for tc in merged.test_cases:
        single.add(TestCaseResult(tc.nodeid, tc.verdict, tc.requirements, checks=tc.checks))
    assert compare(single, again) == [] and compare_test_cases(single, again) == []


def test_overlapping_test_cases_are_refused() -> None:
    inputs = _two_shards()
    dup = _tc("test_a", _check("R-1", Verdict.PASS), shard="2/2")
    inputs[0].results.add(dup)
    with pytest.raises(MergeError) as info:
        merge_results(inputs)
    assert info.value.lines == (
        "test case testcases/pf/test_x.py::test_a is in both out/shard-2 (shard 2/2)"
        " and out/shard-1 (shard 1/2)",
    )


@pytest.mark.parametrize(
    ("shards", "says"),
    [
        (["1/3", "2/3"], "missing shard 3/3 (give the results of every shard of the 3)"),
        (["1/3"], "missing shards 2/3, 3/3"),
        (["1/2", "1/2", "2/2"], "shard 1/2 given more than once: s0, s1"),
        (["1/2", "2/3"], "shards of different splits (N = 2, 3)"),
        (["1/2", ""], "mixing shards with unsharded runs: s1 ran no --shard"),
    ],
)
def test_shards_that_do_not_make_a_whole_are_refused(shards: list[str], says: str) -> None:
    inputs = [
        MergeInput(f"s{i}", _shard(s, _tc(f"test_{i}", _check("R-1", Verdict.PASS), shard=s)))
        for i, s in enumerate(shards)
    ]
    lines = check_inputs(inputs)
    assert any(says in line for line in lines), lines


def test_unsharded_disjoint_runs_merge() -> None:
    inputs = [
        MergeInput("pf", _shard("", _tc("test_a", _check("R-1", Verdict.PASS)))),
        MergeInput("cf", _shard("", _tc("test_b", _check("R-2", Verdict.PASS)))),
    ]
    merged = merge_results(inputs)
    assert len(merged.test_cases) == 2 and "shards" not in merged.run


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        (
            {"version": "0.2.0"},
            "different tool versions: s0 (shard 1/2): 0.1.0; s1 (shard 2/2): 0.2.0",
        ),
        ({"catalogue": "sha256:ffffffffffffffff"}, "different requirement catalogues: "),
        ({"faults": ["pf-drops-bye"]}, "different faults: s0 (shard 1/2): none;"),
        ({"strict": True}, "different --strict: s0 (shard 1/2): false; s1 (shard 2/2): true"),
        ({"selection": {"role": ["pf"], "clause": [], "requirement": []}}, "different selections"),
        ({"layout": "kamailio"}, "different layouts"),
        (
            {"profile": {**PROFILE, "name": "other"}},
            "different SUT profiles: s0 (shard 1/2): vendor",
        ),
        ({"profile": {**PROFILE, "roles": ["pf", "cf"]}}, "different SUT roles"),
        (
            {"profile": {**PROFILE, "pics": {"pf.media_path": False, "pf.sdp_policy": "strict"}}},
            "different PICS pf.media_path: s0 (shard 1/2): true; s1 (shard 2/2): false",
        ),
        (
            {"profile": {**PROFILE, "pics": {"pf.media_path": True}}},
            "different PICS pf.sdp_policy: s0 (shard 1/2): strict; s1 (shard 2/2): (not claimed)",
        ),
    ],
)
def test_shards_of_different_runs_are_refused_saying_what_differs(
    overrides: dict[str, Any], says: str
) -> None:
    inputs = [
        MergeInput("s0", _shard("1/2", _tc("test_a", _check("R-1", Verdict.PASS), shard="1/2"))),
        MergeInput(
            "s1",
            _shard("2/2", _tc("test_b", _check("R-1", Verdict.PASS), shard="2/2"), **overrides),
        ),
    ]
    with pytest.raises(MergeError) as info:
        merge_results(inputs)
    assert len(info.value.lines) == 1 and info.value.lines[0].startswith(says), info.value.lines


def test_profile_paths_and_commands_may_differ() -> None:
    """Each machine has its own checkout and command line: those are no difference."""
    inputs = [
        MergeInput("s0", _shard("1/2", _tc("test_a", _check("R-1", Verdict.PASS), shard="1/2"))),
        MergeInput(
            "s1",
            _shard(
                "2/2",
                _tc("test_b", _check("R-1", Verdict.PASS), shard="2/2"),
                sut="/other/vendor.toml",
                profile={**PROFILE, "path": "/other/vendor.toml"},
                durations_from="/other/results.json",
            ),
        ),
    ]
    assert check_inputs(inputs) == []


def test_without_a_catalogue_digest_the_requirement_facts_must_agree() -> None:
    one = _shard("1/2", _tc("test_a", _check("R-1", Verdict.PASS), shard="1/2"), catalogue=None)
    two = _shard("2/2", _tc("test_b", _check("R-1", Verdict.PASS), shard="2/2"), catalogue=None)
    two.requirement_info["R-1"] = {"section": "8.3.3", "strength": "SHALL", "role": "pf"}
    lines = check_inputs([MergeInput("s0", one), MergeInput("s1", two)])
    assert len(lines) == 1 and lines[0].startswith("different requirement catalogues: R-1 is")


def test_an_incomplete_shard_makes_the_merge_incomplete() -> None:
    inputs = _two_shards()
    inputs[0].results.run["incomplete"] = True
    merged = merge_results(inputs)
    assert merged.run["incomplete"] is True
    assert [m.get("incomplete", False) for m in merged.run["merged_from"]] == [False, True]


def test_the_report_says_which_shard_ran_each_test_case() -> None:
    inputs = _two_shards()
    evil = '<script>alert("x")</script>'
    inputs[0].results.add(_tc("test_e", _check("R-4", Verdict.PASS), shard=f"2/2{evil}"))
    inputs[0].results.run["merged_from"] = "ignored"
    merged = merge_results(inputs)
    merged.run["merged_from"][0]["results"] = f"out/{evil}"
    page = render_html(merged, load_catalogue=False)
    assert page.count('<span class="shard" title="ran in shard 1/2">shard 1/2</span>') == 2
    assert page.count('<span class="shard" title="ran in shard 2/2">shard 2/2</span>') == 2
    assert evil not in page and "&lt;script&gt;" in page
    assert 'id="run-merged"' in page and "shard 1/2: <code>out/&lt;script&gt;" in page
    single = RunResults(run=_run(""))
    single.add(_tc("test_a", _check("R-1", Verdict.PASS)))
    assert 'class="shard"' not in render_html(single, load_catalogue=False)


# --------------------------------------------------------------------------- the command


def _write(dirpath: Path, results: RunResults) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    write_json_atomic(dirpath / "results.json", results.to_json())
    return dirpath


def test_the_merge_command_writes_results_junit_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _two_shards()
    a = _write(tmp_path / "shard-1", inputs[1].results)
    b = _write(tmp_path / "shard-2", inputs[0].results)
    evidence = a / "evidence" / "test_a.log"
    evidence.parent.mkdir()
    evidence.write_text("INVITE", encoding="utf-8")
    with_files = [
        TestCaseResult(**{**_asdict(tc), "files": {"log": "evidence/test_a.log"}})
        if tc.nodeid.endswith("test_a")
        else tc
        for tc in inputs[1].results.test_cases
    ]
    inputs[1].results.test_cases[:] = with_files
    _write(a, inputs[1].results)
    out = tmp_path / "merged"
    assert cli.main(["merge", str(b), str(a / "results.json"), "--report-dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "merged 2 shards: 4 test cases" in err and "exit status 1" in err
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [t.get("shard") for t in data["test_cases"]] == ["1/2", "1/2", "2/2", "2/2"]
    assert {r["id"]: r["verdict"] for r in data["requirements"]}["R-1"] == "fail"
    assert data["run"]["command"].startswith("cpm-conformance merge ")
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('name="shard" value="2/2"') == 2
    assert (out / "report.html").exists()
    assert (out / "evidence" / "test_a.log").read_text(encoding="utf-8") == "INVITE"
    # compare works on the merged results
    assert cli.main(["compare", str(out), str(out)]) == 0


def _asdict(tc: TestCaseResult) -> dict[str, Any]:
    return {name: getattr(tc, name) for name in TestCaseResult.__dataclass_fields__}


def test_the_merge_command_refuses_with_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    code = cli.main(
        [
            "merge",
            str(tmp_path / "nope"),
            str(tmp_path / "empty"),
            "--report-dir",
            str(tmp_path / "o"),
        ]
    )
    assert code == 3
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"cpm-conformance: error: {tmp_path / 'nope'}: no such file or directory",
        f"cpm-conformance: error: {tmp_path / 'empty'}: no results.json in it",
    ]
    one = _write(
        tmp_path / "one", _shard("1/2", _tc("test_a", _check("R-1", Verdict.PASS), shard="1/2"))
    )
    assert cli.main(["merge", str(one), "--report-dir", str(tmp_path / "o")]) == 3
    assert capsys.readouterr().err.strip() == (
        "cpm-conformance: error: cannot merge: missing shard 2/2 (give the results of every"
        " shard of the 2)"
    )
    assert cli.main(["merge", str(one), "--report-dir", str(one)]) == 3
    assert "is one of the inputs" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_merge_with_nothing_applicable_is_4_and_an_incomplete_one_is_never_0(
    tmp_path: Path,
) -> None:
    one = _write(tmp_path / "1", _shard("1/2", _tc("test_a", verdict=Verdict.NA, shard="1/2")))
    two = _write(tmp_path / "2", _shard("2/2"))  # an empty shard
    assert cli.main(["merge", str(one), str(two), "--report-dir", str(tmp_path / "o")]) == 4
    cut = _shard("2/2", _tc("test_b", _check("R-1", Verdict.PASS), shard="2/2"), incomplete=True)
    _write(tmp_path / "2", cut)
    assert cli.main(["merge", str(one), str(two), "--report-dir", str(tmp_path / "o")]) == 2
