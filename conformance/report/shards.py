"""Shards: one selection split over N machines (``cpm-conformance run --shard K/N``).

The split follows the approach of pytest-split's ``least_duration`` algorithm, so that a CI
matrix built for it reads the same here:

- every test case has a duration, taken from an earlier run (a ``results.json``, a report
  directory, or pytest-split's ``.test_durations`` mapping of node id to seconds); a test
  case that file does not know gets the average of the known ones of the selection;
- the test cases are taken longest first (ties by node id), and each goes to the shard
  whose sum of durations is the smallest so far (ties: the lowest shard number);
- within a shard the test cases keep their collection order.

Without durations (no file, or none of the selection in it) the split is by count: shard
K takes the K-th of N contiguous runs of the collection order, the sizes differing by one
at most, so that the test cases of a module stay together.

Both splits depend only on the node ids, the durations and N: every machine computes the
same partition, and every test case of the selection is in exactly one shard.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Shard",
    "ShardError",
    "durations_from",
    "parse_shard",
    "split",
    "split_by_count",
    "split_by_duration",
]

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


class ShardError(ValueError):
    """A shard or durations problem the user can fix (one line)."""


@dataclass(frozen=True, slots=True, order=True)
class Shard:
    """Shard ``index`` of ``total`` (both counted from 1): ``2/4``."""

    index: int
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str, option: str = "--shard") -> Shard:
    """``"K/N"`` with 1 <= K <= N; :class:`ShardError` (one line, naming ``option``)
    otherwise."""
    what = f"{option} {text!r}" if option else repr(text)
    m = _FORM.fullmatch(text or "")
    if m is None:
        raise ShardError(f"{what}: expected K/N, e.g. 1/4 (shard K of N, counted from 1)")
    index, total = int(m.group(1)), int(m.group(2))
    if total < 1:
        raise ShardError(f"{what}: N must be 1 or more")
    if not 1 <= index <= total:
        raise ShardError(f"{what}: K must be between 1 and N ({total})")
    return Shard(index, total)


def durations_from(path: str | Path, option: str = "--durations-from") -> dict[str, float]:
    """Node id -> seconds, from a results file of an earlier run (``results.json``,
    ``results.jsonl`` or its report directory, a merged one too) or from pytest-split's
    ``.test_durations`` (a JSON object of node id -> seconds)."""
    p = Path(path)
    if not p.exists():
        raise ShardError(f"{option} {path}: no such file or directory")
    if p.is_file() and p.suffix != ".jsonl":
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ShardError(f"{option} {path}: cannot read it: {exc}") from None
        if isinstance(data, dict) and "format" not in data:
            if not all(isinstance(v, (int, float)) for v in data.values()):
                raise ShardError(
                    f"{option} {path}: neither a results.json nor a mapping of node id to seconds"
                )
            return {str(k): float(v) for k, v in data.items()}
    from conformance.report.results import load_results

    try:
        results = load_results(p)
    except (OSError, ValueError, KeyError) as exc:
        raise ShardError(f"{option} {path}: cannot read results: {exc}") from None
    return {tc.nodeid: tc.duration for tc in results.test_cases}


def split_by_count(nodeids: Sequence[str], total: int) -> list[list[str]]:
    """N contiguous runs of ``nodeids`` (in their order), the sizes differing by one at
    most; the first ``len % N`` shards take one more."""
    size, extra = divmod(len(nodeids), total)
    out: list[list[str]] = []
    start = 0
    for k in range(total):
        end = start + size + (1 if k < extra else 0)
        out.append(list(nodeids[start:end]))
        start = end
    return out


def split_by_duration(
    nodeids: Sequence[str], total: int, durations: Mapping[str, float]
) -> list[list[str]]:
    """The least-duration greedy split (module docstring); ``durations`` should know at
    least one of ``nodeids`` (the others get the average of the known ones)."""
    known = {n: max(0.0, float(durations[n])) for n in nodeids if n in durations}
    average = sum(known.values()) / len(known) if known else 1.0
    order = {n: i for i, n in enumerate(nodeids)}
    heaviest_first = sorted(order, key=lambda n: (-known.get(n, average), n))
    heap: list[tuple[float, int]] = [(0.0, k) for k in range(total)]
    shards: list[list[str]] = [[] for _ in range(total)]
    for n in heaviest_first:
        load, k = heapq.heappop(heap)
        shards[k].append(n)
        heapq.heappush(heap, (load + known.get(n, average), k))
    return [sorted(s, key=order.__getitem__) for s in shards]


def split(
    nodeids: Sequence[str], total: int, durations: Mapping[str, float] | None = None
) -> list[list[str]]:
    """The N shards of ``nodeids``: by duration when ``durations`` knows any of them,
    else by count. Node ids must be unique."""
    if total < 1:
        raise ShardError("the number of shards must be 1 or more")
    if len(set(nodeids)) != len(nodeids):
        raise ShardError("the node ids to split are not unique")
    if durations and any(n in durations for n in nodeids):
        return split_by_duration(nodeids, total, durations)
    return split_by_count(nodeids, total)
