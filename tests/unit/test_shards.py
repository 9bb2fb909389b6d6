"""Shards of a selection (conformance/report/shards.py): the split, K/N and the durations."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pytest

from conformance.checks.verdict import Verdict
from conformance.pytest.options import shard_option
from conformance.report.model import RunResults, TestCaseResult
from conformance.report.shards import (
    Shard,
    ShardError,
    durations_from,
    parse_shard,
    split,
    split_by_count,
    split_by_duration,
)

IDS = [f"testcases/m{i // 7}.py::test_{i:03d}" for i in range(60)]


def _durations(seed: int, ids: list[str] = IDS) -> dict[str, float]:
    rng = random.Random(seed)
    # like the suite: most test cases short, a few waiting out a guard
    return {
        n: (rng.uniform(2.0, 33.0) if rng.random() < 0.2 else rng.uniform(0.01, 0.5)) for n in ids
    }


def _every_case_once(shards: list[list[str]], ids: list[str]) -> None:
    flat = [n for s in shards for n in s]
    assert sorted(flat) == sorted(ids)
    assert len(flat) == len(set(flat))


@pytest.mark.parametrize("total", [1, 2, 3, 4, 7, 60, 61, 100])
def test_every_test_case_is_in_exactly_one_shard(total: int) -> None:
    _every_case_once(split(IDS, total), IDS)
    _every_case_once(split(IDS, total, _durations(total)), IDS)


def test_the_split_is_deterministic_whatever_the_durations_order() -> None:
    durations = _durations(1)
    shuffled = dict(sorted(durations.items(), key=lambda kv: random.Random(2).random()))
    assert split(IDS, 4, durations) == split(IDS, 4, shuffled) == split(list(IDS), 4, durations)
    assert split(IDS, 4) == split(IDS, 4)


def test_a_shard_keeps_the_collection_order() -> None:
    for shard in split(IDS, 3, _durations(3)):
        assert shard == sorted(shard, key=IDS.index)


def test_with_durations_the_shards_are_balanced() -> None:
    """Greedy least-duration: no shard exceeds the mean by more than the longest test case
    (the bound of the greedy list scheduling), and it beats the split by count."""
    for seed in range(5):
        durations = _durations(seed)
        longest = max(durations.values())
        by_time = [sum(durations[n] for n in s) for s in split(IDS, 4, durations)]
        by_count = [sum(durations[n] for n in s) for s in split_by_count(IDS, 4)]
        mean = sum(durations.values()) / 4
        assert max(by_time) <= mean + longest
        assert max(by_time) - min(by_time) <= longest
        assert max(by_time) <= max(by_count)


def test_the_longest_test_cases_are_spread_first() -> None:
    ids = ["a", "b", "c", "d", "e"]
    durations = {"a": 10.0, "b": 10.0, "c": 1.0, "d": 1.0, "e": 1.0}
    assert split_by_duration(ids, 2, durations) == [["a", "c", "e"], ["b", "d"]]


def test_an_unknown_test_case_counts_as_the_average_of_the_known_ones() -> None:
    ids = ["a", "b", "new1", "new2"]
    durations = {"a": 4.0, "b": 2.0, "elsewhere": 1000.0}  # not in the selection: ignored
    # the new ones weigh 3 s each: a (4) | new1 (3) ; then b (2) to the lighter, new2 ...
    shards = split(ids, 2, durations)
    _every_case_once(shards, ids)
    loads = [sum(durations.get(n, 3.0) for n in s) for s in shards]
    assert sorted(loads) == [6.0, 6.0]


def test_without_durations_the_split_is_by_count_and_contiguous() -> None:
    shards = split(IDS, 7)
    assert [len(s) for s in shards] == [9, 9, 9, 9, 8, 8, 8]
    assert [n for s in shards for n in s] == IDS  # contiguous runs in collection order
    # durations that know none of the selection: by count too
    assert split(IDS, 7, {"other::test": 3.0}) == shards


def test_more_shards_than_test_cases_leaves_some_empty() -> None:
    assert split(["a", "b"], 3) == [["a"], ["b"], []]
    assert [len(s) for s in split(["a", "b"], 3, {"a": 1.0, "b": 2.0})] == [1, 1, 0]


def test_duplicate_node_ids_are_refused() -> None:
    with pytest.raises(ShardError):
        split(["a", "a"], 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/1", Shard(1, 1)),
        ("2/4", Shard(2, 4)),
        (" 3 / 3 ", Shard(3, 3)),
        ("10/12", Shard(10, 12)),
    ],
)
def test_k_of_n(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected
    assert str(parse_shard(text)) == f"{expected.index}/{expected.total}"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "expected K/N"),
        ("2", "expected K/N"),
        ("a/b", "expected K/N"),
        ("1/2/3", "expected K/N"),
        ("-1/2", "expected K/N"),
        ("0/2", "K must be between 1 and N (2)"),
        ("3/2", "K must be between 1 and N (2)"),
        ("1/0", "N must be 1 or more"),
        ("0/0", "N must be 1 or more"),
    ],
)
def test_a_bad_k_of_n_is_one_line(text: str, says: str) -> None:
    with pytest.raises(ShardError) as info:
        parse_shard(text)
    message = str(info.value)
    assert says in message and "\n" not in message
    assert message.startswith(f"--shard {text!r}")


def test_the_pytest_option_normalises_and_refuses() -> None:
    assert shard_option(" 2 / 4") == "2/4"
    with pytest.raises(argparse.ArgumentTypeError, match="K must be between 1 and N"):
        shard_option("5/4")


def test_durations_from_results_a_report_dir_and_pytest_split(tmp_path: Path) -> None:
    results = RunResults(run={"version": "x"})
    results.add(TestCaseResult("t.py::a", Verdict.PASS, duration=1.5))
    results.add(TestCaseResult("t.py::b", Verdict.NA, duration=0.0))
    (tmp_path / "results.json").write_text(json.dumps(results.to_json()), encoding="utf-8")
    expected = {"t.py::a": 1.5, "t.py::b": 0.0}
    assert durations_from(tmp_path / "results.json") == expected
    assert durations_from(tmp_path) == expected
    split_file = tmp_path / ".test_durations"
    split_file.write_text(json.dumps({"t.py::a": 2, "t.py::c": 0.25}), encoding="utf-8")
    assert durations_from(split_file) == {"t.py::a": 2.0, "t.py::c": 0.25}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file or directory"),
        ("{not json", "cannot read it"),
        ('{"t.py::a": "slow"}', "neither a results.json nor a mapping"),
        ('{"format": "other/1"}', "cannot read results"),
    ],
)
def test_bad_durations_are_one_line(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "durations.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ShardError) as info:
        durations_from(path)
    assert says in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"--durations-from {path}")
