"""``run --shard K/N`` and ``merge`` on a small suite (conformance/cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_cli import world  # noqa: F401 - the fixture


def _run(world: dict[str, Path], out: str, *extra: str) -> int:  # noqa: F811 - the fixture
    from conformance import cli

    (world["tc"] / "test_cases.py").write_text(textwrap.dedent(SUITE_TEXT), encoding="utf-8")
    return cli.main(
        [
            "run",
            "--catalog-dir",
            str(world["catalog"]),
            "--testcases",
            str(world["tc"]),
            "--sut",
            str(world["profile"]),
            "--report-dir",
            str(world["out"].parent / out),
            *extra,
            "--",
            "-q",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        ]
    )


SUITE_TEXT = """
import pytest
from conformance.checks import expect_equal, inconclusive

@pytest.mark.requirement("PF-8.3.2-1")
def test_one(recorder):
    expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=1)

@pytest.mark.requirement("PF-8.3.2.9-ADMIN")
def test_excluded():
    raise RuntimeError("n/a: never runs")

@pytest.mark.requirement("PF-8.3.2-2")
def test_two(recorder):
    expect_equal(recorder, "PF-8.3.2-2", expected=1, actual=2)

@pytest.mark.requirement("PF-8.3.2-1", "PF-8.3.2-2")
def test_four(recorder):
    expect_equal(recorder, "PF-8.3.2-1", expected=1, actual=1)
    expect_equal(recorder, "PF-8.3.2-2", expected=1, actual=1)

@pytest.mark.requirement("CF-9.1-1")
def test_three():
    inconclusive("no upper tester configured for admin-trigger")
"""


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / "results.json").read_text(encoding="utf-8"))
    return data


def _cases(data: dict[str, Any]) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    return {
        t["nodeid"]: (t["verdict"], [(c["requirement"], c["verdict"]) for c in t["checks"]])
        for t in data["test_cases"]
    }


def test_two_shards_merge_into_the_single_run(
    world: dict[str, Path],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    from conformance import cli

    assert _run(world, "single") == 1
    single = _load(world["out"].parent / "single")
    assert len(single["test_cases"]) == 5
    # by count: 3 + 2, contiguous in collection order
    assert _run(world, "s1", "--shard", "1/2") == 1  # test_two fails in shard 1
    assert _run(world, "s2", "--shard", "2/2") == 2  # test_three is inconc
    s1, s2 = _load(world["out"].parent / "s1"), _load(world["out"].parent / "s2")
    assert [t["nodeid"].rpartition("::")[2] for t in s1["test_cases"]] == [
        "test_one",
        "test_excluded",
        "test_two",
    ]
    assert s1["run"]["shard"] == "1/2" and s2["run"]["shard"] == "2/2"
    assert {t["shard"] for t in s1["test_cases"]} == {"1/2"}
    assert {t["shard"] for t in s2["test_cases"]} == {"2/2"}
    assert "shard" not in single["run"] and all("shard" not in t for t in single["test_cases"])
    out = world["out"].parent / "merged"
    parent = world["out"].parent
    assert (
        cli.main(["merge", str(parent / "s2"), str(parent / "s1"), "--report-dir", str(out)]) == 1
    )
    merged = _load(out)
    assert _cases(merged) == _cases(single)
    assert merged["requirements"] == single["requirements"]
    assert merged["summary"] == single["summary"]
    capsys.readouterr()
    assert cli.main(["compare", str(parent / "single"), str(out)]) == 0
    assert "no requirement verdict changed" in capsys.readouterr().out


def test_shards_balanced_by_an_earlier_run(world: dict[str, Path]) -> None:  # noqa: F811
    assert _run(world, "single") == 1
    parent = world["out"].parent
    single = _load(parent / "single")
    durations = {t["nodeid"]: 0.0 for t in single["test_cases"]}
    heavy = next(n for n in durations if n.endswith("test_four"))
    durations[heavy] = 10.0
    (parent / ".test_durations").write_text(json.dumps(durations), encoding="utf-8")
    for k in (1, 2):
        _run(
            world, f"d{k}", "--shard", f"{k}/2", "--durations-from", str(parent / ".test_durations")
        )
    d1, d2 = _load(parent / "d1"), _load(parent / "d2")
    # the 10 s test case alone in shard 1; the four others in shard 2
    assert [t["nodeid"] for t in d1["test_cases"]] == [heavy]
    assert len(d2["test_cases"]) == 4
    assert d1["run"]["durations_from"] == str((parent / ".test_durations").resolve())
    # a results.json (or its directory) serves as well
    _run(world, "r1", "--shard", "1/3", "--durations-from", str(parent / "single"))
    assert _load(parent / "r1")["run"]["shard"] == "1/3"


def test_a_shard_with_nothing_to_run_exits_0_with_valid_results(
    world: dict[str, Path],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = _run(world, "e", "--shard", "2/2", "--requirement", "CF-9.1-1")
    assert code == 0
    err = capsys.readouterr().err
    assert "shard 2/2 has no test case of the selection: exit status 0, not 4" in err
    data = _load(world["out"].parent / "e")
    assert data["test_cases"] == [] and data["run"]["shard"] == "2/2"
    assert (world["out"].parent / "e" / "junit.xml").exists()
    assert (world["out"].parent / "e" / "report.html").exists()
    # only n/a test cases in the shard: 0 too (a whole run of them is 4)
    assert _run(world, "n", "--shard", "1/1", "--requirement", "PF-8.3.2.9-ADMIN") == 0
    assert "has only n/a test cases" in capsys.readouterr().err
    assert _run(world, "n", "--requirement", "PF-8.3.2.9-ADMIN") == 4


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--shard", "3/2"], "--shard '3/2': K must be between 1 and N (2)"),
        (
            ["--shard", "two"],
            "--shard 'two': expected K/N, e.g. 1/4 (shard K of N, counted from 1)",
        ),
        (["--shard", "1/0"], "--shard '1/0': N must be 1 or more"),
        (
            ["--durations-from", "x.json"],
            "--durations-from balances the shards of --shard K/N: give --shard too",
        ),
        (["--shard", "1/2", "--durations-from", "/nonexistent/x.json"], "no such file"),
    ],
)
def test_bad_shard_options_are_one_line_and_3(
    world: dict[str, Path],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    line: str,
) -> None:
    assert _run(world, "bad", *args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cpm-conformance: error: ") and line in err[0]
    assert not (world["out"].parent / "bad" / "results.json").exists()


def test_pytest_refuses_a_bad_cpm_shard(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "--cpm-shard", "0/3", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 4
    assert "argument --cpm-shard: '0/3': K must be between 1 and N (3)" in proc.stderr


def test_the_recorded_pics_include_the_overrides_under_xdist(
    world: dict[str, Path],  # noqa: F811 - the fixture
) -> None:
    """The merge compares the shards' PICS: a --pics override must be in results.json when
    the workers collect and the controller records, too."""
    pytest.importorskip("xdist")
    parent = world["out"].parent
    _run(world, "px", "-n", "2", "--pics", "pf.admin_trigger=true", "--requirement", "PF-8.3.2-1")
    assert _load(parent / "px")["run"]["profile"]["pics"]["pf.admin_trigger"] is True
    _run(world, "p0", "-n", "2", "--requirement", "PF-8.3.2-1")
    assert _load(parent / "p0")["run"]["profile"]["pics"]["pf.admin_trigger"] is False
