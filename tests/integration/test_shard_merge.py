"""The reference suite as two shards, merged: the same verdicts and checks, test case by test
case, as one run of the same selection (``run --shard``, ``merge``; docs/ci.md).

A small selection (``--clause 8.6``: passing and n/a test cases) keeps it fast. Shard 2
runs with two xdist workers, where the workers select and the controller records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
SELECTION = ["--clause", "8.6"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, timeout=300)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((path / "results.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.timeout(600)
def test_two_shards_merge_into_the_verdicts_of_one_run(tmp_path: Path) -> None:
    # scripts/verdict_diff.py compares the clean/ run of two directories
    single, merged = tmp_path / "single" / "clean", tmp_path / "merged" / "clean"
    one = _cli("run", "--sut", "reference", "-q", "--report-dir", str(single), *SELECTION)
    assert one.returncode == 0, one.stderr
    shards = []
    for k, workers in ((1, []), (2, ["-n", "2"])):
        out = tmp_path / f"shard-{k}"
        proc = _cli(
            "run",
            "--sut",
            "reference",
            "-q",
            "--report-dir",
            str(out),
            "--shard",
            f"{k}/2",
            "--durations-from",
            str(single),
            *workers,
            *SELECTION,
        )
        assert proc.returncode == 0, proc.stderr
        shards.append(_load(out))
    # every test case of the selection in exactly one shard, each recorded with it
    ids = [[t["nodeid"] for t in s["test_cases"]] for s in shards]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
    assert sorted(ids[0] + ids[1]) == sorted(t["nodeid"] for t in _load(single)["test_cases"])
    for k, s in enumerate(shards, 1):
        assert s["run"]["shard"] == f"{k}/2"
        assert {t["shard"] for t in s["test_cases"]} == {f"{k}/2"}
    proc = _cli(
        "merge", str(tmp_path / "shard-2"), str(tmp_path / "shard-1"), "--report-dir", str(merged)
    )
    assert proc.returncode == 0, proc.stderr
    assert "merged 2 shards" in proc.stderr
    diff = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "verdict_diff.py"),
            str(single.parent),
            str(merged.parent),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert diff.returncode == 0, diff.stdout
    assert "0 differences" in diff.stdout
    a, b = _load(single), _load(merged)
    assert b["summary"] == a["summary"]
    assert [(r["id"], r["verdict"]) for r in b["requirements"]] == [
        (r["id"], r["verdict"]) for r in a["requirements"]
    ]
    assert b["run"]["shards"] == ["1/2", "2/2"]
    page = (merged / "report.html").read_text(encoding="utf-8")
    assert page.count('class="shard"') == len(b["test_cases"])
    # a merged run compares like any other
    compared = _cli("compare", str(single), str(merged))
    assert compared.returncode == 0 and "no requirement verdict changed" in compared.stdout
