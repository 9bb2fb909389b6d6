"""Wall time and CPU time of the suite, the self-test and the CI run, against one another.

Run: ``python benchmarks/suite_speed.py [--only NAME ...] [--repeat N] [--ci] [--json FILE]``.

Each scenario is one command, run in a fresh temporary report directory; with
``--repeat N`` the scenarios run N rounds, one after another in each round (so that a
machine that slows down moves every scenario alike), and each figure is the median of its
N runs, shown with their range:

- ``suite-20ms-serial``: the strict suite against the reference SUT (T1 = 20 ms), ``-n 0``;
- ``suite-20ms-default``: the same with ``run``'s default workers;
- ``suite-rfc-serial``: the reference profile with RFC 3261 default timers (T1 = 500 ms,
  T2 = 4 s, T4 = 5 s, MSRP transaction timeout 30 s), ``-n 0``;
- ``suite-rfc-8``: the same with 8 workers;
- ``selftest``: ``cpm-conformance selftest`` over every fault;
- ``ci`` (with ``--ci`` only): ``CI=true bash .ci/run`` in a fresh clone of HEAD.

For each it prints the wall time, the CPU time of the command and everything it waited for
(``RUSAGE_CHILDREN``), their ratio, the exit status and the verdict counts, and the speed-up
of a parallel run over the serial run with the same timers **in this same invocation** (a
ratio against a peer, so that a busy machine moves both). Not a test: it prints figures
(benchmarks/README.md records them with the commit).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PROFILE = ROOT / "conformance" / "profiles" / "reference.toml"
#: RFC 3261 defaults (T1, T2, T4) and the MSRP transaction timeout of RFC 4975 (30 s)
RFC_TIMERS = {"t1": "0.5", "t2": "4.0", "t4": "5.0", "msrp_transaction_timeout": "30.0"}


@dataclass
class Figure:
    name: str
    command: str
    wall: float
    cpu: float
    status: int
    verdicts: str
    #: every run's wall time (one per round)
    walls: list[float] = field(default_factory=list)

    @property
    def wall_per_cpu(self) -> float:
        return self.wall / self.cpu if self.cpu else 0.0


def rfc_profile(directory: Path) -> Path:
    """The reference profile with RFC 3261 default timers (its ``[timers]`` values replaced)."""
    text = REFERENCE_PROFILE.read_text()
    head, sep, rest = text.partition("\n[timers]\n")
    if not sep:
        raise SystemExit(f"{REFERENCE_PROFILE}: no [timers] table")
    body, nxt, tail = rest.partition("\n[")
    for key, value in RFC_TIMERS.items():
        body, n = re.subn(rf"(?m)^{key}\s*=.*$", f"{key} = {value}", body)
        if n != 1:
            raise SystemExit(f"{REFERENCE_PROFILE}: [timers] has no single {key}")
    path = directory / "reference-rfc3261-timers.toml"
    path.write_text(head + sep + body + nxt + tail)
    return path


def _verdicts(report_dir: Path) -> str:
    for name in ("results.json", "selftest.json"):
        try:
            data = json.loads((report_dir / name).read_text())
        except (OSError, ValueError):
            continue
        if name == "selftest.json":
            return (
                f"{data.get('caught')}/{data.get('total')} faults caught, "
                f"unproven {len(data.get('unproven') or [])}, "
                f"unkilled {len(data.get('unkilled') or [])}"
            )
        counts: dict[str, int] = {}
        for case in data.get("test_cases", []):
            counts[case.get("verdict", "?")] = counts.get(case.get("verdict", "?"), 0) + 1
        return f"{len(data.get('test_cases', []))} test cases: " + ", ".join(
            f"{n} {v}" for v, n in sorted(counts.items())
        )
    return "-"


def measure(name: str, argv: list[str], report_dir: Path, cwd: Path = ROOT) -> Figure:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.run(argv, cwd=cwd, stdout=out, check=False)
        if proc.returncode:
            # a failed scenario says why: the end of what it printed
            out.seek(0)
            tail = out.read().decode(errors="replace").splitlines()[-40:]
            print("\n".join(tail), file=sys.stderr)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shown = " ".join(argv).replace(sys.executable, "python").replace(str(report_dir), "DIR")
    figure = Figure(name, shown, wall, cpu, proc.returncode, _verdicts(report_dir), [wall])
    print(
        f"{name:20} wall {wall:7.1f} s  cpu {cpu:7.1f} s  exit {proc.returncode}  "
        f"{figure.verdicts}",
        flush=True,
    )
    return figure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="scenario name (repeat)")
    parser.add_argument("--ci", action="store_true", help="also time .ci/run in a fresh clone")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds; each figure is the median (default 1)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be 1 or more")
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    tool = [sys.executable, "-m", "conformance"]
    rounds: dict[str, list[Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="cpm-bench-") as tmp:
        work = Path(tmp)
        rfc = str(rfc_profile(work))
        runs = {
            "suite-20ms-serial": ["run", "--sut", "reference", "--strict", "-n", "0"],
            "suite-20ms-default": ["run", "--sut", "reference", "--strict"],
            "suite-rfc-serial": ["run", "--sut", rfc, "--strict", "-n", "0"],
            "suite-rfc-8": ["run", "--sut", rfc, "--strict", "-n", "8"],
            "selftest": ["selftest"],
        }
        for round_no in range(args.repeat):
            for name, argv in runs.items():
                if args.only and name not in args.only:
                    continue
                report_dir = work / f"{name}-{round_no}"
                argv = [*tool, *argv, "--report-dir", str(report_dir)]
                rounds.setdefault(name, []).append(measure(name, argv, report_dir))
        if args.ci and (not args.only or "ci" in args.only):
            clone = work / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            env_ci = ["env", "CI=true", "bash", ".ci/run"]
            rounds["ci"] = [measure("ci", env_ci, clone / "reports", cwd=clone)]
    figures = [_median(runs_of) for runs_of in rounds.values()]
    print(f"\ncommit {commit}, {os.cpu_count()} cores\n")
    print("| scenario | wall | CPU | wall / CPU | speed-up over serial | exit | verdicts |")
    print("|---|---|---|---|---|---|---|")
    shown_range = args.repeat > 1
    by_name = {f.name: f for f in figures}
    for f in figures:
        serial = by_name.get(re.sub(r"-(default|8)$", "-serial", f.name))
        speedup = f"{serial.wall / f.wall:.2f}×" if serial and serial is not f else "-"
        spread = ""
        if shown_range and len(f.walls) > 1:
            spread = f" ({min(f.walls):.1f}-{max(f.walls):.1f})"
        print(
            f"| {f.name} | {f.wall:.1f} s{spread} | {f.cpu:.1f} s | {f.wall_per_cpu:.2f} "
            f"| {speedup} | {f.status} | {f.verdicts} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"commit": commit, "figures": [asdict(f) for f in figures]}, indent=2) + "\n"
        )
    return 0


def _median(runs: list[Figure]) -> Figure:
    """One figure for a scenario's rounds: median wall and CPU time, the worst exit status,
    the verdicts of the last run (each run's are printed as it ends)."""
    last = runs[-1]
    return Figure(
        last.name,
        last.command,
        median(f.wall for f in runs),
        median(f.cpu for f in runs),
        max(runs, key=lambda f: abs(f.status)).status,
        last.verdicts,
        [f.wall for f in runs],
    )


if __name__ == "__main__":
    sys.exit(main())
