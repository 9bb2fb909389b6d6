#!/usr/bin/env python3
"""Compare two self-test directories test case by test case, check by check.

    python scripts/verdict_diff.py BEFORE_DIR AFTER_DIR

Each directory is what ``cpm-conformance selftest --report-dir DIR`` wrote: ``clean/`` and
``faults/<name>/fault*/``. For the clean run and for every fault run present in both, each
test case is keyed by its function name (so that moving a test case to another module is not
a difference) and compared on its verdict and on the sequence of (requirement id, verdict) of
its checks. Durations, ports and evidence bytes are not compared.

Exit status 0 when nothing differs, 1 otherwise; one line per difference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Key = tuple[str, tuple[tuple[str, str], ...]]


def _cases(results: Path) -> dict[str, Key]:
    document: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    out: dict[str, Key] = {}
    for tc in document["test_cases"]:
        name = tc["nodeid"].rpartition("::")[2]
        checks = tuple((c["requirement"], c["verdict"]) for c in tc.get("checks", ()))
        out[name] = (tc["verdict"], checks)
    return out


def _latest(fault_dir: Path) -> Path | None:
    """The fault run's results (the retry's when the first attempt wrote none)."""
    for name in ("fault1", "fault"):
        candidate = fault_dir / name / "results.json"
        if candidate.is_file():
            return candidate
    return None


def _runs(root: Path) -> dict[str, Path]:
    runs = {"clean": root / "clean" / "results.json"}
    faults = root / "faults"
    if faults.is_dir():
        for fault_dir in sorted(faults.iterdir()):
            found = _latest(fault_dir)
            if found is not None:
                runs[f"fault {fault_dir.name}"] = found
    return runs


def diff(before: Path, after: Path) -> list[str]:
    old, new = _runs(before), _runs(after)
    lines = [f"{run}: only in {before}" for run in sorted(old.keys() - new.keys())]
    lines += [f"{run}: only in {after}" for run in sorted(new.keys() - old.keys())]
    for run in sorted(old.keys() & new.keys()):
        a, b = _cases(old[run]), _cases(new[run])
        for name in sorted(a.keys() | b.keys()):
            if name not in a or name not in b:
                lines.append(f"{run}: {name}: only {'after' if name in b else 'before'}")
            elif a[name][0] != b[name][0]:
                lines.append(f"{run}: {name}: verdict {a[name][0]} -> {b[name][0]}")
            elif a[name][1] != b[name][1]:
                lines.append(f"{run}: {name}: checks {list(a[name][1])} -> {list(b[name][1])}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    before, after = Path(argv[0]), Path(argv[1])
    lines = diff(before, after)
    runs = len(_runs(before).keys() & _runs(after).keys())
    cases = sum(len(_cases(p)) for k, p in _runs(after).items() if k in _runs(before))
    for line in lines:
        print(line)
    print(f"compared {runs} runs, {cases} test-case results: {len(lines)} differences")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
