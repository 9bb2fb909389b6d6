"""One run from its shards' results (``cpm-conformance merge DIR... --report-dir OUT``).

The shards of one selection (``run --shard K/N`` on N machines) each write a results.json.
:func:`merge_results` checks that they belong together and makes one :class:`RunResults`
of them; the results.json, junit.xml and report.html of the merge are written from it by
the usual writers. The requirement verdicts are not copied from the shards: they are
recomputed from the checks, as for a single run (:meth:`RunResults.requirements`).

A merge is refused, with one line per problem, when:

- a test case is in more than one input (overlapping shards);
- the inputs mix shards of different N, give a shard twice, miss one, or mix shards with
  unsharded runs;
- the tool version, the requirement catalogue, the SUT profile (name, target, roles, PICS),
  the faults, the selection, --strict, the layout, the store or the reference SUT's process
  differ between inputs (the line says what differs).

Each test case keeps the shard that ran it (``TestCaseResult.shard``); the run section says
which shards were merged (``shards``) and where each came from (``merged_from``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.report.model import RunResults, TestCaseResult
from conformance.report.shards import ShardError, parse_shard

__all__ = [
    "MergeError",
    "MergeInput",
    "catalogue_digest",
    "copy_evidence",
    "merge_results",
]

#: run facts every input must share (key, what to call it in a refusal)
_SAME = (
    ("version", "tool versions"),
    ("catalogue", "requirement catalogues"),
    ("faults", "faults"),
    ("strict", "--strict"),
    ("selection", "selections"),
    ("layout", "layouts"),
    ("store", "message stores"),
    ("reference_process", "reference SUT processes"),
)
#: the parts of the recorded SUT profile every input must share
_PROFILE_SAME = (("name", "SUT profiles"), ("target", "SUT targets"), ("roles", "SUT roles"))
#: run keys of one input only: the merge replaces them
_PER_RUN = (
    "shard",
    "durations_from",
    "command",
    "start",
    "stop",
    "pytest_exit_status",
    "incomplete",
)


class MergeError(ValueError):
    """Inputs that cannot be merged: one line per problem."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True, slots=True)
class MergeInput:
    """One input of a merge: where it was read from, and its results."""

    source: str
    results: RunResults

    @property
    def shard(self) -> str:
        return str(self.results.run.get("shard") or "")

    @property
    def label(self) -> str:
        return f"{self.source} (shard {self.shard})" if self.shard else self.source


def catalogue_digest(requirements: Iterable[Mapping[str, Any]]) -> str:
    """A short digest of the requirement catalogue (its JSON form), recorded in the run
    section so that a merge refuses shards judged against different catalogues."""
    text = json.dumps(list(requirements), sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _differs(inputs: Sequence[MergeInput], what: str, get: Any) -> list[str]:
    """One line when ``get(input)`` is not the same for every input (the inputs that
    have the fact; a fact no input recorded is no difference)."""
    values = [(i, get(i)) for i in inputs]
    values = [(i, v) for i, v in values if v is not None]
    if len({_text(v) for _, v in values}) <= 1:
        return []
    shown = "; ".join(f"{i.label}: {_text(v)}" for i, v in values)
    return [f"different {what}: {shown}"]


def _profile(i: MergeInput) -> Mapping[str, Any]:
    value = i.results.run.get("profile")
    return value if isinstance(value, Mapping) else {}


def _pics_lines(inputs: Sequence[MergeInput]) -> list[str]:
    """One line per PICS claim whose value differs between inputs."""
    pics = [(i, dict(_profile(i).get("pics") or {})) for i in inputs if "pics" in _profile(i)]
    names = sorted({n for _, p in pics for n in p})
    out: list[str] = []
    for name in names:
        values = {_text(p.get(name, "(not claimed)")) for _, p in pics}
        if len(values) > 1:
            shown = "; ".join(f"{i.label}: {_text(p.get(name, '(not claimed)'))}" for i, p in pics)
            out.append(f"different PICS {name}: {shown}")
    return out


def _catalogue_lines(inputs: Sequence[MergeInput]) -> list[str]:
    """Inputs without a recorded digest: the catalogue facts of a requirement they share
    must agree."""
    seen: dict[str, tuple[MergeInput, dict[str, str]]] = {}
    for i in inputs:
        for rid, facts in i.results.requirement_info.items():
            first = seen.setdefault(rid, (i, facts))
            if first[1] != facts:
                return [
                    f"different requirement catalogues: {rid} is {_text(first[1])} in"
                    f" {first[0].label} and {_text(facts)} in {i.label}"
                ]
    return []


def _shard_lines(inputs: Sequence[MergeInput]) -> list[str]:
    sharded = [i for i in inputs if i.shard]
    if not sharded:
        return []
    if len(sharded) != len(inputs):
        plain = ", ".join(i.source for i in inputs if not i.shard)
        return [f"mixing shards with unsharded runs: {plain} ran no --shard"]
    try:
        shards = [(i, parse_shard(i.shard, option="")) for i in sharded]
    except ShardError as exc:
        return [f"a results file records an invalid shard: {exc}"]
    totals = sorted({s.total for _, s in shards})
    if len(totals) > 1:
        shown = "; ".join(i.label for i, _ in shards)
        return [f"shards of different splits (N = {', '.join(map(str, totals))}): {shown}"]
    lines: list[str] = []
    by_index: dict[int, list[MergeInput]] = {}
    for i, s in shards:
        by_index.setdefault(s.index, []).append(i)
    total = totals[0]
    for index, given in sorted(by_index.items()):
        if len(given) > 1:
            lines.append(
                f"shard {index}/{total} given more than once: " + ", ".join(i.source for i in given)
            )
    missing = [f"{k}/{total}" for k in range(1, total + 1) if k not in by_index]
    if missing:
        lines.append(
            f"missing shard{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
            f" (give the results of every shard of the {total})"
        )
    return lines


def _overlap_lines(inputs: Sequence[MergeInput], limit: int = 5) -> list[str]:
    where: dict[str, MergeInput] = {}
    lines: list[str] = []
    overlapping = 0
    for i in inputs:
        for tc in i.results.test_cases:
            first = where.setdefault(tc.nodeid, i)
            if first is not i:
                overlapping += 1
                if overlapping <= limit:
                    lines.append(f"test case {tc.nodeid} is in both {first.label} and {i.label}")
    if overlapping > limit:
        lines.append(f"... and {overlapping - limit} more overlapping test cases")
    return lines


def check_inputs(inputs: Sequence[MergeInput]) -> list[str]:
    """Every reason the inputs cannot be merged (empty when they can)."""
    lines = _shard_lines(inputs) + _overlap_lines(inputs)
    for key, what in _SAME:
        lines += _differs(inputs, what, lambda i, k=key: i.results.run.get(k))
    if not any(i.results.run.get("catalogue") for i in inputs):
        lines += _catalogue_lines(inputs)
    for key, what in _PROFILE_SAME:
        lines += _differs(inputs, what, lambda i, k=key: _profile(i).get(k))
    lines += _pics_lines(inputs)
    return lines


def _order(i: MergeInput) -> tuple[int, int]:
    try:
        s = parse_shard(i.shard, option="") if i.shard else None
    except ShardError:
        s = None
    return (s.index if s else 0, 0)


def merge_results(inputs: Sequence[MergeInput], command: str = "") -> RunResults:
    """The one run of ``inputs`` (shards of a selection, or disjoint runs); raises
    :class:`MergeError` when they cannot be merged (:func:`check_inputs`)."""
    if not inputs:
        raise MergeError("nothing to merge: give the results of each shard")
    problems = check_inputs(inputs)
    if problems:
        raise MergeError(*problems)
    ordered = sorted(inputs, key=_order)
    first = ordered[0].results.run
    run: dict[str, Any] = {k: v for k, v in first.items() if k not in _PER_RUN}
    starts = [float(i.results.run["start"]) for i in ordered if _number(i.results.run, "start")]
    stops = [float(i.results.run["stop"]) for i in ordered if _number(i.results.run, "stop")]
    if starts:
        run["start"] = min(starts)
    if stops:
        run["stop"] = max(stops)
    if command:
        run["command"] = command
    shards = [i.shard for i in ordered if i.shard]
    if shards:
        run["shards"] = shards
    run["merged_from"] = [
        {
            "results": i.source,
            "shard": i.shard,
            "test_cases": len(i.results.test_cases),
            "command": str(i.results.run.get("command", "")),
            **({"incomplete": True} if i.results.run.get("incomplete") else {}),
        }
        for i in ordered
    ]
    if any(i.results.run.get("incomplete") for i in ordered):
        run["incomplete"] = True
    merged = RunResults(run=run)
    for i in ordered:
        for tc in i.results.test_cases:
            merged.add(tc)
        for rid, facts in i.results.requirement_info.items():
            merged.requirement_info.setdefault(rid, dict(facts))
    return merged


def _number(run: Mapping[str, Any], key: str) -> bool:
    return isinstance(run.get(key), (int, float)) and not isinstance(run.get(key), bool)


def _inside(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts and ":" not in rel


def copy_evidence(tc: TestCaseResult, source_dir: Path, out_dir: Path) -> list[str]:
    """Copy the evidence files of ``tc`` from its shard's report directory to the same
    relative paths under ``out_dir`` (the test cases are disjoint, and so are their
    files); returns the files that could not be copied."""
    missing: list[str] = []
    for rel in tc.files.values():
        if not _inside(rel):
            continue
        src, dst = source_dir / rel, out_dir / rel
        if src.resolve() == dst.resolve():
            continue
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        except OSError:
            missing.append(str(src))
    return missing
